//! Interceptors registered at run time (`alloc` feature), for hosts such as the JS API that
//! only learn their interceptors while running.
//!
//! A [`DynChain`] holds boxed interceptors. It pays for its flexibility with one allocation per
//! interceptor run and one per nesting level; the typed chains of the parent module allocate
//! nothing.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;

use super::call::{Call, Flow};
use super::chain::{Chain, Concat, Interceptor, Rebuild, Walk, run_level};
use super::{Phase, Pipeline, PipelineError};
use crate::failure::Failure;

/// A boxed future of an interceptor.
pub type BoxedIntercept<'a> = Pin<Box<dyn Future<Output = Result<(), Failure>> + 'a>>;

/// An [`Interceptor`] usable as a trait object. Every `Interceptor` is one.
pub trait DynInterceptor<S> {
    /// [`Interceptor::intercept`], with its future boxed.
    fn intercept_boxed<'a>(&'a self, call: &'a Call<S>) -> BoxedIntercept<'a>;
}

impl<S, I: Interceptor<S>> DynInterceptor<S> for I {
    fn intercept_boxed<'a>(&'a self, call: &'a Call<S>) -> BoxedIntercept<'a> {
        Box::pin(self.intercept(call))
    }
}

/// A pipeline whose interceptors are registered at run time.
pub type DynPipeline<S> = Pipeline<S, DynChain<S>>;

/// A chain of interceptors registered at run time.
pub struct DynChain<S> {
    interceptors: Vec<Box<dyn DynInterceptor<S>>>,
}

impl<S> Default for DynChain<S> {
    fn default() -> Self {
        DynChain { interceptors: Vec::new() }
    }
}

impl<S> Chain<S> for DynChain<S> {
    fn len(&self) -> usize {
        self.interceptors.len()
    }

    fn intercept_at<'a>(
        &'a self,
        index: usize,
        call: &'a Call<S>,
    ) -> impl Future<Output = Result<(), Failure>> {
        match self.interceptors.get(index) {
            Some(interceptor) => interceptor.intercept_boxed(call),
            None => Box::pin(core::future::ready(Err(Failure::internal("no interceptor here")))),
        }
    }

    fn drive<'a, R: Chain<S>>(
        &'a self,
        root: &'a R,
        order: &'a [u8],
        call: &'a Call<S>,
    ) -> impl Future<Output = Flow> {
        boxed_level(root, 0, order, call)
    }

    fn walk<'a>(&'a self, order: &'a [u8], call: &'a Call<S>) -> impl Walk<'a, Self, S> {
        // Boxed interceptors cannot be walked as a typed chain; the level driver serves. A
        // boxed chain is always the end of the pipeline (nothing can be merged after it but
        // another boxed chain, which joins it), so its first interceptor's index is what the
        // typed links before it leave.
        let first = call.len().saturating_sub(self.len());
        Rebuild::new(move || boxed_level(self, first, order, call))
    }
}

/// A level whose deeper levels are boxed: the depth is only known at run time. `root` holds
/// the pipeline's interceptors from index `first` on.
fn boxed_level<'a, S, R: Chain<S>>(
    root: &'a R,
    first: usize,
    order: &'a [u8],
    call: &'a Call<S>,
) -> Pin<Box<dyn Future<Output = Flow> + 'a>> {
    // An index before `first` belongs to none of `root`'s interceptors: asking past its end
    // gets the chain's own "no interceptor" failure.
    let start =
        move |index: usize| root.intercept_at(index.checked_sub(first).unwrap_or(usize::MAX), call);
    Box::pin(run_level(start, order, call, move || boxed_level(root, first, order, call)))
}

impl<S> Concat<DynChain<S>> for DynChain<S> {
    type Output = DynChain<S>;

    fn concat(mut self, after: DynChain<S>) -> DynChain<S> {
        self.interceptors.extend(after.interceptors);
        self
    }
}

impl<S> Pipeline<S, DynChain<S>> {
    /// A pipeline with the five default phases whose interceptors are added at run time with
    /// [`add_interceptor`](Pipeline::add_interceptor).
    pub fn dynamic() -> Self {
        Pipeline::new().map_chain(|()| DynChain::default())
    }

    /// Registers `interceptor` in `phase`, after the interceptors already there.
    ///
    /// # Errors
    ///
    /// [`PipelineError::UnknownPhase`] if `phase` is not registered;
    /// [`PipelineError::TooManyInterceptors`] if there are already
    /// [`MAX_INTERCEPTORS`](super::MAX_INTERCEPTORS).
    pub fn add_interceptor(
        &mut self,
        phase: Phase,
        interceptor: Box<dyn DynInterceptor<S>>,
    ) -> Result<(), PipelineError> {
        self.register(phase)?;
        self.chain.interceptors.push(interceptor);
        Ok(())
    }
}
