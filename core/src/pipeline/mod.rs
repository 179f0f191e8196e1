//! The Ktor-style pipeline: ordered phases, interceptors per phase, and their execution.
//!
//! A [`Pipeline`] owns its phase order and its interceptors; [`Pipeline::execute`] runs one
//! subject through them with Ktor's semantics (see [`Call`]). Interceptors are kept in a typed
//! chain, so executing needs no allocator and allocates nothing; the `alloc` feature adds
//! [`DynChain`] for interceptors registered at run time. How the driver nests without boxing is
//! explained in `chain.rs` and in `docs/architecture.md`.

mod call;
mod chain;
#[cfg(feature = "alloc")]
mod dynamic;
mod phase;

use core::fmt;
use core::marker::PhantomData;

pub use call::{Call, Proceed};
#[doc(hidden)]
pub use call::{Flow, Parked};
pub use chain::{Chain, Concat, FnInterceptor, Interceptor, Link, PushBack};
#[cfg(feature = "alloc")]
pub use dynamic::{BoxedIntercept, DynChain, DynInterceptor, DynPipeline};
pub use phase::{MAX_PHASES, Phase};

use crate::failure::Failure;
use phase::PhaseList;

/// Interceptors a pipeline can have.
pub const MAX_INTERCEPTORS: usize = 32;

/// Why a pipeline could not be built as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineError {
    /// The phase is not registered in this pipeline (as a reference for insertion, or as the
    /// phase of an interceptor).
    UnknownPhase(Phase),
    /// The pipeline already has [`MAX_PHASES`] phases.
    TooManyPhases {
        /// The limit.
        capacity: usize,
    },
    /// The pipeline already has [`MAX_INTERCEPTORS`] interceptors.
    TooManyInterceptors {
        /// The limit.
        capacity: usize,
    },
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::UnknownPhase(phase) => {
                write!(f, "phase {phase} is not registered in this pipeline")
            }
            PipelineError::TooManyPhases { capacity } => {
                write!(f, "a pipeline has at most {capacity} phases")
            }
            PipelineError::TooManyInterceptors { capacity } => {
                write!(f, "a pipeline has at most {capacity} interceptors")
            }
        }
    }
}

impl core::error::Error for PipelineError {}

/// An execution ended with a failure that no interceptor recovered from. The subject is handed
/// back, so nothing is lost.
#[derive(Debug, Clone, PartialEq)]
pub struct Unhandled<S> {
    /// The subject as it was when the failure reached the top.
    pub subject: S,
    /// The failure.
    pub failure: Failure,
}

impl<S> fmt::Display for Unhandled<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unhandled {}", self.failure)
    }
}

impl<S: fmt::Debug> core::error::Error for Unhandled<S> {}

/// A pipeline of phases and interceptors for subjects of type `S`.
///
/// `C` is the chain of interceptors; it grows by one [`Link`] with each
/// [`intercept`](Pipeline::intercept), so a pipeline is built by value:
///
/// ```
/// use plover_core::{Call, Failure, Phase, Pipeline};
///
/// # futures_lite::future::block_on(async {
/// let pipeline = Pipeline::<u32>::new()
///     .intercept_fn(Phase::PROCESS, async |call: &Call<u32>| {
///         call.with_subject_mut(|n| *n *= 2);
///         Ok(())
///     })?
///     .intercept_fn(Phase::FEATURES, async |call: &Call<u32>| {
///         call.with_subject_mut(|n| *n += 1);
///         Ok(())
///     })?;
///
/// // Features runs before Process whatever the registration order.
/// assert_eq!(pipeline.execute(20).await, Ok(42));
/// # Ok::<(), plover_core::PipelineError>(())
/// # }).unwrap();
/// ```
pub struct Pipeline<S, C = ()> {
    layout: Layout,
    chain: C,
    subject: PhantomData<fn(S) -> S>,
}

/// What a pipeline knows about its phases and interceptors apart from the interceptors
/// themselves. It does not depend on the subject or the chain's type, so its code is compiled
/// once, not once per `intercept` call of every pipeline (each call changes the chain's type).
struct Layout {
    phases: PhaseList,
    /// The phase of each interceptor, in registration order (the chain's indexes).
    registrations: heapless::Vec<Phase, MAX_INTERCEPTORS>,
    /// Chain indexes in execution order: by phase, then by registration.
    order: heapless::Vec<u8, MAX_INTERCEPTORS>,
    /// Whether execution order is registration order, so the chain can walk itself.
    in_order: bool,
}

impl Layout {
    fn new(phases: PhaseList) -> Self {
        Layout {
            phases,
            registrations: heapless::Vec::new(),
            order: heapless::Vec::new(),
            in_order: true,
        }
    }

    /// Recomputes the execution order: phases in order, and within a phase, registration order.
    fn reorder(&mut self) {
        self.order.clear();
        for phase in self.phases.iter() {
            for (index, registered) in self.registrations.iter().enumerate() {
                if *registered == phase {
                    // Cannot fail: `order` has room for every registration, and indexes are
                    // below MAX_INTERCEPTORS, which fits in a u8.
                    let _ = self.order.push(index as u8);
                }
            }
        }
        self.in_order = self.order.iter().enumerate().all(|(i, &index)| usize::from(index) == i);
    }

    fn register(&mut self, phase: Phase) -> Result<(), PipelineError> {
        if !self.phases.contains(phase) {
            return Err(PipelineError::UnknownPhase(phase));
        }
        self.registrations
            .push(phase)
            .map_err(|_| PipelineError::TooManyInterceptors { capacity: MAX_INTERCEPTORS })?;
        self.reorder();
        Ok(())
    }

    /// Takes in `other`'s phases and, after this layout's, its interceptors.
    fn merge(&mut self, other: &Layout) -> Result<(), PipelineError> {
        self.phases.merge(&other.phases)?;
        for phase in other.registrations.iter() {
            self.registrations
                .push(*phase)
                .map_err(|_| PipelineError::TooManyInterceptors { capacity: MAX_INTERCEPTORS })?;
        }
        self.reorder();
        Ok(())
    }
}

impl<S> Default for Pipeline<S, ()> {
    fn default() -> Self {
        Pipeline::new()
    }
}

impl<S> Pipeline<S, ()> {
    /// A pipeline with the five default phases and no interceptors.
    pub fn new() -> Self {
        Pipeline::with_chain(PhaseList::default(), ())
    }

    /// A pipeline with no phases at all; add them with [`add_phase`](Pipeline::add_phase).
    pub fn without_phases() -> Self {
        Pipeline::with_chain(PhaseList::empty(), ())
    }
}

impl<S, C> Pipeline<S, C> {
    fn with_chain(phases: PhaseList, chain: C) -> Self {
        Pipeline { layout: Layout::new(phases), chain, subject: PhantomData }
    }

    /// The phases, in execution order.
    pub fn phases(&self) -> impl Iterator<Item = Phase> + '_ {
        self.layout.phases.iter()
    }

    /// Number of interceptors.
    pub fn interceptor_count(&self) -> usize {
        self.layout.registrations.len()
    }

    /// Appends `phase` at the end. Adding a phase that is already there does nothing.
    ///
    /// # Errors
    ///
    /// [`PipelineError::TooManyPhases`] if there are already [`MAX_PHASES`].
    pub fn add_phase(&mut self, phase: Phase) -> Result<(), PipelineError> {
        self.layout.phases.add(phase)?;
        self.layout.reorder();
        Ok(())
    }

    /// Inserts `phase` after `reference`, and after any phase inserted after `reference`
    /// earlier, so that several insertions keep their order. Nothing happens if `phase` is
    /// already there.
    ///
    /// # Errors
    ///
    /// [`PipelineError::UnknownPhase`] if `reference` is not registered;
    /// [`PipelineError::TooManyPhases`] if there are already [`MAX_PHASES`].
    pub fn insert_phase_after(
        &mut self,
        reference: Phase,
        phase: Phase,
    ) -> Result<(), PipelineError> {
        self.layout.phases.insert_after(reference, phase)?;
        self.layout.reorder();
        Ok(())
    }

    /// Inserts `phase` right before `reference`; phases inserted before the same reference
    /// earlier stay in front. Nothing happens if `phase` is already there.
    ///
    /// # Errors
    ///
    /// As for [`insert_phase_after`](Pipeline::insert_phase_after).
    pub fn insert_phase_before(
        &mut self,
        reference: Phase,
        phase: Phase,
    ) -> Result<(), PipelineError> {
        self.layout.phases.insert_before(reference, phase)?;
        self.layout.reorder();
        Ok(())
    }

    fn register(&mut self, phase: Phase) -> Result<(), PipelineError> {
        self.layout.register(phase)
    }

    fn map_chain<D>(self, f: impl FnOnce(C) -> D) -> Pipeline<S, D> {
        Pipeline { layout: self.layout, chain: f(self.chain), subject: PhantomData }
    }
}

impl<S, C: Chain<S>> Pipeline<S, C> {
    /// Registers `interceptor` in `phase`, after the interceptors already there.
    ///
    /// # Errors
    ///
    /// [`PipelineError::UnknownPhase`] if `phase` is not registered;
    /// [`PipelineError::TooManyInterceptors`] if there are already [`MAX_INTERCEPTORS`].
    pub fn intercept<I: Interceptor<S>>(
        mut self,
        phase: Phase,
        interceptor: I,
    ) -> Result<Pipeline<S, C::Output>, PipelineError>
    where
        C: PushBack<I>,
    {
        self.register(phase)?;
        Ok(self.map_chain(|chain| chain.push_back(interceptor)))
    }

    /// Registers an async closure in `phase`; see [`intercept`](Pipeline::intercept).
    ///
    /// # Errors
    ///
    /// As for [`intercept`](Pipeline::intercept).
    pub fn intercept_fn<F>(
        self,
        phase: Phase,
        f: F,
    ) -> Result<Pipeline<S, C::Output>, PipelineError>
    where
        F: AsyncFn(&Call<S>) -> Result<(), Failure>,
        C: PushBack<FnInterceptor<F>>,
    {
        self.intercept(phase, FnInterceptor(f))
    }

    /// Merges `other` into this pipeline, as Ktor's `merge` does: phases this pipeline lacks
    /// are added where `other`'s insertion rules place them, and `other`'s interceptors run
    /// after this pipeline's in each phase.
    ///
    /// # Errors
    ///
    /// [`PipelineError::TooManyPhases`] or [`PipelineError::TooManyInterceptors`] if the
    /// result would exceed a limit; [`PipelineError::UnknownPhase`] if one of `other`'s
    /// phases cannot be placed.
    pub fn merge<D: Chain<S>>(
        mut self,
        other: Pipeline<S, D>,
    ) -> Result<Pipeline<S, C::Output>, PipelineError>
    where
        C: Concat<D>,
    {
        self.layout.merge(&other.layout)?;
        Ok(self.map_chain(|chain| chain.concat(other.chain)))
    }

    /// Runs `subject` through every phase.
    ///
    /// Returns the subject as the last interceptor left it, or [`Unhandled`] (which holds the
    /// subject too) if a failure reached the top without an interceptor recovering from it.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the execution where it stands: interceptors that have not
    /// started never run, waiting ones are dropped, and the subject is dropped with it.
    /// Cancellation is not a failure: no interceptor sees an `Err` because of it.
    pub fn execute(&self, subject: S) -> impl Future<Output = Result<S, Unhandled<S>>> {
        // The call is built here and captured by the future, which uses it in place: built
        // inside an `async fn`, it would be a second copy of the subject beside the argument,
        // and every move of the future (into the caller's state, for one) copies both.
        let call = Call::new(subject, self.layout.order.len());
        async move {
            let (links, order) = (&self.chain, &self.layout.order[..]);
            let result = if self.layout.in_order {
                chain::in_order(links, order, &call).await
            } else {
                chain::by_levels(links, order, &call).await
            };
            match result {
                Ok(()) => Ok(call.into_subject()),
                Err(_) => {
                    let failure = call.take_failure();
                    Err(Unhandled { subject: call.into_subject(), failure })
                }
            }
        }
    }
}

/// A pipeline is what a [`Stage`](crate::stage::Stage) runs per event: each item is executed,
/// and the output is the subject, or [`Unhandled`] holding it.
impl<S, C: Chain<S>> crate::stage::Handler<S> for Pipeline<S, C> {
    type Out = Result<S, Unhandled<S>>;

    fn handle(&self, item: S) -> impl core::future::Future<Output = Self::Out> {
        self.execute(item)
    }
}

impl<S, C> fmt::Debug for Pipeline<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("phases", &self.layout.phases)
            .field("interceptors", &self.layout.registrations)
            .finish()
    }
}
