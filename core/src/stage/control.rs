//! A stage's lifecycle, shared by whoever starts and stops it and by its workers.
//!
//! It owns the state machine `Idle → Running → Draining → Stopped` and nothing else: it does
//! not close queues or run work; [`Stage`](super::Stage) does that around it.

use core::cell::RefCell;
use core::future::poll_fn;
use core::task::Poll;

use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::RawMutex;

use crate::queue::waiters::{Waiters, wake};

/// Where a stage is in its life. Phases only move forward.
///
/// ```text
///   Idle --start--> Running --stop--> Draining --last worker ends--> Stopped
///    |                 |                                               ^
///    +------stop-------+---------(input ended, last worker ends)-------+
/// ```
///
/// (`Running` goes straight to `Stopped` when the input queue is closed by someone else, e.g.
/// an upstream stage that ended, and the workers have drained it.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lifecycle {
    /// Created; workers wait for `start`. Published items are buffered.
    Idle,
    /// Workers take and handle items.
    Running,
    /// A stop was requested: new input is refused and workers drain what is buffered, until
    /// the input is empty or the drain deadline passes.
    Draining,
    /// Every worker that ran has ended.
    Stopped,
}

/// The lifecycle state of a stage: the current [`Lifecycle`] and a future to wait for one.
///
/// Start and stop go through [`Stage::start`](super::Stage::start) and
/// [`Stage::stop`](super::Stage::stop), which also close the input queue at the right moment.
pub struct Control<M: RawMutex> {
    state: Mutex<M, RefCell<ControlState>>,
}

struct ControlState {
    lifecycle: Lifecycle,
    /// Workers currently inside `Stage::run`.
    workers: usize,
    waiters: Waiters,
}

impl<M: RawMutex> Control<M> {
    /// A control in [`Lifecycle::Idle`].
    pub const fn new() -> Self {
        Control {
            state: Mutex::new(RefCell::new(ControlState {
                lifecycle: Lifecycle::Idle,
                workers: 0,
                waiters: Waiters::new(),
            })),
        }
    }

    /// The current lifecycle.
    pub fn lifecycle(&self) -> Lifecycle {
        self.state.lock(|cell| cell.borrow().lifecycle)
    }

    /// Moves `Idle → Running`. Idempotent: returns `true` only for the call that started it; a
    /// stage that was stopped stays stopped.
    pub(crate) fn start(&self) -> bool {
        self.advance(|lifecycle| (lifecycle == Lifecycle::Idle).then_some(Lifecycle::Running))
    }

    /// Moves `Idle` or `Running → Draining`. Idempotent: returns `true` only for the call that
    /// requested the stop.
    pub(crate) fn stop(&self) -> bool {
        self.advance(|lifecycle| (lifecycle <= Lifecycle::Running).then_some(Lifecycle::Draining))
    }

    /// Waits until the lifecycle is at least `lifecycle`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only observes the lifecycle.
    pub async fn reached(&self, lifecycle: Lifecycle) {
        poll_fn(|cx| {
            let (reached, registered) = self.state.lock(|cell| {
                let mut state = cell.borrow_mut();
                let reached = state.lifecycle >= lifecycle;
                (reached, reached || state.waiters.try_register(cx.waker()))
            });
            if reached {
                return Poll::Ready(());
            }
            if !registered {
                // Every waiter slot is taken: poll again rather than be forgotten.
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        })
        .await
    }

    /// Counts a worker in.
    pub(crate) fn enter(&self) {
        self.state.lock(|cell| cell.borrow_mut().workers += 1);
    }

    /// Counts a worker out; the last one out of a draining stage moves it to `Stopped`.
    /// Returns whether this call did so.
    pub(crate) fn leave(&self) -> bool {
        let (stopped, to_wake) = self.state.lock(|cell| {
            let mut state = cell.borrow_mut();
            state.workers = state.workers.saturating_sub(1);
            if state.workers == 0 && state.lifecycle != Lifecycle::Stopped {
                state.lifecycle = Lifecycle::Stopped;
                (true, Some(state.waiters.take()))
            } else {
                (false, None)
            }
        });
        wake(to_wake);
        stopped
    }

    fn advance(&self, next: impl FnOnce(Lifecycle) -> Option<Lifecycle>) -> bool {
        let to_wake = self.state.lock(|cell| {
            let mut state = cell.borrow_mut();
            let to = next(state.lifecycle)?;
            state.lifecycle = to;
            Some(state.waiters.take())
        });
        let changed = to_wake.is_some();
        wake(to_wake);
        changed
    }
}

impl<M: RawMutex> Default for Control<M> {
    fn default() -> Self {
        Control::new()
    }
}

impl<M: RawMutex> core::fmt::Debug for Control<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Control").field("lifecycle", &self.lifecycle()).finish()
    }
}
