//! Why an event failed: the error interceptors return and the state an event carries.
//!
//! A [`Failure`] is small, `Copy`-free but allocation-free, and always constructible: a reason
//! longer than its fixed capacity is cut at a character boundary rather than refused, so that
//! reporting a failure can never itself fail.

use core::fmt;

use serde::{Deserialize, Serialize};

/// Bytes kept of a failure's reason; longer reasons are cut (see [`Failure::new`]).
pub const REASON_CAPACITY: usize = 96;

/// What kind of failure happened. Helpers such as [`retry`](crate::interceptors::retry) decide
/// on the kind, never on the reason text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailureKind {
    /// The event's input broke a rule (missing field, wrong type, out of range).
    Validation,
    /// Work on a valid event went wrong and retrying will not help.
    Processing,
    /// Work went wrong in a way that may succeed if tried again (a busy or offline peer).
    Transient,
    /// An operation took longer than allowed.
    Timeout,
    /// plover itself could not go on (for example a full attribute map).
    Internal,
    /// An application-defined kind.
    Custom(u16),
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Validation => f.write_str("validation"),
            FailureKind::Processing => f.write_str("processing"),
            FailureKind::Transient => f.write_str("transient"),
            FailureKind::Timeout => f.write_str("timeout"),
            FailureKind::Internal => f.write_str("internal"),
            FailureKind::Custom(code) => write!(f, "custom({code})"),
        }
    }
}

/// A failure: its kind and a human-readable reason.
///
/// Interceptors return it as their error; [`Event`](crate::event::Event)s carry it once marked
/// failed, and the dead-letter log stores it beside the event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Failure {
    kind: FailureKind,
    reason: heapless::String<REASON_CAPACITY>,
}

impl Failure {
    /// A failure of `kind` with `reason`.
    ///
    /// A reason longer than [`REASON_CAPACITY`] bytes is cut at the last character boundary
    /// that fits; [`Failure::is_truncated`] then says so.
    pub fn new(kind: FailureKind, reason: &str) -> Failure {
        // `get` rather than indexing: a cut off a character boundary is skipped, not a panic
        // path (which would pull `core::fmt`'s character printing into every firmware).
        let mut cut = reason.len().min(REASON_CAPACITY);
        let fits = loop {
            match reason.get(..cut) {
                Some(fits) => break fits,
                // Ends at 0 at the latest, which is always a boundary.
                None => cut = cut.saturating_sub(1),
            }
        };
        let mut kept = heapless::String::new();
        // Cannot fail: `cut` is at most the capacity.
        let _ = kept.push_str(fits);
        Failure { kind, reason: kept }
    }

    /// A [`FailureKind::Validation`] failure.
    pub fn validation(reason: &str) -> Failure {
        Failure::new(FailureKind::Validation, reason)
    }

    /// A [`FailureKind::Processing`] failure.
    pub fn processing(reason: &str) -> Failure {
        Failure::new(FailureKind::Processing, reason)
    }

    /// A [`FailureKind::Transient`] failure: worth retrying.
    pub fn transient(reason: &str) -> Failure {
        Failure::new(FailureKind::Transient, reason)
    }

    /// A [`FailureKind::Internal`] failure.
    pub fn internal(reason: &str) -> Failure {
        Failure::new(FailureKind::Internal, reason)
    }

    /// The kind of failure.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The reason, possibly cut to [`REASON_CAPACITY`] bytes.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Whether the reason was cut because it was longer than [`REASON_CAPACITY`].
    pub fn is_truncated(&self) -> bool {
        self.reason.len() == REASON_CAPACITY
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failure: {}", self.kind, self.reason)
    }
}

impl core::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reason_is_cut_at_a_char_boundary() {
        let long = "é".repeat(REASON_CAPACITY);
        let failure = Failure::processing(&long);
        assert!(failure.reason().len() <= REASON_CAPACITY);
        assert!(failure.reason().chars().all(|c| c == 'é'));
        assert_eq!(failure.reason().chars().count(), REASON_CAPACITY / 2);
    }

    #[test]
    fn short_reason_is_kept_whole() {
        let failure = Failure::transient("peer busy");
        assert_eq!(failure.reason(), "peer busy");
        assert_eq!(failure.kind(), FailureKind::Transient);
        assert!(!failure.is_truncated());
    }
}
