//! A clock and a timer on embassy-time, for the retry backoff and the monitoring helpers.
//!
//! [`EmbassyClock`] reads `embassy_time::Instant`; [`EmbassyTimer`] sleeps with
//! `embassy_time::Timer`. They implement `plover_core::time::{Clock, Timer}` once that module
//! is in this branch's core (it is on main); until then they offer the same two methods.
//! The firmware must link an embassy-time driver (a HAL's, or the `std` one in host tests).

use core::time::Duration;

/// The monotonic clock of embassy-time, as a [`Duration`] since boot.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbassyClock;

impl EmbassyClock {
    /// Time since embassy-time's origin (boot); never goes backwards.
    pub fn now(&self) -> Duration {
        Duration::from_micros(embassy_time::Instant::now().as_micros())
    }
}

/// Sleeps on embassy-time's timer queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbassyTimer;

impl EmbassyTimer {
    /// Completes once `duration` has passed (rounded up to the next tick).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only cancels the sleep.
    pub async fn sleep(&self, duration: Duration) {
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        embassy_time::Timer::after(embassy_time::Duration::from_micros(micros)).await;
    }
}
