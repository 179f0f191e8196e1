//! The durable log: one record format for every backend, replay and acknowledgement.
//!
//! [`format`] owns the bytes, [`Storage`] is what backends implement, [`Log`] keeps sequence
//! numbers, the acknowledged checkpoint and recovery on top. Hosts run the futures; the core
//! never blocks and needs no allocator (the memory backend needs `alloc`). [`DurableQueue`] and
//! [`DeadLetterLog`] are built on [`Log`].

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
