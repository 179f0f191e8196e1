//! The uplink sink: sends readings upstream when it has a link, and its back-off sleep.
//!
//! The link comes and goes on a fixed schedule, so the queue behind it fills and its overflow
//! policy acts. The sink deduplicates by sequence number, as at-least-once delivery requires.

use core::time::Duration;

use plover_core::time::Timer;
use plover_embassy::time::EmbassyTimer;

use crate::stages::Enriched;

/// Waits before the next attempt: `ticks` × 50 µs on embassy-time (a SysTick driver on QEMU,
/// see `time_driver.rs`), through plover-embassy's timer.
pub(crate) async fn sleep_ticks(ticks: u32) {
    EmbassyTimer.sleep(Duration::from_micros(50 * u64::from(ticks))).await;
}

/// A link that is up for `up` send attempts, then down for `down`, and so on.
pub(crate) struct Uplink {
    up: u32,
    down: u32,
    attempts: u32,
    /// Readings delivered (duplicates not counted).
    pub(crate) delivered: u32,
    /// Replayed readings recognised by their seq and not sent twice.
    pub(crate) duplicates: u32,
    /// Sends refused because the link was down.
    pub(crate) offline: u32,
    /// The highest seq delivered.
    pub(crate) last_seq: u64,
    /// The index of the first and of the last reading delivered.
    pub(crate) first_index: Option<u32>,
    /// The index of the last reading delivered.
    pub(crate) last_index: Option<u32>,
    /// Set if a reading arrived with a lower index than the one before.
    pub(crate) out_of_order: bool,
}

impl Uplink {
    /// A link with the given up/down rhythm; `down == 0` means always up.
    pub(crate) fn new(up: u32, down: u32) -> Self {
        Uplink {
            up,
            down,
            attempts: 0,
            delivered: 0,
            duplicates: 0,
            offline: 0,
            last_seq: 0,
            first_index: None,
            last_index: None,
            out_of_order: false,
        }
    }

    /// Tries to send one reading with its log seq; `false` if the link is down.
    pub(crate) fn send(&mut self, seq: u64, reading: &Enriched) -> bool {
        let phase = self.attempts % (self.up + self.down).max(1);
        self.attempts += 1;
        if phase >= self.up {
            self.offline += 1;
            return false;
        }
        if seq <= self.last_seq {
            // Replayed after a reset: upstream has it already.
            self.duplicates += 1;
            return true;
        }
        if self.last_index.is_some_and(|last| reading.index <= last) {
            self.out_of_order = true;
        }
        self.first_index.get_or_insert(reading.index);
        self.last_index = Some(reading.index);
        self.last_seq = seq;
        self.delivered += 1;
        true
    }
}
