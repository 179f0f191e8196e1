//! A fixed-capacity set of wakers for the tasks parked on one side of a queue.
//!
//! It owns no policy: the queue decides when to register and when to wake. Its one invariant is
//! that a registered waker leaves the set only by being handed back to be woken, so a full set
//! never drops a waiter silently.

use core::task::Waker;

use heapless::Vec;

/// How many distinct tasks one side of a queue (or a stage control) remembers at once.
///
/// A task beyond this number is still served, at a cost: registering it wakes every task already
/// in the set, which then re-register when polled (spurious wake-ups, never lost ones).
pub(crate) const WAITER_SLOTS: usize = 8;

/// The wakers of the tasks waiting for one condition ("room", "an item", "stop requested").
#[derive(Debug)]
pub(crate) struct Waiters {
    wakers: Vec<Waker, WAITER_SLOTS>,
}

impl Waiters {
    /// An empty set; `const` so that it can live in a `static` queue.
    pub(crate) const fn new() -> Self {
        Waiters { wakers: Vec::new() }
    }

    /// Whether no task is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.wakers.is_empty()
    }

    /// Remembers `waker`. If the set is full, the wakers it held are returned for the caller to
    /// wake once it has released its lock; their tasks will poll again and re-register.
    pub(crate) fn register(&mut self, waker: &Waker) -> Option<Waiters> {
        if self.wakers.iter().any(|known| known.will_wake(waker)) {
            return None;
        }

        let displaced = if self.wakers.is_full() { Some(self.take()) } else { None };

        // The set has room here: either it was not full or `take` just emptied it. A failed push
        // (possible only if `WAITER_SLOTS` were 0) falls back to waking at once.
        if self.wakers.push(waker.clone()).is_err() {
            waker.wake_by_ref();
        }
        displaced
    }

    /// Empties the set and returns what it held, to be woken outside the lock.
    pub(crate) fn take(&mut self) -> Waiters {
        core::mem::replace(self, Waiters::new())
    }

    /// Wakes every task in the set, consuming it. Call with no lock held.
    pub(crate) fn wake_all(self) {
        for waker in self.wakers {
            waker.wake();
        }
    }
}

/// Wakes the optional set; a shorthand for the queue's "take under the lock, wake after" steps.
pub(crate) fn wake(waiters: Option<Waiters>) {
    if let Some(waiters) = waiters {
        waiters.wake_all();
    }
}
