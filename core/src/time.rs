//! Time as the host supplies it: a monotonic [`Clock`] and an async [`Timer`].
//!
//! The core never reads a clock or sleeps by itself. Each adapter implements these two small
//! traits for its executor (std threads, `setTimeout`, embassy-time), and the helpers that need
//! time (monitoring, retry, graceful stop) take them as parameters.

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
