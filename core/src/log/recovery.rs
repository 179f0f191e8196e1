//! Opening a log: the recovery scan that classifies damage, cuts torn tails and reports loss.
//!
//! Every branch below says which crash leaves the bytes it handles. Recovery never fails on bad
//! bytes (only on storage errors) and always ends with a log that accepts appends.

use crate::log::engine::{Log, LogConfig, LogError};
use crate::log::format::{self, SEGMENT_HEADER_LEN};
use crate::log::reader::{Cursor, Step};
use crate::log::storage::{SegmentId, Storage};

/// What recovery found and did when a log was opened. All counts are zero for a clean log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoveryReport {
    /// Segments scanned.
    pub segments: u32,
    /// Valid records found.
    pub records: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Bytes cut off the newest segment after its last valid record, not all zero.
    pub torn_tail_bytes: u64,
    /// Bytes cut off the newest segment after its last valid record, all zero.
    pub zero_tail_bytes: u64,
    /// Damaged stretches skipped in the middle of the log (or ending a sealed segment).
    pub corrupt_regions: u32,
    /// Bytes in those stretches.
    pub corrupt_bytes: u64,
    /// Segments whose header is damaged or missing (their records were still read).
    pub bad_segment_headers: u32,
    /// Segment ids missing between present ones.
    pub missing_segments: u32,
    /// Unacknowledged records known lost from sequence-number gaps.
    pub lost_records: u64,
    /// The checkpoint names a seq beyond the last stored record.
    pub checkpoint_ahead: bool,
    /// The checkpoint slot failed its check and was treated as "nothing acknowledged".
    pub bad_checkpoint: bool,
    /// The acknowledged position after recovery.
    pub acked: u64,
    /// The last valid sequence number found (0 if none).
    pub last_seq: u64,
}

impl RecoveryReport {
    /// Whether recovery found no damage at all (a cut zero tail counts as damage too).
    pub fn is_clean(&self) -> bool {
        let clean = RecoveryReport {
            segments: self.segments,
            records: self.records,
            bytes_scanned: self.bytes_scanned,
            acked: self.acked,
            last_seq: self.last_seq,
            ..RecoveryReport::default()
        };
        *self == clean
    }

    /// Whether data that was not acknowledged may have been lost: skipped bytes, gaps, missing
    /// segments, damaged headers or checkpoint. A cut tail is not counted here; see
    /// `docs/log-format.md` for why.
    pub fn lost_data(&self) -> bool {
        self.corrupt_regions > 0
            || self.lost_records > 0
            || self.missing_segments > 0
            || self.bad_checkpoint
            || self.checkpoint_ahead
    }
}

/// The state of the newest segment seen so far during the scan.
struct Newest {
    id: SegmentId,
    len: u64,
    base: Option<u64>,
    records: u64,
    bad_from: Option<u64>,
}

impl<S: Storage> Log<S> {
    /// Opens the log kept in `storage`, recovering from whatever a crash left behind.
    ///
    /// `buf` must hold the largest record ([`Log::read_buffer_len`] for this config); a bigger
    /// one makes the scan faster. See [`Log::recovery_report`] for what was found.
    ///
    /// # Errors
    ///
    /// [`LogError::BufferTooSmall`]; [`LogError::Storage`] when the storage fails. Bad bytes
    /// are never an error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: every change recovery makes (cutting a tail, deleting an empty segment) is
    /// one a later open would make again.
    pub async fn open(
        mut storage: S,
        config: LogConfig,
        buf: &mut [u8],
    ) -> Result<Self, LogError<S::Error>> {
        let needed = format::RECORD_HEADER_LEN + config.max_payload as usize;
        if buf.len() < needed {
            return Err(LogError::BufferTooSmall { needed, available: buf.len() });
        }
        let mut report = RecoveryReport::default();

        let mut slot = [0u8; format::CHECKPOINT_LEN];
        let acked = if storage.read_checkpoint(&mut slot).await.map_err(LogError::Storage)? {
            match format::decode_checkpoint(&slot) {
                Ok(acked) => acked,
                Err(_) => {
                    // The slot is replaced atomically, so this is media damage, not a crash.
                    // Replaying everything keeps at-least-once; duplicates are possible.
                    report.bad_checkpoint = true;
                    0
                }
            }
        } else {
            0
        };

        let mut reader = Cursor::new(0);
        let mut newest: Option<Newest> = None;
        let mut expected: Option<u64> = None;
        let mut last_seq = 0u64;
        let mut stored = 0u64;

        while let Some(id) =
            storage.next_segment(newest.as_ref().map(|n| n.id)).await.map_err(LogError::Storage)?
        {
            if let Some(prev) = &newest {
                // Segment ids grow by one; a hole means a segment file was lost.
                report.missing_segments += id.saturating_sub(prev.id).saturating_sub(1);
                if let Some(from) = prev.bad_from {
                    // A sealed segment ending in damage: it was synced before the next one was
                    // created, so this is media damage or truncation, not a torn write.
                    report.corrupt_regions += 1;
                    report.corrupt_bytes += prev.len.saturating_sub(from);
                }
            }
            let len = storage.segment_len(id).await.map_err(LogError::Storage)?;
            report.segments += 1;
            report.bytes_scanned += len;
            stored += len;

            let mut header = [0u8; SEGMENT_HEADER_LEN];
            let n = storage.read(id, 0, &mut header).await.map_err(LogError::Storage)?;
            let base = format::decode_segment_header(&header[..n]).ok();
            if base.is_none() {
                report.bad_segment_headers += 1;
            }
            if expected.is_none() {
                expected = base;
            }

            let mut seg = Newest { id, len, base, records: 0, bad_from: None };
            reader.enter_segment(id);
            loop {
                match reader.step(&mut storage, buf, config.max_payload).await {
                    Err(e) => return Err(LogError::Storage(e)),
                    Ok(Step::Record { seq, .. }) => {
                        report.records += 1;
                        seg.records += 1;
                        // Seqs above the checkpoint that never showed up are lost records.
                        let floor = expected.unwrap_or(seq).max(acked.saturating_add(1));
                        report.lost_records += seq.saturating_sub(floor);
                        expected = Some(seq.saturating_add(1));
                        last_seq = seq;
                        reader.last_seq = seq;
                    }
                    Ok(Step::Skipped { from, to }) => {
                        // Damage followed by a valid record: bit flips, or pages written out of
                        // order without fsync. Skip and count; the gap in seqs says how much.
                        report.corrupt_regions += 1;
                        report.corrupt_bytes += to - from;
                    }
                    Ok(Step::End { bad_from, .. }) => {
                        seg.bad_from = bad_from;
                        break;
                    }
                }
            }
            newest = Some(seg);
        }

        let mut log = Log {
            storage,
            config,
            active: None,
            active_len: 0,
            last_id: newest.as_ref().map(|n| n.id),
            next_seq: 1,
            acked,
            synced_seq: 0,
            stored_bytes: stored,
            report,
            cuts: 0,
            last_cut: (0, 0),
            deletions: 0,
        };
        let mut floor_seq = last_seq;

        if let Some(seg) = newest {
            if let Some(base) = seg.base {
                floor_seq = floor_seq.max(base.saturating_sub(1));
            }
            log.recover_newest(&seg, buf).await?;
        }

        log.report.checkpoint_ahead = acked > floor_seq;
        // Invariant 4: never hand out a seq that could already have been acknowledged.
        // Saturates on a crafted seq or checkpoint of u64::MAX; `append` then refuses.
        log.next_seq = floor_seq.max(acked).saturating_add(1);
        log.synced_seq = log.next_seq - 1;
        log.report.acked = acked;
        log.report.last_seq = last_seq;
        Ok(log)
    }

    /// Classifies and repairs the tail of the newest segment, and picks where appends go.
    async fn recover_newest(
        &mut self,
        seg: &Newest,
        buf: &mut [u8],
    ) -> Result<(), LogError<S::Error>> {
        if seg.base.is_none() && seg.records == 0 {
            // No valid header and no valid record in the newest segment: a crash while the
            // segment was being created (the header is synced right after creation, before
            // any record goes in, so nothing that was ever durable can be in it). Remove it so
            // it does not read as damage next time; appends go to a fresh segment.
            let zeros = self.all_zero(seg.id, 0, seg.len, buf).await?;
            if zeros {
                self.report.zero_tail_bytes += seg.len;
            } else {
                self.report.torn_tail_bytes += seg.len;
            }
            self.report.bad_segment_headers = self.report.bad_segment_headers.saturating_sub(1);
            self.storage.delete_segment(seg.id).await.map_err(LogError::Storage)?;
            self.stored_bytes = self.stored_bytes.saturating_sub(seg.len);
            // Its id is free again: skipping it would read as a missing segment next time.
            self.last_id = seg.id.checked_sub(1);
            return Ok(());
        }

        if let Some(from) = seg.bad_from {
            // Bad bytes up to the end of the newest segment with nothing valid after them: an
            // interrupted write (torn) or a file extended without its data (zeros). Either way
            // it belongs to appends whose sync never completed: seal the segment before it.
            // Appends go to a new segment, since flash cannot reuse the torn bytes.
            let zeros = self.all_zero(seg.id, from, seg.len, buf).await?;
            if zeros {
                self.report.zero_tail_bytes += seg.len.saturating_sub(from);
            } else {
                self.report.torn_tail_bytes += seg.len.saturating_sub(from);
            }
            self.storage.seal(seg.id, from).await.map_err(LogError::Storage)?;
            self.stored_bytes = self.stored_bytes.saturating_sub(seg.len.saturating_sub(from));
            self.active = None;
            return Ok(());
        }
        // What we read may still sit in a page cache only; make it durable before building on it.
        self.storage.sync(seg.id).await.map_err(LogError::Storage)?;

        let sealed = self.storage.is_sealed(seg.id).await.map_err(LogError::Storage)?;
        if seg.base.is_some() && !sealed {
            self.active = Some(seg.id);
            self.active_len = seg.len;
        } else {
            // Records but a damaged header, or sealed in an earlier run (flash remembers the
            // seal): readable, but do not append to it.
            self.active = None;
        }
        Ok(())
    }

    async fn all_zero(
        &mut self,
        id: SegmentId,
        from: u64,
        to: u64,
        buf: &mut [u8],
    ) -> Result<bool, LogError<S::Error>> {
        let mut at = from;
        while at < to {
            let n = self.storage.read(id, at, buf).await.map_err(LogError::Storage)?;
            if n == 0 {
                break;
            }
            let n = n.min((to - at) as usize);
            if buf[..n].iter().any(|b| *b != 0) {
                return Ok(false);
            }
            at += n as u64;
        }
        Ok(true)
    }
}
