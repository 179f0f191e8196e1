//! Benchmarks of the file log, each beside a baseline doing the same raw work in one run:
//! durable append per fsync policy vs `write` + `fdatasync`; durable throughput by batch size
//! (records per fsync) vs one `write` + `fdatasync` of the same bytes; fsync Always with 1/4/16
//! concurrent appenders (group commit); recovery scan speed vs a plain sequential read of the
//! same files.
//!
//! `PLOVER_BENCH_SCAN_MB` sets the size of the scanned log (default 256). `scripts/bench.sh`
//! runs it and writes `docs/benchmarks.md`; notes on earlier runs are in
//! `docs/benchmarks-log.md`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use plover_core::log::LogConfig;
use plover_std::{FileLog, FileLogOptions, FsyncPolicy};

const PAYLOAD: usize = 100;
/// Bytes one record takes on disk: header + postcard length prefix + payload.
const RECORD: usize = 20 + 1 + PAYLOAD;

fn bench_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    dir
}

fn options(fsync: FsyncPolicy) -> FileLogOptions {
    FileLogOptions {
        config: LogConfig { segment_size: 64 << 20, max_payload: 4096 },
        fsync,
        ..FileLogOptions::default()
    }
}

/// Appends `n` records, then flushes, so every policy ends with the same durable state.
fn append_batch(log: &FileLog, n: usize, payload: &[u8]) {
    for _ in 0..n {
        log.append_bytes(payload).expect("append");
    }
    log.flush().expect("flush");
}

/// The raw baseline: one `write` per record, `fdatasync` every `sync_every` records and at the
/// end of the batch.
fn raw_batch(file: &mut File, n: usize, sync_every: Option<usize>, record: &[u8]) {
    for i in 1..=n {
        file.write_all(record).expect("write");
        if sync_every.is_some_and(|every| i % every == 0) {
            file.sync_data().expect("fdatasync");
        }
    }
    file.sync_data().expect("fdatasync");
}

fn append_per_policy(c: &mut Criterion) {
    let payload = vec![7u8; PAYLOAD];
    let record = vec![7u8; RECORD];
    let mut group = c.benchmark_group("append");
    group.sampling_mode(SamplingMode::Flat);

    let cases: [(&str, FsyncPolicy, usize, Option<usize>); 4] = [
        ("always", FsyncPolicy::Always, 16, Some(1)),
        ("every-64", FsyncPolicy::EveryN(64), 1024, Some(64)),
        ("interval-10ms", FsyncPolicy::Interval(Duration::from_millis(10)), 1024, None),
        ("never", FsyncPolicy::Never, 4096, None),
    ];
    for (name, policy, batch, raw_sync) in cases {
        group.throughput(Throughput::Elements(batch as u64));
        let log = FileLog::open(bench_dir(&format!("append-{name}")), options(policy)).unwrap();
        group.bench_function(BenchmarkId::new("plover", name), |b| {
            b.iter(|| append_batch(&log, batch, &payload));
        });
        drop(log);
        let path = bench_dir(&format!("raw-{name}")).join("raw.bin");
        let mut file = OpenOptions::new().create(true).append(true).open(path).unwrap();
        group.bench_function(BenchmarkId::new("raw-write-fdatasync", name), |b| {
            b.iter(|| raw_batch(&mut file, batch, raw_sync, &record));
        });
    }
    group.finish();
}

/// Records per second when every batch of `n` records ends with one fsync: plover appends `n`
/// records and flushes; the baseline writes the same bytes with one `write` and one
/// `fdatasync`, the least a durable batch can cost.
fn durable_by_batch(c: &mut Criterion) {
    let payload = vec![7u8; PAYLOAD];
    let mut group = c.benchmark_group("batch");
    group.sampling_mode(SamplingMode::Flat);
    for batch in [1usize, 4, 16, 64, 256, 1024] {
        group.throughput(Throughput::Elements(batch as u64));
        let log = FileLog::open(bench_dir(&format!("batch-{batch}")), options(FsyncPolicy::Never))
            .unwrap();
        group.bench_function(BenchmarkId::new("plover", batch), |b| {
            b.iter(|| append_batch(&log, batch, &payload));
        });
        drop(log);
        let bytes = vec![7u8; RECORD * batch];
        let path = bench_dir(&format!("raw-batch-{batch}")).join("raw.bin");
        let mut file = OpenOptions::new().create(true).append(true).open(path).unwrap();
        group.bench_function(BenchmarkId::new("raw-write-fdatasync", batch), |b| {
            b.iter(|| {
                file.write_all(&bytes).expect("write");
                file.sync_data().expect("fdatasync");
            });
        });
    }
    group.finish();
}

fn concurrent_always(c: &mut Criterion) {
    let payload = vec![7u8; PAYLOAD];
    let mut group = c.benchmark_group("always-concurrent");
    group.sampling_mode(SamplingMode::Flat);
    const PER_THREAD: usize = 16;
    for threads in [1usize, 4, 16] {
        group.throughput(Throughput::Elements((threads * PER_THREAD) as u64));
        let log = FileLog::open(
            bench_dir(&format!("concurrent-{threads}")),
            options(FsyncPolicy::Always),
        )
        .unwrap();
        group.bench_function(BenchmarkId::from_parameter(threads), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let barrier = Barrier::new(threads + 1);
                    total += thread::scope(|s| {
                        for _ in 0..threads {
                            s.spawn(|| {
                                barrier.wait();
                                for _ in 0..PER_THREAD {
                                    log.append_bytes(&payload).expect("append");
                                }
                            });
                        }
                        barrier.wait();
                        let start = Instant::now();
                        // Scoped threads are joined when the scope ends.
                        start
                    })
                    .elapsed();
                }
                total
            });
        });
    }
    group.finish();
}

fn recovery_scan(c: &mut Criterion) {
    let megabytes: u64 =
        std::env::var("PLOVER_BENCH_SCAN_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    let dir = bench_dir("scan");
    let payload = vec![0x5au8; 1000];
    {
        let log = FileLog::open(&dir, options(FsyncPolicy::Never)).unwrap();
        let records = megabytes * 1024 * 1024 / (payload.len() as u64 + 22);
        for _ in 0..records {
            log.append_bytes(&payload).expect("append");
        }
        log.flush().unwrap();
    }
    let bytes: u64 =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();

    let mut group = c.benchmark_group("recovery-scan");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function(BenchmarkId::new("plover-open", format!("{megabytes}MB")), |b| {
        b.iter(|| {
            let log = FileLog::open(&dir, options(FsyncPolicy::Never)).unwrap();
            assert!(log.recovery_report().records > 0);
        });
    });
    group.bench_function(BenchmarkId::new("raw-read", format!("{megabytes}MB")), |b| {
        let mut buf = vec![0u8; 4 << 20];
        b.iter(|| {
            let mut total = 0u64;
            for entry in std::fs::read_dir(&dir).unwrap() {
                let mut file = File::open(entry.unwrap().path()).unwrap();
                loop {
                    let n = file.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    total += n as u64;
                }
            }
            assert_eq!(total, bytes);
        });
    });
    group.finish();
}

/// Every iteration here lasts milliseconds: ten samples by default; `scripts/bench.sh` sets the
/// warm-up and measurement times on the command line, which take precedence.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

mod group {
    #![allow(missing_docs)] // `criterion_group!` makes an undocumented public fn.
    use super::*;
    criterion_group! {
        name = benches;
        config = config();
        targets = append_per_policy, durable_by_batch, concurrent_always, recovery_scan
    }
}
criterion_main!(group::benches);
