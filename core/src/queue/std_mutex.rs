//! [`StdRawMutex`]: a queue lock for native hosts, one OS mutex per queue (`std` feature).
//!
//! embassy-sync's `CriticalSectionRawMutex` on a native host goes through critical-section's
//! `std` implementation, which is one lock for the whole process: every queue contends with
//! every other. This raw mutex gives each queue its own `std::sync::Mutex`.

use std::sync::{Mutex, PoisonError};

use embassy_sync::blocking_mutex::raw::RawMutex;

/// A raw mutex backed by its own `std::sync::Mutex`, for queues shared between OS threads.
///
/// Unlike embassy-sync's raw mutexes it is not reentrant: locking it again from inside the
/// closure of [`RawMutex::lock`] on the same thread deadlocks. The queue never does that.
#[derive(Debug, Default)]
pub struct StdRawMutex(Mutex<()>);

impl StdRawMutex {
    /// An unlocked mutex.
    pub const fn new() -> Self {
        StdRawMutex(Mutex::new(()))
    }
}

// SAFETY: `lock` runs `f` only while holding the inner `std::sync::Mutex`, so no other thread
// can run a `lock` closure of the same `StdRawMutex` at the same time, which is the trait's
// whole requirement. A poisoned mutex (a panic inside `f`) is still locked exclusively.
unsafe impl RawMutex for StdRawMutex {
    const INIT: Self = StdRawMutex::new();

    fn lock<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f()
    }
}
