//! `plover inspect DIR`: what a data directory (or a bare log directory) holds, and what damage
//! recovery finds in it, without changing it.
//!
//! Recovery cuts torn tails when a log is opened, so inspection opens a private copy of the
//! files in a temporary directory: the inspected directory is only read.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use clap::Args;
use plover_core::log::{RecoveryReport, Start};
use plover_std::FsyncPolicy;
use serde_json::json;

use super::common::{dead_letter_dir, describe, log_dir, open_log, require_log_dir};

/// Flags of `plover inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// A data directory (with log/ and dead-letters/) or a single log directory. It is only
    /// read: recovery runs on a temporary copy, so a damaged log is left as it is.
    dir: PathBuf,
    /// Print the findings as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// One damaged stretch met while reading the copy from its oldest record.
#[derive(Debug)]
struct Damage {
    after_seq: u64,
    before_seq: Option<u64>,
    regions: u32,
    bytes: u64,
    lost_records: u64,
}

/// What one log holds.
#[derive(Debug)]
struct LogFacts {
    dir: PathBuf,
    segments: Vec<(String, u64)>,
    first_seq: Option<u64>,
    last_seq: u64,
    acked: u64,
    pending: u64,
    report: RecoveryReport,
    damage: Vec<Damage>,
}

/// Runs `plover inspect`.
pub(crate) fn run(args: InspectArgs) -> Result<()> {
    if !args.dir.is_dir() {
        return Err(anyhow!("{} is not a directory", args.dir.display()));
    }
    let (log, dead) = if log_dir(&args.dir).is_dir() {
        let dead = dead_letter_dir(&args.dir);
        (log_dir(&args.dir), dead.is_dir().then_some(dead))
    } else {
        require_log_dir(&args.dir)?;
        (args.dir.clone(), None)
    };
    let log = facts(&log)?;
    let dead = dead.map(|d| facts(&d)).transpose()?;
    if args.json {
        let mut out = json!({ "log": facts_json(&log) });
        if let Some(dead) = &dead {
            out["dead_letters"] = facts_json(dead);
        }
        println!("{out}");
    } else {
        print_facts("log", &log);
        if let Some(dead) = &dead {
            println!();
            print_facts("dead letters", dead);
        }
    }
    Ok(())
}

fn facts(dir: &Path) -> Result<LogFacts> {
    let copy = tempfile::Builder::new().prefix("plover-inspect-").tempdir()?;
    let mut segments = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .flatten()
        .collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.ends_with(".plog") || name == "checkpoint") {
            continue;
        }
        std::fs::copy(entry.path(), copy.path().join(&name))
            .with_context(|| format!("cannot read {}", entry.path().display()))?;
        if name.ends_with(".plog") {
            segments.push((name, entry.metadata().map_or(0, |m| m.len())));
        }
    }

    let log = open_log(copy.path(), FsyncPolicy::Never)?;
    let report = log.recovery_report();
    let mut reader =
        log.reader(Start::Oldest).map_err(|e| anyhow!("cannot read the log: {}", describe(&e)))?;
    let mut first_seq = None;
    let mut previous = 0;
    let mut stats = reader.stats();
    let mut damage = Vec::new();
    loop {
        let next =
            log.read_bytes(&mut reader).map_err(|e| anyhow!("cannot read: {}", describe(&e)))?;
        let now = reader.stats();
        if now != stats {
            damage.push(Damage {
                after_seq: previous,
                before_seq: next.as_ref().map(|(seq, _)| *seq),
                regions: now.corrupt_regions - stats.corrupt_regions,
                bytes: now.corrupt_bytes - stats.corrupt_bytes,
                lost_records: now.lost_records - stats.lost_records,
            });
            stats = now;
        }
        let Some((seq, _)) = next else { break };
        first_seq.get_or_insert(seq);
        previous = seq;
    }
    let pending = log.with_log(|l| l.unacked_records());
    Ok(LogFacts {
        dir: dir.to_path_buf(),
        segments,
        first_seq,
        last_seq: log.last_seq(),
        acked: log.acked(),
        pending,
        report,
        damage,
    })
}

fn corruption_lines(f: &LogFacts) -> Vec<String> {
    let r = &f.report;
    let mut lines = Vec::new();
    if r.corrupt_regions > 0 {
        lines.push(format!(
            "{} corrupt region(s), {} bytes skipped; {} unacknowledged record(s) lost",
            r.corrupt_regions, r.corrupt_bytes, r.lost_records
        ));
    }
    for d in &f.damage {
        let before = d.before_seq.map_or("the end".to_string(), |s| format!("record {s}"));
        let place = match d.after_seq {
            0 => format!("before {before}"),
            after => format!("between record {after} and {before}"),
        };
        lines.push(format!(
            "  {place}: {} region(s), {} bytes, {} record(s) missing",
            d.regions, d.bytes, d.lost_records
        ));
    }
    if r.torn_tail_bytes > 0 {
        lines.push(format!(
            "torn tail: {} bytes after the last record would be cut",
            r.torn_tail_bytes
        ));
    }
    if r.zero_tail_bytes > 0 {
        lines.push(format!("zero-filled tail: {} bytes would be cut", r.zero_tail_bytes));
    }
    if r.bad_segment_headers > 0 {
        lines.push(format!(
            "{} damaged segment header(s) (records still read)",
            r.bad_segment_headers
        ));
    }
    if r.missing_segments > 0 {
        lines.push(format!("{} segment file(s) missing", r.missing_segments));
    }
    if r.bad_checkpoint {
        lines.push("the checkpoint is damaged: everything would be replayed".to_string());
    }
    if r.checkpoint_ahead {
        lines.push("the checkpoint is ahead of the last record".to_string());
    }
    if r.lost_records > 0 && r.corrupt_regions == 0 {
        lines.push(format!("{} unacknowledged record(s) lost", r.lost_records));
    }
    lines
}

fn print_facts(title: &str, f: &LogFacts) {
    println!("{title}: {}", f.dir.display());
    let bytes: u64 = f.segments.iter().map(|(_, len)| len).sum();
    println!("  segments     {} ({bytes} bytes)", f.segments.len());
    for (name, len) in &f.segments {
        println!("               {name}  {len} bytes");
    }
    match f.first_seq {
        Some(first) => println!("  records      seq {first} ..= {}", f.last_seq),
        None => println!("  records      none stored (last seq {})", f.last_seq),
    }
    println!("  acknowledged through seq {}", f.acked);
    println!("  pending      {}", f.pending);
    let lines = corruption_lines(f);
    if lines.is_empty() {
        println!("  damage       none");
    } else {
        println!("  damage");
        for line in lines {
            println!("    {line}");
        }
    }
}

fn facts_json(f: &LogFacts) -> serde_json::Value {
    let r = &f.report;
    json!({
        "dir": f.dir.display().to_string(),
        "segments": f
            .segments
            .iter()
            .map(|(n, l)| json!({"file": n, "bytes": l}))
            .collect::<Vec<_>>(),
        "first_seq": f.first_seq,
        "last_seq": f.last_seq,
        "acked": f.acked,
        "pending": f.pending,
        "clean": r.is_clean(),
        "corruption": {
            "corrupt_regions": r.corrupt_regions,
            "corrupt_bytes": r.corrupt_bytes,
            "lost_records": r.lost_records,
            "torn_tail_bytes": r.torn_tail_bytes,
            "zero_tail_bytes": r.zero_tail_bytes,
            "bad_segment_headers": r.bad_segment_headers,
            "missing_segments": r.missing_segments,
            "bad_checkpoint": r.bad_checkpoint,
            "checkpoint_ahead": r.checkpoint_ahead,
            "where": f.damage.iter().map(|d| json!({
                "after_seq": d.after_seq, "before_seq": d.before_seq, "regions": d.regions,
                "bytes": d.bytes, "lost_records": d.lost_records,
            })).collect::<Vec<_>>(),
        },
    })
}
