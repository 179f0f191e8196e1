//! plover-embassy: plover on microcontrollers driven by embassy.
//!
//! It owns the NOR-flash backend of the core log's storage trait ([`FlashStorage`]), a RAM
//! flash that keeps NOR rules and can lose power at any byte ([`MockFlash`]), and, with the
//! `time` feature, a clock and timer on embassy-time ([`time`]). Record bytes, replay and the
//! queues stay in `plover-core`; running futures is the firmware's executor's job.
//!
//! A log on flash, here the mock (two checkpoint pages and six segment pages of 256 bytes):
//!
//! ```
//! use plover_core::log::{Log, Start};
//! use plover_embassy::{FlashStorage, MockFlash};
//!
//! type Flash = MockFlash<[u8; 8 * 256], 256, 4>;
//! type Storage = FlashStorage<Flash, 6>;
//!
//! # futures_lite::future::block_on(async {
//! let storage = Storage::mount(Flash::new([0; 8 * 256]), 0..8 * 256).await?;
//! let mut buf = [0u8; 64];
//! let mut log = Log::open(storage, Storage::log_config(32), &mut buf).await?;
//! let seq = log.append_bytes(b"21.5 C").await?;
//! log.sync().await?; // durable from here on, even if the power goes
//!
//! // A restart: mount the same flash again; the record is replayed until acknowledged.
//! let flash = log.into_storage().into_flash();
//! let storage = Storage::mount(flash, 0..8 * 256).await?;
//! let mut log = Log::open(storage, Storage::log_config(32), &mut buf).await?;
//! let mut reader = log.reader(Start::Unacknowledged, [0u8; 64]).await?;
//! assert_eq!(log.read(&mut reader).await?.map(|r| r.seq), Some(seq));
//! log.ack(seq).await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # A stage as an embassy task
//!
//! An embassy task cannot be generic and takes only `'static` arguments, so a stage that gets
//! a task of its own lives in a `static` with its queues (all `const`-built; the
//! critical-section mutex makes them `Sync`), and the task is written for its one type. The
//! firmware in `adapters/embassy/firmware/src/task_stage.rs` runs this under QEMU in CI:
//!
//! ```ignore
//! type Shared<T> = Queue<CriticalSectionRawMutex, T, 4>;
//! type SquareStage = Stage<'static, CriticalSectionRawMutex, u32, Square, 4, 4>;
//!
//! static INPUT: Shared<u32> = Queue::new(Overflow::Block);
//! static OUTPUT: Shared<u32> = Queue::new(Overflow::Block);
//! static STAGE: SquareStage = Stage::new(&INPUT, Square, &OUTPUT, Duration::from_secs(1));
//!
//! #[embassy_executor::task]
//! async fn square_worker(stage: &'static SquareStage) {
//!     let report = stage.run(&plover_embassy::time::EmbassyTimer, drop).await;
//!     // hand `report` to whoever checks it
//! }
//!
//! // In the application: spawn the worker, start the stage, publish; `STAGE.stop()` drains it.
//! spawner.spawn(square_worker(&STAGE)?);
//! STAGE.start();
//! ```
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
