//! A clock and a timer on embassy-time, for the retry backoff and the monitoring helpers.
//!
//! [`EmbassyClock`] reads `embassy_time::Instant`; [`EmbassyTimer`] sleeps with
//! `embassy_time::Timer`. They implement the core's `plover_core::time::{Clock, Timer}`, which
//! the monitoring and retry helpers and a stage's drain deadline use. The firmware must link
//! an embassy-time driver (its HAL's, or the `std` one in host tests).

use core::future::Future;
use core::time::Duration;

use plover_core::time::{Clock, Timer};

/// The monotonic clock of embassy-time, as a [`Duration`] since boot.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbassyClock;

impl Clock for EmbassyClock {
    /// Time since embassy-time's origin (boot); never goes backwards.
    fn now(&self) -> Duration {
        Duration::from_micros(embassy_time::Instant::now().as_micros())
    }
}

/// Sleeps on embassy-time's timer queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbassyTimer;

impl Timer for EmbassyTimer {
    /// Completes once `duration` has passed (rounded up to the next tick).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only cancels the sleep.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        embassy_time::Timer::after(embassy_time::Duration::from_micros(micros))
    }
}
