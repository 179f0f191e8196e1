//! [`Log`]: appends with sequence numbers, replay from a position, acknowledgement.
//!
//! The log owns one storage and keeps the invariants of `docs/log-format.md`: seqs strictly
//! increase, a sealed segment is synced, the checkpoint is written before the segments it frees
//! are deleted. Recovery on open lives in `recovery.rs`; readers and reading in `reader.rs`.

use serde::Serialize;

use crate::log::format::{self, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use crate::log::reader::Checkpoint;
use crate::log::recovery::RecoveryReport;
use crate::log::storage::{SegmentId, Storage};

/// Sizes that shape a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    /// A new segment is started when the next record would make the current one larger than
    /// this (a single larger record still gets a segment of its own).
    pub segment_size: u64,
    /// The largest payload accepted; also the buffer size readers need, plus
    /// [`RECORD_HEADER_LEN`]. At most [`format::MAX_PAYLOAD_LEN`].
    pub max_payload: u32,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { segment_size: 8 * 1024 * 1024, max_payload: 64 * 1024 }
    }
}

/// Errors of log operations, generic over the storage's own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogError<E> {
    /// The storage failed; the operation may have partly happened (see each method).
    Storage(E),
    /// The payload is larger than [`LogConfig::max_payload`].
    PayloadTooLarge {
        /// Its length.
        len: usize,
        /// The configured limit.
        max: u32,
    },
    /// A caller-supplied buffer cannot hold what it must.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The value could not be encoded with postcard (the buffer is too small, or serde failed).
    Encode,
    /// A valid record's payload is not a value of the requested type; the reader moved past it.
    Decode {
        /// The record's sequence number.
        seq: u64,
    },
    /// Sequence numbers are used up (a damaged or crafted log reached `u64::MAX`).
    SeqExhausted,
    /// An acknowledgement names a sequence number that was never handed out.
    AckBeyondEnd {
        /// The sequence number acknowledged.
        seq: u64,
        /// The last one handed out (0 if none).
        last: u64,
    },
}

impl<E: core::fmt::Debug> core::fmt::Display for LogError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LogError::Storage(e) => write!(f, "storage error: {e:?}"),
            LogError::PayloadTooLarge { len, max } => {
                write!(f, "payload of {len} bytes exceeds the limit of {max}")
            }
            LogError::BufferTooSmall { needed, available } => {
                write!(f, "buffer of {available} bytes is too small, {needed} needed")
            }
            LogError::Encode => f.write_str("the value could not be encoded"),
            LogError::Decode { seq } => write!(f, "record {seq} does not decode as this type"),
            LogError::SeqExhausted => f.write_str("sequence numbers are used up"),
            LogError::AckBeyondEnd { seq, last } => {
                write!(f, "acknowledged {seq} but the last record is {last}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl<E: core::fmt::Debug> std::error::Error for LogError<E> {}

/// A durable, append-only log of records with sequence numbers, over any [`Storage`].
///
/// Delivery is at-least-once: records are replayed until acknowledged; a consumer that crashes
/// after handling a record but before acknowledging it sees it again, with the same seq.
#[derive(Debug)]
pub struct Log<S: Storage> {
    pub(crate) storage: S,
    pub(crate) config: LogConfig,
    /// Where appends go; `None` means the next append creates a segment.
    pub(crate) active: Option<SegmentId>,
    pub(crate) active_len: u64,
    /// The largest segment id ever seen; new segments get larger ids.
    pub(crate) last_id: Option<SegmentId>,
    pub(crate) next_seq: u64,
    pub(crate) acked: u64,
    pub(crate) synced_seq: u64,
    pub(crate) stored_bytes: u64,
    pub(crate) report: RecoveryReport,
    /// How many times bytes were cut at run time, and the last cut (segment, new length).
    pub(crate) cuts: u64,
    pub(crate) last_cut: (SegmentId, u64),
    /// How many segments were deleted since open (readers check theirs still exists).
    pub(crate) deletions: u64,
}

impl<S: Storage> Log<S> {
    /// The storage, for inspection (tests, backend-specific operations).
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    /// Gives the storage back, for reopening it.
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// What recovery found when this log was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    /// The configuration in force.
    pub fn config(&self) -> LogConfig {
        self.config
    }

    /// The last sequence number handed out (0 if none yet).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// The acknowledged position: every record `<=` it is handled.
    pub fn acked(&self) -> Checkpoint {
        Checkpoint(self.acked)
    }

    /// The last sequence number known to be durable (synced).
    pub fn synced_seq(&self) -> u64 {
        self.synced_seq
    }

    /// Sequence numbers handed out and not acknowledged (gaps included).
    pub fn unacked_records(&self) -> u64 {
        self.last_seq().saturating_sub(self.acked)
    }

    /// Bytes the log occupies in storage, headers and damaged bytes included. It shrinks only
    /// when whole segments are deleted.
    pub fn stored_bytes(&self) -> u64 {
        self.stored_bytes
    }

    /// The newest segment: the only one that can hold unsynced bytes (sealed segments are
    /// synced). Hosts sync it themselves for group commit.
    pub fn newest_segment(&self) -> Option<SegmentId> {
        self.last_id
    }

    /// The buffer size a [`Reader`] needs.
    pub fn read_buffer_len(&self) -> usize {
        RECORD_HEADER_LEN + self.config.max_payload as usize
    }

    /// Appends a value, encoded with postcard into `buf`, and returns its sequence number.
    ///
    /// The record is written to storage but not synced: call [`Log::sync`] before telling
    /// anyone it is durable. `buf` needs [`RECORD_HEADER_LEN`] bytes more than the encoding.
    ///
    /// # Errors
    ///
    /// [`LogError::Encode`] if the value does not fit `buf`; otherwise as [`Log::append_bytes`].
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropped after the write started, it may leave a partial record (the
    /// next open cuts it as a torn tail) or a complete one whose seq the caller never learns;
    /// the log itself then hands out that seq again only if the bytes were not complete.
    pub async fn append<T: Serialize>(
        &mut self,
        value: &T,
        buf: &mut [u8],
    ) -> Result<u64, LogError<S::Error>> {
        if buf.len() < RECORD_HEADER_LEN {
            return Err(LogError::BufferTooSmall {
                needed: RECORD_HEADER_LEN,
                available: buf.len(),
            });
        }
        let (head, tail) = buf.split_at_mut(RECORD_HEADER_LEN);
        let len = postcard::to_slice(value, tail).map_err(|_| LogError::Encode)?.len();
        self.check_len(len)?;
        let seq = self.next_seq;
        head.copy_from_slice(&format::encode_record_header(seq, &tail[..len]));
        self.write_record(&buf[..RECORD_HEADER_LEN + len]).await
    }

    /// Appends raw payload bytes and returns the record's sequence number.
    ///
    /// Written, not synced; see [`Log::append`].
    ///
    /// # Errors
    ///
    /// [`LogError::PayloadTooLarge`]; [`LogError::Storage`] if the write failed, in which case
    /// the log has either cut the partial write off or moved to a fresh segment, and the
    /// record may or may not be replayed after a crash.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as [`Log::append`].
    pub async fn append_bytes(&mut self, payload: &[u8]) -> Result<u64, LogError<S::Error>> {
        self.check_len(payload.len())?;
        let header = format::encode_record_header(self.next_seq, payload);
        self.prepare_segment(RECORD_HEADER_LEN + payload.len()).await?;
        let id = self.active.unwrap_or_default();
        let before = self.active_len;
        let mut result = self.storage.append(id, &header).await;
        if result.is_ok() {
            result = self.storage.append(id, payload).await;
        }
        self.finish_write(id, before, (RECORD_HEADER_LEN + payload.len()) as u64, result).await
    }

    fn check_len(&self, len: usize) -> Result<(), LogError<S::Error>> {
        if self.next_seq == u64::MAX {
            return Err(LogError::SeqExhausted);
        }
        let max = self.config.max_payload.min(format::MAX_PAYLOAD_LEN);
        if len > max as usize {
            return Err(LogError::PayloadTooLarge { len, max });
        }
        Ok(())
    }

    async fn write_record(&mut self, record: &[u8]) -> Result<u64, LogError<S::Error>> {
        self.prepare_segment(record.len()).await?;
        let id = self.active.unwrap_or_default();
        let before = self.active_len;
        let result = self.storage.append(id, record).await;
        self.finish_write(id, before, record.len() as u64, result).await
    }

    async fn finish_write(
        &mut self,
        id: SegmentId,
        before: u64,
        len: u64,
        result: Result<(), S::Error>,
    ) -> Result<u64, LogError<S::Error>> {
        match result {
            Ok(()) => {
                self.active_len += len;
                self.stored_bytes += len;
                let seq = self.next_seq;
                self.next_seq += 1;
                Ok(seq)
            }
            Err(e) => {
                // Crash reasoning: part of the record may be in storage. Sealing the segment
                // before it keeps the segment clean and the seq free; if even that fails, the
                // bytes may hold a valid record, so its seq is burnt. Either way later appends
                // go to a new segment: a sealed one takes no more bytes.
                if self.storage.seal(id, before).await.is_err() {
                    self.next_seq += 1;
                    self.stored_bytes += len;
                } else {
                    // Readers may hold the cut bytes in their windows; tell them.
                    self.cuts += 1;
                    self.last_cut = (id, before);
                }
                self.active = None;
                Err(LogError::Storage(e))
            }
        }
    }

    /// Makes sure the active segment can take `record_len` more bytes, rotating if needed.
    async fn prepare_segment(&mut self, record_len: usize) -> Result<(), LogError<S::Error>> {
        let fits = self.active_len + record_len as u64 <= self.config.segment_size;
        let empty = self.active_len <= SEGMENT_HEADER_LEN as u64;
        if self.active.is_some() && (fits || empty) {
            return Ok(());
        }
        // Invariant 5: a sealed segment has no unsynced bytes. The newest segment is the one
        // to seal, whether appends still go to it or a failed write left it behind.
        if let (Some(old), true) = (self.last_id, self.synced_seq < self.last_seq()) {
            self.storage.sync(old).await.map_err(LogError::Storage)?;
            self.synced_seq = self.last_seq();
        }
        let id = self.last_id.map_or(1, |id| id.saturating_add(1));
        self.storage.create_segment(id).await.map_err(LogError::Storage)?;
        self.last_id = Some(id);
        self.active = None;
        let header = format::encode_segment_header(self.next_seq);
        // A durable header means a newest segment with a bad header and no records can only be
        // a crash during creation, which recovery may delete.
        let mut written = self.storage.append(id, &header).await;
        if written.is_ok() {
            written = self.storage.sync(id).await;
        }
        if let Err(e) = written {
            // Leave no headerless segment in the middle of the log; if the delete fails too,
            // the next open reports it as a damaged header (it holds no records).
            let _ = self.storage.delete_segment(id).await;
            return Err(LogError::Storage(e));
        }
        self.active = Some(id);
        self.active_len = SEGMENT_HEADER_LEN as u64;
        self.stored_bytes += SEGMENT_HEADER_LEN as u64;
        Ok(())
    }

    /// Makes every record appended so far durable.
    ///
    /// # Errors
    ///
    /// [`LogError::Storage`]; the records may or may not be durable then.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping it only means durability is not confirmed.
    pub async fn sync(&mut self) -> Result<(), LogError<S::Error>> {
        let last = self.last_seq();
        // The newest segment is the only one that can hold unsynced bytes (invariant 5).
        if let (Some(id), true) = (self.last_id, self.synced_seq < last) {
            self.storage.sync(id).await.map_err(LogError::Storage)?;
        }
        self.synced_seq = last;
        Ok(())
    }

    /// Acknowledges every record with a sequence number `<= seq`: they were handled and are
    /// never replayed. The checkpoint is durable when this returns; then fully acknowledged
    /// segments are deleted. Acknowledging less than before is a no-op.
    ///
    /// # Errors
    ///
    /// [`LogError::AckBeyondEnd`] for a seq never handed out; [`LogError::Storage`] if the
    /// checkpoint write failed (the old checkpoint stands) or a deletion failed (retried on the
    /// next acknowledgement).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the checkpoint is replaced atomically; if dropped, the acknowledgement may
    /// or may not have been recorded, and replaying a handled record is allowed.
    pub async fn ack(&mut self, seq: u64) -> Result<(), LogError<S::Error>> {
        if seq > self.last_seq() {
            return Err(LogError::AckBeyondEnd { seq, last: self.last_seq() });
        }
        if seq > self.acked {
            let bytes = format::encode_checkpoint(seq);
            self.storage.write_checkpoint(&bytes).await.map_err(LogError::Storage)?;
            self.acked = seq;
        }
        self.delete_acked_segments().await
    }

    /// Deletes oldest segments while every record in them is acknowledged. The newest segment
    /// is never deleted.
    async fn delete_acked_segments(&mut self) -> Result<(), LogError<S::Error>> {
        loop {
            let st = &mut self.storage;
            let Some(oldest) = st.next_segment(None).await.map_err(LogError::Storage)? else {
                return Ok(());
            };
            // Every record of `oldest` has a seq below the floor of any later segment; take
            // the first later one whose header is intact.
            let mut later = oldest;
            let floor = loop {
                let st = &mut self.storage;
                match st.next_segment(Some(later)).await.map_err(LogError::Storage)? {
                    None => return Ok(()),
                    Some(id) => match self.segment_floor(id).await? {
                        Some(floor) => break floor,
                        None => later = id,
                    },
                }
            };
            if floor.saturating_sub(1) > self.acked {
                return Ok(());
            }
            let len = self.storage.segment_len(oldest).await.map_err(LogError::Storage)?;
            self.storage.delete_segment(oldest).await.map_err(LogError::Storage)?;
            self.stored_bytes = self.stored_bytes.saturating_sub(len);
            self.deletions += 1;
        }
    }

    /// A lower bound for every seq in a segment: its header base; `None` if the header is
    /// damaged.
    pub(crate) async fn segment_floor(
        &mut self,
        id: SegmentId,
    ) -> Result<Option<u64>, LogError<S::Error>> {
        let mut header = [0u8; SEGMENT_HEADER_LEN];
        let n = self.storage.read(id, 0, &mut header).await.map_err(LogError::Storage)?;
        if let Ok(base) = format::decode_segment_header(&header[..n]) {
            return Ok(Some(base));
        }
        // Damaged header: callers fall back to a later segment's floor.
        Ok(None)
    }
}
