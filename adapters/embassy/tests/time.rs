//! The embassy-time clock and timer, on embassy-time's host driver: the clock moves forward
//! and a sleep lasts at least as long as asked.

use core::time::Duration;

use futures_lite::future::block_on;
use plover_core::time::{Clock, Timer};
use plover_embassy::time::{EmbassyClock, EmbassyTimer};

#[test]
fn a_sleep_lasts_at_least_its_duration_on_the_clock() {
    let clock = EmbassyClock;
    let start = clock.now();
    block_on(EmbassyTimer.sleep(Duration::from_millis(20)));
    let slept = clock.now() - start;
    assert!(slept >= Duration::from_millis(20), "{slept:?}");
    assert!(slept < Duration::from_secs(5), "{slept:?}");
}
