//! `plover dlq list` and `plover dlq replay`: the dead letters of a data directory.
//!
//! Replay passes each pending dead letter through the same five phases as `plover run`; those
//! that pass are written out, those that fail again are recorded anew with their new reason,
//! and only then are the replayed entries acknowledged, so none is lost on the way.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use plover_core::log::{DeadLetter, LogError, Start};
use plover_std::{FileLog, FsyncPolicy};

use super::Verbosity;
use super::common::{Correlator, dead_letter_dir, describe, log_dir, open_log, require_log_dir};
use super::jobs::{self, Item, LineRecord, Outcome};
use super::json::{Require, parse_require};
use super::run::clip;

/// Flags of `plover dlq list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// The data directory given to `plover run --data-dir`.
    dir: PathBuf,
    /// Also list dead letters already replayed but still stored.
    #[arg(long)]
    all: bool,
    /// One JSON object per dead letter on stdout.
    #[arg(long)]
    json: bool,
}

/// Flags of `plover dlq replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The data directory given to `plover run --data-dir`.
    dir: PathBuf,
    /// Required fields, as for `plover run` (FIELD:TYPE, repeatable).
    #[arg(long = "require", value_name = "FIELD:TYPE", value_parser = parse_require)]
    require: Vec<Require>,
    /// Append lines that pass to this file instead of writing them to stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

type Letter = DeadLetter<LineRecord>;

/// The dead-letter log of a data directory; `None` if the run never wrote one.
fn open_dead(dir: &std::path::Path) -> Result<Option<FileLog>> {
    if !dir.is_dir() {
        return Err(anyhow!("{} is not a directory", dir.display()));
    }
    let dead = dead_letter_dir(dir);
    if require_log_dir(&dead).is_err() {
        if require_log_dir(&log_dir(dir)).is_err() {
            return Err(anyhow!(
                "{} is not a plover data directory (no log/ inside)",
                dir.display()
            ));
        }
        return Ok(None);
    }
    open_log(&dead, FsyncPolicy::Never).map(Some)
}

fn read_all(log: &FileLog, start: Start) -> Result<Vec<(u64, Letter)>> {
    let mut reader = log.reader(start).map_err(|e| anyhow!("cannot read: {}", describe(&e)))?;
    let mut out = Vec::new();
    loop {
        match log.read::<Letter>(&mut reader) {
            Ok(Some(entry)) => out.push(entry),
            Ok(None) => return Ok(out),
            Err(LogError::Decode { seq }) => tracing::error!(seq, "a dead letter does not decode"),
            Err(e) => return Err(anyhow!("cannot read the dead letters: {}", describe(&e))),
        }
    }
}

/// Runs `plover dlq list`.
pub(crate) fn list(args: ListArgs) -> Result<()> {
    let Some(log) = open_dead(&args.dir)? else {
        if !args.json {
            println!("0 dead letters");
        }
        return Ok(());
    };
    let start = if args.all { Start::Oldest } else { Start::Unacknowledged };
    let entries = read_all(&log, start)?;
    let acked = log.acked();
    let mut out = std::io::stdout().lock();
    for (seq, letter) in &entries {
        let record = &letter.event;
        if args.json {
            let json = serde_json::json!({
                "seq": seq, "replayed": *seq <= acked, "reason": letter.reason.as_str(),
                "file": record.path, "line": record.line, "text": record.text,
            });
            writeln!(out, "{json}")?;
        } else {
            let mut text: String = record.text.chars().take(60).collect();
            if text.len() < record.text.len() {
                text.push('…');
            }
            let mark = if *seq <= acked { " (replayed)" } else { "" };
            writeln!(
                out,
                "{seq:>6}  {}:{}  {}{mark}\n        {text}",
                record.path, record.line, letter.reason
            )?;
        }
    }
    if !args.json {
        writeln!(
            out,
            "{} dead letter(s) listed, {} pending",
            entries.len(),
            log.last_seq() - acked
        )?;
    }
    Ok(())
}

/// Runs `plover dlq replay`.
pub(crate) fn replay(args: ReplayArgs, verbosity: Verbosity) -> Result<()> {
    let Some(log) = open_dead(&args.dir)? else {
        if !verbosity.quiet {
            eprintln!("no dead letters to replay");
        }
        return Ok(());
    };
    let entries = read_all(&log, Start::Unacknowledged)?;
    let Some(last) = entries.last().map(|(seq, _)| *seq) else {
        if !verbosity.quiet {
            eprintln!("no dead letters to replay");
        }
        return Ok(());
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the output file {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout())),
    };
    let count = entries.len();
    let mut items = entries.into_iter().map(|(seq, letter)| {
        let r = letter.event;
        Item { seq, path: Arc::from(r.path), line: r.line, text: r.text }
    });
    let mut again = 0u64;
    let stats = jobs::drive(
        &args.require,
        Correlator::new(),
        &mut *out,
        || items.next(),
        |item, outcome, _| {
            if let Outcome::DeadLettered(reason) = outcome {
                again += 1;
                let letter = Letter { reason: clip(&reason), event: item.to_record() };
                log.append(&letter)
                    .map_err(|e| anyhow!("cannot record a dead letter: {}", describe(&e)))?;
            }
            Ok(())
        },
    )?;
    // Passed lines are written and failed ones recorded anew before the old entries go.
    out.flush().context("cannot write the output")?;
    log.flush().map_err(|e| anyhow!("cannot sync the dead letters: {}", describe(&e)))?;
    log.ack(last).map_err(|e| anyhow!("cannot acknowledge: {}", describe(&e)))?;
    if !verbosity.quiet {
        eprintln!(
            "replayed {count} dead letter(s): {} passed and left the dead letters, \
             {again} failed again and were recorded anew",
            stats.processed
        );
    }
    Ok(())
}
