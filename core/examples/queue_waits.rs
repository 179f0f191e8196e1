//! Counts how often each side of a two-thread queue run has to wait: 2 M `u64` items through a
//! `Queue<StdRawMutex, u64, 1024>` under `Block`, producer and consumer each on its own thread
//! under `futures_lite::future::block_on`, the shape of the two-thread benchmark. A push or pop
//! that returns `Pending` at least once counts as one wait: that is when `block_on` parks the
//! thread and the other side has to wake it through the OS. Three runs, one line each.
//!
//! ```sh
//! cargo run --release -p plover-core --example queue_waits
//! ```
use std::future::Future;
use std::pin::pin;
use std::time::Instant;

use futures_lite::future::{block_on, poll_fn};
use plover_core::Overflow;
use plover_core::queue::{Queue, StdRawMutex};

const ITEMS: u64 = 2_000_000;

/// Awaits `future`, adding one to `waits` if it returned `Pending` at least once.
async fn counted<F: Future>(future: F, waits: &mut u64) -> F::Output {
    let mut future = pin!(future);
    let mut waited = false;
    poll_fn(|cx| {
        let poll = future.as_mut().poll(cx);
        if poll.is_pending() && !waited {
            waited = true;
            *waits += 1;
        }
        poll
    })
    .await
}

fn main() {
    for _ in 0..3 {
        let queue: Queue<StdRawMutex, u64, 1024> = Queue::new(Overflow::Block);
        let queue = &queue;
        let start = Instant::now();
        let (producer_waits, (consumer_waits, sum)) = std::thread::scope(|scope| {
            let consumer = scope.spawn(move || {
                block_on(async {
                    let (mut waits, mut sum) = (0, 0);
                    while let Some(item) = counted(queue.pop(), &mut waits).await {
                        sum += item;
                    }
                    (waits, sum)
                })
            });
            let producer = scope.spawn(move || {
                block_on(async {
                    let mut waits = 0;
                    for item in 0..ITEMS {
                        let _ = counted(queue.push(item), &mut waits).await;
                    }
                    queue.close();
                    waits
                })
            });
            (producer.join().unwrap(), consumer.join().unwrap())
        });
        assert_eq!(sum, ITEMS * (ITEMS - 1) / 2, "every item arrives once");
        let per_item = start.elapsed() / u32::try_from(ITEMS).unwrap();
        println!(
            "{per_item:?} per item; the producer waited {producer_waits} times, the consumer \
             {consumer_waits} times (one wait per {} items)",
            ITEMS / consumer_waits.max(1)
        );
    }
}
