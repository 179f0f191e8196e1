//! The counters a queue keeps about itself, and the snapshot it hands out.
//!
//! The counters live under the queue's lock and change together with the items, so a snapshot
//! always satisfies `pushed == popped + evicted + len` for the length at that instant.

/// A snapshot of a queue's counters, taken under its lock by
/// [`Queue::metrics`](super::Queue::metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Metrics {
    /// Items admitted into the queue (including those admitted by evicting an older one).
    pub pushed: u64,
    /// Items taken out by a consumer (`pop`, `try_pop`, `pop_many`, the stream adapter).
    pub popped: u64,
    /// Old items evicted to admit new ones (`DropOldest` only).
    pub evicted: u64,
    /// New items refused because the queue was full (`DropNewest` only). A `try_push` that
    /// fails with `Full` under `Block` is not counted here: that item was never decided on.
    pub refused: u64,
    /// The largest number of items the queue has held at once.
    pub high_water: usize,
    /// How many pushes found the queue full under `Block` and had to wait (counted once per
    /// push, however often it was woken).
    pub producer_waits: u64,
}
