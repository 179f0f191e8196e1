//! The one thing the core needs from a host's clock: a future that completes after a duration.
//!
//! Stages use it for the drain deadline of a graceful stop. Each adapter implements it over its
//! executor's timer (embassy-time, a browser `setTimeout`, a thread sleep in tests).

use core::future::Future;
use core::time::Duration;

/// A host-supplied sleep.
///
/// # Contract
///
/// `sleep(d)` completes no earlier than `d` after it is first polled, and wakes its task when
/// it does. Dropping the future must be harmless (it is dropped whenever the awaited work wins
/// the race). It may complete later than `d`; the stage then simply waits longer.
pub trait Timer {
    /// A future that completes once `duration` has passed.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;
}

impl<T: Timer + ?Sized> Timer for &T {
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        (**self).sleep(duration)
    }
}
