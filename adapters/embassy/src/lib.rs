//! plover-embassy: plover on microcontrollers driven by embassy.
//!
//! It owns the NOR-flash backend of the core log's storage trait ([`FlashStorage`]), a RAM
//! flash that keeps NOR rules and can lose power at any byte ([`MockFlash`]), and, with the
//! `time` feature, a clock and timer on embassy-time ([`time`]). Record bytes, replay and the
//! queues stay in `plover-core`; running futures is the firmware's executor's job.
#![no_std]

#[cfg(test)]
extern crate std;

/// Logs a recovery or allocation decision with defmt when the `defmt` feature is on; nothing
/// otherwise (the arguments are not even evaluated).
macro_rules! debug {
    ($($arg:tt)*) => {
        #[cfg(feature = "defmt")]
        defmt::debug!($($arg)*);
    };
}
pub(crate) use debug;

mod flash_storage;
mod layout;
mod mock_flash;

#[cfg(feature = "time")]
pub mod time;

pub use flash_storage::{FlashError, FlashStorage, MAX_WRITE_SIZE};
pub use mock_flash::{COUNTED_PAGES, MockFlash, MockFlashError};
