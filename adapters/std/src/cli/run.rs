//! `plover run`: JSON lines from files or stdin, through a bounded queue, into the five phases.
//! A reader thread appends each line to the durable log (with `--data-dir`) before queueing it;
//! a stage thread runs the pipeline and acknowledges what it handled once output and dead
//! letters are flushed. A restart replays the unacknowledged, then resumes after the last line
//! ingested. Dropped lines become dead letters, never lost.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use futures_lite::future::block_on;
use plover_core::Overflow;
use plover_core::log::{DeadLetter, MAX_REASON_LEN, Start};
use plover_core::queue::StdRawMutex;
use plover_core::queue::{Pushed, Queue};
use plover_std::{FileLog, FsyncPolicy};

use super::Verbosity;
use super::common::{
    AckTracker, Correlator, MAX_CAPACITY, dead_letter_dir, describe, log_dir, open_log,
    parse_capacity, parse_fsync, parse_overflow, peak_memory_bytes,
};
use super::jobs::{self, Item, LineRecord, Outcome, StageStats};
use super::json::{Require, parse_require};

/// Flags of `plover run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Files of JSON lines, read in order; none, or `-`, reads stdin.
    inputs: Vec<PathBuf>,
    /// A top-level field every line must have, with its type (int, float, number, string, bool,
    /// object, array, null); repeat for more fields.
    #[arg(long = "require", value_name = "FIELD:TYPE", value_parser = parse_require)]
    require: Vec<Require>,
    /// Write processed lines here instead of stdout (appended to when a run resumes).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Keep the durable log and the dead letters here; a later run with the same directory
    /// replays what was not handled and resumes the input. Without it nothing is durable and
    /// dead letters are printed on stderr as JSON.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Lines the queue between reader and stage holds (1..=8192).
    #[arg(long, default_value_t = 1024, value_parser = parse_capacity)]
    capacity: usize,
    /// What a full queue does: block (the reader waits), drop-oldest, drop-newest (dropped
    /// lines become dead letters).
    #[arg(long, default_value = "block", value_parser = parse_overflow)]
    overflow: Overflow,
    /// When the log is made durable: always, every:N appends, interval:MS, never.
    #[arg(long, default_value = "interval:100", value_parser = parse_fsync)]
    fsync: FsyncPolicy,
    /// Print the final metrics as one JSON object (on stdout with --output, else on stderr).
    #[arg(long)]
    json: bool,
}

type LineQueue = Queue<StdRawMutex, Item, MAX_CAPACITY>;

/// What the reader, the stage and the main thread share.
struct Shared {
    queue: LineQueue,
    log: Option<FileLog>,
    dead: Option<FileLog>,
    tracker: Mutex<AckTracker>,
    stop: AtomicBool,
    bytes_read: AtomicU64,
    handled: AtomicU64,
    dead_lettered: AtomicU64,
}

impl Shared {
    /// Records a dead letter: in the dead-letter log, or on stderr without a data directory.
    fn dead_letter(&self, item: &Item, reason: &str) -> Result<()> {
        self.dead_lettered.fetch_add(1, Ordering::Relaxed);
        tracing::trace!(seq = item.seq, path = %item.path, line = item.line, reason, "dead letter");
        match &self.dead {
            Some(dead) => {
                let letter = DeadLetter { reason: clip(reason), event: item.to_record() };
                dead.append(&letter)
                    .map_err(|e| anyhow!("cannot record a dead letter: {}", describe(&e)))?;
            }
            None => {
                let json = serde_json::json!({"dead_letter": {
                    "reason": reason, "file": &*item.path, "line": item.line, "text": &item.text,
                }});
                eprintln!("{json}");
            }
        }
        Ok(())
    }

    fn finish(&self, seq: u64) {
        if self.log.is_some() {
            self.tracker.lock().unwrap_or_else(|e| e.into_inner()).finish(seq);
        }
    }

    /// Makes output and dead letters durable enough, then acknowledges what is finished.
    fn acknowledge(&self, out: &mut dyn Write) -> Result<()> {
        let Some(log) = &self.log else { return Ok(()) };
        let low = self.tracker.lock().unwrap_or_else(|e| e.into_inner()).low();
        if low <= log.acked() {
            return Ok(());
        }
        out.flush().context("cannot write the output")?;
        // The file storage batches appends in memory; an acknowledgement must never get ahead
        // of the records a kill would leave on disk, or the resume point would be lost.
        log.flush().map_err(|e| anyhow!("cannot sync the log: {}", describe(&e)))?;
        if let Some(dead) = &self.dead {
            dead.flush().map_err(|e| anyhow!("cannot sync the dead letters: {}", describe(&e)))?;
        }
        log.ack(low).map_err(|e| anyhow!("cannot acknowledge in the log: {}", describe(&e)))
    }
}

/// Cuts a reason to what a dead letter keeps, at a character boundary.
pub(crate) fn clip(reason: &str) -> heapless::String<MAX_REASON_LEN> {
    let mut end = reason.len().min(MAX_REASON_LEN);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = heapless::String::new();
    let _ = out.push_str(&reason[..end]);
    out
}

/// What the reader thread did.
#[derive(Debug, Default)]
struct Ingested {
    read: u64,
    replayed: u64,
    resumed_after: Option<(String, u64)>,
    skipped: u64,
    blank: u64,
    evicted: u64,
    refused: u64,
    not_utf8: u64,
    interrupted_at: Option<(String, u64)>,
}

enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::File(path) => path.display().to_string(),
        }
    }
}

/// Runs `plover run`.
pub(crate) fn run(args: RunArgs, verbosity: Verbosity) -> Result<()> {
    let started = Instant::now();
    let inputs = resolve_inputs(&args.inputs)?;
    let total_bytes: Option<u64> = inputs
        .iter()
        .map(|i| match i {
            Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Input::Stdin => None,
        })
        .sum();

    let (log, dead) = match &args.data_dir {
        Some(dir) => {
            if dir.exists() && !dir.is_dir() {
                bail!("the data directory {} exists and is not a directory", dir.display());
            }
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
            let log = open_log(&log_dir(dir), args.fsync)?;
            // Dead letters are synced before every acknowledgement, not one by one.
            let dead = open_log(&dead_letter_dir(dir), FsyncPolicy::Never)?;
            (Some(log), Some(dead))
        }
        None => (None, None),
    };
    let resuming = log.as_ref().is_some_and(|l| l.last_seq() > 0);
    let acked = log.as_ref().map_or(0, FileLog::acked);

    let queue = LineQueue::with_capacity(args.overflow, args.capacity)
        .map_err(|e| anyhow!("bad capacity: {e:?}"))?;
    let shared = Arc::new(Shared {
        queue,
        log,
        dead,
        tracker: Mutex::new(AckTracker::new(acked)),
        stop: AtomicBool::new(false),
        bytes_read: AtomicU64::new(0),
        handled: AtomicU64::new(0),
        dead_lettered: AtomicU64::new(0),
    });
    install_interrupt(&shared)?;

    let out: Box<dyn Write + Send> = match &args.output {
        Some(path) => {
            let mut options = OpenOptions::new();
            options.create(true).read(true);
            if resuming {
                options.append(true)
            } else {
                options.write(true).truncate(true)
            };
            let file = options
                .open(path)
                .with_context(|| format!("cannot open the output file {}", path.display()))?;
            if resuming {
                cut_partial_line(&file)
                    .with_context(|| format!("cannot repair the output file {}", path.display()))?;
            }
            Box::new(BufWriter::with_capacity(1 << 20, file))
        }
        None => Box::new(BufWriter::with_capacity(1 << 20, io::stdout())),
    };

    let reader = {
        let shared = Arc::clone(&shared);
        thread::Builder::new().name("plover-read".into()).spawn(move || {
            let result = ingest(&shared, &inputs);
            shared.queue.close();
            result
        })?
    };
    let stage = {
        let shared = Arc::clone(&shared);
        let rules = args.require.clone();
        thread::Builder::new().name("plover-stage".into()).spawn(move || {
            let result = stage(&shared, &rules, out);
            // A stage that stopped early must not leave the reader waiting on a full queue.
            shared.queue.close();
            result
        })?
    };

    let bar = progress_bar(total_bytes, verbosity);
    while !(reader.is_finished() && stage.is_finished()) {
        bar.set_position(shared.bytes_read.load(Ordering::Relaxed));
        bar.set_message(format!(
            "{} handled, {} dead letters",
            shared.handled.load(Ordering::Relaxed),
            shared.dead_lettered.load(Ordering::Relaxed)
        ));
        thread::sleep(Duration::from_millis(50));
    }
    bar.finish_and_clear();

    let ingested = reader.join().map_err(|_| anyhow!("the reader thread panicked"))?;
    let staged = stage.join().map_err(|_| anyhow!("the stage thread panicked"))?;
    let ingested = ingested?;
    let staged = staged?;
    if let Some(log) = &shared.log {
        log.flush().map_err(|e| anyhow!("cannot sync the log: {}", describe(&e)))?;
    }
    report(&args, &shared, &ingested, &staged, started.elapsed(), verbosity)
}

/// A killed run may leave half a line at the end of its output. That line belongs to a record
/// that was not acknowledged (acknowledgements follow a full flush), so it is cut and the
/// record's replay writes it whole.
fn cut_partial_line(file: &File) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = [0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        file.read_exact_at(part, start)?;
        if let Some(i) = part.iter().rposition(|&b| b == b'\n') {
            let keep = start + i as u64 + 1;
            if keep < len {
                tracing::debug!(cut = len - keep, "cut an unfinished line from the output");
                file.set_len(keep)?;
            }
            return Ok(());
        }
        end = start;
    }
    if len > 0 {
        file.set_len(0)?;
    }
    Ok(())
}

fn resolve_inputs(paths: &[PathBuf]) -> Result<Vec<Input>> {
    if paths.is_empty() {
        return Ok(vec![Input::Stdin]);
    }
    paths
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                return Ok(Input::Stdin);
            }
            let canonical = std::fs::canonicalize(p)
                .with_context(|| format!("cannot open the input {}", p.display()))?;
            Ok(Input::File(canonical))
        })
        .collect()
}

fn install_interrupt(shared: &Arc<Shared>) -> Result<()> {
    let shared = Arc::clone(shared);
    let result = ctrlc::set_handler(move || {
        if shared.stop.swap(true, Ordering::SeqCst) {
            // A second Ctrl-C: leave now; the log replays what was not acknowledged.
            eprintln!("plover: interrupted twice, exiting without draining");
            std::process::exit(130);
        }
        eprintln!(
            "plover: interrupted: no more input is read; draining the queue (Ctrl-C again to quit)"
        );
    });
    // In some embeddings a handler is already installed; the run still works without one.
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot install the Ctrl-C handler");
    }
    Ok(())
}

fn progress_bar(total: Option<u64>, verbosity: Verbosity) -> indicatif::ProgressBar {
    if verbosity.quiet || !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => indicatif::ProgressBar::new(total).with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        ),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar
}

/// Where the previous run stopped ingesting: the last record in the log.
///
/// # Errors
///
/// The last record is intact but not an input line: another command's data directory.
fn resume_point(log: &FileLog) -> Result<Option<(String, u64)>> {
    let last = log.last_seq();
    if last == 0 {
        return Ok(None);
    }
    let record = log.reader(Start::Seq(last)).and_then(|mut r| log.read::<LineRecord>(&mut r));
    match record {
        Ok(Some((_, record))) => Ok(Some((record.path, record.line))),
        Err(plover_core::log::LogError::Decode { seq }) => Err(anyhow!(
            "record {seq} of the log is not an input line: is this the data directory of \
             another command (plover demo)?"
        )),
        Ok(None) | Err(_) => {
            tracing::warn!(last, "cannot read the last record; the input is read from its start");
            Ok(None)
        }
    }
}

fn ingest(shared: &Shared, inputs: &[Input]) -> Result<Ingested> {
    let mut done = Ingested::default();
    let mut counter = 0u64;

    // First what a previous run left unacknowledged, in order.
    if let Some(log) = &shared.log {
        done.resumed_after = resume_point(log)?;
        let mut reader = log
            .reader(Start::Unacknowledged)
            .map_err(|e| anyhow!("cannot read the log: {}", describe(&e)))?;
        loop {
            match log.read::<LineRecord>(&mut reader) {
                Ok(Some((seq, record))) => {
                    done.replayed += 1;
                    if !push(shared, Item::from_record(seq, record), &mut done)? {
                        return Ok(done);
                    }
                }
                Ok(None) => break,
                Err(plover_core::log::LogError::Decode { seq }) => {
                    // CRCs passed, so the bytes are intact: this is another command's log.
                    return Err(anyhow!(
                        "record {seq} of the log is not an input line: is this the data directory \
                         of another command (plover demo)?"
                    ));
                }
                Err(e) => return Err(anyhow!("cannot read the log: {}", describe(&e))),
            }
        }
        if done.replayed > 0 {
            tracing::debug!(replayed = done.replayed, "replayed unacknowledged records");
        }
    }

    // Inputs before the one the previous run stopped in are done; so are its lines up to there.
    let mut skip_until: Option<(usize, u64)> = None;
    if let Some((path, line)) = &done.resumed_after
        && let Some(k) =
            inputs.iter().position(|i| matches!(i, Input::File(_)) && &i.name() == path)
    {
        skip_until = Some((k, *line));
    }

    for (k, input) in inputs.iter().enumerate() {
        let skip_lines = match skip_until {
            Some((at, _)) if k < at => {
                continue;
            }
            Some((at, line)) if k == at => line,
            _ => 0,
        };
        let name: Arc<str> = Arc::from(input.name());
        let source: Box<dyn Read> = match input {
            Input::Stdin => Box::new(io::stdin()),
            Input::File(path) => Box::new(
                File::open(path)
                    .with_context(|| format!("cannot open the input {}", path.display()))?,
            ),
        };
        let mut lines = BufReader::with_capacity(1 << 20, source);
        let mut line = 0u64;
        loop {
            if shared.stop.load(Ordering::Relaxed) {
                done.interrupted_at = Some((name.to_string(), line));
                return Ok(done);
            }
            // A fresh buffer per line becomes the line's text without a copy.
            let mut buf = Vec::with_capacity(128);
            let n =
                lines.read_until(b'\n', &mut buf).with_context(|| format!("cannot read {name}"))?;
            if n == 0 {
                break;
            }
            shared.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
            line += 1;
            if line <= skip_lines {
                done.skipped += 1;
                continue;
            }
            let len = trim_line_end(&buf).len();
            buf.truncate(len);
            if buf.iter().all(u8::is_ascii_whitespace) {
                done.blank += 1;
                continue;
            }
            done.read += 1;
            counter += 1;
            // Invalid UTF-8 is no JSON: logged, then a dead letter (shown with replacement
            // characters), never handed to the pipeline.
            let (text, utf8) = match String::from_utf8(buf) {
                Ok(text) => (text, true),
                Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), false),
            };
            let mut item = Item { seq: counter, path: Arc::clone(&name), line, text };
            if let Some(log) = &shared.log {
                item.append_to(log)?;
            }
            if !utf8 {
                done.not_utf8 += 1;
                shared.dead_letter(&item, "the line is not valid UTF-8")?;
                shared.finish(item.seq);
                continue;
            }
            if !push(shared, item, &mut done)? {
                return Ok(done);
            }
        }
    }
    Ok(done)
}

fn trim_line_end(buf: &[u8]) -> &[u8] {
    let mut end = buf.len();
    while end > 0 && matches!(buf[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &buf[..end]
}

/// Pushes one item; a dropped item becomes a dead letter. `false` once the queue is closed
/// (the stage stopped): the item stays unacknowledged in the log.
fn push(shared: &Shared, item: Item, done: &mut Ingested) -> Result<bool> {
    let (dropped, reason) = match block_on(shared.queue.push(item)) {
        Ok(Pushed::Admitted) => return Ok(true),
        Ok(Pushed::Evicted(old)) => {
            done.evicted += 1;
            (old, "evicted from the full queue (drop-oldest)")
        }
        Ok(Pushed::Refused(new)) => {
            done.refused += 1;
            (new, "refused by the full queue (drop-newest)")
        }
        Err(_closed) => return Ok(false),
    };
    shared.dead_letter(&dropped, reason)?;
    shared.finish(dropped.seq);
    Ok(true)
}

fn stage(shared: &Shared, rules: &[Require], mut out: Box<dyn Write + Send>) -> Result<StageStats> {
    let mut last_ack = Instant::now();
    // Items are taken in batches: one pop (and one wake-up of a waiting reader) per batch
    // instead of per line. The batch is kept reversed so that `pop` yields the oldest first.
    let mut batch: heapless::Vec<Item, POP_BATCH> = heapless::Vec::new();
    let stats = jobs::drive(
        rules,
        Correlator::new(),
        &mut *out,
        || {
            if batch.is_empty() && block_on(shared.queue.pop_many(&mut batch)) > 0 {
                batch.reverse();
            }
            batch.pop()
        },
        |item, outcome, out| {
            if let Outcome::DeadLettered(reason) = &outcome {
                shared.dead_letter(&item, reason)?;
            }
            shared.finish(item.seq);
            shared.handled.fetch_add(1, Ordering::Relaxed);
            // Acknowledge about every 100 ms: each acknowledgement costs a checkpoint fsync.
            if shared.log.is_some() && last_ack.elapsed() >= ACK_EVERY {
                shared.acknowledge(out)?;
                last_ack = Instant::now();
            }
            Ok(())
        },
    )?;
    shared.acknowledge(&mut *out)?;
    out.flush().context("cannot write the output")?;
    Ok(stats)
}

/// Most lines the stage takes out of the queue at once.
const POP_BATCH: usize = 64;

/// How often the stage acknowledges what it handled.
const ACK_EVERY: Duration = Duration::from_millis(100);

fn report(
    args: &RunArgs,
    shared: &Shared,
    ingested: &Ingested,
    staged: &StageStats,
    elapsed: Duration,
    verbosity: Verbosity,
) -> Result<()> {
    let metrics = shared.queue.metrics();
    let handled = staged.processed + staged.dead_lettered;
    let rate = handled as f64 / elapsed.as_secs_f64().max(1e-9);
    let dead_total = staged.dead_lettered + ingested.evicted + ingested.refused + ingested.not_utf8;
    if args.json {
        let json = serde_json::json!({
            "read": ingested.read,
            "replayed": ingested.replayed,
            "skipped_on_resume": ingested.skipped,
            "blank": ingested.blank,
            "processed": staged.processed,
            "dead_lettered": dead_total,
            "failed_in_pipeline": staged.dead_lettered,
            "evicted": ingested.evicted,
            "refused": ingested.refused,
            "not_utf8": ingested.not_utf8,
            "interrupted": ingested.interrupted_at.is_some(),
            "elapsed_s": elapsed.as_secs_f64(),
            "events_per_s": rate,
            "pipeline_busy_s": staged.busy.as_secs_f64(),
            "peak_memory_bytes": peak_memory_bytes(),
            "queue": {
                "capacity": args.capacity,
                "overflow": args.overflow.name(),
                "high_water": metrics.high_water,
                "producer_waits": metrics.producer_waits,
            },
            "acked": shared.log.as_ref().map(FileLog::acked),
        });
        if args.output.is_some() {
            println!("{json}");
        } else {
            eprintln!("{json}");
        }
        return Ok(());
    }
    if verbosity.quiet {
        return Ok(());
    }
    if ingested.replayed > 0 {
        eprintln!("replayed {} unacknowledged lines from the previous run", ingested.replayed);
    }
    if let Some((path, line)) = &ingested.resumed_after
        && ingested.skipped > 0
    {
        eprintln!("resumed after {path}:{line} ({} lines skipped)", ingested.skipped);
    }
    if let Some((path, line)) = &ingested.interrupted_at {
        eprintln!("interrupted after {path}:{line}; everything read was handled");
    }
    eprintln!(
        "{} lines read, {} processed, {} dead letters ({} failed, {} evicted, {} refused) \
         in {:.2} s ({:.0} events/s)",
        ingested.read,
        staged.processed,
        dead_total,
        staged.dead_lettered,
        ingested.evicted,
        ingested.refused,
        elapsed.as_secs_f64(),
        rate
    );
    Ok(())
}
