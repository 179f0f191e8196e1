//! Time on a native host: [`StdClock`] (monotonic, from `std::time::Instant`) and [`StdTimer`]
//! (async sleeps from `async-io`, which works under any executor, `block_on` included).
//!
//! They implement the core's `Clock` and `Timer`, which monitoring, retry back-off and a
//! stage's drain deadline take as parameters.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use plover_core::time::{Clock, Timer};

/// A monotonic clock counting from the first time any `StdClock` was read in this process.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdClock;

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

impl Clock for StdClock {
    fn now(&self) -> Duration {
        origin().elapsed()
    }
}

/// Async sleeps on `async-io`'s timer thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdTimer;

impl Timer for StdTimer {
    /// Completes once `duration` has passed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the sleep.
    async fn sleep(&self, duration: Duration) {
        async_io::Timer::after(duration).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_sleeps_at_least_as_long_as_asked_and_the_clock_sees_it() {
        let started = StdClock.now();
        futures_lite::future::block_on(StdTimer.sleep(Duration::from_millis(20)));
        assert!(StdClock.now() - started >= Duration::from_millis(20));
    }
}
