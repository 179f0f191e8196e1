//! The simulated sensor: a fixed, repeatable series of temperature readings.
//!
//! Every tenth reading is out of range on purpose, so validation has something to reject.
//! Nothing here knows about queues or flash.

/// One raw reading as the sensor driver would hand it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reading {
    /// Which of the board's sensors took it.
    pub(crate) sensor: u8,
    /// Position in the series, from 0.
    pub(crate) index: u32,
    /// Temperature in thousandths of a degree Celsius.
    pub(crate) millicelsius: i32,
}

/// The source: `count` readings, then `None`.
pub(crate) struct Sensor {
    next: u32,
    count: u32,
    noise: u32,
}

impl Sensor {
    /// A sensor that yields `count` readings.
    pub(crate) fn new(count: u32) -> Self {
        Sensor { next: 0, count, noise: 0x2545_f491 }
    }

    /// The next reading, or `None` once the series is over.
    pub(crate) fn read(&mut self) -> Option<Reading> {
        if self.next >= self.count {
            return None;
        }
        // xorshift: cheap noise that is the same on every run.
        self.noise ^= self.noise << 13;
        self.noise ^= self.noise >> 17;
        self.noise ^= self.noise << 5;
        let index = self.next;
        self.next += 1;
        let base = 21_000 + (self.noise % 4_000) as i32;
        let millicelsius = if index % 10 == 9 { 900_000 } else { base };
        Some(Reading { sensor: (index % 3) as u8, index, millicelsius })
    }
}
