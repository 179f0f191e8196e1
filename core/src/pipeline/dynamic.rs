//! Interceptors registered at run time (`alloc` feature), for hosts such as the JS API that
//! only learn their interceptors while running.
//!
//! A [`DynChain`] holds boxed interceptors. It pays for its flexibility with one allocation per
//! interceptor run and one per execution for its slots; the typed chains of the parent module
//! allocate nothing.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::call::{Call, Flow};
use super::chain::{Chain, Concat, Interceptor, Levels, Slots, Step, Walk, poll_levels, poll_slot};
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

    fn walk<'a>(&'a self, order: &'a [u8], _call: &'a Call<S>) -> impl Walk<'a, Self, S> {
        DynWalk { slots: DynSlots { slots: Vec::new() }, levels: Levels::default(), order }
    }
}

/// A slot per boxed interceptor, allocated when the first one starts.
struct DynSlots<'a> {
    slots: Vec<Option<BoxedIntercept<'a>>>,
}

impl<'a, S> Slots<'a, DynChain<S>, S> for DynSlots<'a> {
    fn start_at(self: Pin<&mut Self>, chain: &'a DynChain<S>, call: &'a Call<S>, index: usize) {
        let this = self.get_mut();
        if this.slots.is_empty() {
            this.slots.resize_with(chain.len(), || None);
        }
        // An index past the chain leaves no slot started, which `poll_at` reports.
        if let (Some(interceptor), Some(slot)) =
            (chain.interceptors.get(index), this.slots.get_mut(index))
        {
            *slot = Some(interceptor.intercept_boxed(call));
        }
    }

    fn poll_at(
        self: Pin<&mut Self>,
        call: &'a Call<S>,
        index: usize,
        cx: &mut Context<'_>,
    ) -> Poll<Step> {
        let Some(slot) = self.get_mut().slots.get_mut(index) else {
            let _ = call.fail(Failure::internal("no interceptor here"));
            return Poll::Ready(Step::Failed);
        };
        // A boxed future is `Unpin`: its slot can be pinned where it is.
        poll_slot(Pin::new(slot), cx, call)
    }

    fn is_live(&self, index: usize) -> bool {
        self.slots.get(index).is_some_and(Option::is_some)
    }
}

/// The walk over a boxed chain: its slots, run by the level driver from the call's cursor. A
/// boxed chain is always the end of the pipeline (nothing can be merged after it but another
/// boxed chain, which joins it), so its first interceptor's index is what the typed links
/// before it leave.
struct DynWalk<'a> {
    slots: DynSlots<'a>,
    levels: Levels,
    order: &'a [u8],
}

impl<'a, S> Slots<'a, DynChain<S>, S> for DynWalk<'a> {
    fn start_at(self: Pin<&mut Self>, chain: &'a DynChain<S>, call: &'a Call<S>, index: usize) {
        Pin::new(&mut self.get_mut().slots).start_at(chain, call, index);
    }

    fn poll_at(
        self: Pin<&mut Self>,
        call: &'a Call<S>,
        index: usize,
        cx: &mut Context<'_>,
    ) -> Poll<Step> {
        Pin::new(&mut self.get_mut().slots).poll_at(call, index, cx)
    }

    fn is_live(&self, index: usize) -> bool {
        Slots::<DynChain<S>, S>::is_live(&self.slots, index)
    }
}

impl<'a, S> Walk<'a, DynChain<S>, S> for DynWalk<'a> {
    fn poll_walk(
        self: Pin<&mut Self>,
        chain: &'a DynChain<S>,
        call: &'a Call<S>,
        cx: &mut Context<'_>,
        _fresh: bool,
    ) -> Poll<Flow> {
        let this = self.get_mut();
        let base = call.len().saturating_sub(chain.len());
        poll_levels(Pin::new(&mut this.slots), &mut this.levels, chain, this.order, call, base, cx)
    }

    fn rewind(self: Pin<&mut Self>) {
        let this = self.get_mut();
        this.slots.slots.iter_mut().for_each(|slot| *slot = None);
        this.levels = Levels::default();
    }
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
