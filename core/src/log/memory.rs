//! An in-memory storage backend that can simulate a crash, for tests and for hosts without disks.
//!
//! It keeps, per segment, how many bytes were synced, so [`MemStorage::crash`] can drop or mangle
//! exactly what a power cut could. Needs the `alloc` feature.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::log::format::CHECKPOINT_LEN;
use crate::log::storage::{SegmentId, Storage};

/// What a simulated crash leaves of the bytes that were appended but not synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashTail {
    /// Unsynced bytes vanish (the common case).
    Drop,
    /// Unsynced bytes happen to survive (the page cache was written back in time).
    Keep,
    /// The first `n` unsynced bytes survive, the rest vanish: a torn write.
    KeepPrefix(usize),
    /// Unsynced bytes read back as zeros: the file grew but the data never arrived.
    Zero,
}

#[derive(Debug, Clone, Default)]
struct Segment {
    data: Vec<u8>,
    synced: usize,
}

/// Storage held in memory; cloning it copies the whole state (handy to fork a test).
#[derive(Debug, Clone, Default)]
pub struct MemStorage {
    segments: BTreeMap<SegmentId, Segment>,
    checkpoint: Option<[u8; CHECKPOINT_LEN]>,
}

impl MemStorage {
    /// An empty storage: no segments, no checkpoint.
    pub fn new() -> Self {
        Self::default()
    }

    /// Simulates a power cut: every segment keeps its synced bytes, and `tail` decides what
    /// becomes of the rest. The checkpoint is atomic by contract and is kept as written.
    pub fn crash(&mut self, tail: CrashTail) {
        for segment in self.segments.values_mut() {
            let unsynced = segment.data.len() - segment.synced;
            match tail {
                CrashTail::Drop => segment.data.truncate(segment.synced),
                CrashTail::Keep => {}
                CrashTail::KeepPrefix(n) => segment.data.truncate(segment.synced + n.min(unsynced)),
                CrashTail::Zero => segment.data[segment.synced..].fill(0),
            }
            segment.synced = segment.data.len();
        }
    }

    /// The raw bytes of a segment, for tests that damage a log on purpose.
    pub fn segment_bytes_mut(&mut self, id: SegmentId) -> Option<&mut Vec<u8>> {
        self.segments.get_mut(&id).map(|s| &mut s.data)
    }

    /// Removes a segment without going through the log, as a lost file would.
    pub fn remove_segment(&mut self, id: SegmentId) -> bool {
        self.segments.remove(&id).is_some()
    }

    /// Overwrites the checkpoint slot directly, for tests.
    pub fn set_checkpoint_bytes(&mut self, bytes: Option<[u8; CHECKPOINT_LEN]>) {
        self.checkpoint = bytes;
    }

    /// Ids of all segments, in order.
    pub fn segment_ids(&self) -> Vec<SegmentId> {
        self.segments.keys().copied().collect()
    }
}

/// Errors of [`MemStorage`]: only misuse, which the log never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemError {
    /// The segment does not exist.
    NoSuchSegment(SegmentId),
    /// `create_segment` on an id that exists.
    SegmentExists(SegmentId),
}

impl MemStorage {
    fn segment(&mut self, id: SegmentId) -> Result<&mut Segment, MemError> {
        self.segments.get_mut(&id).ok_or(MemError::NoSuchSegment(id))
    }
}

impl Storage for MemStorage {
    type Error = MemError;

    async fn next_segment(
        &mut self,
        after: Option<SegmentId>,
    ) -> Result<Option<SegmentId>, MemError> {
        let next = match after {
            None => self.segments.keys().next(),
            Some(a) => self.segments.range(a.saturating_add(1)..).map(|(k, _)| k).next(),
        };
        // `a + 1` saturates at u32::MAX; exclude `a` itself in that corner.
        Ok(next.copied().filter(|n| Some(*n) != after))
    }

    async fn create_segment(&mut self, id: SegmentId) -> Result<(), MemError> {
        if self.segments.contains_key(&id) {
            return Err(MemError::SegmentExists(id));
        }
        self.segments.insert(id, Segment::default());
        Ok(())
    }

    async fn delete_segment(&mut self, id: SegmentId) -> Result<(), MemError> {
        self.segments.remove(&id);
        Ok(())
    }

    async fn segment_len(&mut self, id: SegmentId) -> Result<u64, MemError> {
        Ok(self.segment(id)?.data.len() as u64)
    }

    async fn append(&mut self, id: SegmentId, bytes: &[u8]) -> Result<(), MemError> {
        self.segment(id)?.data.extend_from_slice(bytes);
        Ok(())
    }

    async fn read(
        &mut self,
        id: SegmentId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, MemError> {
        let data = &self.segment(id)?.data;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    async fn seal(&mut self, id: SegmentId, len: u64) -> Result<(), MemError> {
        let segment = self.segment(id)?;
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(segment.data.len());
        segment.data.truncate(len);
        segment.synced = len;
        Ok(())
    }

    async fn sync(&mut self, id: SegmentId) -> Result<(), MemError> {
        let segment = self.segment(id)?;
        segment.synced = segment.data.len();
        Ok(())
    }

    async fn read_checkpoint(&mut self, buf: &mut [u8; CHECKPOINT_LEN]) -> Result<bool, MemError> {
        match self.checkpoint {
            Some(bytes) => {
                *buf = bytes;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn write_checkpoint(&mut self, bytes: &[u8; CHECKPOINT_LEN]) -> Result<(), MemError> {
        self.checkpoint = Some(*bytes);
        Ok(())
    }
}
