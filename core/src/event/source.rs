//! Where an event came from: a file line, a queue offset, an HTTP request, a sensor, or custom.
//!
//! Text fields have fixed capacities; the constructors refuse over-long text with [`TooLong`]
//! instead of cutting it, because a source is an address and a cut address is a wrong one.

use core::fmt;

use serde::{Deserialize, Serialize};

/// Bytes of a path (file or HTTP).
pub const PATH_CAPACITY: usize = 96;
/// Bytes of a topic or custom source name.
pub const NAME_CAPACITY: usize = 48;

/// What produced an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Source {
    /// Not said.
    #[default]
    Unknown,
    /// A line of a file (lines count from 1).
    File {
        /// The file's path.
        path: heapless::String<PATH_CAPACITY>,
        /// The line number.
        line: u64,
    },
    /// A record of a queue, log or topic partition.
    Queue {
        /// Topic or queue name.
        topic: heapless::String<NAME_CAPACITY>,
        /// Partition number (0 when unpartitioned).
        partition: u32,
        /// Offset or sequence number within the partition.
        offset: u64,
    },
    /// An HTTP request.
    Http {
        /// The request method.
        method: heapless::String<8>,
        /// The request path.
        path: heapless::String<PATH_CAPACITY>,
    },
    /// A sensor, by id.
    Sensor {
        /// The sensor's id.
        id: u32,
    },
    /// Anything else, by name.
    Custom(heapless::String<NAME_CAPACITY>),
}

/// A text field was longer than its capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong {
    /// Which field.
    pub field: &'static str,
    /// Bytes given.
    pub len: usize,
    /// Bytes allowed.
    pub capacity: usize,
}

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} bytes exceeds {} bytes", self.field, self.len, self.capacity)
    }
}

impl core::error::Error for TooLong {}

fn bounded<const N: usize>(
    field: &'static str,
    text: &str,
) -> Result<heapless::String<N>, TooLong> {
    let mut s = heapless::String::new();
    s.push_str(text).map_err(|_| TooLong { field, len: text.len(), capacity: N })?;
    Ok(s)
}

impl Source {
    /// A file line.
    pub fn file(path: &str, line: u64) -> Result<Source, TooLong> {
        Ok(Source::File { path: bounded("path", path)?, line })
    }

    /// A queue or topic record.
    pub fn queue(topic: &str, partition: u32, offset: u64) -> Result<Source, TooLong> {
        Ok(Source::Queue { topic: bounded("topic", topic)?, partition, offset })
    }

    /// An HTTP request.
    pub fn http(method: &str, path: &str) -> Result<Source, TooLong> {
        Ok(Source::Http { method: bounded("method", method)?, path: bounded("path", path)? })
    }

    /// A named custom source.
    pub fn custom(name: &str) -> Result<Source, TooLong> {
        Ok(Source::Custom(bounded("name", name)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_long_path_is_refused_not_cut() {
        let path = "p".repeat(PATH_CAPACITY + 1);
        let err = Source::file(&path, 1).unwrap_err();
        assert_eq!(err, TooLong { field: "path", len: PATH_CAPACITY + 1, capacity: PATH_CAPACITY });
        assert!(Source::file(&"p".repeat(PATH_CAPACITY), 1).is_ok());
    }
}
