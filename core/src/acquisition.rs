//! How a pipeline's first stage starts reading: the acquisition modes of the design notes.
//!
//! The durable log gives [`Acquisition::Resume`] and [`Acquisition::ByTopicPartition`] their
//! meaning: [`Acquisition::start`] says where in a log reading starts.

use serde::{Deserialize, Serialize};

use crate::event::source::NAME_CAPACITY;
use crate::log::Start;

/// A position in a log: every record with a sequence number `<=` the value is behind it (was
/// handled). Resuming from it reads the record after it first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub struct Checkpoint(pub u64);

/// Where acquisition starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Acquisition {
    /// Read what is there once, from the beginning, then stop.
    Once,
    /// Resume after a checkpoint.
    Resume(Checkpoint),
    /// Start at an offset of one partition of a topic.
    ByTopicPartition {
        /// The topic.
        topic: heapless::String<NAME_CAPACITY>,
        /// The partition.
        partition: u32,
        /// The first offset to read.
        offset: u64,
    },
    /// A mode the source defines, by name.
    Custom(heapless::String<NAME_CAPACITY>),
}

impl Acquisition {
    /// Where a reader of a durable log starts for this mode: `Once` reads from the oldest
    /// stored record, `Resume` right after its checkpoint, `ByTopicPartition` at its offset
    /// taken as a sequence number (the topic and partition choose which log; that is the
    /// source's business). `Custom` is the source's own: `None`.
    pub fn start(&self) -> Option<Start> {
        match self {
            Acquisition::Once => Some(Start::Oldest),
            Acquisition::Resume(checkpoint) => Some(Start::Resume(*checkpoint)),
            Acquisition::ByTopicPartition { offset, .. } => Some(Start::Seq(*offset)),
            Acquisition::Custom(_) => None,
        }
    }
}
