//! Model-based property test of `Queue`: random push / try_push / pop / pop_many / close
//! sequences against a `VecDeque` model with the same policy.
//!
//! After every step the outcome, the buffered items in order, and every counter must agree.

use std::collections::VecDeque;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use plover_core::Overflow;
use plover_core::queue::{Closed, Metrics, Pushed, Queue, TryPopError, TryPushError};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// `try_push`.
    TryPush(u32),
    /// `push`, polled once; a push that would wait is cancelled and its item handed back.
    Push(u32),
    TryPop,
    /// `pop`, polled once.
    Pop,
    /// `try_pop_many` into a buffer with room for 3.
    PopMany,
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u32>().prop_map(Op::TryPush),
        4 => any::<u32>().prop_map(Op::Push),
        3 => Just(Op::TryPop),
        2 => Just(Op::Pop),
        1 => Just(Op::PopMany),
        1 => Just(Op::Close),
    ]
}

fn policy() -> impl Strategy<Value = Overflow> {
    prop_oneof![Just(Overflow::Block), Just(Overflow::DropOldest), Just(Overflow::DropNewest)]
}

/// The obviously correct reference: a `VecDeque`, a flag and the counters.
struct Model {
    policy: Overflow,
    capacity: usize,
    items: VecDeque<u32>,
    closed: bool,
    metrics: Metrics,
}

impl Model {
    fn new(policy: Overflow, capacity: usize) -> Self {
        Model {
            policy,
            capacity,
            items: VecDeque::new(),
            closed: false,
            metrics: Metrics::default(),
        }
    }

    /// What `try_push` must return.
    fn try_push(&mut self, item: u32) -> Result<Pushed<u32>, TryPushError<u32>> {
        if self.closed {
            return Err(TryPushError::Closed(item));
        }
        let outcome = if self.items.len() < self.capacity {
            Pushed::Admitted
        } else {
            match self.policy {
                Overflow::Block => return Err(TryPushError::Full(item)),
                Overflow::DropNewest => {
                    self.metrics.refused += 1;
                    return Ok(Pushed::Refused(item));
                }
                Overflow::DropOldest => {
                    self.metrics.evicted += 1;
                    Pushed::Evicted(self.items.pop_front().expect("a full model is not empty"))
                }
            }
        };
        self.items.push_back(item);
        self.metrics.pushed += 1;
        self.metrics.high_water = self.metrics.high_water.max(self.items.len());
        Ok(outcome)
    }

    fn try_pop(&mut self) -> Result<u32, TryPopError> {
        match self.items.pop_front() {
            Some(item) => {
                self.metrics.popped += 1;
                Ok(item)
            }
            None if self.closed => Err(TryPopError::Closed),
            None => Err(TryPopError::Empty),
        }
    }
}

fn run<const N: usize>(policy: Overflow, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let queue: Queue<NoopRawMutex, u32, N> = Queue::new(policy);
    let mut model = Model::new(policy, N);
    let mut cx = Context::from_waker(Waker::noop());

    for op in ops {
        match op {
            Op::TryPush(item) => prop_assert_eq!(queue.try_push(item), model.try_push(item)),
            Op::Push(item) => {
                let mut push = queue.push(item);
                let got = Pin::new(&mut push).poll(&mut cx);
                match model.try_push(item) {
                    Ok(pushed) => prop_assert_eq!(got, Poll::Ready(Ok(pushed))),
                    Err(TryPushError::Closed(item)) => {
                        prop_assert_eq!(got, Poll::Ready(Err(Closed(item))))
                    }
                    Err(TryPushError::Full(item)) => {
                        prop_assert!(got.is_pending());
                        model.metrics.producer_waits += 1;
                        // Poll a second time: still one wait, not two.
                        prop_assert!(Pin::new(&mut push).poll(&mut cx).is_pending());
                        prop_assert_eq!(push.cancel(), Some(item));
                    }
                }
            }
            Op::TryPop => prop_assert_eq!(queue.try_pop(), model.try_pop()),
            Op::Pop => {
                let got = pin!(queue.pop()).poll(&mut cx);
                let expected = match model.try_pop() {
                    Ok(item) => Poll::Ready(Some(item)),
                    Err(TryPopError::Closed) => Poll::Ready(None),
                    Err(TryPopError::Empty) => Poll::Pending,
                };
                prop_assert_eq!(got, expected);
            }
            Op::PopMany => {
                let mut out: heapless::Vec<u32, 3> = heapless::Vec::new();
                let moved = queue.try_pop_many(&mut out);
                let expected: Vec<u32> = (0..3).map_while(|_| model.try_pop().ok()).collect();
                prop_assert_eq!(moved, expected.len());
                prop_assert_eq!(out.as_slice(), expected.as_slice());
            }
            Op::Close => {
                prop_assert_eq!(queue.close(), !model.closed);
                model.closed = true;
            }
        }

        prop_assert_eq!(queue.metrics(), model.metrics);
        prop_assert_eq!(queue.len(), model.items.len());
        prop_assert_eq!(queue.is_full(), model.items.len() == N);
        prop_assert_eq!(queue.is_closed(), model.closed);
        let m = queue.metrics();
        prop_assert_eq!(m.pushed, m.popped + m.evicted + queue.len() as u64);
    }

    // Drain: the queue holds exactly the model's items, in order.
    queue.close();
    let rest: Vec<u32> = std::iter::from_fn(|| queue.try_pop().ok()).collect();
    prop_assert_eq!(rest, Vec::from(model.items));
    Ok(())
}

/// 512 cases natively; under Miri a few, without the failure file Miri's isolation forbids.
fn config() -> ProptestConfig {
    if cfg!(miri) {
        ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() }
    } else {
        ProptestConfig { cases: 512, ..ProptestConfig::default() }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn queue_of_one_agrees_with_the_vecdeque_model(
        policy in policy(),
        ops in proptest::collection::vec(op(), 0..120),
    ) {
        run::<1>(policy, ops)?;
    }

    #[test]
    fn queue_of_four_agrees_with_the_vecdeque_model(
        policy in policy(),
        ops in proptest::collection::vec(op(), 0..200),
    ) {
        run::<4>(policy, ops)?;
    }
}
