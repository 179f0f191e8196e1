//! The storage trait that every log backend implements: segments of bytes and a checkpoint slot.
//!
//! It knows nothing of records; it stores bytes where the log tells it to. The contract below
//! is what the log's crash reasoning relies on, and `conformance` checks it for every backend.

use crate::log::format::CHECKPOINT_LEN;

/// Identifies one segment; the log creates segments in increasing id order.
pub type SegmentId = u32;

/// Byte storage for a durable log, organised as append-only segments plus a checkpoint slot.
///
/// # Contract
///
/// Callers (the log) may assume:
///
/// - `append` adds bytes at the end of a segment; bytes are never reordered within a segment.
///   After a crash, a segment holds every byte up to its last completed `sync`, plus possibly a
///   prefix of later bytes, possibly followed by garbage or zeros (a torn tail).
/// - `create_segment` is durable when it returns: the segment survives a crash, empty or not.
/// - `write_checkpoint` is atomic and durable: after a crash, `read_checkpoint` returns the old
///   slot or the new one, never a mix.
/// - `read` returns bytes appended earlier, including unsynced ones, up to the segment's length.
/// - `seal` is durable when it returns, and a sealed segment is never appended to again.
///
/// Wrong: assuming `append` alone survives a crash. Right: `append`, then `sync`, then tell the
/// caller the record is durable.
///
/// All methods take `&mut self`: one log owns its storage, and the log serialises access.
/// Concurrent appenders share a log through a mutex in the host adapter.
///
/// # Cancel safety
///
/// A dropped call must leave the storage in a state the contract allows after a crash: an
/// `append` may have happened in part (a prefix of the bytes), any other call wholly or not at
/// all. The log relies on nothing stronger, so backends need not do more.
#[allow(async_fn_in_trait)] // Executors differ per host; no `Send` bound is wanted here.
pub trait Storage {
    /// The backend's own error (I/O error, quota exceeded, flash failure…).
    type Error: core::fmt::Debug;

    /// The smallest existing segment id greater than `after` (or the smallest of all when
    /// `after` is `None`); `None` when there is none. This lists segments without allocating.
    async fn next_segment(
        &mut self,
        after: Option<SegmentId>,
    ) -> Result<Option<SegmentId>, Self::Error>;

    /// Creates an empty segment. Fails if it already exists.
    async fn create_segment(&mut self, id: SegmentId) -> Result<(), Self::Error>;

    /// Deletes a segment and its bytes. Deleting a missing segment is not an error.
    async fn delete_segment(&mut self, id: SegmentId) -> Result<(), Self::Error>;

    /// The segment's length in bytes, counting appended but unsynced bytes.
    async fn segment_len(&mut self, id: SegmentId) -> Result<u64, Self::Error>;

    /// Appends all of `bytes` at the end of the segment.
    async fn append(&mut self, id: SegmentId, bytes: &[u8]) -> Result<(), Self::Error>;

    /// Reads bytes starting at `offset` into `buf`; returns how many were read, which is less
    /// than `buf.len()` only at the end of the segment (0 at or past the end).
    async fn read(
        &mut self,
        id: SegmentId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, Self::Error>;

    /// Ends the segment at `len` bytes for good: from now on, and after any later crash, it
    /// reads as its first `len` bytes, and the log appends nothing more to it. Recovery seals
    /// a newest segment before its torn tail; a failed append seals off its partial bytes.
    /// `len` is at most the current length.
    ///
    /// A file can cut its tail off; NOR flash cannot un-write bits, so it records the length
    /// instead and refuses later appends. That is why the log never writes to a segment it
    /// sealed: it starts a new one.
    async fn seal(&mut self, id: SegmentId, len: u64) -> Result<(), Self::Error>;

    /// Whether the segment refuses appends because it was sealed (also in an earlier run).
    ///
    /// On open, the log appends to the newest segment only if this is `false`. Backends whose
    /// `seal` really cuts the bytes off (files, memory) may forget the seal and keep the
    /// default, which says `false`.
    async fn is_sealed(&mut self, id: SegmentId) -> Result<bool, Self::Error> {
        let _ = id;
        Ok(false)
    }

    /// Makes every byte appended to the segment so far durable.
    async fn sync(&mut self, id: SegmentId) -> Result<(), Self::Error>;

    /// Reads the checkpoint slot into `buf`; `false` if none was ever written.
    async fn read_checkpoint(
        &mut self,
        buf: &mut [u8; CHECKPOINT_LEN],
    ) -> Result<bool, Self::Error>;

    /// Replaces the checkpoint slot atomically and durably.
    async fn write_checkpoint(&mut self, bytes: &[u8; CHECKPOINT_LEN]) -> Result<(), Self::Error>;
}
