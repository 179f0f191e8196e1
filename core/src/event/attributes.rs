//! The per-event attribute map: what phases learn about an event, beside its input.
//!
//! Fixed capacity (`A` entries, keys up to [`KEY_CAPACITY`] bytes, text values up to
//! [`TEXT_CAPACITY`] bytes), so it needs no allocator; a full map or an over-long key is a clear
//! [`AttributeError`], never a silent drop or a panic.

use core::fmt;

use serde::{Deserialize, Serialize};

/// Bytes of an attribute key.
pub const KEY_CAPACITY: usize = 32;
/// Bytes of a text value.
pub const TEXT_CAPACITY: usize = 64;

/// An attribute key.
pub type Key = heapless::String<KEY_CAPACITY>;

/// A typed attribute value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// A flag.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A floating-point number.
    F64(f64),
    /// Short text, at most [`TEXT_CAPACITY`] bytes.
    Text(heapless::String<TEXT_CAPACITY>),
    /// A point in time, in microseconds since the Unix epoch.
    Timestamp(u64),
}

impl Value {
    /// A text value; [`AttributeError::TooLong`] if `text` is longer than [`TEXT_CAPACITY`].
    pub fn text(text: &str) -> Result<Value, AttributeError> {
        let mut value = heapless::String::new();
        value
            .push_str(text)
            .map_err(|_| AttributeError::TooLong { len: text.len(), capacity: TEXT_CAPACITY })?;
        Ok(Value::Text(value))
    }

    /// The text, if this is a text value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The number as `i64`, if this is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::I64(n) => Some(n),
            Value::U64(n) => i64::try_from(n).ok(),
            _ => None,
        }
    }

    /// The number as `f64`, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F64(x) => Some(x),
            Value::I64(n) => Some(n as f64),
            Value::U64(n) => Some(n as f64),
            _ => None,
        }
    }

    /// The flag, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::I64(n)
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Value {
        Value::U64(n)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Value {
        Value::F64(x)
    }
}

/// Why an attribute could not be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeError {
    /// The map already holds `capacity` entries and the key is new.
    Full {
        /// Entries the map holds.
        capacity: usize,
    },
    /// A key or text value is longer than its capacity.
    TooLong {
        /// Bytes given.
        len: usize,
        /// Bytes allowed.
        capacity: usize,
    },
}

impl fmt::Display for AttributeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttributeError::Full { capacity } => {
                write!(f, "attribute map is full ({capacity} entries)")
            }
            AttributeError::TooLong { len, capacity } => {
                write!(f, "attribute key or text of {len} bytes exceeds {capacity} bytes")
            }
        }
    }
}

impl core::error::Error for AttributeError {}

/// A fixed-capacity map from [`Key`] to [`Value`], in insertion order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attributes<const A: usize> {
    entries: heapless::Vec<(Key, Value), A>,
}

impl<const A: usize> Default for Attributes<A> {
    fn default() -> Self {
        Attributes::new()
    }
}

impl<const A: usize> Attributes<A> {
    /// An empty map.
    pub const fn new() -> Self {
        Attributes { entries: heapless::Vec::new() }
    }

    /// Sets `key` to `value`, returning the value it replaces.
    ///
    /// # Errors
    ///
    /// [`AttributeError::TooLong`] for a key over [`KEY_CAPACITY`] bytes;
    /// [`AttributeError::Full`] if `key` is new and the map holds `A` entries. The map is left
    /// unchanged in both cases.
    pub fn insert(&mut self, key: &str, value: Value) -> Result<Option<Value>, AttributeError> {
        if let Some((_, slot)) = self.entries.iter_mut().find(|(k, _)| k.as_str() == key) {
            return Ok(Some(core::mem::replace(slot, value)));
        }
        let mut owned = Key::new();
        owned
            .push_str(key)
            .map_err(|_| AttributeError::TooLong { len: key.len(), capacity: KEY_CAPACITY })?;
        self.entries.push((owned, value)).map_err(|_| AttributeError::Full { capacity: A })?;
        Ok(None)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let index = self.entries.iter().position(|(k, _)| k.as_str() == key)?;
        Some(self.entries.remove(index).1)
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries the map can hold.
    pub const fn capacity(&self) -> usize {
        A
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_map_refuses_a_new_key_but_replaces_an_old_one() {
        let mut map: Attributes<2> = Attributes::new();
        map.insert("a", Value::I64(1)).unwrap();
        map.insert("b", Value::I64(2)).unwrap();
        assert_eq!(map.insert("c", Value::I64(3)), Err(AttributeError::Full { capacity: 2 }));
        assert_eq!(map.insert("a", Value::I64(9)), Ok(Some(Value::I64(1))));
        assert_eq!(map.get("a"), Some(&Value::I64(9)));
        assert_eq!(map.get("c"), None);
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn over_long_key_and_text_are_refused() {
        let mut map: Attributes<2> = Attributes::new();
        let key = "k".repeat(KEY_CAPACITY + 1);
        assert_eq!(
            map.insert(&key, Value::Bool(true)),
            Err(AttributeError::TooLong { len: KEY_CAPACITY + 1, capacity: KEY_CAPACITY })
        );
        assert!(map.is_empty());
        assert!(Value::text(&"t".repeat(TEXT_CAPACITY + 1)).is_err());
        assert!(Value::text(&"t".repeat(TEXT_CAPACITY)).is_ok());
    }

    #[test]
    fn remove_keeps_insertion_order_of_the_rest() {
        let mut map: Attributes<3> = Attributes::new();
        for (key, n) in [("x", 1), ("y", 2), ("z", 3)] {
            map.insert(key, Value::I64(n)).unwrap();
        }
        assert_eq!(map.remove("y"), Some(Value::I64(2)));
        let keys: heapless::Vec<&str, 3> = map.iter().map(|(k, _)| k).collect();
        assert_eq!(keys.as_slice(), ["x", "z"]);
    }
}
