//! The validate and enrich steps a reading goes through before it is queued.
//!
//! PIPELINE: these are plain functions because this branch does not have plover-core's
//! `Pipeline` yet; once it is merged, they become a validate interceptor (Monitoring/Features
//! phase, failing the event with the `Rejected` reason) and an enrich interceptor (Process
//! phase, adding `zone` and `tick` as attributes). Their inputs and outputs stay the same.

use serde::{Deserialize, Serialize};

use crate::sensor::Reading;

/// Readings above this are a broken sensor, not weather.
const MAX_MILLICELSIUS: i32 = 125_000;
/// Readings below this are a broken sensor too.
const MIN_MILLICELSIUS: i32 = -40_000;

/// Why a reading was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// Outside what the sensor can measure.
    OutOfRange,
}

/// A reading after enrichment: what is stored in the flash log and sent upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Enriched {
    /// The reading's position in the series (the uplink checks order with it).
    pub(crate) index: u32,
    /// Which sensor took it.
    pub(crate) sensor: u8,
    /// The building zone the sensor is mounted in.
    pub(crate) zone: u8,
    /// Temperature in thousandths of a degree Celsius.
    pub(crate) millicelsius: i32,
    /// The device's tick when the reading was taken.
    pub(crate) tick: u32,
}

/// Refuses readings that no working sensor can produce.
pub(crate) fn validate(reading: &Reading) -> Result<(), Rejected> {
    if (MIN_MILLICELSIUS..=MAX_MILLICELSIUS).contains(&reading.millicelsius) {
        Ok(())
    } else {
        Err(Rejected::OutOfRange)
    }
}

/// Adds what the device knows and the sensor does not: its zone and the tick.
pub(crate) fn enrich(reading: Reading, tick: u32) -> Enriched {
    const ZONES: [u8; 3] = [4, 4, 7];
    Enriched {
        index: reading.index,
        sensor: reading.sensor,
        zone: ZONES[reading.sensor as usize % ZONES.len()],
        millicelsius: reading.millicelsius,
        tick,
    }
}
