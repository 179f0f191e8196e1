//! Unit-level claims about `plover_core::queue::Queue`: each policy, close and drain, batch pop,
//! counters, cancellation and wake-ups on one executor.
//!
//! The random-sequence model lives in `queue_model.rs`, threads in `queue_threads.rs`.

use core::pin::pin;
use core::task::{Context, Poll};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Wake, Waker};

use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, NoopRawMutex};
use futures_lite::future::block_on;
use plover_core::Overflow;
use plover_core::queue::{Closed, Metrics, Pushed, Queue, TryPopError, TryPushError};

/// A waker that counts how often it was woken.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    (counter.clone(), Waker::from(counter))
}

static SHARED: Queue<CriticalSectionRawMutex, u8, 4> = Queue::new(Overflow::Block);

#[test]
fn a_queue_can_be_a_static_and_shared_between_threads() {
    let pushed = std::thread::spawn(|| block_on(SHARED.push(7))).join().unwrap();
    assert_eq!(pushed, Ok(Pushed::Admitted));
    assert_eq!(SHARED.try_pop(), Ok(7));
}

#[test]
fn block_try_push_on_a_full_queue_hands_the_item_back_as_full() {
    let queue: Queue<NoopRawMutex, u32, 2> = Queue::new(Overflow::Block);
    assert_eq!(queue.try_push(1), Ok(Pushed::Admitted));
    assert_eq!(queue.try_push(2), Ok(Pushed::Admitted));
    assert_eq!(queue.try_push(3), Err(TryPushError::Full(3)));
    assert!(queue.is_full());
    assert_eq!(queue.metrics().refused, 0);
}

#[test]
fn drop_oldest_evicts_the_front_and_hands_it_back() {
    let queue: Queue<NoopRawMutex, u32, 2> = Queue::new(Overflow::DropOldest);
    for item in 1..=2 {
        assert_eq!(block_on(queue.push(item)), Ok(Pushed::Admitted));
    }
    assert_eq!(block_on(queue.push(3)), Ok(Pushed::Evicted(1)));
    assert_eq!(queue.try_push(4), Ok(Pushed::Evicted(2)));
    assert_eq!((queue.try_pop(), queue.try_pop()), (Ok(3), Ok(4)));
    assert_eq!(queue.metrics().evicted, 2);
    assert_eq!(queue.metrics().pushed, 4);
}

#[test]
fn drop_newest_refuses_the_new_item_and_hands_it_back() {
    let queue: Queue<NoopRawMutex, u32, 1> = Queue::new(Overflow::DropNewest);
    assert_eq!(block_on(queue.push(1)), Ok(Pushed::Admitted));
    assert_eq!(block_on(queue.push(2)), Ok(Pushed::Refused(2)));
    assert_eq!(queue.try_push(3), Ok(Pushed::Refused(3)));
    assert_eq!(queue.try_pop(), Ok(1));
    assert_eq!(queue.metrics().refused, 2);
}

#[test]
fn close_refuses_pushes_then_pops_drain_and_end() {
    let queue: Queue<NoopRawMutex, u32, 4> = Queue::new(Overflow::Block);
    assert_eq!(queue.try_push(1), Ok(Pushed::Admitted));
    assert_eq!(queue.try_push(2), Ok(Pushed::Admitted));
    assert!(queue.close());
    assert!(!queue.close(), "a second close reports that it changed nothing");
    assert!(queue.is_closed());

    assert_eq!(block_on(queue.push(3)), Err(Closed(3)));
    assert_eq!(queue.try_push(4), Err(TryPushError::Closed(4)));
    assert_eq!(block_on(queue.pop()), Some(1));
    assert_eq!(queue.try_pop(), Ok(2));
    assert_eq!(block_on(queue.pop()), None);
    assert_eq!(queue.try_pop(), Err(TryPopError::Closed));
}

#[test]
fn try_pop_on_an_open_empty_queue_is_empty_not_closed() {
    let queue: Queue<NoopRawMutex, u32, 4> = Queue::new(Overflow::Block);
    assert_eq!(queue.try_pop(), Err(TryPopError::Empty));
    assert!(queue.is_empty());
    assert_eq!(queue.capacity(), 4);
}

#[test]
fn pop_many_moves_at_most_the_buffers_room_oldest_first() {
    let queue: Queue<NoopRawMutex, u32, 8> = Queue::new(Overflow::Block);
    for item in 0..5 {
        assert_eq!(queue.try_push(item), Ok(Pushed::Admitted));
    }
    let mut out: heapless::Vec<u32, 3> = heapless::Vec::new();
    assert_eq!(block_on(queue.pop_many(&mut out)), 3);
    assert_eq!(out.as_slice(), &[0, 1, 2]);
    assert_eq!(block_on(queue.pop_many(&mut out)), 0, "a full buffer completes at once");

    out.clear();
    assert_eq!(queue.try_pop_many(&mut out), 2);
    assert_eq!(out.as_slice(), &[3, 4]);
    queue.close();
    out.clear();
    assert_eq!(block_on(queue.pop_many(&mut out)), 0, "closed and drained ends with 0");
    assert_eq!(queue.metrics().popped, 5);
}

#[test]
fn a_blocked_push_waits_is_counted_once_and_completes_after_a_pop() {
    let queue: Queue<NoopRawMutex, u32, 1> = Queue::new(Overflow::Block);
    assert_eq!(queue.try_push(1), Ok(Pushed::Admitted));
    let (wakes, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut push = pin!(queue.push(2));

    assert!(push.as_mut().poll(&mut cx).is_pending());
    assert!(push.as_mut().poll(&mut cx).is_pending());
    assert_eq!(queue.metrics().producer_waits, 1);
    assert_eq!(wakes.0.load(Ordering::SeqCst), 0);

    assert_eq!(queue.try_pop(), Ok(1));
    // At least once: `Waker::will_wake` is best effort (under Miri the same waker may not
    // compare equal), so a task polled twice may be registered, and woken, twice.
    assert!(wakes.0.load(Ordering::SeqCst) >= 1, "the pop woke the waiting producer");
    assert_eq!(push.as_mut().poll(&mut cx), Poll::Ready(Ok(Pushed::Admitted)));
}

#[test]
fn cancelling_a_waiting_push_hands_the_item_back_and_leaves_the_queue_alone() {
    let queue: Queue<NoopRawMutex, u32, 1> = Queue::new(Overflow::Block);
    assert_eq!(queue.try_push(1), Ok(Pushed::Admitted));
    let (_, waker) = counting_waker();
    let mut push = queue.push(2);
    assert!(std::pin::Pin::new(&mut push).poll(&mut Context::from_waker(&waker)).is_pending());
    assert_eq!(push.cancel(), Some(2));
    assert_eq!(queue.len(), 1);
    assert_eq!(queue.metrics().pushed, 1);
}

#[test]
fn close_wakes_every_waiting_producer_and_consumer() {
    let full: Queue<NoopRawMutex, u32, 1> = Queue::new(Overflow::Block);
    let empty: Queue<NoopRawMutex, u32, 1> = Queue::new(Overflow::Block);
    assert_eq!(full.try_push(0), Ok(Pushed::Admitted));
    let wakers: Vec<_> = (0..20).map(|_| counting_waker()).collect();
    let mut pushes: Vec<_> = (0..10).map(|i| Box::pin(full.push(i))).collect();
    let mut pops: Vec<_> = (0..10).map(|_| Box::pin(empty.pop())).collect();
    for (i, push) in pushes.iter_mut().enumerate() {
        assert!(push.as_mut().poll(&mut Context::from_waker(&wakers[i].1)).is_pending());
    }
    for (i, pop) in pops.iter_mut().enumerate() {
        assert!(pop.as_mut().poll(&mut Context::from_waker(&wakers[10 + i].1)).is_pending());
    }

    full.close();
    empty.close();
    for (counter, _) in &wakers {
        assert!(counter.0.load(Ordering::SeqCst) >= 1, "every waiter was woken");
    }
    for (i, push) in pushes.iter_mut().enumerate() {
        let polled = push.as_mut().poll(&mut Context::from_waker(&wakers[i].1));
        assert_eq!(polled, Poll::Ready(Err(Closed(i as u32))));
    }
    for pop in &mut pops {
        assert_eq!(pop.as_mut().poll(&mut Context::from_waker(&wakers[0].1)), Poll::Ready(None));
    }
}

#[test]
fn a_push_wakes_every_waiting_consumer_so_a_dropped_one_cannot_swallow_it() {
    let queue: Queue<NoopRawMutex, u32, 2> = Queue::new(Overflow::Block);
    let (first_wakes, first) = counting_waker();
    let (second_wakes, second) = counting_waker();
    let mut dropped = Box::pin(queue.pop());
    let mut kept = Box::pin(queue.pop());
    assert!(dropped.as_mut().poll(&mut Context::from_waker(&first)).is_pending());
    assert!(kept.as_mut().poll(&mut Context::from_waker(&second)).is_pending());

    assert_eq!(queue.try_push(5), Ok(Pushed::Admitted));
    drop(dropped);
    assert_eq!(first_wakes.0.load(Ordering::SeqCst), 1);
    assert_eq!(second_wakes.0.load(Ordering::SeqCst), 1);
    assert_eq!(kept.as_mut().poll(&mut Context::from_waker(&second)), Poll::Ready(Some(5)));
}

#[test]
fn more_waiters_than_slots_are_all_served_eventually() {
    let queue: Queue<NoopRawMutex, u32, 1> = Queue::new(Overflow::Block);
    let wakers: Vec<_> = (0..30).map(|_| counting_waker()).collect();
    let mut pops: Vec<_> = (0..30).map(|_| Box::pin(queue.pop())).collect();
    for (pop, (_, waker)) in pops.iter_mut().zip(&wakers) {
        assert!(pop.as_mut().poll(&mut Context::from_waker(waker)).is_pending());
    }

    // Every waiter beyond the set's slots woke itself to be polled again, and the others are
    // registered: one push must wake those, so each waiter has been woken at least once.
    assert_eq!(queue.try_push(1), Ok(Pushed::Admitted));
    for (counter, _) in &wakers {
        assert!(counter.0.load(Ordering::SeqCst) >= 1);
    }
}

#[test]
fn producers_beyond_the_waiter_slots_get_in_when_polled_only_after_a_wake() {
    const PRODUCERS: usize = 20;
    let queue: Queue<NoopRawMutex, usize, 1> = Queue::new(Overflow::Block);
    let wakers: Vec<_> = (0..PRODUCERS).map(|_| counting_waker()).collect();
    let mut pushes: Vec<_> = (0..PRODUCERS).map(|i| Some(Box::pin(queue.push(i)))).collect();
    // Like an executor: a producer is polled once, then again only after its waker was woken.
    let mut acted_on = [usize::MAX; PRODUCERS];
    let mut popped = Vec::new();
    while popped.len() < PRODUCERS {
        let mut progressed = false;
        for (i, push) in pushes.iter_mut().enumerate() {
            let wakes = wakers[i].0.0.load(Ordering::SeqCst);
            let Some(future) = push.as_mut().filter(|_| wakes != acted_on[i]) else { continue };
            acted_on[i] = wakes;
            progressed = true;
            if let Poll::Ready(pushed) =
                future.as_mut().poll(&mut Context::from_waker(&wakers[i].1))
            {
                assert_eq!(pushed, Ok(Pushed::Admitted));
                *push = None;
            }
        }
        if let Ok(item) = queue.try_pop() {
            popped.push(item);
            progressed = true;
        }
        assert!(progressed, "producers still wait but none was woken: a lost wake-up");
    }
    popped.sort_unstable();
    assert_eq!(popped, (0..PRODUCERS).collect::<Vec<_>>());
    assert_eq!(queue.metrics().producer_waits, PRODUCERS as u64 - 1);
}

#[test]
fn counters_add_up_after_mixed_traffic() {
    let queue: Queue<NoopRawMutex, u32, 3> = Queue::new(Overflow::DropOldest);
    for item in 0..10 {
        let _ = queue.try_push(item);
        if item % 3 == 0 {
            let _ = queue.try_pop();
        }
    }
    let Metrics { pushed, popped, evicted, refused, high_water, producer_waits } = queue.metrics();
    assert_eq!(pushed, popped + evicted + queue.len() as u64);
    assert_eq!((refused, producer_waits, high_water), (0, 0, 3));
}
