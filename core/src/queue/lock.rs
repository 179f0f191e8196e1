//! [`QueueMutex`]: how a queue takes its lock, inlined for the mutex kinds plover knows.
//!
//! A queue's step under the lock is a few instructions, and it only stays that cheap when it is
//! inlined into the future that runs it. embassy-sync's `RawMutex::lock` is a generic method
//! without `#[inline]`, so rustc puts its instances in the codegen unit of the mutex's module and
//! every queue step turns into an out-of-line call (measured on the one-executor benchmark: about
//! 40 % of the time per item with the default 16 codegen units, none with one). The impls for
//! embassy-sync's two mutexes reach the same lock through its public `borrow` methods and are
//! `#[inline(always)]`, so the step is inlined whatever the build's partitioning. `StdRawMutex`
//! keeps the provided method, which reaches its `#[inline]` `lock`: a lock that two threads
//! take in turn costs more than a call (cache lines move between cores), so the call matters
//! less there.

use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, NoopRawMutex, RawMutex};

/// A raw mutex a [`Queue`](super::Queue) can be guarded by.
///
/// Implemented for embassy-sync's [`NoopRawMutex`] (one executor) and
/// [`CriticalSectionRawMutex`] (threads and interrupts), and for plover's
/// [`StdRawMutex`](super::StdRawMutex) with the `std` feature. For another raw mutex, an empty
/// `impl QueueMutex for MyMutex {}` in the crate that defines it is enough: the provided method
/// locks through [`RawMutex::lock`]. (embassy-sync's `ThreadModeRawMutex` exists only on some
/// targets, so plover cannot name it; use `NoopRawMutex` for a queue that stays in thread mode.)
pub trait QueueMutex: RawMutex + Sized {
    /// Runs `f` on the data of `mutex` with the lock held.
    ///
    /// Implementations must give `f` the same exclusion as [`Mutex::lock`], which is what the
    /// provided method calls. (Without `unsafe`, an impl can only reach the data through
    /// embassy-sync's own `lock` and `borrow` methods, so it cannot give less.)
    #[inline(always)]
    fn lock_data<T, R>(mutex: &Mutex<Self, T>, f: impl FnOnce(&T) -> R) -> R {
        mutex.lock(f)
    }
}

impl QueueMutex for NoopRawMutex {
    #[inline(always)]
    fn lock_data<T, R>(mutex: &Mutex<Self, T>, f: impl FnOnce(&T) -> R) -> R {
        // `NoopRawMutex::lock` is exactly `f()`: the type is not `Sync`, so the data can only
        // be reached from the one thread that owns the queue.
        f(mutex.borrow())
    }
}

impl QueueMutex for CriticalSectionRawMutex {
    #[inline(always)]
    fn lock_data<T, R>(mutex: &Mutex<Self, T>, f: impl FnOnce(&T) -> R) -> R {
        // What `CriticalSectionRawMutex::lock` does, with the token that proves it.
        critical_section::with(|cs| f(mutex.borrow(cs)))
    }
}

#[cfg(feature = "std")]
impl QueueMutex for super::StdRawMutex {}
