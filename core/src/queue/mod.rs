//! Bounded multi-producer multi-consumer async queues that join stages.
//!
//! This module owns [`Queue`]: capacity and mutex kind in its type, an [`Overflow`] policy chosen
//! per queue, counters, and the wake-up protocol below. It never runs a future; the host's
//! executor polls the [`Push`], [`Pop`] and [`PopMany`] futures it returns.
//!
//! # Wake-up protocol
//!
//! All state — the ring of items, the `closed` flag, the counters and two waiter sets — sits
//! behind one blocking mutex of kind `M`, held only for a few instructions and never across an
//! `.await`. No waker is woken under the lock: a step that finds tasks waiting on the other side
//! says so, and once the lock is released a second short lock takes that whole set out to wake
//! it. The lock is taken through [`QueueMutex`], whose impls are inlined into the futures.
//!
//! A consumer's pop, each time it is polled, runs one step under the lock:
//!
//! ```text
//!   an item is buffered -> take it, count `popped`, take every waiting producer -> Ready(Some)
//!   empty and closed    -> Ready(None)
//!   empty and open      -> register in `receivers`                             -> Pending
//! ```
//!
//! A producer's push, each time it is polled:
//!
//! ```text
//!   closed              -> Ready(Err(Closed(item)))
//!   room                -> append, count `pushed`, take every waiting consumer -> Ready(Admitted)
//!   full, DropOldest    -> evict the front, append, count both, wake consumers -> Ready(Evicted)
//!   full, DropNewest    -> count `refused`                                     -> Ready(Refused)
//!   full, Block         -> count a wait (first poll only), register in `senders` -> Pending
//! ```
//!
//! `close` sets the flag and takes both sets. Why no wake-up is lost: a task registers under the
//! same lock in which it saw the condition it waits on (empty, or full), so any later change of
//! that condition happens after the registration, under the lock, and takes the waker. Every
//! change wakes *all* waiters of that side, not one: a woken task whose future is then dropped
//! (cancelled) cannot swallow the wake-up meant for another, because that other was woken too.
//! The price is a thundering herd when many tasks wait on one side; with one producer and one
//! consumer it costs nothing. A waiter set holds 8 wakers (`WAITER_SLOTS`); a ninth task that
//! must wait on the same side is not registered but woken at once, so its executor polls it
//! again (it busy-polls until a slot frees: wasted polls, never a lost wake-up).
//!
//! The drop decision of `DropOldest` and `DropNewest` looks only at the ring's real length; a
//! full queue is one holding `N` items, whoever is waiting. Among producers waiting under
//! `Block` there is no FIFO order: the first one polled after room appears gets it.

mod error;
mod future;
mod lock;
mod metrics;
#[cfg(feature = "std")]
mod std_mutex;
#[cfg(feature = "futures")]
mod stream;
pub(crate) mod waiters;

use core::cell::RefCell;
use core::task::Waker;

use embassy_sync::blocking_mutex::Mutex;
use heapless::Deque;

pub use error::{CapacityError, Closed, Pushed, TryPopError, TryPushError};
pub use future::{Pop, PopMany, Push};
pub use lock::QueueMutex;
pub use metrics::Metrics;
#[cfg(feature = "std")]
pub use std_mutex::StdRawMutex;
#[cfg(feature = "futures")]
pub use stream::{QueueSink, QueueStream, SinkError};

use crate::Overflow;
use waiters::Waiters;

/// A fixed-capacity async queue of `T`, holding at most `N` items, guarded by a raw mutex `M`.
///
/// `M` is one of embassy-sync's raw mutexes: `CriticalSectionRawMutex` for a queue shared
/// between threads or interrupts, `NoopRawMutex` for one that stays on one executor (it is then
/// not `Sync`). The [`Overflow`] policy, fixed at construction, decides what a full queue does
/// with a new item; see the [module docs](self) for the wake-up protocol.
///
/// # Examples
///
/// ```
/// use embassy_sync::blocking_mutex::raw::NoopRawMutex;
/// use plover_core::Overflow;
/// use plover_core::queue::{Pushed, Queue};
///
/// let queue: Queue<NoopRawMutex, u32, 2> = Queue::new(Overflow::DropOldest);
/// assert_eq!(queue.try_push(1), Ok(Pushed::Admitted));
/// assert_eq!(queue.try_push(2), Ok(Pushed::Admitted));
/// assert_eq!(queue.try_push(3), Ok(Pushed::Evicted(1)));
/// assert_eq!(queue.try_pop(), Ok(2));
/// ```
pub struct Queue<M: QueueMutex, T, const N: usize> {
    policy: Overflow,
    /// The capacity in force: `N`, or less when chosen at run time ([`Queue::with_capacity`]).
    limit: usize,
    state: Mutex<M, RefCell<State<T, N>>>,
}

/// Everything that changes, kept together under the queue's lock.
struct State<T, const N: usize> {
    items: Deque<T, N>,
    closed: bool,
    /// Producers waiting for room (only ever non-empty under `Block`).
    senders: Waiters,
    /// Consumers waiting for an item.
    receivers: Waiters,
    metrics: Metrics,
}

/// The result of one push step under the lock; `Full` means "wait" to a `Push` future.
pub(crate) enum Step<T> {
    Done(Pushed<T>),
    Full(T),
    Closed(T),
}

impl<M: QueueMutex, T, const N: usize> Queue<M, T, N> {
    /// Creates an empty, open queue with the given overflow policy.
    ///
    /// `const`, so a queue can be a `static`. A capacity of 0 is rejected at compile time.
    pub const fn new(policy: Overflow) -> Self {
        const { assert!(N > 0, "a queue needs a capacity of at least one item") };
        Queue::build(policy, N)
    }

    /// Creates an empty, open queue that holds at most `capacity` items, for capacities chosen
    /// at run time (a command-line flag, a control on a page). Storage for `N` items is still
    /// reserved; `N` is the largest capacity such a queue can be given.
    ///
    /// # Errors
    ///
    /// [`CapacityError`] if `capacity` is 0 or greater than `N`.
    pub const fn with_capacity(policy: Overflow, capacity: usize) -> Result<Self, CapacityError> {
        if capacity == 0 || capacity > N {
            return Err(CapacityError { requested: capacity, max: N });
        }
        Ok(Queue::build(policy, capacity))
    }

    const fn build(policy: Overflow, limit: usize) -> Self {
        Queue {
            policy,
            limit,
            state: Mutex::new(RefCell::new(State {
                items: Deque::new(),
                closed: false,
                senders: Waiters::new(),
                receivers: Waiters::new(),
                metrics: Metrics {
                    pushed: 0,
                    popped: 0,
                    evicted: 0,
                    refused: 0,
                    high_water: 0,
                    producer_waits: 0,
                },
            })),
        }
    }

    /// Pushes `item`, waiting for room if the queue is full and its policy is `Block`.
    ///
    /// Completes with [`Pushed::Admitted`], or under `DropOldest` with [`Pushed::Evicted`]
    /// holding the evicted oldest item, or under `DropNewest` with [`Pushed::Refused`] holding
    /// `item` itself. Only a `Block` push ever waits.
    ///
    /// # Errors
    ///
    /// [`Closed`] with `item` if the queue is closed before the item is admitted, including
    /// while the push waits.
    ///
    /// # Cancel safety
    ///
    /// The item enters the queue only in the poll that completes the future. Dropping the future
    /// before that leaves the queue untouched and drops the item with the future; call
    /// [`Push::cancel`] instead of dropping it to get the item back.
    #[inline]
    pub fn push(&self, item: T) -> Push<'_, M, T, N> {
        Push::new(self, item)
    }

    /// Pushes `item` without waiting, whatever the policy.
    ///
    /// Under `DropOldest` and `DropNewest` this is exactly [`push`](Self::push) (which never
    /// waits under them); under `Block` a full queue fails with [`TryPushError::Full`].
    ///
    /// # Errors
    ///
    /// [`TryPushError::Full`] (policy `Block`, queue full) or [`TryPushError::Closed`], each
    /// handing `item` back.
    #[inline]
    pub fn try_push(&self, item: T) -> Result<Pushed<T>, TryPushError<T>> {
        match self.push_step(item, None) {
            Step::Done(pushed) => Ok(pushed),
            Step::Full(item) => Err(TryPushError::Full(item)),
            Step::Closed(item) => Err(TryPushError::Closed(item)),
        }
    }

    /// Takes the oldest item, waiting for one if the queue is empty.
    ///
    /// Completes with `None` once the queue is closed and every buffered item has been taken.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an item leaves the queue only in the poll that completes the future, so a
    /// dropped `Pop` has taken nothing.
    #[inline]
    pub fn pop(&self) -> Pop<'_, M, T, N> {
        Pop::new(self)
    }

    /// Takes the oldest item if there is one, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryPopError::Empty`] if the queue is open and empty, [`TryPopError::Closed`] if it is
    /// closed and drained.
    #[inline]
    pub fn try_pop(&self) -> Result<T, TryPopError> {
        self.pop_step(None)
    }

    /// Moves up to `out`'s free room of the oldest items into `out`, waiting until there is at
    /// least one.
    ///
    /// Completes with how many items were moved: at least 1, or 0 if `out` was already full
    /// (then at once) or the queue is closed and drained.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: items leave the queue only in the poll that completes the future.
    pub fn pop_many<'a, const K: usize>(
        &'a self,
        out: &'a mut heapless::Vec<T, K>,
    ) -> PopMany<'a, M, T, N, K> {
        PopMany::new(self, out)
    }

    /// Moves up to `out`'s free room of the oldest items into `out` without waiting and returns
    /// how many were moved (0 if the queue is empty or `out` full).
    pub fn try_pop_many<const K: usize>(&self, out: &mut heapless::Vec<T, K>) -> usize {
        self.pop_many_step(out, None).unwrap_or(0)
    }

    /// Closes the queue: every later push fails with [`Closed`], and pops take what is left, then
    /// end. Wakes every waiting producer and consumer.
    ///
    /// Idempotent; returns `true` only for the call that closed the queue.
    pub fn close(&self) -> bool {
        let (first, senders, receivers) = self.locked(|state| {
            let first = !state.closed;
            state.closed = true;
            (first, state.senders.take(), state.receivers.take())
        });
        senders.wake_all();
        receivers.wake_all();
        first
    }

    /// Whether [`close`](Self::close) has been called.
    pub fn is_closed(&self) -> bool {
        self.locked(|state| state.closed)
    }

    /// How many items are buffered now.
    pub fn len(&self) -> usize {
        self.locked(|state| state.items.len())
    }

    /// Whether no item is buffered now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue holds [`capacity`](Self::capacity) items now.
    pub fn is_full(&self) -> bool {
        self.len() >= self.limit
    }

    /// The capacity: `N`, or the one given to [`with_capacity`](Self::with_capacity).
    pub const fn capacity(&self) -> usize {
        self.limit
    }

    /// The overflow policy chosen at construction.
    pub const fn policy(&self) -> Overflow {
        self.policy
    }

    /// A consistent snapshot of the counters (see [`Metrics`]).
    pub fn metrics(&self) -> Metrics {
        self.locked(|state| state.metrics)
    }

    /// Runs `f` on the state with the queue's lock held (inlined: see [`QueueMutex`]).
    #[inline(always)]
    fn locked<R>(&self, f: impl FnOnce(&mut State<T, N>) -> R) -> R {
        M::lock_data(&self.state, |cell| f(&mut cell.borrow_mut()))
    }

    // The three steps below decide under the lock and return a small enum (a tag and at most
    // one item, so that for small items it comes back in registers) saying what is left to do
    // once the lock is released: usually nothing, sometimes "wake the other side" for the cold
    // path `wake_other`. Returning a waker or a waiter set from the lock, or writing one
    // through a captured reference, had doubled or tripled the cost per item (measured with
    // perf and the queue benchmarks).

    /// One push step under the lock. With a waker, a `Block` push on a full queue registers it
    /// (and `first_wait` decides whether that counts as a new producer wait).
    #[inline(always)]
    pub(crate) fn push_step(&self, item: T, waiter: Option<(&Waker, bool)>) -> Step<T> {
        let step = self.locked(|state| {
            if state.closed {
                return PushStep::Closed(item);
            }
            // The length from the counters' invariant (`pushed - popped - evicted`) is plain
            // arithmetic; asking the deque costs branches that kept this step from being
            // inlined (measured).
            let step = if state.len() < self.limit {
                match state.items.push_back(item) {
                    Ok(()) => PushStep::Admitted { wake: false },
                    // Not reached: the counters say there is room.
                    Err(item) => return PushStep::Full { item, registered: false },
                }
            } else {
                match self.overflow(state, item, waiter) {
                    PushStep::Evicted { oldest, .. } => PushStep::Evicted { oldest, wake: false },
                    decided => return decided,
                }
            };
            state.metrics.pushed += 1;
            state.metrics.high_water = state.metrics.high_water.max(state.len());
            if state.receivers.len() == 0 { step } else { step.waking() }
        });

        match step {
            PushStep::Admitted { wake } => {
                self.wake_other_if(wake, Side::Receivers);
                Step::Done(Pushed::Admitted)
            }
            PushStep::Evicted { oldest, wake } => {
                self.wake_other_if(wake, Side::Receivers);
                Step::Done(Pushed::Evicted(oldest))
            }
            PushStep::Refused(item) => Step::Done(Pushed::Refused(item)),
            PushStep::Full { item, registered } => {
                Self::poll_again_unless(registered, waiter.map(|(waker, _)| waker));
                Step::Full(item)
            }
            PushStep::Closed(item) => Step::Closed(item),
        }
    }

    /// The policy's decision on a full queue, kept out of line so that the common path of
    /// `push_step` stays small.
    #[inline(never)]
    fn overflow(
        &self,
        state: &mut State<T, N>,
        item: T,
        waiter: Option<(&Waker, bool)>,
    ) -> PushStep<T> {
        match self.policy {
            Overflow::Block => {
                let Some((waker, first_wait)) = waiter else {
                    return PushStep::Full { item, registered: false };
                };
                if first_wait {
                    state.metrics.producer_waits += 1;
                }
                PushStep::Full { item, registered: state.senders.try_register(waker) }
            }
            Overflow::DropNewest => {
                state.metrics.refused += 1;
                PushStep::Refused(item)
            }
            Overflow::DropOldest => match state.items.pop_front() {
                // The front slot was just freed, so the append succeeds; were it ever to fail,
                // both items stay accounted for (the old one goes back).
                Some(oldest) => match state.items.push_back(item) {
                    Ok(()) => {
                        state.metrics.evicted += 1;
                        PushStep::Evicted { oldest, wake: false }
                    }
                    Err(item) => {
                        let _ = state.items.push_front(oldest);
                        PushStep::Full { item, registered: false }
                    }
                },
                None => PushStep::Full { item, registered: false },
            },
        }
    }

    /// One pop step under the lock; with a waker, an empty open queue registers it.
    #[inline(always)]
    pub(crate) fn pop_step(&self, waiter: Option<&Waker>) -> Result<T, TryPopError> {
        let step = self.locked(|state| match state.items.pop_front() {
            Some(item) => {
                state.metrics.popped += 1;
                PopStep::Item { item, wake: state.senders.len() != 0 }
            }
            None if state.closed => PopStep::Closed,
            None => PopStep::Empty { registered: Self::register(&mut state.receivers, waiter) },
        });

        match step {
            PopStep::Item { item, wake } => {
                self.wake_other_if(wake, Side::Senders);
                Ok(item)
            }
            PopStep::Closed => Err(TryPopError::Closed),
            PopStep::Empty { registered } => {
                Self::poll_again_unless(registered, waiter);
                Err(TryPopError::Empty)
            }
        }
    }

    /// One batch-pop step under the lock. `Some(moved)` is final: items were moved, `out` was
    /// full, or the queue is closed and drained. `None` means "empty and open": the waker, if
    /// any, was registered.
    pub(crate) fn pop_many_step<const K: usize>(
        &self,
        out: &mut heapless::Vec<T, K>,
        waiter: Option<&Waker>,
    ) -> Option<usize> {
        let step = self.locked(|state| {
            let mut moved = 0;
            while !out.is_full() {
                let Some(item) = state.items.pop_front() else { break };
                // `out` has room (checked above), so the push succeeds; were it ever to fail,
                // the item goes back to the front rather than being lost.
                if let Err(item) = out.push(item) {
                    let _ = state.items.push_front(item);
                    break;
                }
                moved += 1;
            }

            if moved > 0 {
                state.metrics.popped += moved as u64;
                PopStep::Item { item: moved, wake: state.senders.len() != 0 }
            } else if out.is_full() || state.closed {
                PopStep::Closed
            } else {
                PopStep::Empty { registered: Self::register(&mut state.receivers, waiter) }
            }
        });

        match step {
            PopStep::Item { item: moved, wake } => {
                self.wake_other_if(wake, Side::Senders);
                Some(moved)
            }
            PopStep::Closed => Some(0),
            PopStep::Empty { registered } => {
                Self::poll_again_unless(registered, waiter);
                None
            }
        }
    }

    /// Registers `waker`, if any, in `set`, out of line: the path of a step that will wait.
    /// Returns whether it is remembered now (false without a waker or with a full set).
    #[inline(never)]
    fn register(set: &mut Waiters, waker: Option<&Waker>) -> bool {
        waker.is_some_and(|waker| set.try_register(waker))
    }

    /// A task that could not be registered because its side's set of waiters is full asks to
    /// be polled again at once, so it is never forgotten (it busy-polls until a slot frees).
    #[inline]
    fn poll_again_unless(registered: bool, waker: Option<&Waker>) {
        if let (false, Some(waker)) = (registered, waker) {
            waker.wake_by_ref();
        }
    }

    /// Wakes every waiter of one side if a step said there are some.
    #[inline(always)]
    fn wake_other_if(&self, wake: bool, side: Side) {
        if wake {
            self.wake_other(side);
        }
    }

    /// Takes every waiter of one side under the lock and wakes them after it. Tasks that
    /// registered since the step that called for this are woken too (spuriously), which is
    /// harmless.
    #[cold]
    #[inline(never)]
    fn wake_other(&self, side: Side) {
        let waiters = self.locked(|state| match side {
            Side::Senders => state.senders.take(),
            Side::Receivers => state.receivers.take(),
        });
        waiters.wake_all();
    }
}

impl<T, const N: usize> State<T, N> {
    /// How many items are buffered, from the counters' invariant.
    #[inline(always)]
    fn len(&self) -> usize {
        (self.metrics.pushed - self.metrics.popped - self.metrics.evicted) as usize
    }
}

/// What a push step decided under the lock. `wake` asks for the waiting consumers to be woken
/// once the lock is released; `registered: false` on a `Full` push that had a waker means the
/// producers' set was full, so the task must poll again by itself.
enum PushStep<T> {
    Admitted { wake: bool },
    Evicted { oldest: T, wake: bool },
    Refused(T),
    Full { item: T, registered: bool },
    Closed(T),
}

impl<T> PushStep<T> {
    /// The same decision, with the waiting consumers to be woken.
    #[inline(always)]
    fn waking(self) -> Self {
        match self {
            PushStep::Admitted { .. } => PushStep::Admitted { wake: true },
            PushStep::Evicted { oldest, .. } => PushStep::Evicted { oldest, wake: true },
            other => other,
        }
    }
}

/// What a pop step decided under the lock: an item (or a count, for a batch) and whether
/// waiting producers are to be woken; an empty open queue, and whether the consumer is
/// remembered; or nothing more to take (closed and drained, or a full batch buffer).
enum PopStep<I> {
    Item { item: I, wake: bool },
    Empty { registered: bool },
    Closed,
}

/// Which waiter set of a queue.
#[derive(Clone, Copy)]
enum Side {
    Senders,
    Receivers,
}

impl<M: QueueMutex, T, const N: usize> core::fmt::Debug for Queue<M, T, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (len, closed) = self.locked(|state| (state.items.len(), state.closed));
        f.debug_struct("Queue")
            .field("policy", &self.policy)
            .field("capacity", &self.limit)
            .field("len", &len)
            .field("closed", &closed)
            .finish()
    }
}
