//! [`StdRawMutex`]: a queue lock for native hosts, one adaptive mutex per queue (`std` feature).
//!
//! embassy-sync's `CriticalSectionRawMutex` on a native host goes through critical-section's
//! `std` implementation, which is one lock for the whole process: every queue contends with
//! every other. This raw mutex gives each queue its own lock, parking_lot's.
//!
//! Why parking_lot's and not `std::sync::Mutex`: a queue's lock is held for a few instructions,
//! by a producer and a consumer that take it millions of times a second. Under that contention
//! std's mutex soon marks itself contended, and from then on its waiters sleep in the kernel and
//! every unlock makes a system call to wake one. parking_lot's mutex spins and yields a few times
//! before it parks a thread, so the other side has released the lock long before, and an unlock
//! with nobody parked is one atomic store. On the two-thread queue benchmark (2 M items, one
//! producer and one consumer thread) the time per item went from about 100 ns to about 30 ns
//! (`docs/benchmarks-queue.md`).

use parking_lot::lock_api::RawMutex as _;

use embassy_sync::blocking_mutex::raw::RawMutex;

/// A raw mutex backed by its own parking_lot mutex, for queues shared between OS threads.
///
/// Unlike embassy-sync's raw mutexes it is not reentrant: locking it again from inside the
/// closure of [`RawMutex::lock`] on the same thread deadlocks. The queue never does that.
pub struct StdRawMutex(parking_lot::RawMutex);

impl StdRawMutex {
    /// An unlocked mutex.
    pub const fn new() -> Self {
        StdRawMutex(parking_lot::RawMutex::INIT)
    }
}

impl Default for StdRawMutex {
    fn default() -> Self {
        StdRawMutex::new()
    }
}

impl core::fmt::Debug for StdRawMutex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StdRawMutex").field("locked", &self.0.is_locked()).finish()
    }
}

/// Unlocks on drop, so that a panic inside the closure does not leave the mutex locked.
struct Unlock<'a>(&'a parking_lot::RawMutex);

impl Drop for Unlock<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: an `Unlock` is made only right after `lock` returned on this thread, and
        // dropped once, so the mutex is locked and held by the current context.
        unsafe { self.0.unlock() }
    }
}

// SAFETY: `lock` runs `f` only between locking the inner parking_lot mutex and unlocking it
// (on return or unwind, by `Unlock`), so no other thread can run a `lock` closure of the same
// `StdRawMutex` at the same time, which is the trait's whole requirement.
unsafe impl RawMutex for StdRawMutex {
    const INIT: Self = StdRawMutex::new();

    #[inline]
    fn lock<R>(&self, f: impl FnOnce() -> R) -> R {
        self.0.lock();
        let _unlock = Unlock(&self.0);
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_the_lock_leaves_the_mutex_unlocked() {
        let mutex = StdRawMutex::new();
        let panicked = std::panic::catch_unwind(|| mutex.lock(|| panic!("inside the lock")));
        assert!(panicked.is_err());
        assert!(!mutex.0.is_locked());
        assert_eq!(mutex.lock(|| 7), 7);
    }

    #[test]
    fn the_lock_is_held_exactly_while_the_closure_runs() {
        let mutex = StdRawMutex::new();
        assert!(mutex.lock(|| mutex.0.is_locked()));
        assert!(!mutex.0.is_locked());
    }
}
