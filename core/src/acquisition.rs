//! How a pipeline's first stage starts reading: the acquisition modes of the design notes.
//!
//! This module only names the modes. The durable log gives [`Acquisition::Resume`] and
//! [`Acquisition::ByTopicPartition`] their meaning: where in a log reading starts.

use serde::{Deserialize, Serialize};

use crate::event::source::NAME_CAPACITY;

/// A position to resume from: the sequence number of the last record that was handled.
/// Reading resumes at the record after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
