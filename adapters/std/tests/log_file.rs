//! [`FileLog`] behaviour: every fsync policy keeps what a clean shutdown leaves, concurrent
//! appenders under group commit get distinct seqs in one order, segments are deleted on ack.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use plover_core::log::{LogConfig, Start};
use plover_std::{FileLog, FileLogOptions, FsyncPolicy};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("file-log-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options(fsync: FsyncPolicy) -> FileLogOptions {
    FileLogOptions {
        config: LogConfig { segment_size: 4096, max_payload: 256 },
        fsync,
        batch_bytes: 1024,
    }
}

fn replay(log: &FileLog, start: Start) -> Vec<(u64, (u32, String))> {
    let mut reader = log.reader(start).expect("reader");
    let mut out = Vec::new();
    while let Some(record) = log.read(&mut reader).expect("read") {
        out.push(record);
    }
    out
}

#[test]
fn every_policy_keeps_all_appends_across_a_clean_restart() {
    let policies = [
        ("always", FsyncPolicy::Always),
        ("every-7", FsyncPolicy::EveryN(7)),
        ("interval", FsyncPolicy::Interval(Duration::from_millis(5))),
        ("never", FsyncPolicy::Never),
    ];
    for (name, policy) in policies {
        let dir = fresh_dir(name);
        let log = FileLog::open(&dir, options(policy)).expect("open");
        let values: Vec<(u32, String)> = (0..200).map(|i| (i, format!("value {i}"))).collect();
        for value in &values {
            log.append(value).expect("append");
        }
        drop(log);

        let log = FileLog::open(&dir, options(policy)).expect("reopen");
        assert!(log.recovery_report().is_clean(), "{name}: {:?}", log.recovery_report());
        let got: Vec<_> = replay(&log, Start::Unacknowledged).into_iter().map(|r| r.1).collect();
        assert_eq!(got, values, "{name}");
    }
}

#[test]
fn concurrent_appenders_under_group_commit_get_distinct_seqs_in_one_order() {
    let dir = fresh_dir("concurrent");
    let log = FileLog::open(&dir, options(FsyncPolicy::Always)).expect("open");
    thread::scope(|s| {
        for tid in 0..8u32 {
            let log = &log;
            s.spawn(move || {
                for n in 0..25 {
                    log.append(&(tid, format!("{n}"))).expect("append");
                }
            });
        }
    });
    let records = replay(&log, Start::Oldest);
    let seqs: Vec<u64> = records.iter().map(|r| r.0).collect();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
    for tid in 0..8u32 {
        let mine: Vec<u32> =
            records.iter().filter(|r| r.1.0 == tid).map(|r| r.1.1.parse().expect("n")).collect();
        assert_eq!(mine, (0..25).collect::<Vec<_>>(), "appender {tid} out of order");
    }
}

#[test]
fn acknowledged_segments_are_deleted_from_disk() {
    let dir = fresh_dir("delete");
    let log = FileLog::open(&dir, options(FsyncPolicy::Never)).expect("open");
    for i in 0..500u32 {
        log.append(&(i, "x".repeat(40))).expect("append");
    }
    let count = || std::fs::read_dir(&dir).expect("dir").count();
    let before = count();
    assert!(before > 5, "expected several segment files, found {before}");
    log.ack(log.last_seq()).expect("ack");
    // The newest segment and the checkpoint remain.
    assert_eq!(count(), 2);
    assert!(replay(&log, Start::Unacknowledged).is_empty());
}
