//! Queue throughput, side by side with the channels a user would pick instead (issue 3).
//!
//! Three shapes, 2 M items each, capacity 1024: producer and consumer on two OS threads; both
//! tasks on one single-threaded executor; and `DropOldest` and `DropNewest` under constant
//! overflow beside `Block`. `scripts/bench.sh` runs it and writes `docs/benchmarks.md`; the
//! profiles behind the figures are in `docs/benchmarks-queue.md`.

// `criterion_group!` generates a public function that cannot carry a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, NoopRawMutex};
use embassy_sync::channel::Channel;
use futures_lite::future::{block_on, zip};
use plover_core::Overflow;
use plover_core::queue::StdRawMutex;
use plover_core::queue::{Pushed, Queue};

const ITEMS: u64 = 2_000_000;
const CAPACITY: usize = 1024;

/// Times `iters` runs of `once`, each moving `ITEMS` items.
fn repeat(iters: u64, mut once: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        once();
    }
    start.elapsed()
}

/// Runs `produce` and `consume` on two scoped OS threads and checks the consumer's sum.
fn two_threads(produce: impl FnOnce() + Send, consume: impl FnOnce() -> u64 + Send) {
    let sum = thread::scope(|scope| {
        let consumer = scope.spawn(consume);
        scope.spawn(produce);
        consumer.join().unwrap()
    });
    assert_eq!(sum, ITEMS * (ITEMS - 1) / 2);
}

fn two_os_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("two_threads");
    group.throughput(Throughput::Elements(ITEMS)).sampling_mode(SamplingMode::Flat);

    group.bench_function("plover_queue", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let queue: Queue<CriticalSectionRawMutex, u64, CAPACITY> =
                    Queue::new(Overflow::Block);
                let queue = &queue;
                two_threads(
                    || {
                        block_on(async {
                            for i in 0..ITEMS {
                                let _ = queue.push(i).await;
                            }
                            queue.close();
                        })
                    },
                    || {
                        block_on(async {
                            let mut sum = 0;
                            while let Some(i) = queue.pop().await {
                                sum += i;
                            }
                            sum
                        })
                    },
                );
            })
        })
    });

    group.bench_function("plover_queue_std_mutex", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let queue: Queue<StdRawMutex, u64, CAPACITY> = Queue::new(Overflow::Block);
                let queue = &queue;
                two_threads(
                    || {
                        block_on(async {
                            for i in 0..ITEMS {
                                let _ = queue.push(i).await;
                            }
                            queue.close();
                        })
                    },
                    || {
                        block_on(async {
                            let mut sum = 0;
                            while let Some(i) = queue.pop().await {
                                sum += i;
                            }
                            sum
                        })
                    },
                );
            })
        })
    });

    group.bench_function("plover_queue_pop_many", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let queue: Queue<StdRawMutex, u64, CAPACITY> = Queue::new(Overflow::Block);
                let queue = &queue;
                two_threads(
                    || {
                        block_on(async {
                            for i in 0..ITEMS {
                                let _ = queue.push(i).await;
                            }
                            queue.close();
                        })
                    },
                    || {
                        block_on(async {
                            let mut sum = 0;
                            let mut batch: heapless::Vec<u64, 64> = heapless::Vec::new();
                            while queue.pop_many(&mut batch).await > 0 {
                                sum += batch.iter().sum::<u64>();
                                batch.clear();
                            }
                            sum
                        })
                    },
                );
            })
        })
    });

    group.bench_function("tokio_mpsc", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
                two_threads(
                    move || {
                        block_on(async {
                            for i in 0..ITEMS {
                                tx.send(i).await.unwrap();
                            }
                        })
                    },
                    move || {
                        block_on(async {
                            let mut sum = 0;
                            while let Some(i) = rx.recv().await {
                                sum += i;
                            }
                            sum
                        })
                    },
                );
            })
        })
    });

    group.bench_function("async_channel", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let (tx, rx) = async_channel::bounded::<u64>(CAPACITY);
                two_threads(
                    move || {
                        block_on(async {
                            for i in 0..ITEMS {
                                tx.send(i).await.unwrap();
                            }
                        })
                    },
                    move || {
                        block_on(async {
                            let mut sum = 0;
                            while let Ok(i) = rx.recv().await {
                                sum += i;
                            }
                            sum
                        })
                    },
                );
            })
        })
    });

    group.bench_function("embassy_sync_channel", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let channel: Channel<CriticalSectionRawMutex, u64, CAPACITY> = Channel::new();
                let channel = &channel;
                // embassy-sync's Channel has no close: the producer sends a sentinel instead.
                two_threads(
                    || {
                        block_on(async {
                            for i in 0..ITEMS {
                                channel.send(i).await;
                            }
                            channel.send(u64::MAX).await;
                        })
                    },
                    || {
                        block_on(async {
                            let mut sum = 0;
                            loop {
                                let i = channel.receive().await;
                                if i == u64::MAX {
                                    break sum;
                                }
                                sum += i;
                            }
                        })
                    },
                );
            })
        })
    });

    group.bench_function("crossbeam_channel", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let (tx, rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
                two_threads(
                    move || (0..ITEMS).for_each(|i| tx.send(i).unwrap()),
                    move || rx.iter().sum(),
                );
            })
        })
    });

    group.bench_function("std_sync_channel", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(CAPACITY);
                two_threads(
                    move || (0..ITEMS).for_each(|i| tx.send(i).unwrap()),
                    move || rx.iter().sum(),
                );
            })
        })
    });

    group.finish();
}

fn one_executor(c: &mut Criterion) {
    let mut group = c.benchmark_group("one_executor");
    group.throughput(Throughput::Elements(ITEMS)).sampling_mode(SamplingMode::Flat);

    group.bench_function("plover_queue_noop_mutex", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let queue: Queue<NoopRawMutex, u64, CAPACITY> = Queue::new(Overflow::Block);
                let produce = async {
                    for i in 0..ITEMS {
                        let _ = queue.push(i).await;
                    }
                    queue.close();
                };
                let consume = async {
                    let mut sum = 0;
                    while let Some(i) = queue.pop().await {
                        sum += i;
                    }
                    sum
                };
                let ((), sum) = block_on(zip(produce, consume));
                assert_eq!(sum, ITEMS * (ITEMS - 1) / 2);
            })
        })
    });

    group.bench_function("embassy_sync_channel_noop_mutex", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let channel: Channel<NoopRawMutex, u64, CAPACITY> = Channel::new();
                let produce = async {
                    for i in 0..ITEMS {
                        channel.send(i).await;
                    }
                };
                let consume = async {
                    let mut sum = 0;
                    for _ in 0..ITEMS {
                        sum += channel.receive().await;
                    }
                    sum
                };
                let ((), sum) = block_on(zip(produce, consume));
                assert_eq!(sum, ITEMS * (ITEMS - 1) / 2);
            })
        })
    });

    group.finish();
}

/// Per item: `Block` moves an item in and out of a half-full queue (push + pop); `DropOldest`
/// pushes into a full queue, so every push evicts (and hands back) one old item; `DropNewest`
/// pushes into a full queue, so every push is refused (and the item handed back).
fn overflow_policies(c: &mut Criterion) {
    let mut group = c.benchmark_group("overflow");
    group.throughput(Throughput::Elements(ITEMS)).sampling_mode(SamplingMode::Flat);

    group.bench_function("block_push_pop", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let queue: Queue<NoopRawMutex, u64, CAPACITY> = Queue::new(Overflow::Block);
                block_on(async {
                    for i in 0..CAPACITY as u64 / 2 {
                        let _ = queue.push(i).await;
                    }
                    for i in 0..ITEMS {
                        let _ = queue.push(black_box(i)).await;
                        black_box(queue.pop().await);
                    }
                })
            })
        })
    });

    group.bench_function("block_try_push_try_pop", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let queue: Queue<NoopRawMutex, u64, CAPACITY> = Queue::new(Overflow::Block);
                for i in 0..ITEMS {
                    let _ = queue.try_push(black_box(i));
                    black_box(queue.try_pop().ok());
                }
            })
        })
    });

    group.bench_function("embassy_try_send_try_receive", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let channel: Channel<NoopRawMutex, u64, CAPACITY> = Channel::new();
                for i in 0..ITEMS {
                    let _ = channel.try_send(black_box(i));
                    black_box(channel.try_receive().ok());
                }
            })
        })
    });

    group.bench_function("drop_oldest_full", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let queue: Queue<NoopRawMutex, u64, CAPACITY> = Queue::new(Overflow::DropOldest);
                block_on(async {
                    for i in 0..CAPACITY as u64 {
                        let _ = queue.push(i).await;
                    }
                    for i in 0..ITEMS {
                        if let Ok(Pushed::Evicted(old)) = queue.push(black_box(i)).await {
                            black_box(old);
                        }
                    }
                })
            })
        })
    });

    group.bench_function("drop_newest_full", |b| {
        b.iter_custom(|iters| {
            repeat(iters, || {
                let queue: Queue<NoopRawMutex, u64, CAPACITY> = Queue::new(Overflow::DropNewest);
                block_on(async {
                    for i in 0..CAPACITY as u64 {
                        let _ = queue.push(i).await;
                    }
                    for i in 0..ITEMS {
                        if let Ok(Pushed::Refused(item)) = queue.push(black_box(i)).await {
                            black_box(item);
                        }
                    }
                })
            })
        })
    });

    group.finish();
}

/// Long iterations (2 M items each): ten samples by default; `scripts/bench.sh` sets the warm-up
/// and measurement times on the command line, which take precedence.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = two_os_threads, one_executor, overflow_policies
}
criterion_main!(benches);
