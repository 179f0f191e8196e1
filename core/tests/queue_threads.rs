//! `Queue` under real parallelism: several producer and consumer OS threads, each driving its
//! futures with `futures_lite::future::block_on`.
//!
//! Claims: no item is lost or duplicated, each producer's items keep their order, and the
//! counters add up to what the threads saw.

use std::collections::HashSet;
use std::sync::Mutex;
use std::thread;

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use futures_lite::future::block_on;
use plover_core::Overflow;
use plover_core::queue::{Pushed, Queue, QueueMutex, StdRawMutex};

const PRODUCERS: u64 = 4;
const CONSUMERS: usize = 4;
// Miri runs the same claims on a smaller load.
const PER_PRODUCER: u64 = if cfg!(miri) { 100 } else { 20_000 };

type Shared<const N: usize> = Queue<CriticalSectionRawMutex, u64, N>;

/// Item = producer id in the high half, sequence number in the low half.
fn item(producer: u64, seq: u64) -> u64 {
    (producer << 32) | seq
}

/// Checks that each producer's items arrive in increasing order within one consumer's view.
fn assert_per_producer_order(seen: &[u64]) {
    let mut last = vec![None; PRODUCERS as usize];
    for &value in seen {
        let producer = (value >> 32) as usize;
        let seq = value & 0xffff_ffff;
        assert!(last[producer].is_none_or(|prev| prev < seq), "producer {producer} reordered");
        last[producer] = Some(seq);
    }
}

/// Runs producers and consumers; half the consumers use `pop_many`. Returns what the consumers
/// received and what the producers were handed back.
fn run<M: QueueMutex + Sync, const N: usize>(
    queue: &Queue<M, u64, N>,
) -> (Vec<Vec<u64>>, Vec<u64>) {
    let returned = Mutex::new(Vec::new());
    let received = thread::scope(|scope| {
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|index| {
                scope.spawn(move || {
                    let mut seen = Vec::new();
                    if index % 2 == 0 {
                        while let Some(value) = block_on(queue.pop()) {
                            seen.push(value);
                        }
                    } else {
                        let mut batch: heapless::Vec<u64, 7> = heapless::Vec::new();
                        while block_on(queue.pop_many(&mut batch)) > 0 {
                            seen.extend(batch.drain(..));
                        }
                    }
                    seen
                })
            })
            .collect();

        let producers: Vec<_> = (0..PRODUCERS)
            .map(|producer| {
                let returned = &returned;
                scope.spawn(move || {
                    for seq in 0..PER_PRODUCER {
                        match block_on(queue.push(item(producer, seq))) {
                            Ok(Pushed::Admitted) => {}
                            Ok(Pushed::Evicted(old) | Pushed::Refused(old)) => {
                                returned.lock().unwrap().push(old)
                            }
                            Err(closed) => panic!("closed too early: {closed:?}"),
                        }
                    }
                })
            })
            .collect();

        for producer in producers {
            producer.join().unwrap();
        }
        queue.close();
        consumers.into_iter().map(|consumer| consumer.join().unwrap()).collect()
    });
    (received, returned.into_inner().unwrap())
}

fn assert_every_item_exactly_once(received: &[Vec<u64>], returned: &[u64]) {
    let mut all = HashSet::new();
    for value in received.iter().flatten().chain(returned) {
        assert!(all.insert(*value), "item {value:#x} seen twice");
    }
    assert_eq!(all.len() as u64, PRODUCERS * PER_PRODUCER, "an item was lost");
}

#[test]
fn block_with_many_threads_loses_and_duplicates_nothing_and_keeps_producer_order() {
    static QUEUE: Shared<16> = Queue::new(Overflow::Block);
    let (received, returned) = run(&QUEUE);

    assert!(returned.is_empty());
    assert_every_item_exactly_once(&received, &returned);
    received.iter().for_each(|seen| assert_per_producer_order(seen));

    let metrics = QUEUE.metrics();
    assert_eq!(metrics.pushed, PRODUCERS * PER_PRODUCER);
    assert_eq!(metrics.popped, PRODUCERS * PER_PRODUCER);
    assert_eq!((metrics.evicted, metrics.refused), (0, 0));
    assert!(metrics.high_water <= 16);
}

#[test]
fn drop_oldest_with_many_threads_hands_back_exactly_what_consumers_missed() {
    static QUEUE: Shared<8> = Queue::new(Overflow::DropOldest);
    let (received, evicted) = run(&QUEUE);

    assert_every_item_exactly_once(&received, &evicted);
    received.iter().for_each(|seen| assert_per_producer_order(seen));
    let metrics = QUEUE.metrics();
    assert_eq!(metrics.evicted, evicted.len() as u64);
    assert_eq!(metrics.popped, received.iter().map(Vec::len).sum::<usize>() as u64);
    assert_eq!(metrics.pushed, metrics.popped + metrics.evicted);
    assert_eq!(metrics.producer_waits, 0);
}

#[test]
fn drop_newest_with_many_threads_hands_back_exactly_what_was_refused() {
    static QUEUE: Shared<8> = Queue::new(Overflow::DropNewest);
    let (received, refused) = run(&QUEUE);

    assert_every_item_exactly_once(&received, &refused);
    received.iter().for_each(|seen| assert_per_producer_order(seen));
    let metrics = QUEUE.metrics();
    assert_eq!(metrics.refused, refused.len() as u64);
    assert_eq!(metrics.pushed, metrics.popped);
    assert_eq!(metrics.pushed + metrics.refused, PRODUCERS * PER_PRODUCER);
}

#[test]
fn a_queue_with_its_own_os_mutex_loses_and_duplicates_nothing() {
    static QUEUE: Queue<StdRawMutex, u64, 16> = Queue::new(Overflow::Block);
    let (received, returned) = run(&QUEUE);

    assert!(returned.is_empty());
    assert_every_item_exactly_once(&received, &returned);
    received.iter().for_each(|seen| assert_per_producer_order(seen));
    assert_eq!(QUEUE.metrics().popped, PRODUCERS * PER_PRODUCER);
}
