//! [`IdbStorage`]: the log's `Storage` trait on IndexedDB, one transaction per batch.
//!
//! Appends are buffered in memory and written by `sync` (or when the buffer fills) in one
//! `readwrite` transaction; nothing but IndexedDB requests is awaited inside a transaction.
//! The record format, recovery and acknowledgement stay in the core's `Log`.
//!
//! # Layout
//!
//! One database per log, three object stores:
//!
//! | store      | key               | value                                         |
//! |------------|-------------------|-----------------------------------------------|
//! | `segments` | segment id        | the segment's logical length in bytes         |
//! | `chunks`   | `[id, start]`     | a `Uint8Array` written at byte offset `start` |
//! | `meta`     | `"checkpoint"`    | the checkpoint slot (`Uint8Array`)            |
//!
//! A segment's bytes are its chunks in `start` order, each clipped at the next chunk's start
//! and at the segment's length. Cutting a segment at `len` (the log's `seal`) only lowers
//! the length and deletes chunks that start at or after `len`; a chunk that straddles `len` is
//! left as written, and the next append, which starts at `len`, hides its tail. So a cut never
//! rewrites bytes, which is also what a write-once "seal" needs.
//!
//! # Crash story
//!
//! IndexedDB transactions are atomic: a batch (chunks plus new lengths) lands whole or not at
//! all, so after a crash a segment holds every synced byte and maybe some later whole batches,
//! which the contract allows. Under [`Durability::Relaxed`] the browser may report a commit
//! before the data reaches the disk; an OS crash can then lose the last batches (a tab crash
//! cannot). [`Durability::Strict`] waits for the flush.

mod request;

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use js_sys::{Array, Reflect, Uint8Array};
use plover_core::log::format::CHECKPOINT_LEN;
use plover_core::log::{SegmentId, Storage};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbFactory, IdbKeyRange, IdbOpenDbRequest};

use request::{Tx, issue};

const SEGMENTS: &str = "segments";
const CHUNKS: &str = "chunks";
const META: &str = "meta";
const CHECKPOINT_KEY: &str = "checkpoint";
const VERSION: u32 = 1;

/// Buffered bytes above which an `append` writes its batch without waiting for `sync`.
pub const DEFAULT_BATCH_BYTES: usize = 256 * 1024;

/// The durability hint given to every IndexedDB transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// The browser may report a commit before the data is on disk (fast; survives a tab crash,
    /// maybe not an OS crash or power cut).
    #[default]
    Relaxed,
    /// The browser reports a commit only after the data is flushed to disk.
    Strict,
}

impl Durability {
    /// The hint's IndexedDB name: `"relaxed"` or `"strict"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Relaxed => "relaxed",
            Durability::Strict => "strict",
        }
    }

    /// Parses `"relaxed"` or `"strict"`.
    pub fn parse(name: &str) -> Option<Durability> {
        match name {
            "relaxed" => Some(Durability::Relaxed),
            "strict" => Some(Durability::Strict),
            _ => None,
        }
    }
}

/// What went wrong in [`IdbStorage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdbError {
    /// This global scope has no `indexedDB` (an old browser, or a sandboxed frame).
    Unavailable,
    /// The segment does not exist.
    NoSuchSegment(SegmentId),
    /// `create_segment` on an id that exists.
    SegmentExists(SegmentId),
    /// A stored value is not what this backend writes (another program wrote the database).
    Corrupted {
        /// What was being read.
        what: &'static str,
    },
    /// IndexedDB refused or failed (quota exceeded, database closed, aborted transaction…).
    Js {
        /// The storage operation.
        op: &'static str,
        /// The browser's message.
        message: String,
    },
}

impl IdbError {
    fn js(op: &'static str, value: &JsValue) -> IdbError {
        let message = value
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| Reflect::get(value, &"message".into()).ok().and_then(|m| m.as_string()))
            .or_else(|| value.as_string())
            .unwrap_or_else(|| "unknown error".to_string());
        IdbError::Js { op, message }
    }
}

impl fmt::Display for IdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdbError::Unavailable => write!(f, "IndexedDB is not available here"),
            IdbError::NoSuchSegment(id) => write!(f, "segment {id} does not exist"),
            IdbError::SegmentExists(id) => write!(f, "segment {id} already exists"),
            IdbError::Corrupted { what } => write!(f, "IndexedDB holds a malformed {what}"),
            IdbError::Js { op, message } => write!(f, "IndexedDB {op} failed: {message}"),
        }
    }
}

impl core::error::Error for IdbError {}

impl From<IdbError> for JsValue {
    fn from(e: IdbError) -> JsValue {
        js_sys::Error::new(&e.to_string()).into()
    }
}

/// Appends not yet written: per segment, the offset of the first buffered byte and the bytes.
type Batch = BTreeMap<SegmentId, (u64, Vec<u8>)>;

/// A log's storage in one IndexedDB database.
///
/// The database is opened on first use; [`IdbStorage::reopen`] drops the connection and every
/// cached value, as a reloaded page would.
pub struct IdbStorage {
    name: String,
    durability: Durability,
    batch_bytes: usize,
    db: Option<IdbDatabase>,
    /// Logical lengths, buffered bytes included; read from the database on open.
    lens: BTreeMap<SegmentId, u64>,
    batch: Batch,
    batched: usize,
}

impl fmt::Debug for IdbStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdbStorage")
            .field("name", &self.name)
            .field("durability", &self.durability)
            .field("open", &self.db.is_some())
            .finish()
    }
}

impl IdbStorage {
    /// A storage in the database `name`, created if missing. Nothing is opened until the first
    /// operation, so this cannot fail.
    pub fn new(name: &str, durability: Durability) -> IdbStorage {
        IdbStorage {
            name: name.to_string(),
            durability,
            batch_bytes: DEFAULT_BATCH_BYTES,
            db: None,
            lens: BTreeMap::new(),
            batch: Batch::new(),
            batched: 0,
        }
    }

    /// Sets how many buffered bytes make an `append` write its batch early (at least 1).
    pub fn with_batch_bytes(mut self, bytes: usize) -> IdbStorage {
        self.batch_bytes = bytes.max(1);
        self
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The durability hint of its transactions.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// Closes the connection and forgets every cached value and unwritten append, as a page
    /// reload does; the next operation opens the database again.
    pub fn reopen(self) -> IdbStorage {
        // Dropping closes the connection.
        IdbStorage::new(&self.name, self.durability).with_batch_bytes(self.batch_bytes)
    }

    /// Deletes the database `name` and everything in it.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not stop the deletion.
    pub async fn delete_database(name: &str) -> Result<(), IdbError> {
        let factory = factory()?;
        issue("delete database", || factory.delete_database(name).map(Into::into))?
            .result("delete database")
            .await
            .map(drop)
    }

    async fn db(&mut self) -> Result<IdbDatabase, IdbError> {
        if let Some(db) = &self.db {
            return Ok(db.clone());
        }
        let db = open_database(&self.name).await?;
        self.lens = load_lens(&db, self.durability).await?;
        self.db = Some(db.clone());
        Ok(db)
    }

    /// Writes the buffered appends, plus `extra` requests, in one transaction, and waits for
    /// its commit. `extra` issues requests only: nothing else may be awaited inside.
    async fn commit(
        &mut self,
        op: &'static str,
        extra: impl FnOnce(&Tx) -> Result<(), IdbError>,
    ) -> Result<(), IdbError> {
        let db = self.db().await?;
        let tx = Tx::open(&db, &[SEGMENTS, CHUNKS, META], true, self.durability.as_str())?;
        let segments = store(&tx, SEGMENTS)?;
        let chunks = store(&tx, CHUNKS)?;
        for (id, (start, bytes)) in &self.batch {
            let data = Uint8Array::from(bytes.as_slice());
            issue(op, || chunks.put_with_key(&data, &chunk_key(*id, *start)))?;
            let len = self.lens.get(id).copied().unwrap_or(start + bytes.len() as u64);
            issue(op, || segments.put_with_key(&num(len), &num(u64::from(*id))))?;
        }
        extra(&tx)?;
        // The batch is handed to the transaction; if it aborts, the bytes are lost exactly as
        // unsynced bytes may be lost in a crash.
        self.batch.clear();
        self.batched = 0;
        tx.committed(op).await
    }

    fn len_of(&self, id: SegmentId) -> Result<u64, IdbError> {
        self.lens.get(&id).copied().ok_or(IdbError::NoSuchSegment(id))
    }

    /// Cuts segment `id` at `len`: lowers its length and deletes the chunks that start at or
    /// past `len`. Bytes before `len` are never rewritten (see the module doc).
    async fn cut(&mut self, id: SegmentId, len: u64) -> Result<(), IdbError> {
        self.db().await?;
        let current = self.len_of(id)?;
        let len = len.min(current);
        // Buffered bytes at or past the cut are dropped; those before it are kept.
        if let Some((start, bytes)) = self.batch.get_mut(&id) {
            let keep = len.saturating_sub(*start) as usize;
            self.batched -= bytes.len() - keep.min(bytes.len());
            bytes.truncate(keep);
            if bytes.is_empty() {
                self.batch.remove(&id);
            }
        }
        self.lens.insert(id, len);
        self.commit("seal", |tx| {
            let segments = store(tx, SEGMENTS)?;
            let chunks = store(tx, CHUNKS)?;
            issue("seal", || segments.put_with_key(&num(len), &num(u64::from(id))))?;
            let range = key_range(id, len as f64, f64::INFINITY)?;
            issue("seal", || chunks.delete(&range))?;
            Ok(())
        })
        .await
    }
}

impl Drop for IdbStorage {
    /// Closes the connection, so that deleting or upgrading the database is not blocked by it.
    /// Unwritten appends are lost, as unsynced bytes are in a crash.
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            db.close();
        }
    }
}

impl Storage for IdbStorage {
    type Error = IdbError;

    /// # Cancel safety
    ///
    /// Reads the cache only (after the first open); safe to drop.
    async fn next_segment(
        &mut self,
        after: Option<SegmentId>,
    ) -> Result<Option<SegmentId>, IdbError> {
        self.db().await?;
        Ok(match after {
            None => self.lens.keys().next().copied(),
            Some(a) => self.lens.range(a..).map(|(k, _)| *k).find(|k| *k != a),
        })
    }

    /// # Cancel safety
    ///
    /// The segment exists after the drop or not, wholly.
    async fn create_segment(&mut self, id: SegmentId) -> Result<(), IdbError> {
        self.db().await?;
        if self.lens.contains_key(&id) {
            return Err(IdbError::SegmentExists(id));
        }
        self.lens.insert(id, 0);
        let result = self
            .commit("create segment", |tx| {
                let segments = store(tx, SEGMENTS)?;
                issue("create segment", || segments.add_with_key(&num(0), &num(u64::from(id))))?;
                Ok(())
            })
            .await;
        if result.is_err() {
            self.lens.remove(&id);
        }
        result
    }

    /// # Cancel safety
    ///
    /// The segment is deleted after the drop or not, wholly.
    async fn delete_segment(&mut self, id: SegmentId) -> Result<(), IdbError> {
        self.db().await?;
        if let Some((_, bytes)) = self.batch.remove(&id) {
            self.batched -= bytes.len();
        }
        self.lens.remove(&id);
        self.commit("delete segment", |tx| {
            let segments = store(tx, SEGMENTS)?;
            let chunks = store(tx, CHUNKS)?;
            issue("delete segment", || segments.delete(&num(u64::from(id))))?;
            let range = key_range(id, 0.0, f64::INFINITY)?;
            issue("delete segment", || chunks.delete(&range))?;
            Ok(())
        })
        .await
    }

    /// # Cancel safety
    ///
    /// Reads the cache only (after the first open); safe to drop.
    async fn segment_len(&mut self, id: SegmentId) -> Result<u64, IdbError> {
        self.db().await?;
        self.len_of(id)
    }

    /// Buffers `bytes`; they are written by the next `sync`, or now if the buffer is full.
    ///
    /// # Cancel safety
    ///
    /// Dropped while writing a full batch, the batch may or may not have landed, as unsynced
    /// bytes may or may not survive a crash.
    async fn append(&mut self, id: SegmentId, bytes: &[u8]) -> Result<(), IdbError> {
        self.db().await?;
        let len = self.len_of(id)?;
        self.batch.entry(id).or_insert_with(|| (len, Vec::new())).1.extend_from_slice(bytes);
        self.lens.insert(id, len + bytes.len() as u64);
        self.batched += bytes.len();
        if self.batched >= self.batch_bytes {
            self.commit("append", |_| Ok(())).await?;
        }
        Ok(())
    }

    /// Reads from the database after writing any buffered bytes of this segment.
    ///
    /// # Cancel safety
    ///
    /// Reading changes nothing; a buffered batch may have been written, as by `sync`.
    async fn read(
        &mut self,
        id: SegmentId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, IdbError> {
        let db = self.db().await?;
        let len = self.len_of(id)?;
        if offset >= len || buf.is_empty() {
            return Ok(0);
        }
        if self.batch.contains_key(&id) {
            self.commit("read", |_| Ok(())).await?;
        }
        let want = (len - offset).min(buf.len() as u64) as usize;
        let end = offset + want as u64;

        // Two requests in one read-only transaction: the chunk that covers `offset` (the last
        // one starting at or before it) and every chunk starting inside (offset, end).
        let tx = Tx::open(&db, &[CHUNKS], false, self.durability.as_str())?;
        let chunks = store(&tx, CHUNKS)?;
        let before = key_range(id, 0.0, offset as f64)?;
        let first = issue("read", || {
            chunks.open_cursor_with_range_and_direction(&before, web_sys::IdbCursorDirection::Prev)
        })?;
        let inside = IdbKeyRange::bound_with_lower_open_and_upper_open(
            &chunk_key(id, offset),
            &chunk_key(id, end),
            true,
            true,
        )
        .map_err(|e| IdbError::js("read", &e))?;
        let keys = issue("read", || chunks.get_all_keys_with_key(&inside))?;
        let values = issue("read", || chunks.get_all_with_key(&inside))?;

        let mut pieces: Vec<(u64, Uint8Array)> = Vec::new();
        let cursor = first.result("read").await?;
        if let Some(cursor) = cursor.dyn_ref::<web_sys::IdbCursorWithValue>() {
            let start = chunk_start(&cursor.key().map_err(|e| IdbError::js("read", &e))?)?;
            let value = cursor.value().map_err(|e| IdbError::js("read", &e))?;
            pieces.push((start, bytes_of(value)?));
        }
        let keys: Array = keys.result("read").await?.dyn_into().map_err(|_| corrupted())?;
        let values: Array = values.result("read").await?.dyn_into().map_err(|_| corrupted())?;
        for (key, value) in keys.iter().zip(values.iter()) {
            pieces.push((chunk_start(&key)?, bytes_of(value)?));
        }
        tx.committed("read").await?;

        // Each chunk counts up to the next chunk's start (a later append after a cut hides the
        // straddling chunk's tail); the segment must be covered without a gap.
        let mut at = offset;
        for (i, (start, data)) in pieces.iter().enumerate() {
            let stop = pieces.get(i + 1).map_or(end, |(next, _)| *next).min(end);
            let data_end = start + u64::from(data.length());
            if *start > at || data_end < stop {
                return Err(IdbError::Corrupted { what: "segment (gap between chunks)" });
            }
            if stop <= at {
                continue;
            }
            let from = (at - start) as u32;
            let to = (stop - start) as u32;
            data.subarray(from, to)
                .copy_to(&mut buf[(at - offset) as usize..(stop - offset) as usize]);
            at = stop;
        }
        if at != end {
            return Err(IdbError::Corrupted { what: "segment (shorter than its length)" });
        }
        Ok(want)
    }

    /// Seals the segment by cutting it at `len` (see [`IdbStorage`]'s layout: the bytes are not
    /// rewritten). The cut is real, so the seal need not be remembered: `is_sealed` keeps the
    /// default, and appending to the segment after the next open is safe.
    ///
    /// # Cancel safety
    ///
    /// The cut lands wholly or not at all.
    async fn seal(&mut self, id: SegmentId, len: u64) -> Result<(), IdbError> {
        self.cut(id, len).await
    }

    /// Writes every buffered append in one transaction and waits for its commit.
    ///
    /// # Cancel safety
    ///
    /// Dropped, the batch may or may not have landed; nothing was reported durable.
    async fn sync(&mut self, _id: SegmentId) -> Result<(), IdbError> {
        self.db().await?;
        if self.batch.is_empty() {
            return Ok(());
        }
        self.commit("sync", |_| Ok(())).await
    }

    /// # Cancel safety
    ///
    /// Reading changes nothing; safe to drop.
    async fn read_checkpoint(&mut self, buf: &mut [u8; CHECKPOINT_LEN]) -> Result<bool, IdbError> {
        let db = self.db().await?;
        let tx = Tx::open(&db, &[META], false, self.durability.as_str())?;
        let meta = store(&tx, META)?;
        let value = issue("read checkpoint", || meta.get(&CHECKPOINT_KEY.into()))?
            .result("read checkpoint")
            .await?;
        tx.committed("read checkpoint").await?;
        if value.is_undefined() {
            return Ok(false);
        }
        let bytes = bytes_of(value)?;
        if bytes.length() as usize != CHECKPOINT_LEN {
            return Err(IdbError::Corrupted { what: "checkpoint" });
        }
        bytes.copy_to(buf);
        Ok(true)
    }

    /// Replaces the slot in one transaction (with the buffered appends) and waits for commit.
    ///
    /// # Cancel safety
    ///
    /// IndexedDB transactions are atomic: the old slot or the new one stands.
    async fn write_checkpoint(&mut self, bytes: &[u8; CHECKPOINT_LEN]) -> Result<(), IdbError> {
        let data = Uint8Array::from(&bytes[..]);
        self.commit("write checkpoint", |tx| {
            let meta = store(tx, META)?;
            issue("write checkpoint", || meta.put_with_key(&data, &CHECKPOINT_KEY.into()))?;
            Ok(())
        })
        .await
    }
}

fn factory() -> Result<IdbFactory, IdbError> {
    // `indexedDB` is read off the global object so that windows and workers both work.
    let value =
        Reflect::get(&js_sys::global(), &"indexedDB".into()).map_err(|_| IdbError::Unavailable)?;
    value.dyn_into::<IdbFactory>().map_err(|_| IdbError::Unavailable)
}

async fn open_database(name: &str) -> Result<IdbDatabase, IdbError> {
    let factory = factory()?;
    let request: IdbOpenDbRequest =
        factory.open_with_u32(name, VERSION).map_err(|e| IdbError::js("open", &e))?;
    // First open (or an older version): create the stores. Runs inside the upgrade
    // transaction, synchronously, before `success`.
    let upgrading = request.clone();
    let on_upgrade = Closure::<dyn FnMut()>::new(move || {
        let Ok(result) = upgrading.result() else { return };
        let db: IdbDatabase = result.unchecked_into();
        let existing = db.object_store_names();
        for name in [SEGMENTS, CHUNKS, META] {
            if !existing.contains(name) {
                // A failure here aborts the upgrade, which the open request then reports.
                let _ = db.create_object_store(name);
            }
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let result = request::Pending::new(request.clone().into()).result("open").await;
    request.set_onupgradeneeded(None);
    drop(on_upgrade);
    result?.dyn_into::<IdbDatabase>().map_err(|_| corrupted())
}

async fn load_lens(
    db: &IdbDatabase,
    durability: Durability,
) -> Result<BTreeMap<SegmentId, u64>, IdbError> {
    let tx = Tx::open(db, &[SEGMENTS], false, durability.as_str())?;
    let segments = store(&tx, SEGMENTS)?;
    let keys = issue("open", || segments.get_all_keys())?;
    let values = issue("open", || segments.get_all())?;
    let keys: Array = keys.result("open").await?.dyn_into().map_err(|_| corrupted())?;
    let values: Array = values.result("open").await?.dyn_into().map_err(|_| corrupted())?;
    tx.committed("open").await?;
    let mut lens = BTreeMap::new();
    for (key, value) in keys.iter().zip(values.iter()) {
        let id = whole(&key).and_then(|k| u32::try_from(k).ok()).ok_or_else(corrupted)?;
        lens.insert(id, whole(&value).ok_or_else(corrupted)?);
    }
    Ok(lens)
}

fn store(tx: &Tx, name: &str) -> Result<web_sys::IdbObjectStore, IdbError> {
    tx.tx.object_store(name).map_err(|e| IdbError::js("object store", &e))
}

fn num(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

fn chunk_key(id: SegmentId, start: u64) -> JsValue {
    Array::of2(&num(u64::from(id)), &num(start)).into()
}

fn key_range(id: SegmentId, from: f64, to: f64) -> Result<IdbKeyRange, IdbError> {
    let lower = Array::of2(&num(u64::from(id)), &from.into());
    let upper = Array::of2(&num(u64::from(id)), &to.into());
    IdbKeyRange::bound(&lower, &upper).map_err(|e| IdbError::js("key range", &e))
}

fn chunk_start(key: &JsValue) -> Result<u64, IdbError> {
    let key: &Array = key.dyn_ref().ok_or_else(corrupted)?;
    whole(&key.get(1)).ok_or_else(corrupted)
}

fn bytes_of(value: JsValue) -> Result<Uint8Array, IdbError> {
    value.dyn_into::<Uint8Array>().map_err(|_| corrupted())
}

/// A non-negative whole number below 2^53, as IndexedDB keys and lengths are stored.
fn whole(value: &JsValue) -> Option<u64> {
    let n = value.as_f64()?;
    (n >= 0.0 && n.fract() == 0.0 && n < 9_007_199_254_740_992.0).then_some(n as u64)
}

fn corrupted() -> IdbError {
    IdbError::Corrupted { what: "value" }
}
