//! What `plover run` and `plover dlq replay` do to one JSON line: the record kept in the log,
//! the `--require` rules, and the five-phase pipeline that parses, validates, enriches and
//! writes it, or hands it to Fallback as a dead letter with its reason.
//!
//! A line's input never changes; what the phases learn (the parsed document, timestamps) sits
//! beside it in [`Job`]. Every failure is marked on the event, never thrown away.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use plover_core::event::{Event, Source, Subject, Value as Attr};
use plover_core::interceptors::{enrich, monitoring, process, validate};
use plover_core::{Call, Failure, Phase, Pipeline};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{Correlator, StdClock, now_micros};

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

/// A JSON type a `--require` rule can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonType {
    Int,
    Float,
    Number,
    String,
    Bool,
    Object,
    Array,
    Null,
}

impl JsonType {
    fn name(self) -> &'static str {
        match self {
            JsonType::Int => "int",
            JsonType::Float => "float",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Bool => "bool",
            JsonType::Object => "object",
            JsonType::Array => "array",
            JsonType::Null => "null",
        }
    }

    fn matches(self, value: &Value) -> bool {
        match self {
            JsonType::Int => value.is_i64() || value.is_u64(),
            JsonType::Float => value.is_f64(),
            JsonType::Number => value.is_number(),
            JsonType::String => value.is_string(),
            JsonType::Bool => value.is_boolean(),
            JsonType::Object => value.is_object(),
            JsonType::Array => value.is_array(),
            JsonType::Null => value.is_null(),
        }
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A `--require FIELD:TYPE` rule: the top-level field must be present with that type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Require {
    field: String,
    ty: JsonType,
}

/// Parses `FIELD:TYPE` (types: int, float, number, string, bool, object, array, null).
pub(crate) fn parse_require(text: &str) -> Result<Require, String> {
    let Some((field, ty)) = text.rsplit_once(':') else {
        return Err(format!("`{text}` is not FIELD:TYPE (for example id:int)"));
    };
    let ty = [
        JsonType::Int,
        JsonType::Float,
        JsonType::Number,
        JsonType::String,
        JsonType::Bool,
        JsonType::Object,
        JsonType::Array,
        JsonType::Null,
    ]
    .into_iter()
    .find(|t| t.name() == ty)
    .ok_or_else(|| {
        format!("unknown type `{ty}` in `{text}`: int, float, number, string, bool, object, array or null")
    })?;
    if field.is_empty() {
        return Err(format!("`{text}` names no field"));
    }
    Ok(Require { field: field.to_string(), ty })
}

/// The pipeline's subject: the event around the line, and the document parsed in Acquire.
pub(crate) struct Job {
    event: Event<Item>,
    doc: Option<Map<String, Value>>,
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

    let pipeline = Pipeline::<Job>::new()
        // Acquire: the line becomes a JSON object; a line that is not one is marked failed and
        // goes on to Fallback (fail forward), so the run never stops on bad input.
        .intercept_fn(Phase::ACQUIRE, async |call: &Call<Job>| {
            call.with_subject_mut(|job| {
                match serde_json::from_str::<Map<String, Value>>(&job.event.input().text) {
                    Ok(doc) => job.doc = Some(doc),
                    Err(e) => job.mark_failed(Failure::validation(&format!("malformed JSON: {e}"))),
                }
            });
            Ok(())
        })?
        .intercept(
            Phase::MONITORING,
            monitoring(StdClock, |_: &Job, took| busy.set(busy.get() + took)),
        )?
        .intercept(
            Phase::FEATURES,
            validate(|job: &Job| {
                let Some(doc) = &job.doc else { return Ok(()) };
                for rule in rules {
                    match doc.get(&rule.field) {
                        None => {
                            let reason = format!("missing required field `{}`", rule.field);
                            return Err(Failure::validation(&reason));
                        }
                        Some(v) if !rule.ty.matches(v) => {
                            let reason = format!(
                                "field `{}` is {}, expected {}",
                                rule.field,
                                type_of(v),
                                rule.ty.name()
                            );
                            return Err(Failure::validation(&reason));
                        }
                        Some(_) => {}
                    }
                }
                Ok(())
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
                let Some(mut doc) = job.doc.take() else {
                    return Err(Failure::internal("no document to write"));
                };
                let event = &job.event;
                let item = event.input();
                let received = event.attributes().get("received_at").and_then(|v| match v {
                    Attr::Timestamp(t) => Some(*t),
                    _ => None,
                });
                let mut meta = Map::new();
                meta.insert("seq".into(), item.seq.into());
                meta.insert("correlation_id".into(), event.correlation_id().to_string().into());
                let mut source = Map::new();
                source.insert("file".into(), item.path.as_ref().into());
                source.insert("line".into(), item.line.into());
                meta.insert("source".into(), Value::Object(source));
                meta.insert("received_at_us".into(), received.unwrap_or(0).into());
                doc.insert("_plover".into(), Value::Object(meta));

                let mut buf = line_out.borrow_mut();
                buf.clear();
                serde_json::to_writer(&mut *buf, &doc)
                    .map_err(|_| Failure::internal("the document could not be written as JSON"))?;
                buf.push(b'\n');
                Ok(())
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
    while let Some(item) = next() {
        n += 1;
        let source = Source::file(source_path(&item.path), item.line).unwrap_or_default();
        let event = Event::new(item).with_correlation_id(correlator.id(n)).with_source(source);
        let job = Job { event, doc: None };
        *dead_reason.borrow_mut() = None;
        let job = match futures_lite::future::block_on(pipeline.execute(job)) {
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
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(
            matches!(&ends[3].1, Outcome::DeadLettered(r) if r.contains("missing required field `id`"))
        );
        let written: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(written["id"], 1);
        assert_eq!(written["_plover"]["source"]["line"], 1);
    }

    #[test]
    fn bad_require_rules_are_refused() {
        assert!(parse_require("id").is_err());
        assert!(parse_require("id:integer").is_err());
        assert!(parse_require(":int").is_err());
    }
}
