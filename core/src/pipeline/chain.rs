//! Interceptors, and the driver that runs them with Ktor's nesting without boxing a future.
//!
//! Ktor's `proceed` is a recursive call; Rust cannot await a recursive call without a box. The
//! driver instead runs *levels*: a level starts interceptors one after the other; when one of
//! them waits in [`Call::proceed`], the level keeps that interceptor's future pinned where it
//! is and awaits the next level, which runs the rest, then polls the waiting interceptor again
//! with the result. At most one interceptor per level waits, so a chain of `N` interceptors
//! never needs more than `N + 1` levels, and the levels are nested *types* ([`Link`] by
//! [`Link`]), not nested calls: the whole execution is one future of fixed size.
//!
//! The cursor that says which interceptor starts next is shared by all levels. That is what
//! makes failure "fail forward": when an interceptor fails, the failure travels out level by
//! level; an interceptor that catches it and returns `Ok` ends its own level's wait, and that
//! level goes on from the shared cursor, i.e. right after the interceptor that failed.

use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::{Context, Poll};

use super::call::Call;
use crate::failure::Failure;

/// An async interceptor of subjects `S`.
///
/// Implement it for reusable interceptors; for one-off closures use
/// [`Pipeline::intercept_fn`](super::Pipeline::intercept_fn).
///
/// # Contract
///
/// - Returning `Ok(())` without calling [`Call::proceed`] lets execution go on with the next
///   interceptor. Only [`Call::finish`] stops it.
/// - Returning `Err` is a failure: it travels out through the interceptors waiting in
///   `proceed`, and ends the execution unless one of them recovers.
/// - Being dropped before completion is cancellation, never a failure: nothing is recorded.
///
/// ```
/// use plover_core::{Call, Failure, Interceptor};
///
/// /// Counts the events that reach it.
/// struct Count(core::sync::atomic::AtomicU32);
///
/// impl<S> Interceptor<S> for Count {
///     async fn intercept(&self, _call: &Call<S>) -> Result<(), Failure> {
///         self.0.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
///         Ok(())
///     }
/// }
/// ```
pub trait Interceptor<S> {
    /// Handles one execution.
    fn intercept(&self, call: &Call<S>) -> impl Future<Output = Result<(), Failure>>;
}

impl<S, I: Interceptor<S> + ?Sized> Interceptor<S> for &I {
    fn intercept(&self, call: &Call<S>) -> impl Future<Output = Result<(), Failure>> {
        (**self).intercept(call)
    }
}

/// An async closure as an interceptor; made by
/// [`Pipeline::intercept_fn`](super::Pipeline::intercept_fn).
#[derive(Clone, Copy)]
pub struct FnInterceptor<F>(pub F);

impl<S, F> Interceptor<S> for FnInterceptor<F>
where
    F: AsyncFn(&Call<S>) -> Result<(), Failure>,
{
    fn intercept(&self, call: &Call<S>) -> impl Future<Output = Result<(), Failure>> {
        (self.0)(call)
    }
}

/// The interceptors of a pipeline, indexed in registration order.
///
/// Implemented by `()` (no interceptors), by [`Link`] (a chain plus one more) and, with the
/// `alloc` feature, by `DynChain`. You do not implement it yourself.
pub trait Chain<S> {
    /// Number of interceptors.
    fn len(&self) -> usize;

    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs the interceptor registered `index`-th.
    #[doc(hidden)]
    fn intercept_at<'a>(
        &'a self,
        index: usize,
        call: &'a Call<S>,
    ) -> impl Future<Output = Result<(), Failure>>;

    /// Runs one level of the driver (see the module docs), with `self` giving the type of the
    /// levels below it.
    #[doc(hidden)]
    fn drive<'a, R: Chain<S>>(
        &'a self,
        root: &'a R,
        order: &'a [u8],
        call: &'a Call<S>,
    ) -> impl Future<Output = Result<(), Failure>>;
}

/// A chain of interceptors plus one more, registered after them.
pub struct Link<P, I>(pub(crate) P, pub(crate) I);

impl<S> Chain<S> for () {
    fn len(&self) -> usize {
        0
    }

    fn intercept_at<'a>(
        &'a self,
        _index: usize,
        _call: &'a Call<S>,
    ) -> impl Future<Output = Result<(), Failure>> {
        core::future::ready(Err(Failure::internal("no interceptor at this index")))
    }

    fn drive<'a, R: Chain<S>>(
        &'a self,
        root: &'a R,
        order: &'a [u8],
        call: &'a Call<S>,
    ) -> impl Future<Output = Result<(), Failure>> {
        // The deepest level: every interceptor is already waiting above, so the cursor is at
        // the end and this level runs nothing. Asking for a deeper one cannot happen.
        run_level(root, order, call, || {
            core::future::ready(Err(Failure::internal("pipeline nested deeper than its length")))
        })
    }
}

impl<S, P: Chain<S>, I: Interceptor<S>> Chain<S> for Link<P, I> {
    #[inline]
    fn len(&self) -> usize {
        self.0.len() + 1
    }

    #[inline]
    fn intercept_at<'a>(
        &'a self,
        index: usize,
        call: &'a Call<S>,
    ) -> impl Future<Output = Result<(), Failure>> {
        if index == self.0.len() {
            Either::Head { future: self.1.intercept(call) }
        } else {
            Either::Tail { future: self.0.intercept_at(index, call) }
        }
    }

    fn drive<'a, R: Chain<S>>(
        &'a self,
        root: &'a R,
        order: &'a [u8],
        call: &'a Call<S>,
    ) -> impl Future<Output = Result<(), Failure>> {
        run_level(root, order, call, move || self.0.drive(root, order, call))
    }
}

pin_project_lite::pin_project! {
    /// The future of one interceptor of a [`Link`]: the link's own, or one further down.
    ///
    /// A plain enum rather than an `async` block: dispatching to the `i`-th interceptor then
    /// costs one branch per link, not one state machine per link.
    #[project = EitherProj]
    enum Either<H, T> {
        Head { #[pin] future: H },
        Tail { #[pin] future: T },
    }
}

impl<H: Future, T: Future<Output = H::Output>> Future for Either<H, T> {
    type Output = H::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            EitherProj::Head { future } => future.poll(cx),
            EitherProj::Tail { future } => future.poll(cx),
        }
    }
}

/// Appends a chain after another one; [`Pipeline::merge`](super::Pipeline::merge) uses it.
pub trait AppendTo<P> {
    /// The combined chain.
    type Output;

    /// Puts `self`'s interceptors after `prefix`'s.
    fn append_to(self, prefix: P) -> Self::Output;
}

impl<P> AppendTo<P> for () {
    type Output = P;

    fn append_to(self, prefix: P) -> P {
        prefix
    }
}

impl<P, Q: AppendTo<P>, I> AppendTo<P> for Link<Q, I> {
    type Output = Link<Q::Output, I>;

    fn append_to(self, prefix: P) -> Self::Output {
        Link(self.0.append_to(prefix), self.1)
    }
}

/// What polling an interceptor once led to.
#[derive(Clone, Copy)]
enum Step {
    /// It returned `Ok`.
    Done,
    /// It returned `Err`.
    Failed,
    /// It waits in `proceed` for downstream to run.
    Proceed,
}

/// One level of the driver: starts interceptors in execution order until none is left or the
/// call is finished; runs `deeper` whenever the current one waits in `proceed`.
pub(crate) async fn run_level<S, R, D, F>(
    root: &R,
    order: &[u8],
    call: &Call<S>,
    deeper: D,
) -> Result<(), Failure>
where
    R: Chain<S>,
    D: Fn() -> F,
    F: Future<Output = Result<(), Failure>>,
{
    while let Some(position) = call.advance() {
        let Some(&index) = order.get(position) else {
            return Err(Failure::internal("execution order shorter than the pipeline"));
        };
        let mut interceptor = pin!(root.intercept_at(usize::from(index), call));
        loop {
            // The poll yields a one-byte step; a failure is parked in `failed` so that the
            // common path never moves a whole `Failure` around.
            let mut failed = None;
            let step = poll_fn(|cx| {
                call.clear_proceed_request();
                match interceptor.as_mut().poll(cx) {
                    Poll::Ready(Ok(())) => Poll::Ready(Step::Done),
                    Poll::Ready(Err(failure)) => {
                        failed = Some(failure);
                        Poll::Ready(Step::Failed)
                    }
                    Poll::Pending if call.take_proceed_request() => Poll::Ready(Step::Proceed),
                    Poll::Pending => Poll::Pending,
                }
            })
            .await;
            match step {
                Step::Done => break,
                Step::Failed => {
                    return Err(failed.unwrap_or_else(|| Failure::internal("failure lost")));
                }
                Step::Proceed => {
                    let downstream = deeper().await;
                    call.deliver(downstream);
                }
            }
        }
    }
    Ok(())
}
