//! The JSON side of a line, kept apart from the pipeline that uses it: the `--require` rules,
//! the scan that checks a line is one object and notes its required fields' types without
//! building a document, and the output splice that adds `_plover` to the input's own bytes.

use std::sync::Arc;

use plover_core::event::{Event, Value as Attr};
use serde_json::{Map, Value};

use super::jobs::Item;

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
        format!(
            "unknown type `{ty}` in `{text}`: \
             int, float, number, string, bool, object, array or null"
        )
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
pub(crate) struct Scan {
    kinds: [Option<Kind>; MAX_RULES],
    fields: usize,
    has_plover: bool,
}

/// The JSON type of a value, as a scan sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Int,
    Float,
    String,
    Array,
    Object,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
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

/// Checks the scanned types against the rules; the reason of the first rule not met.
pub(crate) fn check(rules: &[Require], found: &Scan) -> Result<(), String> {
    for (rule, kind) in rules.iter().zip(found.kinds) {
        match kind {
            None => return Err(format!("missing required field `{}`", rule.field)),
            Some(kind) if !rule.ty.accepts(kind) => {
                return Err(format!(
                    "field `{}` is {}, expected {}",
                    rule.field,
                    kind.name(),
                    rule.ty.name()
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Checks that `text` is one JSON object and notes the types of the fields `rules` name,
/// skipping every other value without building it.
pub(crate) fn scan(text: &str, rules: &[Require]) -> Result<Scan, serde_json::Error> {
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

/// Writes the output line: the input object with a `_plover` object added as its last field.
///
/// The input's own bytes are kept (spliced, not re-encoded), so field order, number spelling
/// and escapes are exactly the input's; an input that already has `_plover` is re-encoded
/// through a document so that the field is replaced, not repeated.
pub(crate) fn write_output(
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
    // No `write!` here: the formatting machinery cost more than the rest of this function.
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

/// Appends `n` in decimal (itoa: a table of digit pairs, no formatting machinery).
pub(crate) fn push_decimal(buf: &mut Vec<u8>, n: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// 32 lowercase hex digits, as `CorrelationId`'s `Display` writes them.
pub(crate) fn push_hex32(buf: &mut Vec<u8>, n: u128) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 32];
    for (i, d) in digits.iter_mut().enumerate() {
        *d = HEX[((n >> (124 - 4 * i)) & 0xf) as usize];
    }
    buf.extend_from_slice(&digits);
}
