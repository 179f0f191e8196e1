//! The pipeline a reading goes through before it is queued: monitoring, validate, enrich.
//!
//! It is plover-core's `Pipeline` with the ready-made interceptors: `monitoring` in the
//! Monitoring phase turns a validation failure into a failed sample that still reaches the
//! end, `validate` and `enrich` sit in Features. What is checked and added lives here too.

use core::cell::Cell;
use core::time::Duration;

use plover_core::event::Subject;
use plover_core::interceptors::{enrich as enrich_step, monitoring, validate as validate_step};
use plover_core::pipeline::Chain;
use plover_core::time::Clock;
use plover_core::{Failure, Phase, Pipeline, PipelineError};
use serde::{Deserialize, Serialize};

use crate::sensor::Reading;

/// What travels through the pipeline: the raw reading, what enrichment adds, and a failure.
pub(crate) struct Sample {
    reading: Reading,
    tick: u32,
    /// Set by the enrich step.
    pub(crate) enriched: Option<Enriched>,
    failure: Option<Failure>,
}

impl Sample {
    /// A sample for `reading`, taken at device tick `tick`.
    pub(crate) fn new(reading: Reading, tick: u32) -> Self {
        Sample { reading, tick, enriched: None, failure: None }
    }
}

impl Subject for Sample {
    fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    fn mark_failed(&mut self, failure: Failure) {
        self.failure.get_or_insert(failure);
    }
}

/// The device's sample counter: one tick per reading, stamped on each enriched sample.
#[derive(Default)]
pub(crate) struct Ticks {
    ticks: Cell<u64>,
}

impl Ticks {
    /// Moves the clock one tick forward and returns the new tick.
    pub(crate) fn tick(&self) -> u32 {
        self.ticks.set(self.ticks.get() + 1);
        self.ticks.get() as u32
    }
}

/// Builds the pipeline: monitoring (timing on `clock` into `slowest`), validate, enrich.
pub(crate) fn pipeline<'a, C: Clock + 'a>(
    clock: C,
    slowest: &'a Cell<Duration>,
) -> Result<Pipeline<Sample, impl Chain<Sample> + 'a>, PipelineError> {
    let report = move |_: &Sample, took: Duration| slowest.set(slowest.get().max(took));
    Pipeline::new()
        .intercept(Phase::MONITORING, monitoring(clock, report))?
        .intercept(
            Phase::FEATURES,
            validate_step(|s: &Sample| {
                validate(&s.reading).map_err(|_| Failure::validation("out of range"))
            }),
        )?
        .intercept(
            Phase::FEATURES,
            enrich_step(|s: &mut Sample| {
                s.enriched = Some(enrich(s.reading, s.tick));
                Ok(())
            }),
        )
}

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
