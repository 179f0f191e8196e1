//! What a push or a pop tells its caller besides "done": the outcomes and the errors.
//!
//! Every type here that can carry an item hands it back to the caller; none drops one. The
//! queue's overflow policy decides which outcome a full queue produces.

use core::fmt;

/// The outcome of a push that the queue accepted to decide on (the queue was open).
///
/// Under [`Overflow::Block`](crate::Overflow::Block) a push only ever completes with
/// `Admitted`; `Evicted` comes only from `DropOldest` and `Refused` only from `DropNewest`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "an evicted or refused item is handed back and should not be ignored"]
pub enum Pushed<T> {
    /// The item is in the queue and nothing else left it.
    Admitted,
    /// The item is in the queue; the queue was full, so its oldest item was evicted and is
    /// handed back here.
    Evicted(T),
    /// The queue was full and the new item was refused; it is handed back here.
    Refused(T),
}

impl<T> Pushed<T> {
    /// Whether the pushed item entered the queue (`Admitted` or `Evicted`).
    pub fn is_admitted(&self) -> bool {
        !matches!(self, Pushed::Refused(_))
    }

    /// The item handed back, if any: the evicted old one or the refused new one.
    pub fn into_returned(self) -> Option<T> {
        match self {
            Pushed::Admitted => None,
            Pushed::Evicted(item) | Pushed::Refused(item) => Some(item),
        }
    }
}

/// The queue is closed; the item that could not be pushed is handed back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Closed<T>(pub T);

impl<T> Closed<T> {
    /// The item that was not pushed.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Why [`Queue::try_push`](super::Queue::try_push) did not decide on the item.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TryPushError<T> {
    /// The queue is full and its policy is `Block`, so the push would have to wait.
    Full(T),
    /// The queue is closed.
    Closed(T),
}

impl<T> TryPushError<T> {
    /// The item that was not pushed.
    pub fn into_inner(self) -> T {
        match self {
            TryPushError::Full(item) | TryPushError::Closed(item) => item,
        }
    }
}

/// Why [`Queue::try_pop`](super::Queue::try_pop) returned no item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TryPopError {
    /// The queue is open and empty: a later pop may succeed.
    Empty,
    /// The queue is closed and drained: no pop will ever succeed again.
    Closed,
}

// Hand-written so that `T` needs no `Debug`: the item is shown by kind only.
impl<T> fmt::Debug for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Closed(..)")
    }
}

impl<T> fmt::Debug for TryPushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPushError::Full(_) => f.write_str("Full(..)"),
            TryPushError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is closed")
    }
}

impl<T> fmt::Display for TryPushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPushError::Full(_) => f.write_str("the queue is full"),
            TryPushError::Closed(_) => f.write_str("the queue is closed"),
        }
    }
}

impl fmt::Display for TryPopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPopError::Empty => f.write_str("the queue is empty"),
            TryPopError::Closed => f.write_str("the queue is closed and drained"),
        }
    }
}

impl<T> core::error::Error for Closed<T> {}
impl<T> core::error::Error for TryPushError<T> {}
impl core::error::Error for TryPopError {}

/// A capacity given at run time was 0 or larger than the queue's storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityError {
    /// The capacity asked for.
    pub requested: usize,
    /// The largest capacity this queue type can hold (its `N`).
    pub max: usize,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "queue capacity must be between 1 and {}, not {}", self.max, self.requested)
    }
}

impl core::error::Error for CapacityError {}
