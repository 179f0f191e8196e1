//! What `plover run` and `plover dlq replay` do to one JSON line: the record the log keeps, the
//! `--require` rules, and the five-phase pipeline that scans, validates, enriches and writes it,
//! or hands it to Fallback as a dead letter with its reason. A line's input never changes; what
//! the phases learn (field types, timestamps) sits beside it in [`Job`].

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use plover_core::event::{Event, Source, Subject, Value as Attr};
use plover_core::interceptors::{enrich, monitoring, process, validate};
use plover_core::{Call, Failure, Phase, Pipeline};
use serde::{Deserialize, Serialize};

use super::common::{Correlator, StdClock, now_micros};
use super::json::{MAX_RULES, Require, Scan, check, scan, write_output};
#[cfg(test)]
use super::json::{parse_require, push_decimal, push_hex32};

/// One input line as the log stores it: where it came from and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LineRecord {
    /// The input file (canonical path) or `<stdin>`.
    pub(crate) path: String,
    /// The line number, from 1.
    pub(crate) line: u64,
    /// The line's text, without its line ending.
    pub(crate) text: String,
}

/// The same record, borrowed, for appending without copying (postcard encodes both alike).
#[derive(Serialize)]
struct LineRef<'a> {
    path: &'a str,
    line: u64,
    text: &'a str,
}

/// A line on its way through the queue and the stage; `seq` is its log sequence number (or a
/// counter when there is no log).
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// The log sequence number, the deduplication key.
    pub(crate) seq: u64,
    /// The input file or `<stdin>`, shared by every line of it.
    pub(crate) path: Arc<str>,
    /// The line number, from 1.
    pub(crate) line: u64,
    /// The line's text.
    pub(crate) text: String,
}

impl Item {
    /// Appends this line to `log` and sets `seq` to its sequence number.
    pub(crate) fn append_to(&mut self, log: &plover_std::FileLog) -> Result<()> {
        let record = LineRef { path: &self.path, line: self.line, text: &self.text };
        self.seq = log.append(&record).map_err(|e| {
            anyhow::anyhow!("cannot append to the log: {}", super::common::describe(&e))
        })?;
        Ok(())
    }

    /// An item from a record read back from the log.
    pub(crate) fn from_record(seq: u64, record: LineRecord) -> Item {
        Item { seq, path: Arc::from(record.path), line: record.line, text: record.text }
    }

    /// The record the log would store for this item.
    pub(crate) fn to_record(&self) -> LineRecord {
        LineRecord { path: self.path.to_string(), line: self.line, text: self.text.clone() }
    }
}

/// The pipeline's subject: the event around the line, and what Acquire's scan found.
///
/// The event is boxed: the pipeline takes its subject by value and moves it several times per
/// line (into the execution, into the call, out again), and one allocation costs less than
/// copying the whole event each time.
pub(crate) struct Job {
    event: Box<Event<Item, 2>>,
    scan: Option<Scan>,
}

impl Subject for Job {
    fn failure(&self) -> Option<&Failure> {
        self.event.failure()
    }

    fn mark_failed(&mut self, failure: Failure) {
        self.event.mark_failed(failure);
    }
}

/// How one line ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Written to the output.
    Processed,
    /// Handed to the dead letters, with the reason.
    DeadLettered(String),
}

/// Counters the stage keeps while it runs.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StageStats {
    /// Lines written to the output.
    pub(crate) processed: u64,
    /// Lines handed to the dead letters.
    pub(crate) dead_lettered: u64,
    /// Time spent inside the pipeline (Monitoring's measure), in all.
    pub(crate) busy: Duration,
}

/// A path short enough for an event's [`Source`]: long paths keep their end.
fn source_path(path: &str) -> &str {
    let cap = plover_core::event::PATH_CAPACITY;
    if path.len() <= cap {
        return path;
    }
    let mut start = path.len() - cap;
    while !path.is_char_boundary(start) {
        start += 1;
    }
    &path[start..]
}

/// Runs every item `next` hands out through the five phases, writing processed lines to `out`
/// and telling `finished` how each ended (with `out`, to flush before acknowledging), until
/// `next` returns `None`.
///
/// # Errors
///
/// Writing to `out` failed, or `finished` failed; the item in hand was not reported finished.
pub(crate) fn drive(
    rules: &[Require],
    correlator: Correlator,
    out: &mut dyn std::io::Write,
    mut next: impl FnMut() -> Option<Item>,
    mut finished: impl FnMut(Item, Outcome, &mut dyn std::io::Write) -> Result<()>,
) -> Result<StageStats> {
    let busy = Cell::new(Duration::ZERO);
    let line_out = RefCell::new(Vec::<u8>::with_capacity(4096));
    let dead_reason = RefCell::new(None::<String>);

    if rules.len() > MAX_RULES {
        anyhow::bail!("at most {MAX_RULES} --require rules are supported, {} given", rules.len());
    }
    let escaped_path = RefCell::new((Arc::<str>::from(""), Vec::new()));
    let pipeline = Pipeline::<Job>::new()
        // Acquire: the line must be one JSON object; a line that is not one is marked failed
        // and goes on to Fallback (fail forward), so the run never stops on bad input.
        .intercept_fn(Phase::ACQUIRE, async |call: &Call<Job>| {
            call.with_subject_mut(|job| match scan(&job.event.input().text, rules) {
                Ok(found) => job.scan = Some(found),
                Err(e) => job.mark_failed(Failure::validation(&format!("malformed JSON: {e}"))),
            });
            Ok(())
        })?
        .intercept(
            Phase::MONITORING,
            monitoring(StdClock, |_: &Job, took| busy.set(busy.get() + took)),
        )?
        .intercept(
            Phase::FEATURES,
            validate(|job: &Job| match &job.scan {
                Some(found) => check(rules, found).map_err(|reason| Failure::validation(&reason)),
                None => Ok(()),
            }),
        )?
        .intercept(
            Phase::FEATURES,
            enrich(|job: &mut Job| {
                let attrs = job.event.attributes_mut();
                let at = Attr::Timestamp(now_micros());
                attrs
                    .insert("received_at", at)
                    .map_err(|_| Failure::internal("attributes full"))?;
                Ok(())
            }),
        )?
        .intercept(
            Phase::PROCESS,
            process(async |job: &mut Job| {
                let Some(found) = job.scan else {
                    return Err(Failure::internal("the line was not scanned"));
                };
                let mut buf = line_out.borrow_mut();
                buf.clear();
                write_output(&mut buf, &job.event, found, &mut escaped_path.borrow_mut())
                    .map_err(|_| Failure::internal("the line could not be written as JSON"))
            }),
        )?
        // Fallback: a failed line becomes a dead letter with the reason of its first failure.
        .intercept_fn(Phase::FALLBACK, async |call: &Call<Job>| {
            call.with_subject(|job| {
                if let Some(failure) = job.failure() {
                    *dead_reason.borrow_mut() = Some(failure.reason().to_string());
                }
            });
            Ok(())
        })?;

    let mut stats = StageStats::default();
    let mut n = 0u64;
    // One executor for the whole run, not one per line: the pipeline's futures never wait on
    // anything but each other, and setting up `block_on` per line cost as much as a phase.
    futures_lite::future::block_on(async {
        while let Some(item) = next() {
            n += 1;
            let source = Source::file(source_path(&item.path), item.line).unwrap_or_default();
            let event = Box::new(Event::with_origin(item, correlator.id(n), source));
            let job = Job { event, scan: None };
            *dead_reason.borrow_mut() = None;
            let job = match pipeline.execute(job).await {
                Ok(job) => job,
                Err(unhandled) => {
                    // Monitoring recovers every failure; this is a safety net, not a path.
                    *dead_reason.borrow_mut() = Some(unhandled.failure.reason().to_string());
                    unhandled.subject
                }
            };
            let outcome = match dead_reason.borrow_mut().take() {
                Some(reason) => {
                    stats.dead_lettered += 1;
                    Outcome::DeadLettered(reason)
                }
                None => {
                    out.write_all(&line_out.borrow()).context("cannot write the output")?;
                    stats.processed += 1;
                    Outcome::Processed
                }
            };
            stats.busy = busy.get();
            finished(job.event.into_input(), outcome, &mut *out)?;
        }
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn item(seq: u64, text: &str) -> Item {
        Item { seq, path: Arc::from("t.jsonl"), line: seq, text: text.to_string() }
    }

    #[test]
    fn good_bad_and_invalid_lines_end_as_expected() {
        let rules = vec![parse_require("id:int").unwrap(), parse_require("name:string").unwrap()];
        let mut items = vec![
            item(1, r#"{"id":1,"name":"a"}"#),
            item(2, "{not json"),
            item(3, r#"{"id":"x","name":"b"}"#),
            item(4, r#"{"name":"c"}"#),
        ]
        .into_iter();
        let mut out = Vec::new();
        let mut ends = Vec::new();
        let stats = drive(
            &rules,
            Correlator::new(),
            &mut out,
            || items.next(),
            |i, o, _| {
                ends.push((i.seq, o));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!((stats.processed, stats.dead_lettered), (1, 3));
        assert_eq!(ends[0], (1, Outcome::Processed));
        assert!(matches!(&ends[1].1, Outcome::DeadLettered(r) if r.starts_with("malformed JSON")));
        assert!(
            matches!(&ends[2].1, Outcome::DeadLettered(r) if r.contains("is string, expected int"))
        );
        let missing_id = "missing required field `id`";
        assert!(matches!(&ends[3].1, Outcome::DeadLettered(r) if r.contains(missing_id)));
        let written: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(written["id"], 1);
        assert_eq!(written["_plover"]["source"]["line"], 1);
    }

    fn one(text: &str, rules: &[Require]) -> (Outcome, Vec<u8>) {
        let mut items = vec![item(7, text)].into_iter();
        let mut out = Vec::new();
        let mut end = None;
        drive(
            rules,
            Correlator::new(),
            &mut out,
            || items.next(),
            |_, o, _| {
                end = Some(o);
                Ok(())
            },
        )
        .unwrap();
        (end.unwrap(), out)
    }

    #[test]
    fn output_keeps_the_input_bytes_and_adds_one_plover_field() {
        let (outcome, out) = one(r#"{"b":1.50,"a":"\u00e9","_x":[1,{"y":2}]}  "#, &[]);
        assert_eq!(outcome, Outcome::Processed);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(r#"{"b":1.50,"a":"\u00e9","_x":[1,{"y":2}],"_plover":{"seq":7,"#));
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["_plover"]["source"]["file"], "t.jsonl");

        let id = value["_plover"]["correlation_id"].as_str().unwrap().to_string();
        assert_eq!(id.len(), 32);
        assert_eq!(value["_plover"]["seq"], 7);
        let mut hex = Vec::new();
        push_hex32(&mut hex, 0xab);
        assert_eq!(hex, format!("{}", plover_core::event::CorrelationId(0xab)).into_bytes());
        let mut dec = Vec::new();
        push_decimal(&mut dec, u64::MAX);
        assert_eq!(dec, u64::MAX.to_string().into_bytes());

        let (_, out) = one("{}", &[]);
        let value: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value.as_object().unwrap().len(), 1);

        let (_, out) = one(r#"{"_plover":"old","k":1}"#, &[]);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("_plover").count(), 1, "{text}");
    }

    #[test]
    fn escaped_field_names_match_rules_and_non_objects_are_dead_letters() {
        let rules = [parse_require("id:int").unwrap()];
        assert_eq!(one(r#"{"\u0069d":3}"#, &rules).0, Outcome::Processed);
        assert!(matches!(one("[1,2]", &rules).0, Outcome::DeadLettered(_)));
        assert!(matches!(one(r#"{"id":1} trailing"#, &rules).0, Outcome::DeadLettered(_)));
        let rules = [parse_require("n:number").unwrap(), parse_require("o:object").unwrap()];
        assert_eq!(one(r#"{"n":1.5,"o":{"p":[]}}"#, &rules).0, Outcome::Processed);
    }

    #[test]
    fn bad_require_rules_are_refused() {
        assert!(parse_require("id").is_err());
        assert!(parse_require("id:integer").is_err());
        assert!(parse_require(":int").is_err());
    }
}
