//! A fixed-capacity set of wakers for the tasks parked on one side of a queue.
//!
//! It owns no policy: the queue decides when to register and when to wake. Its one invariant is
//! that a registered waker leaves the set only by being handed back to be woken, so a full set
//! never drops a waiter silently.

use core::task::Waker;

use heapless::Vec;

/// How many distinct tasks one side of a queue (or a stage control) remembers at once.
///
/// A task beyond this number is still served, at a cost: it is not remembered but woken at once,
/// so it polls again and again until a slot frees (wasted polls, never a lost wake-up).
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

    /// Remembers `waker` if it is new and there is a free slot; returns whether it is remembered
    /// now. A full set turns a newcomer away instead of pushing anyone out: the caller then
    /// wakes the newcomer's waker itself, so that its task polls again (and tries again).
    #[inline]
    pub(crate) fn try_register(&mut self, waker: &Waker) -> bool {
        self.wakers.iter().any(|known| known.will_wake(waker))
            || self.wakers.push(waker.clone()).is_ok()
    }

    /// How many tasks are waiting.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.wakers.len()
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

/// Wakes the optional set; a shorthand for the "take under the lock, wake after" steps.
#[inline]
pub(crate) fn wake(waiters: Option<Waiters>) {
    if let Some(waiters) = waiters {
        waiters.wake_all();
    }
}
