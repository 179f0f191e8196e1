//! Pieces every subcommand shares: flag parsers, the data-directory layout, the host clock
//! (plover-std's), correlation ids and the acknowledgement tracker, which keeps at-least-once
//! delivery when records finish out of order (a dropped item before older ones still in the
//! stage): only the contiguous prefix of finished sequence numbers is ever acknowledged.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};
use plover_core::Overflow;
use plover_std::{FileLog, FileLogOptions, FsyncPolicy};

/// The largest queue capacity the command line accepts (the queues reserve this many slots).
pub(crate) const MAX_CAPACITY: usize = 8192;

/// The process's peak resident memory in bytes (`VmHWM`), where the host reports it (Linux).
pub(crate) fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|line| line.strip_prefix("VmHWM:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// Parses `block`, `drop-oldest` or `drop-newest`.
pub(crate) fn parse_overflow(text: &str) -> Result<Overflow, String> {
    Overflow::from_name(text).ok_or_else(|| {
        format!("unknown overflow policy `{text}`: expected block, drop-oldest or drop-newest")
    })
}

/// Parses a queue capacity between 1 and [`MAX_CAPACITY`].
pub(crate) fn parse_capacity(text: &str) -> Result<usize, String> {
    let n: usize = text.parse().map_err(|_| format!("`{text}` is not a whole number"))?;
    if n == 0 || n > MAX_CAPACITY {
        return Err(format!("capacity must be between 1 and {MAX_CAPACITY}, not {n}"));
    }
    Ok(n)
}

/// Parses `always`, `every:N`, `interval:MS` or `never`.
pub(crate) fn parse_fsync(text: &str) -> Result<FsyncPolicy, String> {
    let bad =
        || format!("unknown fsync policy `{text}`: expected always, every:N, interval:MS or never");
    match text.split_once(':') {
        None if text == "always" => Ok(FsyncPolicy::Always),
        None if text == "never" => Ok(FsyncPolicy::Never),
        Some(("every", n)) => match n.parse::<u32>() {
            Ok(n) if n > 0 => Ok(FsyncPolicy::EveryN(n)),
            _ => Err(format!("every:N needs a whole number N >= 1, not `{n}`")),
        },
        Some(("interval", ms)) => match ms.parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(FsyncPolicy::Interval(Duration::from_millis(ms))),
            _ => Err(format!("interval:MS needs a whole number of milliseconds >= 1, not `{ms}`")),
        },
        _ => Err(bad()),
    }
}

/// Where a data directory keeps its input log.
pub(crate) fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("log")
}

/// Where a data directory keeps its dead letters.
pub(crate) fn dead_letter_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("dead-letters")
}

/// Opens (creating) a log, with an error that names the directory and says what went wrong.
pub(crate) fn open_log(dir: &Path, fsync: FsyncPolicy) -> Result<FileLog> {
    let options = FileLogOptions { fsync, ..FileLogOptions::default() };
    FileLog::open(dir, options)
        .map_err(|e| anyhow!("cannot open the log in {}: {}", dir.display(), describe(&e)))
}

/// A log error in plain words (the core prints I/O errors with `Debug`).
pub(crate) fn describe(error: &plover_std::FileLogError) -> String {
    match error {
        plover_core::log::LogError::Storage(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// Checks that `dir` exists and holds a plover log (segment files or a checkpoint).
pub(crate) fn require_log_dir(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the directory {}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".plog") || name == "checkpoint" {
            return Ok(());
        }
    }
    Err(anyhow!("{} holds no plover log (no segment files, no checkpoint)", dir.display()))
}

pub(crate) use plover_std::time::StdClock;

/// Microseconds since the Unix epoch (0 if the system clock is before it).
pub(crate) fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// Correlation ids: the run's start time and process id in the high half, a counter below.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Correlator {
    prefix: u128,
}

impl Correlator {
    /// A correlator for this run.
    pub(crate) fn new() -> Self {
        let high = (now_micros() << 20) ^ u64::from(std::process::id());
        Correlator { prefix: u128::from(high) << 64 }
    }

    /// The id of the `n`-th event of this run.
    pub(crate) fn id(&self, n: u64) -> plover_core::event::CorrelationId {
        plover_core::event::CorrelationId(self.prefix | u128::from(n))
    }
}

/// Finished sequence numbers, and the highest one below which everything finished.
#[derive(Debug, Default)]
pub(crate) struct AckTracker {
    /// Every seq `<= low` finished.
    low: u64,
    /// Finished seqs above `low + 1`, waiting for the gap to close.
    ahead: BTreeSet<u64>,
}

impl AckTracker {
    /// A tracker for which everything `<= acked` is already finished.
    pub(crate) fn new(acked: u64) -> Self {
        AckTracker { low: acked, ahead: BTreeSet::new() }
    }

    /// Records that `seq` finished (handled, dead-lettered or dropped and reported).
    pub(crate) fn finish(&mut self, seq: u64) {
        if seq <= self.low {
            return;
        }
        if seq == self.low + 1 {
            self.low = seq;
            while self.ahead.remove(&(self.low + 1)) {
                self.low += 1;
            }
        } else {
            self.ahead.insert(seq);
        }
    }

    /// Everything `<=` this finished: safe to acknowledge.
    pub(crate) fn low(&self) -> u64 {
        self.low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_acknowledges_only_the_contiguous_prefix() {
        let mut t = AckTracker::new(2);
        t.finish(4);
        assert_eq!(t.low(), 2);
        t.finish(3);
        assert_eq!(t.low(), 4);
        t.finish(1);
        t.finish(6);
        assert_eq!(t.low(), 4);
        t.finish(5);
        assert_eq!(t.low(), 6);
    }

    #[test]
    fn fsync_flags_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_fsync("always"), Ok(FsyncPolicy::Always));
        assert_eq!(parse_fsync("every:8"), Ok(FsyncPolicy::EveryN(8)));
        assert_eq!(
            parse_fsync("interval:100"),
            Ok(FsyncPolicy::Interval(Duration::from_millis(100)))
        );
        assert!(parse_fsync("every:0").is_err());
        assert!(parse_fsync("sometimes").is_err());
        assert!(parse_capacity("0").is_err());
        assert!(parse_overflow("drop-middle").is_err());
    }
}
