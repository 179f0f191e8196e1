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

/// The most `--require` rules a run takes (the scan keeps their findings in a fixed array).
pub(crate) const MAX_RULES: usize = 16;

/// What Acquire learned about a line without building a document: the JSON type of each
/// required field (by rule index), whether the object is empty, and whether it already has a
/// `_plover` field (then the output is rebuilt through a document instead of spliced).
#[derive(Debug, Clone, Copy, Default)]
struct Scan {
    kinds: [Option<Kind>; MAX_RULES],
    fields: usize,
    has_plover: bool,
}

/// The JSON type of a value, as a scan sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Int,
    Float,
    String,
    Array,
    Object,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::String => "string",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }
}

impl JsonType {
    fn accepts(self, kind: Kind) -> bool {
        match self {
            JsonType::Int => kind == Kind::Int,
            JsonType::Float => kind == Kind::Float,
            JsonType::Number => matches!(kind, Kind::Int | Kind::Float),
            JsonType::String => kind == Kind::String,
            JsonType::Bool => kind == Kind::Bool,
            JsonType::Object => kind == Kind::Object,
            JsonType::Array => kind == Kind::Array,
            JsonType::Null => kind == Kind::Null,
        }
    }
}

/// Checks that `text` is one JSON object and notes the types of the fields `rules` name,
/// skipping every other value without building it.
fn scan(text: &str, rules: &[Require]) -> Result<Scan, serde_json::Error> {
    use serde::de::Deserializer as _;
    let mut de = serde_json::Deserializer::from_str(text);
    let found = de.deserialize_map(TopLevel { rules })?;
    de.end()?;
    Ok(found)
}

struct TopLevel<'r> {
    rules: &'r [Require],
}

impl<'de> serde::de::Visitor<'de> for TopLevel<'_> {
    type Value = Scan;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Scan, M::Error> {
        let mut found = Scan::default();
        while let Some(key) = map.next_key_seed(KeySeed { rules: self.rules })? {
            found.fields += 1;
            match key {
                Key::Rule(i) => found.kinds[i] = Some(map.next_value_seed(KindSeed)?),
                Key::Plover => {
                    found.has_plover = true;
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                Key::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

enum Key {
    Rule(usize),
    Plover,
    Other,
}

struct KeySeed<'r> {
    rules: &'r [Require],
}

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeySeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field name")
    }

    // Borrowed and escaped keys both arrive here (serde forwards the borrowed form).
    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key, E> {
        if let Some(i) = self.rules.iter().position(|r| r.field == key) {
            return Ok(Key::Rule(i));
        }
        Ok(if key == "_plover" { Key::Plover } else { Key::Other })
    }
}

struct KindSeed;

impl<'de> serde::de::DeserializeSeed<'de> for KindSeed {
    type Value = Kind;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KindSeed {
    type Value = Kind;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Kind, E> {
        Ok(Kind::Bool)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Kind, E> {
        Ok(Kind::Int)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Kind, E> {
        Ok(Kind::Int)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Kind, E> {
        Ok(Kind::Float)
    }
    fn visit_str<E>(self, _: &str) -> Result<Kind, E> {
        Ok(Kind::String)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Kind::Array)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
        Ok(Kind::Object)
    }
}

/// The pipeline's subject: the event around the line, and what Acquire's scan found.
pub(crate) struct Job {
    event: Event<Item, 2>,
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

/// Writes the output line: the input object with a `_plover` object added as its last field.
///
/// The input's own bytes are kept (spliced, not re-encoded), so field order, number spelling
/// and escapes are exactly the input's; an input that already has `_plover` is re-encoded
/// through a document so that the field is replaced, not repeated.
fn write_output(
    buf: &mut Vec<u8>,
    event: &Event<Item, 2>,
    found: Scan,
    escaped_path: &mut (Arc<str>, Vec<u8>),
) -> Result<(), serde_json::Error> {
    let item = event.input();
    let text = item.text.trim_end();
    if found.has_plover {
        let mut doc: Map<String, Value> = serde_json::from_str(text)?;
        doc.remove("_plover");
        serde_json::to_writer(&mut *buf, &doc)?;
        buf.pop(); // the closing brace; the object is re-closed below
    } else {
        // A scanned object ends with its closing brace.
        buf.extend_from_slice(&text.as_bytes()[..text.len() - 1]);
    }
    if found.fields > 0 {
        buf.push(b',');
    }
    if !Arc::ptr_eq(&escaped_path.0, &item.path) {
        escaped_path.1.clear();
        serde_json::to_writer(&mut escaped_path.1, &*item.path)?;
        escaped_path.0 = Arc::clone(&item.path);
    }
    let received = match event.attributes().get("received_at") {
        Some(Attr::Timestamp(t)) => *t,
        _ => 0,
    };
    // Hand-written number formatting: `write!` cost more than the rest of this function.
    buf.extend_from_slice(b"\"_plover\":{\"seq\":");
    push_decimal(buf, item.seq);
    buf.extend_from_slice(b",\"correlation_id\":\"");
    push_hex32(buf, event.correlation_id().0);
    buf.extend_from_slice(b"\",\"source\":{\"file\":");
    buf.extend_from_slice(&escaped_path.1);
    buf.extend_from_slice(b",\"line\":");
    push_decimal(buf, item.line);
    buf.extend_from_slice(b"},\"received_at_us\":");
    push_decimal(buf, received);
    buf.extend_from_slice(b"}}\n");
    Ok(())
}

fn push_decimal(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[at..]);
}

/// 32 lowercase hex digits, as `CorrelationId`'s `Display` writes them.
fn push_hex32(buf: &mut Vec<u8>, n: u128) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 32];
    for (i, d) in digits.iter_mut().enumerate() {
        *d = HEX[((n >> (124 - 4 * i)) & 0xf) as usize];
    }
    buf.extend_from_slice(&digits);
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
            validate(|job: &Job| {
                let Some(found) = &job.scan else { return Ok(()) };
                for (rule, kind) in rules.iter().zip(found.kinds) {
                    match kind {
                        None => {
                            let reason = format!("missing required field `{}`", rule.field);
                            return Err(Failure::validation(&reason));
                        }
                        Some(kind) if !rule.ty.accepts(kind) => {
                            let reason = format!(
                                "field `{}` is {}, expected {}",
                                rule.field,
                                kind.name(),
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
    while let Some(item) = next() {
        n += 1;
        let source = Source::file(source_path(&item.path), item.line).unwrap_or_default();
        let event = Event::new(item).with_correlation_id(correlator.id(n)).with_source(source);
        let job = Job { event, scan: None };
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
