//! `plover demo`: the original Go demo made visible — a producer, a bounded queue, a slow stage
//! running the five phases, a consumer, a live status line and a closing summary. Every message
//! is appended to a durable log before it is queued and acknowledged once consumed or dropped
//! (and reported); the next run with the same `--data-dir` replays what a kill left behind.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use clap::Args;
use futures_lite::future::block_on;
use plover_core::event::{Event, Subject, Value};
use plover_core::interceptors::{enrich, monitoring, process, validate};
use plover_core::log::Start;
use plover_core::queue::StdRawMutex;
use plover_core::queue::{Pushed, Queue};
use plover_core::{Call, Failure, Overflow, Phase, Pipeline};
use plover_std::{FileLog, FsyncPolicy};
use serde::{Deserialize, Serialize};

use super::Verbosity;
use super::common::{
    AckTracker, Correlator, MAX_CAPACITY, StdClock, describe, log_dir, now_micros, open_log,
    parse_capacity, parse_overflow,
};

/// Flags of `plover demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// New messages the producer sends.
    #[arg(long, default_value_t = 20)]
    messages: u64,
    /// Messages the queue in front of the stage holds (1..=8192).
    #[arg(long, default_value_t = 5, value_parser = parse_capacity)]
    capacity: usize,
    /// What the full queue does: block, drop-oldest or drop-newest.
    #[arg(long, default_value = "block", value_parser = parse_overflow)]
    overflow: Overflow,
    /// Messages per second the producer sends; 0 sends as fast as it can.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    rate: f64,
    /// Milliseconds the slow stage spends on each message.
    #[arg(long, default_value_t = 100)]
    stage_ms: u64,
    /// Milliseconds the consumer spends on each message.
    #[arg(long, default_value_t = 0)]
    consumer_ms: u64,
    /// Keep the log here (default: a temporary directory removed at the end). Run again with
    /// the same directory after killing the demo to see the replay.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.0 => Ok(r),
        _ => Err(format!("`{text}` is not a rate: give messages per second, 0 or more")),
    }
}

/// One demo message as the log stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Message {
    /// Its number within the run that produced it.
    n: u64,
    /// Its text.
    body: String,
}

/// A message on its way, boxed so that a queue of many stays small.
type Envelope = (u64, Box<Event<Message>>);
type DemoQueue = Queue<StdRawMutex, Envelope, MAX_CAPACITY>;

#[derive(Default)]
struct Seen {
    evicted: Vec<u64>,
    refused: Vec<u64>,
    delivered: Vec<u64>,
    stage_failed: u64,
    stage_busy: Duration,
}

struct Shared {
    front: DemoQueue,
    back: DemoQueue,
    log: FileLog,
    tracker: Mutex<AckTracker>,
    seen: Mutex<Seen>,
    produced: AtomicU64,
    staged: AtomicU64,
}

impl Shared {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks `seq` finished and acknowledges the contiguous prefix of finished messages.
    fn finish(&self, seq: u64) -> Result<()> {
        let low = {
            let mut tracker = self.tracker.lock().unwrap_or_else(|e| e.into_inner());
            tracker.finish(seq);
            tracker.low()
        };
        if low > self.log.acked() {
            self.log.ack(low).map_err(|e| anyhow!("cannot acknowledge: {}", describe(&e)))?;
        }
        Ok(())
    }
}

/// Runs `plover demo`.
pub(crate) fn run(args: DemoArgs, verbosity: Verbosity) -> Result<()> {
    let temp;
    let (dir, temporary) = match &args.data_dir {
        Some(dir) => (dir.clone(), false),
        None => {
            temp = tempfile::Builder::new().prefix("plover-demo-").tempdir()?;
            (temp.path().to_path_buf(), true)
        }
    };
    let log = open_log(&log_dir(&dir), FsyncPolicy::Always)?;
    let acked = log.acked();
    let front = DemoQueue::with_capacity(args.overflow, args.capacity)
        .map_err(|e| anyhow!("bad capacity: {e:?}"))?;
    let back = DemoQueue::with_capacity(Overflow::Block, args.capacity)
        .map_err(|e| anyhow!("bad capacity: {e:?}"))?;
    let shared = Arc::new(Shared {
        front,
        back,
        log,
        tracker: Mutex::new(AckTracker::new(acked)),
        seen: Mutex::new(Seen::default()),
        produced: AtomicU64::new(0),
        staged: AtomicU64::new(0),
    });

    let replay = unacknowledged(&shared.log)?;
    let replayed = replay.len() as u64;
    if !args.json && !verbosity.quiet {
        println!(
            "plover demo: {} new messages, queue capacity {}, policy {}, stage {} ms per message",
            args.messages,
            args.capacity,
            args.overflow.name(),
            args.stage_ms
        );
        println!(
            "log in {}{}",
            dir.display(),
            if temporary { " (temporary, removed at the end)" } else { "" }
        );
        if replayed > 0 {
            println!("replaying {replayed} unacknowledged messages from a previous run first");
        }
    }

    let started = Instant::now();
    let producer = {
        let shared = Arc::clone(&shared);
        let (count, rate) = (args.messages, args.rate);
        thread::Builder::new().name("demo-producer".into()).spawn(move || {
            let result = produce(&shared, replay, count, rate);
            shared.front.close();
            result
        })?
    };
    let stage = {
        let shared = Arc::clone(&shared);
        let delay = Duration::from_millis(args.stage_ms);
        thread::Builder::new().name("demo-stage".into()).spawn(move || {
            let result = run_stage(&shared, delay);
            shared.back.close();
            shared.front.close();
            result
        })?
    };
    let consumer = {
        let shared = Arc::clone(&shared);
        let delay = Duration::from_millis(args.consumer_ms);
        thread::Builder::new().name("demo-consumer".into()).spawn(move || {
            let result = consume(&shared, delay);
            shared.back.close();
            result
        })?
    };

    let tty = std::io::stderr().is_terminal();
    let show = !verbosity.quiet && !args.json;
    let every = if tty { Duration::from_millis(100) } else { Duration::from_secs(1) };
    let mut last_line = Instant::now();
    while !(producer.is_finished() && stage.is_finished() && consumer.is_finished()) {
        thread::sleep(Duration::from_millis(20));
        if show && last_line.elapsed() >= every {
            last_line = Instant::now();
            let line = status_line(&shared, &args, started.elapsed());
            if tty {
                eprint!("\r\x1b[2K{line}");
                let _ = std::io::stderr().flush();
            } else {
                eprintln!("{line}");
            }
        }
    }
    if show && tty {
        eprint!("\r\x1b[2K");
    }
    let joined = [
        producer.join().map_err(|_| anyhow!("the producer panicked"))?,
        stage.join().map_err(|_| anyhow!("the stage panicked"))?,
        consumer.join().map_err(|_| anyhow!("the consumer panicked"))?,
    ];
    for result in joined {
        result?;
    }
    summary(&shared, &args, replayed, started.elapsed(), verbosity)
}

fn unacknowledged(log: &FileLog) -> Result<Vec<(u64, Message)>> {
    // The newest record tells whose directory this is, even when everything was acknowledged.
    let last = log.last_seq();
    if last > 0
        && let Err(plover_core::log::LogError::Decode { seq }) =
            log.reader(Start::Seq(last)).and_then(|mut r| log.read::<Message>(&mut r))
    {
        return Err(anyhow!(
            "record {seq} of the log is not a demo message: is this the data directory of \
             another command (plover run)?"
        ));
    }
    let mut reader = log
        .reader(Start::Unacknowledged)
        .map_err(|e| anyhow!("cannot read the log: {}", describe(&e)))?;
    let mut out = Vec::new();
    loop {
        match log.read::<Message>(&mut reader) {
            Ok(Some(record)) => out.push(record),
            Ok(None) => return Ok(out),
            Err(plover_core::log::LogError::Decode { seq }) => {
                return Err(anyhow!(
                    "record {seq} of the log is not a demo message: is this the data directory \
                     of another command (plover run)?"
                ));
            }
            Err(e) => return Err(anyhow!("cannot read the log: {}", describe(&e))),
        }
    }
}

fn status_line(shared: &Shared, args: &DemoArgs, elapsed: Duration) -> String {
    let seen = shared.seen();
    let delivered = seen.delivered.len();
    format!(
        "queue {}/{} | produced {} | staged {} | delivered {} ({:.1}/s) | evicted {} | refused {}",
        shared.front.len(),
        args.capacity,
        shared.produced.load(Ordering::Relaxed),
        shared.staged.load(Ordering::Relaxed),
        delivered,
        delivered as f64 / elapsed.as_secs_f64().max(1e-3),
        seen.evicted.len(),
        seen.refused.len(),
    )
}

fn produce(shared: &Shared, replay: Vec<(u64, Message)>, count: u64, rate: f64) -> Result<()> {
    let correlator = Correlator::new();
    let pace = (rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate));
    let fresh = (1..=count).map(|n| (0, Message { n, body: format!("message {n}") }));
    for (seq, message) in replay.into_iter().chain(fresh) {
        // New messages are durable before anyone can see them.
        let seq = if seq == 0 {
            shared.log.append(&message).map_err(|e| anyhow!("cannot append: {}", describe(&e)))?
        } else {
            seq
        };
        let event = Event::new(message).with_correlation_id(correlator.id(seq));
        shared.produced.fetch_add(1, Ordering::Relaxed);
        match block_on(shared.front.push((seq, Box::new(event)))) {
            Ok(Pushed::Admitted) => {}
            Ok(Pushed::Evicted((old, _))) => {
                tracing::trace!(seq = old, "evicted by drop-oldest");
                shared.seen().evicted.push(old);
                shared.finish(old)?;
            }
            Ok(Pushed::Refused((new, _))) => {
                tracing::trace!(seq = new, "refused by drop-newest");
                shared.seen().refused.push(new);
                shared.finish(new)?;
            }
            Err(_) => return Err(anyhow!("the stage stopped early")),
        }
        if let Some(pace) = pace {
            thread::sleep(pace);
        }
    }
    Ok(())
}

fn run_stage(shared: &Shared, delay: Duration) -> Result<()> {
    let busy = std::cell::Cell::new(Duration::ZERO);
    let pipeline = Pipeline::<Event<Message>>::new()
        .intercept(
            Phase::MONITORING,
            monitoring(StdClock, |_: &Event<Message>, took| busy.set(busy.get() + took)),
        )?
        .intercept(
            Phase::FEATURES,
            validate(|e: &Event<Message>| {
                if e.input().body.is_empty() {
                    return Err(Failure::validation("empty body"));
                }
                Ok(())
            }),
        )?
        .intercept(
            Phase::FEATURES,
            enrich(|e: &mut Event<Message>| {
                e.attributes_mut()
                    .insert("staged_at", Value::Timestamp(now_micros()))
                    .map(|_| ())
                    .map_err(|_| Failure::internal("attributes full"))
            }),
        )?
        .intercept(
            Phase::PROCESS,
            process(async |_: &mut Event<Message>| {
                // The slow part of the original demo: a blocking wait on the stage's own thread.
                thread::sleep(delay);
                Ok(())
            }),
        )?
        .intercept_fn(Phase::FALLBACK, async |call: &Call<Event<Message>>| {
            if call.with_subject(|e| e.is_failed()) {
                shared.seen().stage_failed += 1;
            }
            Ok(())
        })?;

    while let Some((seq, event)) = block_on(shared.front.pop()) {
        let event = match block_on(pipeline.execute(*event)) {
            Ok(event) => event,
            Err(unhandled) => unhandled.subject,
        };
        shared.staged.fetch_add(1, Ordering::Relaxed);
        if block_on(shared.back.push((seq, Box::new(event)))).is_err() {
            return Err(anyhow!("the consumer stopped early"));
        }
    }
    shared.seen().stage_busy = busy.get();
    Ok(())
}

fn consume(shared: &Shared, delay: Duration) -> Result<()> {
    while let Some((seq, _event)) = block_on(shared.back.pop()) {
        if !delay.is_zero() {
            thread::sleep(delay);
        }
        shared.seen().delivered.push(seq);
        shared.finish(seq)?;
    }
    Ok(())
}

fn ids(list: &[u64]) -> String {
    let shown: Vec<String> = list.iter().take(40).map(u64::to_string).collect();
    let more =
        if list.len() > 40 { format!(" … ({} more)", list.len() - 40) } else { String::new() };
    format!("[{}]{more}", shown.join(" "))
}

fn summary(
    shared: &Shared,
    args: &DemoArgs,
    replayed: u64,
    elapsed: Duration,
    verbosity: Verbosity,
) -> Result<()> {
    let seen = shared.seen();
    let metrics = shared.front.metrics();
    let in_order = seen.delivered.windows(2).all(|w| w[0] < w[1]);
    let staged = shared.staged.load(Ordering::Relaxed);
    let acked = shared.log.acked();
    let pending = shared.log.last_seq() - acked;
    if args.json {
        let json = serde_json::json!({
            "messages": args.messages,
            "capacity": args.capacity,
            "overflow": args.overflow.name(),
            "replayed": replayed,
            "produced": shared.produced.load(Ordering::Relaxed),
            "delivered": seen.delivered,
            "evicted": seen.evicted,
            "refused": seen.refused,
            "stage_handled": staged,
            "stage_failed": seen.stage_failed,
            "in_order": in_order,
            "high_water": metrics.high_water,
            "producer_waits": metrics.producer_waits,
            "acked": acked,
            "pending": pending,
            "elapsed_s": elapsed.as_secs_f64(),
        });
        println!("{json}");
        return Ok(());
    }
    if verbosity.quiet {
        return Ok(());
    }
    let mean = if staged > 0 { seen.stage_busy.as_secs_f64() * 1e3 / staged as f64 } else { 0.0 };
    println!("summary after {:.2} s", elapsed.as_secs_f64());
    println!(
        "  producer  sent {} ({} replayed, {} new)",
        shared.produced.load(Ordering::Relaxed),
        replayed,
        args.messages
    );
    println!(
        "  queue     admitted {}, high water {}/{}, producer waits {}",
        metrics.pushed, metrics.high_water, args.capacity, metrics.producer_waits
    );
    println!("            evicted {} {}", seen.evicted.len(), ids(&seen.evicted));
    println!("            refused {} {}", seen.refused.len(), ids(&seen.refused));
    println!("  stage     handled {staged}, failed {}, {mean:.1} ms each", seen.stage_failed);
    println!(
        "  consumer  received {} {}{}",
        seen.delivered.len(),
        ids(&seen.delivered),
        if in_order { ", in order" } else { ", NOT in order" }
    );
    println!("  log       acknowledged through seq {acked}, {pending} pending");
    Ok(())
}
