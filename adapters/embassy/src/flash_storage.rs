//! [`FlashStorage`]: the core log's [`Storage`] on a region of NOR flash.
//!
//! One segment fills one erase page; bytes are only ever programmed into erased flash, never
//! rewritten, and a page is erased only when its segment is deleted or the page is reused.
//! Pages are handed out in ring order, so erases spread over the whole region. The byte layout
//! is drawn in `layout.rs`; what the log writes inside a page is the core's business.
//!
//! # Crash story
//!
//! - *Segment length.* NOR flash has no file size: on mount, a segment's length is where its
//!   last programmed (non-`0xFF`) byte is. Synced bytes that happen to end in `0xFF` would be
//!   lost by that rule, so `sync` then writes a length mark at the end of the page. A torn
//!   write leaves programmed garbage, which the length includes: the log sees a torn tail and
//!   seals before it, as the storage contract allows.
//! - *Seal.* The seal field in the page header is written once; a sealed page reads as its
//!   sealed length and takes no more appends. The log then appends to a fresh page.
//! - *Create, delete.* A page is a segment only if its header is whole and valid; a page whose
//!   erase or header write was cut is free and is erased again before use.
//! - *Checkpoint.* Two pages hold checkpoint entries, each with a counter and a CRC; the valid
//!   entry with the highest counter wins, so a torn entry leaves the previous one in force.
//!   When one page is full, the other is erased and used.
//!
//! # Limits
//!
//! The flash must allow programming a word again to clear more bits
//! ([`MultiwriteNorFlash`]), since appends of any length share words; flashes with ECC that
//! forbid it (STM32 L4/G4/H7) would need records padded to the write size, which is a record
//! format change that is not made. `READ_SIZE` must be 1 and `WRITE_SIZE` at most 32. The two
//! checkpoint pages are erased once every `ERASE_SIZE / 24` acknowledgements, more often than
//! data pages when acknowledgements are frequent: acknowledge in batches on long-lived devices.

use core::ops::Range;

use embedded_storage_async::nor_flash::{MultiwriteNorFlash, NorFlash};
use plover_core::log::format::{CHECKPOINT_LEN, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use plover_core::log::{Capacity, LogConfig, SegmentId, Storage};

use crate::layout::{self, CK_ENTRY_LEN, DATA_START, FIELD_LEN, HEADER_LEN, SEAL};

/// The largest `WRITE_SIZE` supported (the read-modify-write buffer of a word).
pub const MAX_WRITE_SIZE: usize = 32;
/// Length marks kept in reserve per page when sizing the log's segments.
const RESERVED_MARKS: usize = 4;
/// Pages at the start of the region that hold checkpoint entries.
const CHECKPOINT_PAGES: usize = 2;

/// Errors of [`FlashStorage`], generic over the flash driver's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashError<E> {
    /// The flash driver failed (or, on the mock, the power was cut).
    Flash(E),
    /// The region is not made of whole pages, has fewer than three or more than the
    /// storage's `PAGES + 2`, or the flash's read/write sizes are not supported.
    BadRegion,
    /// No segment has this id.
    NoSuchSegment(SegmentId),
    /// `create_segment` on an id that exists.
    SegmentExists(SegmentId),
    /// The segment is sealed (or a write to it failed) and takes no more bytes.
    Sealed(SegmentId),
    /// The append does not fit in the rest of the segment's page.
    SegmentFull {
        /// The segment.
        id: SegmentId,
        /// Bytes asked for.
        needed: u32,
        /// Bytes left.
        free: u32,
    },
    /// Every page holds a segment: acknowledge records so the log can delete old segments.
    RegionFull,
}

impl<E: core::fmt::Debug> core::fmt::Display for FlashError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FlashError::Flash(e) => write!(f, "flash driver error: {e:?}"),
            FlashError::BadRegion => f.write_str("the flash region or geometry is not supported"),
            FlashError::NoSuchSegment(id) => write!(f, "segment {id} does not exist"),
            FlashError::SegmentExists(id) => write!(f, "segment {id} exists already"),
            FlashError::Sealed(id) => write!(f, "segment {id} is sealed"),
            FlashError::SegmentFull { id, needed, free } => {
                write!(f, "segment {id} has {free} bytes left, {needed} needed")
            }
            FlashError::RegionFull => f.write_str("every page of the region holds a segment"),
        }
    }
}

impl<E: core::fmt::Debug> core::error::Error for FlashError<E> {}

impl<E> From<E> for FlashError<E> {
    fn from(e: E) -> Self {
        FlashError::Flash(e)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    id: SegmentId,
    /// Bytes of the log in the page.
    len: u32,
    /// A length mark proves at least this many bytes.
    marked: u32,
    /// Mark slots in use at the end of the page.
    marks: u32,
    /// The last byte is `0xFF`, so a sync must leave a mark.
    tail_erased: bool,
    /// The seal field on flash holds a valid seal.
    sealed: bool,
    /// A write failed in this run: the bytes after `len` are unknown, take no more.
    poisoned: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    /// Unknown content (garbage, a cut erase, an old header): erase before use.
    Dirty,
    /// Erased in this run and not written since.
    Erased,
    /// Holds a segment.
    Used(Segment),
}

/// A log [`Storage`] on a region of NOR flash of at most `PAGES` segment pages plus two
/// checkpoint pages. Open it with [`FlashStorage::mount`].
///
/// # Cancel safety
///
/// Every operation may be dropped at any await (a flash driver may pend), and leaves what a
/// power cut at that point would: the RAM state is updated *before* flash is written wherever
/// a half-done write matters. A dropped `append` poisons its segment (no more appends; the log
/// seals it and moves on), a dropped `seal` still reads as sealed in this run, a dropped
/// `create_segment` or `delete_segment` leaves a page that is erased before any reuse, a
/// dropped `sync` or `write_checkpoint` has used up its mark or entry slot, which is never
/// written over. Reads and `mount` only read.
#[derive(Debug)]
pub struct FlashStorage<F, const PAGES: usize> {
    flash: F,
    base: u32,
    pages: [Page; PAGES],
    count: usize,
    /// The page handed out last; allocation goes on after it.
    cursor: usize,
    ck_page: usize,
    ck_next: usize,
    ck_counter: u32,
    checkpoint: Option<[u8; CHECKPOINT_LEN]>,
}

fn page_size<F: NorFlash>() -> u32 {
    F::ERASE_SIZE as u32
}

impl<F: MultiwriteNorFlash, const PAGES: usize> FlashStorage<F, PAGES> {
    /// Reads the state of every page of `region` (byte offsets in `flash`, whole pages) and
    /// returns a storage ready for `Log::open`. A blank or foreign region is used as free space.
    ///
    /// # Errors
    ///
    /// [`FlashError::BadRegion`] for an unsupported geometry; [`FlashError::Flash`] when a
    /// read fails. Bad bytes are never an error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: mounting only reads.
    pub async fn mount(flash: F, region: Range<u32>) -> Result<Self, FlashError<F::Error>> {
        let page = page_size::<F>();
        let usable = F::READ_SIZE == 1
            && F::WRITE_SIZE <= MAX_WRITE_SIZE
            && (page as usize).is_multiple_of(F::WRITE_SIZE)
            && page as usize >= DATA_START + 8 * FIELD_LEN + SEGMENT_HEADER_LEN + RECORD_HEADER_LEN
            && region.start.is_multiple_of(page)
            && region.end.is_multiple_of(page)
            && region.end as usize <= flash.capacity();
        let total = (region.end.saturating_sub(region.start) / page) as usize;
        if !usable || total < CHECKPOINT_PAGES + 1 || total > PAGES + CHECKPOINT_PAGES {
            return Err(FlashError::BadRegion);
        }
        let mut storage = FlashStorage {
            flash,
            base: region.start,
            pages: [Page::Dirty; PAGES],
            count: total - CHECKPOINT_PAGES,
            cursor: total - CHECKPOINT_PAGES - 1,
            ck_page: 0,
            ck_next: 0,
            ck_counter: 0,
            checkpoint: None,
        };
        storage.mount_checkpoint().await?;
        let mut newest: Option<SegmentId> = None;
        for index in 0..storage.count {
            let state = storage.scan_page(index).await?;
            if let Page::Used(seg) = state {
                if storage.find(seg.id).is_some() {
                    // Two pages claim one id: only a damaged header can do that. Keep the
                    // first; the other page is reused later.
                    continue;
                }
                if newest.is_none_or(|id| seg.id > id) {
                    newest = Some(seg.id);
                    storage.cursor = index;
                }
            }
            storage.pages[index] = state;
        }
        Ok(storage)
    }

    /// Gives the flash back (to mount it again, as a restarted device would).
    pub fn into_flash(self) -> F {
        self.flash
    }

    /// The flash, for inspection.
    pub fn flash_mut(&mut self) -> &mut F {
        &mut self.flash
    }

    /// Segment pages in the region (checkpoint pages not counted).
    pub fn segment_pages(&self) -> usize {
        self.count
    }

    /// Segment pages that hold no segment.
    pub fn free_pages(&self) -> usize {
        self.pages[..self.count].iter().filter(|p| !matches!(p, Page::Used(_))).count()
    }

    /// The `segment_size` to give the log: a page less its header and a reserve of marks.
    pub fn segment_size() -> u64 {
        (F::ERASE_SIZE - DATA_START - (RESERVED_MARKS + 2) * FIELD_LEN) as u64
    }

    /// A log configuration whose segments fit the pages, for payloads up to `max_payload`
    /// (which must leave room for at least one record per segment).
    pub fn log_config(max_payload: u32) -> LogConfig {
        LogConfig { segment_size: Self::segment_size(), max_payload }
    }

    /// The largest byte capacity a `DurableQueue` on this storage can be given so that the
    /// flash never fills before the queue does.
    ///
    /// Flash is freed a page at a time: a segment is erased only when every record in it is
    /// acknowledged, so `DropOldest` evicts records one by one but regains flash only at page
    /// granularity. This leaves one page for the partly acknowledged oldest segment, one for
    /// the active segment and one spare for a segment sealed by a crash, and counts each
    /// page as holding only `segment_size - max_payload` bytes of records.
    pub fn queue_capacity(&self, max_payload: u32) -> Capacity {
        let per_page = Self::segment_size()
            .saturating_sub(SEGMENT_HEADER_LEN as u64)
            .saturating_sub(RECORD_HEADER_LEN as u64 + max_payload as u64);
        Capacity::Bytes(self.count.saturating_sub(3) as u64 * per_page)
    }

    fn page_addr(&self, index: usize) -> u32 {
        self.base + (CHECKPOINT_PAGES + index) as u32 * page_size::<F>()
    }

    fn ck_addr(&self, page: usize, entry: usize) -> u32 {
        self.base + page as u32 * page_size::<F>() + (entry * CK_ENTRY_LEN) as u32
    }

    fn find(&self, id: SegmentId) -> Option<usize> {
        self.pages[..self.count].iter().position(|p| matches!(p, Page::Used(seg) if seg.id == id))
    }

    fn segment(&mut self, id: SegmentId) -> Result<(usize, &mut Segment), FlashError<F::Error>> {
        let index = self.find(id).ok_or(FlashError::NoSuchSegment(id))?;
        match &mut self.pages[index] {
            Page::Used(seg) => Ok((index, seg)),
            _ => Err(FlashError::NoSuchSegment(id)),
        }
    }

    /// Programs `bytes` at `addr`, whatever their alignment: partial words are read, merged
    /// and programmed again (the bytes around are programmed with the values they hold).
    async fn program(&mut self, mut addr: u32, mut bytes: &[u8]) -> Result<(), F::Error> {
        let word = F::WRITE_SIZE as u32;
        while !bytes.is_empty() {
            let offset = (addr % word) as usize;
            if offset == 0 && bytes.len() >= word as usize {
                let whole = bytes.len() - bytes.len() % word as usize;
                self.flash.write(addr, &bytes[..whole]).await?;
                addr += whole as u32;
                bytes = &bytes[whole..];
                continue;
            }
            let mut buf = [0u8; MAX_WRITE_SIZE];
            let buf = &mut buf[..word as usize];
            let start = addr - offset as u32;
            self.flash.read(start, buf).await?;
            let n = bytes.len().min(word as usize - offset);
            buf[offset..offset + n].copy_from_slice(&bytes[..n]);
            self.flash.write(start, buf).await?;
            addr += n as u32;
            bytes = &bytes[n..];
        }
        Ok(())
    }

    async fn read_field<const N: usize>(&mut self, addr: u32) -> Result<[u8; N], F::Error> {
        let mut out = [0u8; N];
        self.flash.read(addr, &mut out).await?;
        Ok(out)
    }

    /// Works out what one segment page holds (see the crash story in the module docs).
    async fn scan_page(&mut self, index: usize) -> Result<Page, F::Error> {
        let addr = self.page_addr(index);
        let page = page_size::<F>();
        let header: [u8; HEADER_LEN] = self.read_field(addr).await?;
        let Some(id) = layout::decode_header(&header) else {
            return Ok(Page::Dirty);
        };
        let seal = layout::decode_seal(&self.read_field(addr + SEAL as u32).await?);

        // Marks fill slots from the end of the page down to the first erased slot.
        let slots = (page as usize - DATA_START) / FIELD_LEN - 1;
        let (mut marks, mut marked) = (0u32, 0u32);
        while (marks as usize) < slots {
            let at = addr + page - FIELD_LEN as u32 * (marks + 1);
            let field: [u8; FIELD_LEN] = self.read_field(at).await?;
            if layout::is_erased(&field) {
                break;
            }
            // A torn mark still takes its slot; the mark before it stands.
            if let Some(len) = layout::decode_mark(&field) {
                marked = marked.max(len);
            }
            marks += 1;
        }

        // The programmed end: the last byte that is not 0xFF below the marks.
        let area = page - DATA_START as u32 - FIELD_LEN as u32 * marks;
        let mut end = area;
        let mut chunk = [0u8; 32];
        'scan: while end > 0 {
            let n = (end as usize).min(chunk.len());
            let from = end - n as u32;
            self.flash.read(addr + DATA_START as u32 + from, &mut chunk[..n]).await?;
            for i in (0..n).rev() {
                if chunk[i] != 0xff {
                    end = from + i as u32 + 1;
                    break 'scan;
                }
            }
            end = from;
        }
        let mut len = end.max(marked.min(area));
        let sealed = seal.is_some();
        if let Some(sealed_len) = seal {
            len = len.min(sealed_len);
        }
        // `len` ends on a programmed byte or is covered by a mark: no mark is owed.
        let seg = Segment { id, len, marked, marks, tail_erased: false, sealed, poisoned: false };
        crate::debug!("flash: page {} holds segment {} of {} bytes", index, id, len);
        Ok(Page::Used(seg))
    }

    async fn mount_checkpoint(&mut self) -> Result<(), F::Error> {
        let per_page = F::ERASE_SIZE / CK_ENTRY_LEN;
        let mut best: Option<(u32, usize, [u8; CHECKPOINT_LEN])> = None;
        let mut used = [0usize; CHECKPOINT_PAGES];
        for (page, used) in used.iter_mut().enumerate() {
            for entry in 0..per_page {
                let bytes: [u8; CK_ENTRY_LEN] = self.read_field(self.ck_addr(page, entry)).await?;
                if layout::is_erased(&bytes) {
                    continue;
                }
                *used = entry + 1;
                if let Some((slot, counter)) = layout::decode_checkpoint(&bytes)
                    && best.is_none_or(|(c, _, _)| counter > c)
                {
                    best = Some((counter, page, slot));
                }
            }
        }
        if let Some((counter, page, slot)) = best {
            self.ck_counter = counter;
            self.ck_page = page;
            self.checkpoint = Some(slot);
        }
        self.ck_next = used[self.ck_page];
        Ok(())
    }
}

impl<F: MultiwriteNorFlash, const PAGES: usize> Storage for FlashStorage<F, PAGES> {
    type Error = FlashError<F::Error>;

    async fn next_segment(
        &mut self,
        after: Option<SegmentId>,
    ) -> Result<Option<SegmentId>, Self::Error> {
        let next = self.pages[..self.count]
            .iter()
            .filter_map(|p| match p {
                Page::Used(seg) if after.is_none_or(|a| seg.id > a) => Some(seg.id),
                _ => None,
            })
            .min();
        Ok(next)
    }

    async fn create_segment(&mut self, id: SegmentId) -> Result<(), Self::Error> {
        if self.find(id).is_some() {
            return Err(FlashError::SegmentExists(id));
        }
        // Ring order from the last page handed out: every page takes its turn.
        let index = (1..=self.count)
            .map(|step| (self.cursor + step) % self.count)
            .find(|&i| !matches!(self.pages[i], Page::Used(_)))
            .ok_or(FlashError::RegionFull)?;
        let addr = self.page_addr(index);
        if self.pages[index] == Page::Dirty {
            self.flash.erase(addr, addr + page_size::<F>()).await?;
        }
        // From here until the header is whole, a power cut leaves a page that reads as free.
        self.pages[index] = Page::Dirty;
        self.program(addr, &layout::encode_header(id)).await?;
        self.pages[index] = Page::Used(Segment {
            id,
            len: 0,
            marked: 0,
            marks: 0,
            tail_erased: false,
            sealed: false,
            poisoned: false,
        });
        self.cursor = index;
        crate::debug!("flash: segment {} created in page {}", id, index);
        Ok(())
    }

    async fn delete_segment(&mut self, id: SegmentId) -> Result<(), Self::Error> {
        let Some(index) = self.find(id) else {
            return Ok(());
        };
        let addr = self.page_addr(index);
        self.pages[index] = Page::Dirty;
        self.flash.erase(addr, addr + page_size::<F>()).await?;
        self.pages[index] = Page::Erased;
        Ok(())
    }

    async fn segment_len(&mut self, id: SegmentId) -> Result<u64, Self::Error> {
        Ok(self.segment(id)?.1.len as u64)
    }

    async fn append(&mut self, id: SegmentId, bytes: &[u8]) -> Result<(), Self::Error> {
        let (index, seg) = self.segment(id)?;
        if seg.sealed || seg.poisoned {
            return Err(FlashError::Sealed(id));
        }
        // Keep one mark slot and one erased slot between the data and the marks, so a sync
        // always has room and a mount can tell marks from data.
        let reserved = DATA_START as u32 + FIELD_LEN as u32 * (seg.marks + 2);
        let free = page_size::<F>().saturating_sub(reserved + seg.len);
        let needed = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        if needed > free {
            return Err(FlashError::SegmentFull { id, needed, free });
        }
        let Some(&last) = bytes.last() else {
            return Ok(());
        };
        let len = seg.len;
        // Poisoned until the write completes: if it fails or the future is dropped halfway,
        // the bytes after `len` are unknown and must never be programmed over.
        seg.poisoned = true;
        let at = self.page_addr(index) + DATA_START as u32 + len;
        self.program(at, bytes).await?;
        let (_, seg) = self.segment(id)?;
        seg.len += needed;
        seg.tail_erased = last == 0xff;
        seg.poisoned = false;
        Ok(())
    }

    async fn read(
        &mut self,
        id: SegmentId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, Self::Error> {
        let (index, seg) = self.segment(id)?;
        let available = (seg.len as u64).saturating_sub(offset);
        let n = buf.len().min(usize::try_from(available).unwrap_or(usize::MAX));
        if n > 0 {
            let at = self.page_addr(index) + DATA_START as u32 + offset as u32;
            self.flash.read(at, &mut buf[..n]).await?;
        }
        Ok(n)
    }

    async fn seal(&mut self, id: SegmentId, len: u64) -> Result<(), Self::Error> {
        let (index, seg) = self.segment(id)?;
        let len = seg.len.min(u32::try_from(len).unwrap_or(u32::MAX));
        // Sealed in RAM first, so that a failed or dropped write still leaves this run
        // reading the segment as sealed.
        seg.len = len;
        seg.sealed = true;
        let at = self.page_addr(index) + SEAL as u32;
        let old: [u8; FIELD_LEN] = self.read_field(at).await?;
        if layout::decode_seal(&old) == Some(len) {
            return Ok(());
        }
        // A seal cut short earlier left some bits programmed. Programming the new value on top
        // completes it when both name the same length, the usual case since recovery is
        // deterministic. Otherwise the field stays invalid: this run still reads the segment
        // as sealed, and a later open sees the tail again and reports it as damage.
        let mut field = layout::encode_seal(len);
        for (new, old) in field.iter_mut().zip(old) {
            *new &= old;
        }
        self.program(at, &field).await?;
        crate::debug!("flash: segment {} sealed at {} bytes", id, len);
        Ok(())
    }

    async fn is_sealed(&mut self, id: SegmentId) -> Result<bool, Self::Error> {
        let seg = self.segment(id)?.1;
        Ok(seg.sealed || seg.poisoned)
    }

    async fn sync(&mut self, id: SegmentId) -> Result<(), Self::Error> {
        // Programmed bytes are durable once `write` returns; only a tail of 0xFF bytes needs a
        // mark to be told from erased flash after a restart.
        let (index, seg) = self.segment(id)?;
        if seg.len <= seg.marked || !seg.tail_erased {
            return Ok(());
        }
        let (len, slot) = (seg.len, seg.marks + 1);
        seg.marks += 1;
        let at = self.page_addr(index) + page_size::<F>() - FIELD_LEN as u32 * slot;
        self.program(at, &layout::encode_mark(len)).await?;
        self.segment(id)?.1.marked = len;
        Ok(())
    }

    async fn read_checkpoint(
        &mut self,
        buf: &mut [u8; CHECKPOINT_LEN],
    ) -> Result<bool, Self::Error> {
        match self.checkpoint {
            Some(slot) => {
                *buf = slot;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn write_checkpoint(&mut self, bytes: &[u8; CHECKPOINT_LEN]) -> Result<(), Self::Error> {
        if self.ck_next >= F::ERASE_SIZE / CK_ENTRY_LEN {
            // The page is full: erase the other one and go on there. Until the first entry
            // lands in it, the full page still holds the newest checkpoint.
            let other = (self.ck_page + 1) % CHECKPOINT_PAGES;
            let addr = self.ck_addr(other, 0);
            self.flash.erase(addr, addr + page_size::<F>()).await?;
            self.ck_page = other;
            self.ck_next = 0;
        }
        let counter = self.ck_counter.wrapping_add(1);
        let at = self.ck_addr(self.ck_page, self.ck_next);
        // The slot is taken even if the write is cut: a torn entry is never written over.
        self.ck_next += 1;
        self.program(at, &layout::encode_checkpoint(bytes, counter)).await?;
        self.ck_counter = counter;
        self.checkpoint = Some(*bytes);
        Ok(())
    }
}
