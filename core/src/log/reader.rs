//! Walking records through a window buffer, and resynchronising after damaged bytes.
//!
//! Both recovery and replay use [`Reader`]: it reads storage in buffer-sized chunks, decodes
//! records in place and, when bytes do not decode, scans forward byte by byte for the next valid
//! record. It never loops without advancing and never panics on bad bytes. `Log::reader`,
//! `Log::read` and `Log::read_value` live here too.

use serde::de::DeserializeOwned;

use crate::log::engine::{Log, LogError};
use crate::log::format::{self, DecodeError, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use crate::log::storage::{SegmentId, Storage};

/// Where a reader starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At the first record that is not acknowledged: what a restarted pipeline replays.
    Unacknowledged,
    /// Right after a checkpoint obtained earlier (acquisition mode "resume").
    Resume(Checkpoint),
    /// At the first stored record with a sequence number `>=` this one (acquisition by offset).
    Seq(u64),
    /// At the oldest stored record, acknowledged or not.
    Oldest,
}

pub use crate::acquisition::Checkpoint;

/// Damage met while reading, counted since the reader was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadStats {
    /// Damaged stretches skipped.
    pub corrupt_regions: u32,
    /// Bytes in those stretches.
    pub corrupt_bytes: u64,
    /// Records missing according to sequence-number gaps above the start point.
    pub lost_records: u64,
}

/// A cursor over the log with its own buffer `B` (`&mut [u8]`, `Vec<u8>`, an array…); create it
/// with `Log::reader`.
///
/// The buffer must hold the largest record (`RECORD_HEADER_LEN + max_payload`); a bigger
/// buffer means fewer storage reads.
#[derive(Debug)]
pub struct Reader<B> {
    pub(crate) buf: B,
    pub(crate) at: Cursor,
}

/// Where a reader is and what it has met: everything but its buffer. The code that walks
/// records works on a `Cursor` and a `&mut [u8]`, so it exists once per storage type and not
/// once more per buffer type (recovery's `&mut [u8]`, a queue's array: 3.3 KB of Cortex-M code
/// when it was generic over the buffer).
#[derive(Debug)]
pub(crate) struct Cursor {
    pub(crate) segment: Option<SegmentId>,
    pub(crate) offset: u64,
    pub(crate) win_start: u64,
    pub(crate) win_len: usize,
    /// Records with a sequence number `<=` this are passed over silently.
    pub(crate) skip_through: u64,
    /// The last valid sequence number seen (returned or passed over).
    pub(crate) last_seq: u64,
    pub(crate) stats: ReadStats,
    /// The log's cut and deletion counters when this reader last looked (see `Log::read`).
    pub(crate) cuts: u64,
    pub(crate) deletions: u64,
}

/// What one step over a segment found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// A valid record at `buf[at..at + len]` of the reader's buffer (whole record, with header).
    Record { seq: u64, at: usize, len: usize },
    /// Bytes `from..to` of the segment did not decode; a valid record starts at `to`.
    Skipped { from: u64, to: u64 },
    /// The segment ends at `end`; from `bad_from` (if any) to `end` nothing decodes.
    End { bad_from: Option<u64>, end: u64 },
}

impl<B> Reader<B> {
    /// Damage this reader has met so far.
    pub fn stats(&self) -> ReadStats {
        self.at.stats
    }

    /// The position after the last record this reader returned or passed over.
    pub fn position(&self) -> Checkpoint {
        Checkpoint(self.at.last_seq.max(self.at.skip_through))
    }
}

impl Cursor {
    pub(crate) fn new(skip_through: u64) -> Self {
        Cursor {
            segment: None,
            offset: 0,
            win_start: 0,
            win_len: 0,
            skip_through,
            last_seq: 0,
            stats: ReadStats::default(),
            cuts: 0,
            deletions: 0,
        }
    }

    pub(crate) fn enter_segment(&mut self, id: SegmentId) {
        self.segment = Some(id);
        self.offset = SEGMENT_HEADER_LEN as u64;
        self.win_len = 0;
        self.win_start = 0;
    }

    /// Makes the window start at `from`, reading as much as the buffer holds.
    async fn fill<S: Storage>(
        &mut self,
        storage: &mut S,
        buf: &mut [u8],
        id: SegmentId,
        from: u64,
    ) -> Result<(), S::Error> {
        let n = storage.read(id, from, buf).await?;
        self.win_start = from;
        self.win_len = n;
        Ok(())
    }

    /// Bytes available in the window from segment offset `at`, or `None` if `at` is outside.
    fn window_from<'b>(&self, buf: &'b [u8], at: u64) -> Option<&'b [u8]> {
        let end = self.win_start + self.win_len as u64;
        if at < self.win_start || at >= end {
            return None;
        }
        buf.get((at - self.win_start) as usize..self.win_len)
    }

    /// Makes sure the window holds `need` bytes from `at` if the segment has them; returns
    /// how many bytes from `at` are in the window afterwards.
    async fn ensure<S: Storage>(
        &mut self,
        storage: &mut S,
        buf: &mut [u8],
        id: SegmentId,
        at: u64,
        need: usize,
    ) -> Result<usize, S::Error> {
        let have = self.window_from(buf, at).map_or(0, <[u8]>::len);
        if have >= need {
            return Ok(have);
        }
        self.fill(storage, buf, id, at).await?;
        Ok(self.win_len)
    }

    /// Decodes what starts at `at`: a record (seq, total length) or why not.
    fn try_decode(
        &self,
        buf: &[u8],
        at: u64,
        max_payload: u32,
    ) -> Result<(u64, usize), DecodeError> {
        let bytes = self.window_from(buf, at).unwrap_or(&[]);
        let record = format::decode_record(bytes, max_payload)?;
        Ok((record.seq, record.encoded_len()))
    }

    /// One step in the current segment: the next record, a skipped stretch, or the end.
    pub(crate) async fn step<S: Storage>(
        &mut self,
        storage: &mut S,
        buf: &mut [u8],
        max_payload: u32,
    ) -> Result<Step, S::Error> {
        let Some(id) = self.segment else {
            return Ok(Step::End { bad_from: None, end: 0 });
        };
        let at = self.offset;
        let full = RECORD_HEADER_LEN + max_payload as usize;

        let have = self.ensure(storage, buf, id, at, RECORD_HEADER_LEN).await?;
        if have == 0 {
            return Ok(Step::End { bad_from: None, end: at });
        }
        let mut decoded = self.try_decode(buf, at, max_payload);
        if let Err(DecodeError::Incomplete { needed }) = decoded {
            // The record may run past the window: read again from its start.
            if needed <= full {
                self.ensure(storage, buf, id, at, needed).await?;
                decoded = self.try_decode(buf, at, max_payload);
            }
        }
        if let Ok((seq, len)) = decoded {
            // A valid frame whose seq goes backwards is not ours (stale or false match).
            if seq > self.last_seq {
                self.offset = at + len as u64;
                let start = (at - self.win_start) as usize;
                return Ok(Step::Record { seq, at: start, len });
            }
        }

        // Damage at `at`. Crash reasoning: a torn write, zeros, a flipped bit and reordered
        // pages all look the same from here; only what follows tells them apart, so scan for
        // the next offset that holds a complete valid record with a greater seq.
        let mut probe = at + 1;
        loop {
            if self.window_from(buf, probe).map_or(0, <[u8]>::len) < RECORD_HEADER_LEN {
                self.fill(storage, buf, id, probe).await?;
                if self.win_len < RECORD_HEADER_LEN {
                    // Not even a header fits before the end: nothing valid follows `at`.
                    let end = probe + self.win_len as u64;
                    self.offset = at;
                    return Ok(Step::End { bad_from: Some(at), end });
                }
            }
            let bytes = self.window_from(buf, probe).unwrap_or(&[]);
            // The length check rejects almost every offset without touching a payload.
            if let Ok(len) = format::decode_record_len(bytes, max_payload) {
                if bytes.len() < RECORD_HEADER_LEN + len as usize {
                    self.fill(storage, buf, id, probe).await?;
                }
                if let Ok((seq, _)) = self.try_decode(buf, probe, max_payload)
                    && seq > self.last_seq
                {
                    self.offset = probe;
                    return Ok(Step::Skipped { from: at, to: probe });
                }
            }
            probe += 1;
        }
    }
}

impl<S: Storage> Log<S> {
    /// A reader starting at `start`, using `buf` (at least [`Log::read_buffer_len`] bytes).
    ///
    /// # Errors
    ///
    /// [`LogError::BufferTooSmall`]; [`LogError::Storage`] while finding the start segment.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn reader<B: AsMut<[u8]> + AsRef<[u8]>>(
        &mut self,
        start: Start,
        buf: B,
    ) -> Result<Reader<B>, LogError<S::Error>> {
        let needed = self.read_buffer_len();
        let available = buf.as_ref().len();
        if available < needed {
            return Err(LogError::BufferTooSmall { needed, available });
        }
        // Records `<= skip_through` are passed over.
        let skip_through = match start {
            Start::Unacknowledged => self.acked,
            Start::Resume(Checkpoint(seq)) => seq,
            Start::Seq(seq) => seq.saturating_sub(1),
            Start::Oldest => 0,
        };
        let at = self.cursor_at(skip_through).await?;
        Ok(Reader { buf, at })
    }

    /// A cursor that passes over records `<= skip_through`, in the segment where the first
    /// record after them would be.
    async fn cursor_at(&mut self, skip_through: u64) -> Result<Cursor, LogError<S::Error>> {
        let first = skip_through.saturating_add(1);
        let mut reader = Cursor::new(skip_through);
        reader.cuts = self.cuts;
        reader.deletions = self.deletions;

        // Start in the last segment whose header base is <= first; skip records below it.
        let mut pick = self.storage.next_segment(None).await.map_err(LogError::Storage)?;
        let mut cursor = pick;
        while let Some(id) = cursor {
            let next = self.storage.next_segment(Some(id)).await.map_err(LogError::Storage)?;
            if let Some(next_id) = next {
                match self.segment_floor(next_id).await? {
                    Some(base) if base <= first => pick = Some(next_id),
                    Some(_) => break,
                    None => {}
                }
            }
            cursor = next;
        }
        if let Some(id) = pick {
            reader.enter_segment(id);
        }
        Ok(reader)
    }

    /// Reads the next record at or after the reader's position; `None` when caught up.
    ///
    /// Damaged bytes are skipped and counted in [`Reader::stats`]; reading goes on at the
    /// next valid record. Records appended later are seen by later calls.
    ///
    /// # Errors
    ///
    /// [`LogError::Storage`]; the reader stays where it was and the call can be retried.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if dropped, no record is lost; the reader may return the record again.
    pub async fn read<'r, B: AsMut<[u8]> + AsRef<[u8]>>(
        &mut self,
        reader: &'r mut Reader<B>,
    ) -> Result<Option<format::RecordRef<'r>>, LogError<S::Error>> {
        self.read_up_to(reader, u64::MAX).await
    }

    /// As [`Log::read`], but records with a seq above `last` are not returned yet: the reader
    /// stops in front of them. Hosts pass their durable seq so that consumers never handle (and
    /// acknowledge) a record that a power cut could still take away.
    ///
    /// # Errors
    ///
    /// As [`Log::read`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Log::read`].
    pub async fn read_up_to<'r, B: AsMut<[u8]> + AsRef<[u8]>>(
        &mut self,
        reader: &'r mut Reader<B>,
        last: u64,
    ) -> Result<Option<format::RecordRef<'r>>, LogError<S::Error>> {
        let Reader { buf, at: cursor } = reader;
        let found = self.next_record(cursor, buf.as_mut(), last).await?;
        let buf: &'r B = buf;
        // `next_record` returns a whole decoded record inside the window it just read, so the
        // range is in the buffer and holds at least a header.
        Ok(found.map(|(seq, at, len)| format::RecordRef {
            seq,
            payload: &buf.as_ref()[at + RECORD_HEADER_LEN..at + len],
        }))
    }

    /// The walk of [`Log::read_up_to`] over the reader's cursor and buffer: the next record's
    /// seq, and where it lies in `buf` (whole record, with header).
    async fn next_record(
        &mut self,
        reader: &mut Cursor,
        buf: &mut [u8],
        last: u64,
    ) -> Result<Option<(u64, usize, usize)>, LogError<S::Error>> {
        let max = self.config.max_payload;
        if reader.cuts != self.cuts {
            // Bytes this reader may have buffered were cut after a failed append; forget the
            // window and step back to the cut if the reader was past it.
            reader.cuts = self.cuts;
            reader.deletions = self.deletions;
            reader.win_len = 0;
            let (id, len) = self.last_cut;
            if reader.segment == Some(id) && reader.offset > len {
                reader.offset = len;
            }
        }
        if reader.deletions != self.deletions {
            // Acknowledgements deleted segments; if this reader's was one of them, everything
            // left in it was acknowledged: go on at the next segment that still exists.
            reader.deletions = self.deletions;
            if let Some(id) = reader.segment {
                let st = &mut self.storage;
                let at_or_after =
                    st.next_segment(id.checked_sub(1)).await.map_err(LogError::Storage)?;
                match at_or_after {
                    Some(next) if next == id => {}
                    Some(next) => reader.enter_segment(next),
                    None => reader.segment = None,
                }
            }
        }
        let (seq, at, len) = loop {
            if reader.segment.is_none() {
                // Nothing existed when the reader was made; look again.
                match self.storage.next_segment(None).await.map_err(LogError::Storage)? {
                    Some(id) => reader.enter_segment(id),
                    None => return Ok(None),
                }
            }
            match reader.step(&mut self.storage, buf, max).await.map_err(LogError::Storage)? {
                Step::Record { seq, at, len } => {
                    if seq <= reader.skip_through {
                        reader.last_seq = seq;
                        continue;
                    }
                    if seq > last {
                        // Not for this caller yet: step back in front of the record.
                        reader.offset = reader.win_start + at as u64;
                        return Ok(None);
                    }
                    let expected = reader.last_seq.max(reader.skip_through).saturating_add(1);
                    if reader.last_seq != 0 && seq > expected {
                        reader.stats.lost_records += seq - expected;
                    }
                    reader.last_seq = seq;
                    break (seq, at, len);
                }
                Step::Skipped { from, to } => {
                    reader.stats.corrupt_regions += 1;
                    reader.stats.corrupt_bytes += to - from;
                }
                Step::End { bad_from, end } => {
                    let current = reader.segment.unwrap_or_default();
                    let next = self
                        .storage
                        .next_segment(Some(current))
                        .await
                        .map_err(LogError::Storage)?;
                    let Some(next) = next else {
                        // The newest segment: more may be appended here; stay put.
                        return Ok(None);
                    };
                    if let Some(from) = bad_from {
                        // A sealed segment ends in damage: nothing more will come; count it.
                        reader.stats.corrupt_regions += 1;
                        reader.stats.corrupt_bytes += end - from;
                    }
                    reader.enter_segment(next);
                }
            }
        };
        Ok(Some((seq, at, len)))
    }

    /// Reads the next record and decodes its payload as a `T`.
    ///
    /// # Errors
    ///
    /// As [`Log::read`], plus [`LogError::Decode`] when the payload is not a `T` (the reader
    /// has moved past that record).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Log::read`].
    pub async fn read_value<T: DeserializeOwned, B: AsMut<[u8]> + AsRef<[u8]>>(
        &mut self,
        reader: &mut Reader<B>,
    ) -> Result<Option<(u64, T)>, LogError<S::Error>> {
        match self.read(reader).await? {
            None => Ok(None),
            Some(record) => postcard::from_bytes(record.payload)
                .map(|value| Some((record.seq, value)))
                .map_err(|_| LogError::Decode { seq: record.seq }),
        }
    }
}
