//! The original Go program's demo, as tests: 20 messages through a queue of capacity 5 with a
//! slow consumer, once per overflow policy.
//!
//! Pace is checked by counting (how many items the queue had handed out when each push
//! completed), never by wall-clock assertions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use futures_lite::future::block_on;
use plover_core::Overflow;
use plover_core::queue::{Pushed, Queue};

const MESSAGES: u32 = 20;
const CAPACITY: usize = 5;
const SLOW: Duration = Duration::from_millis(3);

type DemoQueue = Queue<CriticalSectionRawMutex, u32, CAPACITY>;

/// A slow consumer: takes items until the queue ends, pausing before each take.
fn slow_consumer(queue: &DemoQueue, taken: &AtomicU64) -> Vec<u32> {
    let mut seen = Vec::new();
    loop {
        thread::sleep(SLOW);
        let Some(item) = block_on(queue.pop()) else { break };
        taken.fetch_add(1, Ordering::SeqCst);
        seen.push(item);
    }
    seen
}

#[test]
fn block_delivers_every_message_once_in_order_at_the_consumers_pace() {
    let queue = DemoQueue::new(Overflow::Block);
    let taken = AtomicU64::new(0);

    let (seen, taken_when_pushed) = thread::scope(|scope| {
        let consumer = scope.spawn(|| slow_consumer(&queue, &taken));
        let mut taken_when_pushed = Vec::new();
        for message in 0..MESSAGES {
            assert_eq!(block_on(queue.push(message)), Ok(Pushed::Admitted));
            taken_when_pushed.push(queue.metrics().popped);
        }
        queue.close();
        (consumer.join().unwrap(), taken_when_pushed)
    });

    assert_eq!(seen, (0..MESSAGES).collect::<Vec<_>>());
    // Message `i` fits only once at most CAPACITY - 1 earlier ones are still buffered, so the
    // consumer must have taken at least i + 1 - CAPACITY: the producer runs at its pace.
    for (i, &taken) in taken_when_pushed.iter().enumerate() {
        assert!(taken + CAPACITY as u64 > i as u64, "push {i} ran ahead: {taken} taken");
    }
    let metrics = queue.metrics();
    assert!(metrics.producer_waits >= 1, "the producer never had to wait");
    assert_eq!((metrics.pushed, metrics.popped, metrics.high_water), (20, 20, CAPACITY));
}

#[test]
fn drop_oldest_leaves_the_consumer_with_the_newest_messages() {
    let queue = DemoQueue::new(Overflow::DropOldest);
    let taken = AtomicU64::new(0);

    let (seen, evicted) = thread::scope(|scope| {
        let consumer = scope.spawn(|| slow_consumer(&queue, &taken));
        let mut evicted = Vec::new();
        for message in 0..MESSAGES {
            match block_on(queue.push(message)) {
                Ok(Pushed::Admitted) => {}
                Ok(Pushed::Evicted(old)) => evicted.push(old),
                other => panic!("DropOldest produced {other:?}"),
            }
        }
        queue.close();
        (consumer.join().unwrap(), evicted)
    });

    // The producer never waits, so the consumer sees an increasing selection that ends with
    // the newest messages; everything else came back as evicted.
    assert!(seen.windows(2).all(|pair| pair[0] < pair[1]));
    let newest: Vec<u32> = (MESSAGES - CAPACITY as u32..MESSAGES).collect();
    assert!(seen.ends_with(&newest), "the consumer ended with {seen:?}");
    let mut all: Vec<u32> = seen.iter().chain(&evicted).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..MESSAGES).collect::<Vec<_>>());
    assert_eq!(queue.metrics().evicted, evicted.len() as u64);
    assert_eq!(queue.metrics().producer_waits, 0);
}

#[test]
fn drop_newest_hands_the_refused_messages_back_to_the_producer() {
    let queue = DemoQueue::new(Overflow::DropNewest);
    let taken = AtomicU64::new(0);

    let (seen, refused) = thread::scope(|scope| {
        let consumer = scope.spawn(|| slow_consumer(&queue, &taken));
        let mut refused = Vec::new();
        for message in 0..MESSAGES {
            match block_on(queue.push(message)) {
                Ok(Pushed::Admitted) => {}
                Ok(Pushed::Refused(new)) => refused.push(new),
                other => panic!("DropNewest produced {other:?}"),
            }
        }
        queue.close();
        (consumer.join().unwrap(), refused)
    });

    // The oldest messages get in; the refused ones are exactly the rest, handed back in order.
    assert_eq!(&seen[..CAPACITY], &[0, 1, 2, 3, 4]);
    assert!(!refused.is_empty());
    assert!(refused.windows(2).all(|pair| pair[0] < pair[1]));
    let mut all: Vec<u32> = seen.iter().chain(&refused).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..MESSAGES).collect::<Vec<_>>());
    assert_eq!(queue.metrics().refused, refused.len() as u64);
}

#[test]
fn with_the_consumer_starting_late_drop_oldest_keeps_exactly_the_last_five() {
    let queue = DemoQueue::new(Overflow::DropOldest);
    let evicted: Vec<u32> = (0..MESSAGES)
        .filter_map(|m| queue.try_push(m).ok().and_then(Pushed::into_returned))
        .collect();
    queue.close();
    let seen: Vec<u32> = std::iter::from_fn(|| block_on(queue.pop())).collect();
    assert_eq!(seen, vec![15, 16, 17, 18, 19]);
    assert_eq!(evicted, (0..15).collect::<Vec<_>>());
}

#[test]
fn with_the_consumer_starting_late_drop_newest_refuses_exactly_the_last_fifteen() {
    let queue = DemoQueue::new(Overflow::DropNewest);
    let refused: Vec<u32> = (0..MESSAGES)
        .filter_map(|m| queue.try_push(m).ok().and_then(Pushed::into_returned))
        .collect();
    queue.close();
    let seen: Vec<u32> = std::iter::from_fn(|| block_on(queue.pop())).collect();
    assert_eq!(seen, vec![0, 1, 2, 3, 4]);
    assert_eq!(refused, (5..20).collect::<Vec<_>>());
}
