//! One execution of a pipeline, as its interceptors see it: the subject and the controls.
//!
//! A [`Call`] is shared by reference between the driver and every interceptor that is waiting
//! in [`Call::proceed`], so its state sits behind atomics and a spin lock that is never held
//! across an `.await`; the lock exists to make `Call` `Sync` (and pipeline futures `Send`), not
//! to arbitrate contention, which cannot happen inside one execution.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use portable_atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::Relaxed};
use spin::mutex::SpinMutex;

use crate::failure::Failure;

/// How a stretch of the pipeline ended, as the driver passes it around: `Err(Parked)` means a
/// failure is travelling outward and waits in the call ([`Call::take_failure`]). Keeping the
/// `Failure` itself out of the driver's return values saves copying it at every level.
pub type Flow = Result<(), Parked>;

/// A failure is parked in the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parked;

const DELIVERY_NONE: u8 = 0;
const DELIVERY_OK: u8 = 1;
const DELIVERY_FAILED: u8 = 2;

/// The context an interceptor receives: the subject and the controls of one execution.
///
/// The controls follow Ktor's `PipelineContext`:
///
/// - [`proceed`](Call::proceed) runs everything downstream *inside* the current interceptor and
///   returns once it is done, with its failure if it failed;
/// - [`proceed_with`](Call::proceed_with) replaces the subject, then proceeds;
/// - [`finish`](Call::finish) skips every interceptor and phase not yet started (Fallback
///   included); interceptors waiting in `proceed` still run their remaining code;
/// - returning without calling `proceed` lets execution continue with the next interceptor.
///
/// # Panics
///
/// The subject is reached through closures ([`with_subject`](Call::with_subject),
/// [`with_subject_mut`](Call::with_subject_mut)). Calling one of them from inside another's
/// closure is a programming error and panics, as a `RefCell` would.
pub struct Call<S> {
    subject: SpinMutex<S>,
    /// The failure travelling outward, parked here so the driver passes only a [`Flow`].
    failure: SpinMutex<Option<Failure>>,
    /// What downstream returned, for the [`Proceed`] future that asked for it: one of the
    /// `DELIVERY_*` values.
    delivery: AtomicU8,
    /// The cursor: how many interceptors, at the end of execution order, have not started
    /// yet; the next to start is at position `len - remaining`. Finishing the call sets it to
    /// 0 (and from then on no step raises it), so that one load answers both "is the call
    /// finished?" and "may anything still start?", and the in-order walk, which knows how
    /// many links follow each one, never needs `len`.
    remaining: AtomicUsize,
    /// Whether [`finish`](Call::finish) was called: `remaining` alone cannot tell a finished
    /// call from one whose interceptors have all started.
    finished: AtomicBool,
    /// Interceptors in this execution.
    len: usize,
    /// Set by a [`Proceed`] future that wants downstream to run; read by the driver.
    proceed_requested: AtomicBool,
}

impl<S> Call<S> {
    pub(crate) fn new(subject: S, len: usize) -> Self {
        Call {
            subject: SpinMutex::new(subject),
            failure: SpinMutex::new(None),
            delivery: AtomicU8::new(DELIVERY_NONE),
            remaining: AtomicUsize::new(len),
            finished: AtomicBool::new(false),
            len,
            proceed_requested: AtomicBool::new(false),
        }
    }

    pub(crate) fn into_subject(self) -> S {
        self.subject.into_inner()
    }

    /// Runs `f` on the subject and returns what it returns.
    ///
    /// # Panics
    ///
    /// If called from inside another `with_subject*` closure of the same call.
    pub fn with_subject<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        f(&self.lock_subject())
    }

    /// Runs `f` on the subject, which it may change, and returns what it returns.
    ///
    /// # Panics
    ///
    /// If called from inside another `with_subject*` closure of the same call.
    pub fn with_subject_mut<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        f(&mut self.lock_subject())
    }

    /// Replaces the subject, returning the old one.
    pub fn replace_subject(&self, subject: S) -> S {
        core::mem::replace(&mut self.lock_subject(), subject)
    }

    pub(crate) fn lock_subject(&self) -> spin::mutex::SpinMutexGuard<'_, S> {
        match self.subject.try_lock() {
            Some(guard) => guard,
            None => panic!("the subject of a pipeline call is already borrowed"),
        }
    }

    /// Runs the rest of the pipeline inside the current interceptor.
    ///
    /// Resolves once every remaining interceptor has run (or [`finish`](Call::finish) was
    /// called), with `Err` if a failure travelled up to here. An interceptor that returns `Ok`
    /// after catching that failure has recovered from it: execution then resumes with the
    /// interceptor after the one that failed ("fail forward"). Proceeding when nothing is left
    /// resolves at once.
    ///
    /// Await it directly from the interceptor's own future: the driver runs downstream when
    /// the interceptor's future is pending on it.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it resolves is allowed; downstream has then either not
    /// started or already finished, and its result is discarded.
    pub fn proceed(&self) -> Proceed<'_, S> {
        Proceed { call: self, requested: false }
    }

    /// Replaces the subject with `subject` for everything downstream, then
    /// [`proceed`](Call::proceed)s.
    ///
    /// # Cancel safety
    ///
    /// As for [`proceed`](Call::proceed); the subject is replaced on the first poll.
    pub async fn proceed_with(&self, subject: S) -> Result<(), Failure> {
        self.replace_subject(subject);
        self.proceed().await
    }

    /// Ends the execution: no interceptor that has not started yet will run, Fallback
    /// included. Interceptors waiting in [`proceed`](Call::proceed) see it resolve `Ok` and
    /// finish their own code.
    pub fn finish(&self) {
        self.finished.store(true, Relaxed);
        self.remaining.store(0, Relaxed);
    }

    /// Whether [`finish`](Call::finish) was called.
    pub fn is_finished(&self) -> bool {
        self.finished.load(Relaxed)
    }

    /// Interceptors in this execution.
    #[cfg(feature = "alloc")]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Claims, for the in-order walk, the interceptor followed by `after` others: `false` if
    /// the call is finished or the cursor has already passed it.
    #[inline]
    pub(crate) fn claim(&self, after: usize) -> bool {
        // A finished call has nothing remaining, so this refuses every interceptor.
        if self.remaining.load(Relaxed) <= after {
            return false;
        }
        self.remaining.store(after, Relaxed);
        true
    }

    /// Whether nothing is left to run downstream.
    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        self.remaining.load(Relaxed) == 0
    }

    /// How many interceptors have started, by position in execution order (all of them once
    /// the call is finished).
    pub(crate) fn started(&self) -> usize {
        self.len.saturating_sub(self.remaining.load(Relaxed))
    }

    /// Claims the next interceptor to run, by position in execution order.
    pub(crate) fn advance(&self) -> Option<usize> {
        let remaining = self.remaining.load(Relaxed);
        if remaining == 0 {
            return None;
        }
        self.remaining.store(remaining - 1, Relaxed);
        // `remaining` only ever starts at `len` and goes down.
        Some(self.len.saturating_sub(remaining))
    }

    pub(crate) fn clear_proceed_request(&self) {
        self.proceed_requested.store(false, Relaxed);
    }

    pub(crate) fn take_proceed_request(&self) -> bool {
        let requested = self.proceed_requested.load(Relaxed);
        self.proceed_requested.store(false, Relaxed);
        requested
    }

    /// Leaves downstream's outcome for the waiting [`Proceed`] future.
    pub(crate) fn deliver(&self, flow: Flow) {
        let value = if flow.is_ok() { DELIVERY_OK } else { DELIVERY_FAILED };
        self.delivery.store(value, Relaxed);
    }

    /// Parks `failure` as the one travelling outward and returns the flow that says so.
    pub(crate) fn fail(&self, failure: Failure) -> Flow {
        *self.failure.lock() = Some(failure);
        Err(Parked)
    }

    /// Takes the parked failure (an internal failure if, against the driver's invariant, none
    /// is parked).
    pub(crate) fn take_failure(&self) -> Failure {
        self.failure.lock().take().unwrap_or_else(|| Failure::internal("failure lost"))
    }
}

/// The future of [`Call::proceed`].
#[must_use = "downstream only runs when the future is awaited"]
pub struct Proceed<'a, S> {
    call: &'a Call<S>,
    requested: bool,
}

impl<S> Future for Proceed<'_, S> {
    type Output = Result<(), Failure>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        if !self.requested {
            if self.call.is_done() {
                return Poll::Ready(Ok(()));
            }
            // Hand control to the driver: it sees the request when this interceptor's future
            // returns Pending, runs downstream, leaves the result in `delivery` and polls us
            // again. No waker is registered because the driver itself is the one to poll.
            self.call.proceed_requested.store(true, Relaxed);
            self.requested = true;
            return Poll::Pending;
        }
        match self.call.delivery.swap(DELIVERY_NONE, Relaxed) {
            DELIVERY_OK => Poll::Ready(Ok(())),
            DELIVERY_FAILED => Poll::Ready(Err(self.call.take_failure())),
            _ => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Call;

    #[test]
    fn a_call_is_done_when_every_interceptor_started_and_finished_only_by_finish() {
        let call = Call::new((), 2);
        assert!(!call.is_done());
        assert!(call.claim(1), "the first of two is followed by one");
        assert!(call.claim(0), "the second is followed by none");
        assert!(call.is_done(), "nothing is left to start");
        assert!(!call.is_finished(), "running out is not finishing");
        assert!(!call.claim(0), "a passed interceptor cannot be claimed again");
    }

    #[test]
    fn finish_leaves_nothing_to_start_for_either_driver() {
        let call = Call::new((), 3);
        assert_eq!(call.advance(), Some(0));
        call.finish();
        assert!(call.is_done() && call.is_finished());
        assert_eq!(call.advance(), None);
        assert!(!call.claim(0));
    }
}
