//! The durable log: one record format for every backend, replay and acknowledgement.
//!
//! [`format`] owns the bytes, [`Storage`] is what backends implement, [`Log`] keeps sequence
//! numbers, the acknowledged checkpoint and recovery on top. [`DurableQueue`] and
//! [`DeadLetterLog`] are built on [`Log`]. Hosts run the futures; nothing here needs an
//! allocator except the memory backend (`alloc`) and the conformance suite (`conformance`).
//!
//! # How it fits together
//!
//! A log is a row of append-only *segments* plus one *checkpoint slot*. Appends go to the
//! newest segment; when it would exceed [`LogConfig::segment_size`], it is synced and sealed and
//! a new one begins, whose header names the first sequence number it may hold. Every record
//! carries its own sequence number, so records are self-describing: a reader that meets damage
//! can scan forward and pick up at the next valid record without any index.
//!
//! Delivery is at-least-once. A consumer reads from [`Start::Unacknowledged`], handles records,
//! and calls [`Log::ack`] with the last sequence number handled. The checkpoint is replaced
//! atomically *before* any segment it frees is deleted, so after a crash either the old or the
//! new checkpoint stands and, in the worst case, handled records are replayed — never lost. The
//! sequence number is the deduplication key for consumers that must not see a record twice.
//!
//! Durability is the caller's choice: [`Log::append`] writes, [`Log::sync`] makes durable. Host
//! adapters wrap this in a policy (`plover-std`'s `FsyncPolicy`, with group commit).
//!
//! # The crash story
//!
//! A crash can leave the newest segment with a torn or zero-filled tail, a just-created segment
//! without a header, or (without fsync) pages written out of order. Media damage can flip bits
//! anywhere or lose a file. [`Log::open`] scans every segment and classifies each case — the
//! table is in `docs/log-format.md` — cutting what belongs to unfinished writes and skipping and
//! counting what is damage, in a [`RecoveryReport`]. It fails only if the storage itself fails,
//! and the log it returns always accepts appends.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use futures_lite::future::block_on;
//! use plover_core::log::{Log, LogConfig, MemStorage, Start};
//!
//! let config = LogConfig::default();
//! let mut buf = vec![0u8; 20 + config.max_payload as usize];
//! block_on(async {
//!     let mut log = Log::open(MemStorage::new(), config, &mut buf).await.unwrap();
//!     let seq = log.append(&("order", 42u32), &mut buf).await.unwrap();
//!     log.sync().await.unwrap();
//!
//!     let mut reader = log.reader(Start::Unacknowledged, &mut buf[..]).await.unwrap();
//!     let (got, value) = log.read_value::<(String, u32), _>(&mut reader).await.unwrap().unwrap();
//!     assert_eq!((got, value), (seq, ("order".to_string(), 42)));
//!     log.ack(seq).await.unwrap(); // handled: never replayed again
//! });
//! # }
//! ```

pub mod format;

mod dead_letter;
mod engine;
mod fault;
mod queue;
mod reader;
mod recovery;
mod storage;

#[cfg(feature = "alloc")]
mod memory;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use dead_letter::{DeadLetter, DeadLetterLog, MAX_REASON_LEN};
pub use engine::{Log, LogConfig, LogError};
pub use fault::{FaultError, FaultPlan, FaultStorage};
pub use format::{Corruption, DecodeError, RecordRef};
pub use queue::{Capacity, DurableQueue, QueueError};
pub use reader::{Checkpoint, ReadStats, Reader, Start};
pub use recovery::RecoveryReport;
pub use storage::{SegmentId, Storage};

#[cfg(feature = "alloc")]
pub use memory::{CrashTail, MemError, MemStorage};
