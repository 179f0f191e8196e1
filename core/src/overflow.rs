//! The overflow policy shared by the RAM queue and the durable queue.
//!
//! One enum, chosen per queue, decides what a full queue does with a new item. Both queue kinds
//! hand an evicted or refused item back to the caller; neither drops one silently.

use serde::{Deserialize, Serialize};

/// What a full queue does when one more item is pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Overflow {
    /// The producer waits until a consumer makes room: backpressure.
    #[default]
    Block,
    /// The oldest buffered item is evicted, handed back to the producer, to admit the new one.
    DropOldest,
    /// The new item is refused and handed back to the producer.
    DropNewest,
}

impl Overflow {
    /// Every policy, in declaration order; handy for tests and demos that try each in turn.
    pub const ALL: [Overflow; 3] = [Overflow::Block, Overflow::DropOldest, Overflow::DropNewest];

    /// The policy's name as the command line and the JS API spell it (`block`, `drop-oldest`,
    /// `drop-newest`).
    pub const fn name(self) -> &'static str {
        match self {
            Overflow::Block => "block",
            Overflow::DropOldest => "drop-oldest",
            Overflow::DropNewest => "drop-newest",
        }
    }

    /// Parses a name as written by [`Overflow::name`]; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Overflow> {
        Overflow::ALL.into_iter().find(|policy| policy.name() == name)
    }
}
