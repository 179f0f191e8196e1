//! plover firmware for QEMU's lm3s6965evb (Cortex-M3): the whole data path on one executor.
//!
//! It runs the scenario of `scenario.rs` once per overflow policy and once across a reset,
//! prints what happened through semihosting, and exits 0 when every check held, 1 otherwise
//! (a panic exits 1 too). `scripts/firmware.sh` builds it, runs it and checks the output.
#![no_std]
#![no_main]
// The `baseline` and `footprint` measurement builds leave most of the scenario unused.
#![cfg_attr(any(feature = "baseline", feature = "footprint"), allow(dead_code, unused_imports))]

mod scenario;
mod sensor;
mod stages;
#[cfg(not(any(feature = "baseline", feature = "footprint")))]
mod task_stage;
mod time_driver;
mod uplink;

use cortex_m_semihosting::{debug, hprintln};
use embassy_executor::Spawner;

#[cfg(not(feature = "baseline"))]
use crate::scenario::Flash;
use crate::scenario::{FLASH_BYTES, Failed};
#[cfg(not(feature = "baseline"))]
use core::time::Duration;
#[cfg(not(feature = "baseline"))]
use plover_core::Overflow;
#[cfg(not(feature = "baseline"))]
use plover_core::time::{Clock, Timer};
#[cfg(not(feature = "baseline"))]
use plover_embassy::time::{EmbassyClock, EmbassyTimer};

/// Readings per policy run (a tenth of them fail validation).
const READINGS: u32 = 400;

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    if let Some(peripherals) = cortex_m::Peripherals::take() {
        time_driver::start(peripherals.SYST);
    }
    hprintln!("plover firmware: lm3s6965evb, {} KiB simulated NOR flash", FLASH_BYTES / 1024);
    match run(spawner).await {
        Ok(()) => {
            hprintln!("RESULT: PASS");
            debug::exit(debug::EXIT_SUCCESS);
        }
        Err(why) => {
            hprintln!("RESULT: FAIL {}", why);
            debug::exit(debug::EXIT_FAILURE);
        }
    }
}

/// The footprint baseline: the same image with no plover code in it.
#[cfg(feature = "baseline")]
async fn run(_spawner: Spawner) -> Result<(), Failed> {
    embassy_futures::yield_now().await;
    hprintln!("baseline: {} {}", READINGS, u64::from(READINGS) * 3);
    Ok(())
}

/// The footprint probe: the library calls an application makes, and nothing else.
#[cfg(all(feature = "footprint", not(feature = "baseline")))]
async fn run(_spawner: Spawner) -> Result<(), Failed> {
    let bytes = cortex_m::singleton!(: [u8; FLASH_BYTES] = [0; FLASH_BYTES])
        .ok_or("the flash buffer was taken twice")?;
    // The policy is picked at run time so that all three stay in the image.
    let policy = Overflow::ALL[(READINGS % 3) as usize];
    let (count, _) = scenario::probe(Flash::new(bytes), policy).await?;
    hprintln!("footprint: {}", count);
    Ok(())
}

#[cfg(not(any(feature = "baseline", feature = "footprint")))]
async fn run(spawner: Spawner) -> Result<(), Failed> {
    // Lets CI check that a failing firmware fails the run (set at build time).
    if option_env!("PLOVER_FIRMWARE_FORCE_FAIL").is_some() {
        return Err("forced by PLOVER_FIRMWARE_FORCE_FAIL at build time");
    }
    // The clock and timer run on the SysTick driver: check they agree before relying on them.
    let start = EmbassyClock.now();
    EmbassyTimer.sleep(Duration::from_millis(2)).await;
    let slept = EmbassyClock.now() - start;
    if slept < Duration::from_millis(2) || slept > Duration::from_millis(50) {
        return Err("timer: a 2 ms sleep did not last 2 ms on the clock");
    }
    hprintln!("timer: a 2 ms sleep took {} us on the SysTick clock ok", slept.as_micros());

    let bytes = cortex_m::singleton!(: [u8; FLASH_BYTES] = [0; FLASH_BYTES])
        .ok_or("the flash buffer was taken twice")?;
    let mut flash = Flash::new(bytes);
    for policy in Overflow::ALL {
        // A factory-fresh flash for each policy: erased, no log in it.
        flash = Flash::new(flash.into_inner());
        let (run, back) = scenario::run_policy(flash, policy, READINGS).await?;
        flash = back;
        hprintln!(
            concat!(
                "policy {}: ram queue lost {} waited {}; valid {} rejected {} delivered {} ",
                "dropped {} refused {} waited {} offline {} slowest pipeline run {} us ok"
            ),
            policy.name(),
            run.produced.ram_lost,
            run.produced.ram_waits,
            run.produced.valid,
            run.produced.rejected,
            run.uplink.delivered,
            run.dropped,
            run.produced.refused,
            run.produced.waited,
            run.uplink.offline,
            run.produced.slowest_us
        );
    }

    flash = Flash::new(flash.into_inner());
    let (run, flash) = scenario::run_reset(flash).await?;
    hprintln!(
        "reset: torn tail {} bytes, replayed {} (duplicates {}), delivered {} in order ok",
        run.report.torn_tail_bytes,
        run.replayed,
        run.uplink.duplicates,
        run.uplink.delivered
    );
    let tasked = task_stage::run(spawner).await?;
    hprintln!(
        "stage task: a stage in its own embassy task handled {} and delivered {} in order ok",
        tasked.report.handled,
        tasked.delivered
    );

    let erases = (0..scenario::PAGES).map(|p| flash.erase_count(p));
    let (min, max) = erases.fold((u32::MAX, 0), |(lo, hi), n| (lo.min(n), hi.max(n)));
    hprintln!("flash: {} pages, erases per page min {} max {}", scenario::PAGES, min, max);
    Ok(())
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("RESULT: FAIL panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfe();
    }
}
