//! [`FileStorage`]: the log's segments as files in one directory, and a crash-safe checkpoint.
//!
//! Segment `n` is the file `{n:010}.plog`; the checkpoint is `checkpoint`, replaced through
//! `checkpoint.tmp` + fsync + rename + directory fsync. Appends are batched in memory and
//! written on sync, on read, or when the batch is full. Record bytes are the core's business.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plover_core::log::format::CHECKPOINT_LEN;
use plover_core::log::{SegmentId, Storage};

const SEGMENT_EXT: &str = "plog";
const CHECKPOINT: &str = "checkpoint";
const CHECKPOINT_TMP: &str = "checkpoint.tmp";

/// The default size of the in-memory append batch (bytes written with one `write`).
pub const DEFAULT_BATCH_BYTES: usize = 256 * 1024;

#[derive(Debug)]
struct SegmentFile {
    file: Arc<File>,
    /// Length including bytes still in the batch.
    len: u64,
}

/// A directory of segment files plus a checkpoint file.
#[derive(Debug)]
pub struct FileStorage {
    dir: PathBuf,
    segments: BTreeMap<SegmentId, SegmentFile>,
    batch: Vec<u8>,
    batch_for: Option<SegmentId>,
    batch_bytes: usize,
}

fn segment_name(id: SegmentId) -> String {
    format!("{id:010}.{SEGMENT_EXT}")
}

fn parse_segment_name(name: &str) -> Option<SegmentId> {
    let stem = name.strip_suffix(SEGMENT_EXT)?.strip_suffix('.')?;
    if stem.len() != 10 {
        return None;
    }
    stem.parse().ok()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn open_segment(path: &Path, create: bool) -> io::Result<File> {
    OpenOptions::new().read(true).append(true).create_new(create).open(path)
}

fn missing(id: SegmentId) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no segment {id}"))
}

impl FileStorage {
    /// Opens (creating if needed) the log directory `dir`; lists its segment files.
    ///
    /// # Errors
    ///
    /// Any I/O error creating, listing or opening the files.
    pub fn open(dir: impl AsRef<Path>) -> io::Result<Self> {
        Self::with_batch_bytes(dir, DEFAULT_BATCH_BYTES)
    }

    /// As [`FileStorage::open`], with appends batched up to `batch_bytes` before a `write`.
    ///
    /// # Errors
    ///
    /// As [`FileStorage::open`].
    pub fn with_batch_bytes(dir: impl AsRef<Path>, batch_bytes: usize) -> io::Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir)?;
        // A temporary checkpoint is a replacement that never got renamed: the old one stands.
        match fs::remove_file(dir.join(CHECKPOINT_TMP)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut segments = BTreeMap::new();
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let Some(id) = entry.file_name().to_str().and_then(parse_segment_name) else {
                continue;
            };
            let file = open_segment(&entry.path(), false)?;
            let len = file.metadata()?.len();
            segments.insert(id, SegmentFile { file: Arc::new(file), len });
        }
        Ok(FileStorage { dir, segments, batch: Vec::new(), batch_for: None, batch_bytes })
    }

    /// The directory this storage lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of a segment's file.
    pub fn segment_path(&self, id: SegmentId) -> PathBuf {
        self.dir.join(segment_name(id))
    }

    /// Writes the batch out (no fsync) and returns a handle on which `sync_data` makes the
    /// segment durable. Used for group commit: the fsync runs without holding the log's lock.
    ///
    /// # Errors
    ///
    /// The write's I/O error, or `NotFound` for an unknown segment.
    pub fn sync_handle(&mut self, id: SegmentId) -> io::Result<Arc<File>> {
        self.write_batch()?;
        self.segments.get(&id).map(|s| Arc::clone(&s.file)).ok_or_else(|| missing(id))
    }

    fn write_batch(&mut self) -> io::Result<()> {
        let Some(id) = self.batch_for else { return Ok(()) };
        if !self.batch.is_empty() {
            let segment = self.segments.get(&id).ok_or_else(|| missing(id))?;
            let result = (&*segment.file).write_all(&self.batch);
            if result.is_err() {
                // Part of the batch may be in the file; make the length tell the truth.
                let on_disk = segment.file.metadata().map(|m| m.len()).unwrap_or(segment.len);
                if let Some(s) = self.segments.get_mut(&id) {
                    s.len = on_disk;
                }
            }
            self.batch.clear();
            result?;
        }
        self.batch_for = None;
        Ok(())
    }

    fn segment(&self, id: SegmentId) -> io::Result<&SegmentFile> {
        self.segments.get(&id).ok_or_else(|| missing(id))
    }
}

impl Drop for FileStorage {
    fn drop(&mut self) {
        // A clean shutdown keeps batched appends (without fsync: the policy decides that).
        if let Err(e) = self.write_batch() {
            tracing::error!(error = %e, dir = %self.dir.display(), "batched appends lost on close");
        }
    }
}

impl Storage for FileStorage {
    type Error = io::Error;

    async fn next_segment(&mut self, after: Option<SegmentId>) -> io::Result<Option<SegmentId>> {
        Ok(match after {
            None => self.segments.keys().next().copied(),
            Some(a) => self.segments.range(a.saturating_add(1)..).next().map(|(k, _)| *k),
        }
        .filter(|id| Some(*id) != after))
    }

    async fn create_segment(&mut self, id: SegmentId) -> io::Result<()> {
        if self.segments.contains_key(&id) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("segment {id}")));
        }
        let file = open_segment(&self.segment_path(id), true)?;
        // The contract says a created segment survives a crash: make the name durable.
        sync_dir(&self.dir)?;
        self.segments.insert(id, SegmentFile { file: Arc::new(file), len: 0 });
        Ok(())
    }

    async fn delete_segment(&mut self, id: SegmentId) -> io::Result<()> {
        if self.batch_for == Some(id) {
            self.batch.clear();
            self.batch_for = None;
        }
        if self.segments.remove(&id).is_none() {
            return Ok(());
        }
        match fs::remove_file(self.segment_path(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        // Without this, a crash could bring an older segment back while a newer deletion
        // stuck, which recovery would report as a missing segment.
        sync_dir(&self.dir)
    }

    async fn segment_len(&mut self, id: SegmentId) -> io::Result<u64> {
        Ok(self.segment(id)?.len)
    }

    async fn append(&mut self, id: SegmentId, bytes: &[u8]) -> io::Result<()> {
        if self.batch_for != Some(id) {
            self.write_batch()?;
        }
        let segment = self.segments.get_mut(&id).ok_or_else(|| missing(id))?;
        segment.len += bytes.len() as u64;
        self.batch_for = Some(id);
        self.batch.extend_from_slice(bytes);
        if self.batch.len() >= self.batch_bytes {
            self.write_batch()?;
        }
        Ok(())
    }

    async fn read(&mut self, id: SegmentId, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if self.batch_for == Some(id) {
            self.write_batch()?;
        }
        let segment = self.segment(id)?;
        let mut done = 0;
        while done < buf.len() {
            let n = segment.file.read_at(&mut buf[done..], offset + done as u64)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }

    async fn seal(&mut self, id: SegmentId, len: u64) -> io::Result<()> {
        // A file can simply lose its tail; the log appends to a sealed segment no more, so
        // nothing needs to remember the seal.
        if self.batch_for == Some(id) {
            self.write_batch()?;
        }
        let segment = self.segments.get_mut(&id).ok_or_else(|| missing(id))?;
        let len = len.min(segment.len);
        segment.file.set_len(len)?;
        segment.file.sync_data()?;
        segment.len = len;
        Ok(())
    }

    async fn sync(&mut self, id: SegmentId) -> io::Result<()> {
        self.sync_handle(id)?.sync_data()
    }

    async fn read_checkpoint(&mut self, buf: &mut [u8; CHECKPOINT_LEN]) -> io::Result<bool> {
        match fs::read(self.dir.join(CHECKPOINT)) {
            Ok(bytes) => {
                // A wrong size is damage; hand the core bytes that fail its CRC check.
                let n = bytes.len().min(CHECKPOINT_LEN);
                buf.fill(0);
                buf[..n].copy_from_slice(&bytes[..n]);
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn write_checkpoint(&mut self, bytes: &[u8; CHECKPOINT_LEN]) -> io::Result<()> {
        // Crash reasoning: until the rename the old file is intact; after it, the new one is
        // complete because it was synced first. The directory sync makes the rename durable.
        let tmp = self.dir.join(CHECKPOINT_TMP);
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, self.dir.join(CHECKPOINT))?;
        sync_dir(&self.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip_and_strangers_are_ignored() {
        assert_eq!(segment_name(42), "0000000042.plog");
        assert_eq!(parse_segment_name("0000000042.plog"), Some(42));
        assert_eq!(parse_segment_name("42.plog"), None);
        assert_eq!(parse_segment_name("checkpoint"), None);
        assert_eq!(parse_segment_name("0000000042.plog.bak"), None);
    }
}
