//! [`FileLog`]: a thread-safe durable log on files, with an fsync policy and group commit.
//!
//! It wraps the core [`Log`] over [`FileStorage`] in a mutex and drives its futures with
//! `block_on` (file I/O never pends). Under [`FsyncPolicy::Always`], concurrent appenders share
//! one `fdatasync`: the first to need one runs it outside the log's lock, the rest wait for it.

use std::io;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::future::block_on;
use plover_core::log::{Log, LogConfig, LogError, Reader, RecoveryReport, Start};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::file_storage::{DEFAULT_BATCH_BYTES, FileStorage};

/// Errors of the file log: the core's errors over I/O errors.
pub type FileLogError = LogError<io::Error>;

/// When appended records are made durable with `fdatasync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Every append returns only once its record is durable; concurrent appends share syncs.
    Always,
    /// A sync after every `n` appends: a crash loses at most the last `n - 1` returned appends.
    EveryN(u32),
    /// A sync at most this long after an append (a background thread checks): a crash loses at
    /// most that window of returned appends.
    Interval(Duration),
    /// Never sync explicitly (segments are still synced when sealed): the OS decides.
    Never,
}

/// How a [`FileLog`] is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLogOptions {
    /// Segment and payload sizes.
    pub config: LogConfig,
    /// When appends are made durable.
    pub fsync: FsyncPolicy,
    /// Appends are collected up to this many bytes before one `write`.
    pub batch_bytes: usize,
}

impl Default for FileLogOptions {
    fn default() -> Self {
        FileLogOptions {
            config: LogConfig::default(),
            fsync: FsyncPolicy::Always,
            batch_bytes: DEFAULT_BATCH_BYTES,
        }
    }
}

struct State {
    log: Log<FileStorage>,
    scratch: Vec<u8>,
    since_sync: u32,
    last_sync: Instant,
}

#[derive(Default)]
struct Commit {
    /// Every seq `<=` this is durable.
    durable: u64,
    /// A thread is running an fsync outside the log lock.
    syncing: bool,
}

struct Shared {
    state: Mutex<State>,
    commit: Mutex<Commit>,
    committed: Condvar,
    fsync: FsyncPolicy,
}

/// A durable log in a directory, shareable between threads (clone it).
#[derive(Clone)]
pub struct FileLog {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FileLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileLog").field("fsync", &self.shared.fsync).finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the log's bytes inconsistent (recovery
    // handles any prefix), so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FileLog {
    /// Opens the log in `dir`, running recovery; logs what recovery found with `tracing`.
    ///
    /// # Errors
    ///
    /// I/O errors from the directory or files; damaged bytes are never an error.
    pub fn open(dir: impl AsRef<Path>, options: FileLogOptions) -> Result<Self, FileLogError> {
        let storage = FileStorage::with_batch_bytes(dir.as_ref(), options.batch_bytes)
            .map_err(LogError::Storage)?;
        // A large scan buffer makes recovery read in big chunks.
        let mut scratch = vec![0u8; (4 << 20).max(2 * (options.config.max_payload as usize + 64))];
        let log = block_on(Log::open(storage, options.config, &mut scratch))?;
        report_recovery(dir.as_ref(), log.recovery_report());
        // From now on the scratch buffer only encodes one record at a time.
        scratch.truncate(log.read_buffer_len());
        scratch.shrink_to_fit();

        let durable = log.last_seq();
        let state = State { log, scratch, since_sync: 0, last_sync: Instant::now() };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            commit: Mutex::new(Commit { durable, syncing: false }),
            committed: Condvar::new(),
            fsync: options.fsync,
        });
        if let FsyncPolicy::Interval(every) = options.fsync {
            let weak = Arc::downgrade(&shared);
            thread::Builder::new()
                .name("plover-log-flush".into())
                .spawn(move || interval_flusher(weak, every))
                .map_err(LogError::Storage)?;
        }
        Ok(FileLog { shared })
    }

    /// What recovery found when the log was opened.
    pub fn recovery_report(&self) -> RecoveryReport {
        *lock(&self.shared.state).log.recovery_report()
    }

    /// Appends a value and returns its sequence number; durable on return under
    /// [`FsyncPolicy::Always`], within the policy's window otherwise.
    ///
    /// # Errors
    ///
    /// [`LogError::Encode`], [`LogError::PayloadTooLarge`], or I/O errors. After an I/O error
    /// the record may or may not be in the log.
    pub fn append<T: Serialize>(&self, value: &T) -> Result<u64, FileLogError> {
        self.append_with(|state| block_on(state.log.append(value, &mut state.scratch)))
    }

    /// Appends raw payload bytes (already encoded) and returns the record's sequence number;
    /// durability as [`FileLog::append`].
    ///
    /// # Errors
    ///
    /// As [`FileLog::append`].
    pub fn append_bytes(&self, payload: &[u8]) -> Result<u64, FileLogError> {
        self.append_with(|state| block_on(state.log.append_bytes(payload)))
    }

    fn append_with(
        &self,
        write: impl FnOnce(&mut State) -> Result<u64, FileLogError>,
    ) -> Result<u64, FileLogError> {
        let seq = {
            let mut guard = lock(&self.shared.state);
            let state = &mut *guard;
            let seq = write(state)?;
            state.since_sync += 1;
            if let FsyncPolicy::EveryN(n) = self.shared.fsync
                && state.since_sync >= n.max(1)
            {
                self.sync_locked(state)?;
            }
            seq
        };
        if self.shared.fsync == FsyncPolicy::Always {
            self.wait_durable(seq)?;
        }
        Ok(seq)
    }

    /// Makes everything appended so far durable, whatever the policy.
    ///
    /// # Errors
    ///
    /// The fsync's I/O error.
    pub fn flush(&self) -> Result<(), FileLogError> {
        let mut guard = lock(&self.shared.state);
        self.sync_locked(&mut guard)
    }

    fn sync_locked(&self, state: &mut State) -> Result<(), FileLogError> {
        let last = state.log.last_seq();
        block_on(state.log.sync())?;
        state.since_sync = 0;
        state.last_sync = Instant::now();
        let mut commit = lock(&self.shared.commit);
        commit.durable = commit.durable.max(last);
        Ok(())
    }

    /// Group commit: returns once `seq` is durable, running at most one fsync at a time.
    fn wait_durable(&self, seq: u64) -> Result<(), FileLogError> {
        let shared = &*self.shared;
        let mut commit = lock(&shared.commit);
        loop {
            if commit.durable >= seq {
                return Ok(());
            }
            if !commit.syncing {
                commit.syncing = true;
                break;
            }
            commit = shared.committed.wait(commit).unwrap_or_else(|e| e.into_inner());
        }
        drop(commit);
        // Appenders woken by the previous fsync are appending their next records now; one yield
        // lets them in before `target` is taken, so this fsync covers them instead of leaving
        // them to the next (microseconds against the fsync's milliseconds).
        std::thread::yield_now();

        // Leader: everything up to `target` is in the newest segment's file or in sealed
        // segments, which were synced when sealed; one fdatasync covers all of them.
        let handle = {
            let mut state = lock(&shared.state);
            let target = state.log.last_seq();
            let newest = state.log.newest_segment();
            newest.map(|id| state.log.storage_mut().sync_handle(id).map(|h| (target, h)))
        };
        let result = match handle {
            Some(Ok((target, file))) => file.sync_data().map(|()| target),
            Some(Err(e)) => Err(e),
            None => Ok(seq),
        };

        let mut commit = lock(&shared.commit);
        commit.syncing = false;
        if let Ok(target) = result {
            commit.durable = commit.durable.max(target);
        }
        shared.committed.notify_all();
        drop(commit);
        result.map(|_| ()).map_err(LogError::Storage)
    }

    /// Acknowledges every record `<= seq`; the checkpoint is durable on return.
    ///
    /// # Errors
    ///
    /// As [`Log::ack`].
    pub fn ack(&self, seq: u64) -> Result<(), FileLogError> {
        block_on(lock(&self.shared.state).log.ack(seq))
    }

    /// A reader from `start` with its own buffer.
    ///
    /// # Errors
    ///
    /// As [`Log::reader`].
    pub fn reader(&self, start: Start) -> Result<Reader<Vec<u8>>, FileLogError> {
        let mut state = lock(&self.shared.state);
        let buf = vec![0u8; (256 << 10).max(state.log.read_buffer_len())];
        block_on(state.log.reader(start, buf))
    }

    /// Reads and decodes the next record; `None` when caught up. Under
    /// [`FsyncPolicy::Always`] only durable records are returned, so a consumer never
    /// acknowledges a record that a power cut could take away; under the other policies
    /// records are visible as soon as they are appended.
    ///
    /// # Errors
    ///
    /// As [`Log::read_value`]; [`LogError::Decode`] if the payload is not a `T`.
    pub fn read<T: DeserializeOwned>(
        &self,
        reader: &mut Reader<Vec<u8>>,
    ) -> Result<Option<(u64, T)>, FileLogError> {
        match self.read_bytes_ref(reader, |seq, payload| (seq, postcard::from_bytes(payload)))? {
            None => Ok(None),
            Some((seq, Ok(value))) => Ok(Some((seq, value))),
            Some((seq, Err(_))) => Err(LogError::Decode { seq }),
        }
    }

    /// Reads the next record's raw payload into a new vector; `None` when caught up.
    /// Visibility as [`FileLog::read`].
    ///
    /// # Errors
    ///
    /// As [`Log::read`].
    pub fn read_bytes(
        &self,
        reader: &mut Reader<Vec<u8>>,
    ) -> Result<Option<(u64, Vec<u8>)>, FileLogError> {
        self.read_bytes_ref(reader, |seq, payload| (seq, payload.to_vec()))
    }

    fn read_bytes_ref<R>(
        &self,
        reader: &mut Reader<Vec<u8>>,
        take: impl FnOnce(u64, &[u8]) -> R,
    ) -> Result<Option<R>, FileLogError> {
        let last = match self.shared.fsync {
            FsyncPolicy::Always => lock(&self.shared.commit).durable,
            _ => u64::MAX,
        };
        let mut state = lock(&self.shared.state);
        Ok(block_on(state.log.read_up_to(reader, last))?.map(|r| take(r.seq, r.payload)))
    }

    /// The last sequence number handed out.
    pub fn last_seq(&self) -> u64 {
        lock(&self.shared.state).log.last_seq()
    }

    /// The acknowledged position.
    pub fn acked(&self) -> u64 {
        lock(&self.shared.state).log.acked().0
    }

    /// Runs `f` on the core log under the lock (for operations this wrapper does not offer).
    pub fn with_log<R>(&self, f: impl FnOnce(&mut Log<FileStorage>) -> R) -> R {
        f(&mut lock(&self.shared.state).log)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // A clean shutdown makes everything durable, whatever the policy.
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = block_on(state.log.sync()) {
            tracing::error!(
                error = %e,
                "final fsync of the log failed; recent appends may be lost"
            );
        }
    }
}

fn interval_flusher(shared: Weak<Shared>, every: Duration) {
    loop {
        thread::sleep(every);
        let Some(shared) = shared.upgrade() else { return };
        let mut state = lock(&shared.state);
        if state.since_sync > 0 && state.last_sync.elapsed() >= every {
            let last = state.log.last_seq();
            match block_on(state.log.sync()) {
                Ok(()) => {
                    state.since_sync = 0;
                    state.last_sync = Instant::now();
                    let mut commit = lock(&shared.commit);
                    commit.durable = commit.durable.max(last);
                }
                // Retried on the next tick; the records stay unsynced meanwhile.
                Err(e) => tracing::warn!(error = %e, "interval fsync failed"),
            }
        }
    }
}

fn report_recovery(dir: &Path, report: &RecoveryReport) {
    let dir = dir.display();
    if report.lost_data() || report.bad_segment_headers > 0 {
        tracing::error!(
            %dir,
            lost_records = report.lost_records,
            corrupt_regions = report.corrupt_regions,
            corrupt_bytes = report.corrupt_bytes,
            missing_segments = report.missing_segments,
            bad_segment_headers = report.bad_segment_headers,
            bad_checkpoint = report.bad_checkpoint,
            checkpoint_ahead = report.checkpoint_ahead,
            "log recovery found damaged or missing data"
        );
    }
    if report.torn_tail_bytes > 0 || report.zero_tail_bytes > 0 {
        tracing::debug!(
            %dir,
            torn_tail_bytes = report.torn_tail_bytes,
            zero_tail_bytes = report.zero_tail_bytes,
            "log recovery cut an unfinished tail"
        );
    }
    tracing::debug!(
        %dir,
        segments = report.segments,
        records = report.records,
        bytes = report.bytes_scanned,
        acked = report.acked,
        last_seq = report.last_seq,
        "log opened"
    );
}
