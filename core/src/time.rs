//! Time as the host supplies it: a monotonic [`Clock`] and an async [`Timer`].
//!
//! The core never reads a clock or sleeps by itself. Each adapter implements these two small
//! traits for its executor (std threads, `setTimeout`, embassy-time), and the parts that need
//! time (monitoring, retry, a stage's drain deadline) take them as parameters.

use core::future::Future;
use core::time::Duration;

/// A monotonic clock.
pub trait Clock {
    /// Time elapsed since an arbitrary, fixed origin. Never goes backwards.
    fn now(&self) -> Duration;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

/// An async sleep, supplied by the host's executor.
///
/// # Contract
///
/// `sleep(d)` completes no earlier than `d` after it is first polled, and wakes its task when it
/// does. It may complete later (callers then simply wait longer). Dropping the future must be
/// harmless: stages drop it whenever the awaited work wins the race.
pub trait Timer {
    /// Completes once `duration` has passed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the sleep; nothing else happens.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;
}

impl<T: Timer + ?Sized> Timer for &T {
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        (**self).sleep(duration)
    }
}
