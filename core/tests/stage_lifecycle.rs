//! Claims about `plover_core::stage`: idempotent start and stop, order with one worker, a
//! graceful stop that drains within its deadline and hands back the rest, publishing after stop,
//! several workers, and source → stage → sink wiring.
//!
//! Everything runs on `futures_lite::future::block_on`; timers are fakes that fire at once or
//! never, so no test depends on wall-clock time.

use std::cell::RefCell;
use std::collections::HashSet;
use std::future::{Future, pending, ready};
use std::time::Duration;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use futures_lite::future::{block_on, yield_now, zip};
use plover_core::Overflow;
use plover_core::queue::{Closed, Pushed, Queue};
use plover_core::stage::{
    Delivery, FnHandler, Left, Lifecycle, Received, Rejected, Sink, Source, Stage, StopReport,
    Timer, deliver, pump,
};

/// A drain deadline that passes as soon as a stop is seen.
struct Instant;

impl Timer for Instant {
    fn sleep(&self, _: Duration) -> impl Future<Output = ()> {
        ready(())
    }
}

/// A drain deadline that never passes.
struct Never;

impl Timer for Never {
    fn sleep(&self, _: Duration) -> impl Future<Output = ()> {
        pending()
    }
}

type Q<T, const N: usize> = Queue<NoopRawMutex, T, N>;
const DEADLINE: Duration = Duration::from_millis(50);

fn doubling() -> FnHandler<impl Fn(u32) -> std::future::Ready<u32>> {
    FnHandler(|x: u32| ready(x * 2))
}

#[test]
fn start_and_stop_are_idempotent_and_phases_only_move_forward() {
    let (input, output): (Q<u32, 4>, Q<u32, 4>) =
        (Queue::new(Overflow::Block), Queue::new(Overflow::Block));
    let stage = Stage::new(&input, doubling(), &output, DEADLINE);

    assert_eq!(stage.lifecycle(), Lifecycle::Idle);
    assert!(stage.start());
    assert!(!stage.start());
    assert_eq!(stage.lifecycle(), Lifecycle::Running);
    assert!(stage.stop());
    assert!(!stage.stop());
    assert!(!stage.start(), "a stopping stage does not start again");
    assert_eq!(stage.lifecycle(), Lifecycle::Draining);

    let report = block_on(stage.run(&Never, |_| panic!("nothing to hand back")));
    assert_eq!(report, StopReport::default());
    assert_eq!(stage.lifecycle(), Lifecycle::Stopped);
    assert!(output.is_closed(), "the last worker closes the output for the next stage");
}

#[test]
fn one_worker_delivers_every_item_once_in_order() {
    let (input, output): (Q<u32, 8>, Q<u32, 64>) =
        (Queue::new(Overflow::Block), Queue::new(Overflow::Block));
    let stage = Stage::new(&input, doubling(), &output, DEADLINE);

    let producer = async {
        stage.start();
        for item in 0..50 {
            assert_eq!(stage.publish(item).await, Ok(Pushed::Admitted));
        }
        stage.stop();
    };
    let ((), report) = block_on(zip(producer, stage.run(&Never, |_| panic!("nothing left"))));

    let delivered: Vec<u32> = std::iter::from_fn(|| output.try_pop().ok()).collect();
    assert_eq!(delivered, (0..50).map(|x| x * 2).collect::<Vec<_>>());
    assert_eq!(report.handled, 50);
    assert!(!report.deadline_passed);
}

#[test]
fn items_published_before_start_wait_for_start() {
    let (input, output): (Q<u32, 8>, Q<u32, 8>) =
        (Queue::new(Overflow::Block), Queue::new(Overflow::Block));
    let stage = Stage::new(&input, doubling(), &output, DEADLINE);
    assert_eq!(stage.publish(1).cancel(), Some(1), "a push future can be given up");
    assert_eq!(input.try_push(1), Ok(Pushed::Admitted));

    let controller = async {
        for _ in 0..10 {
            yield_now().await;
        }
        assert_eq!(output.len(), 0, "nothing is handled before start");
        stage.start();
        stage.stop();
    };
    let ((), report) = block_on(zip(controller, stage.run(&Never, |_| panic!("nothing left"))));
    assert_eq!(report.handled, 1);
    assert_eq!(output.try_pop(), Ok(2));
}

#[test]
fn publishing_after_stop_is_an_error_that_hands_the_item_back() {
    let (input, output): (Q<u32, 4>, Q<u32, 4>) =
        (Queue::new(Overflow::Block), Queue::new(Overflow::Block));
    let stage = Stage::new(&input, doubling(), &output, DEADLINE);
    stage.start();
    stage.stop();
    assert_eq!(block_on(stage.publish(9)), Err(Closed(9)));
}

#[test]
fn graceful_stop_drains_everything_buffered_when_the_deadline_allows() {
    let (input, output): (Q<u32, 16>, Q<u32, 16>) =
        (Queue::new(Overflow::Block), Queue::new(Overflow::Block));
    let stage = Stage::new(&input, doubling(), &output, DEADLINE);
    for item in 0..10 {
        assert_eq!(input.try_push(item), Ok(Pushed::Admitted));
    }
    stage.start();
    stage.stop();

    let report = block_on(stage.run(&Never, |_| panic!("nothing left")));
    assert_eq!(report.handled, 10);
    assert_eq!(output.len(), 10);
}

#[test]
fn at_the_deadline_the_item_in_flight_is_cancelled_and_the_rest_handed_back() {
    let (input, output): (Q<u32, 16>, Q<u32, 16>) =
        (Queue::new(Overflow::Block), Queue::new(Overflow::Block));
    // Item 3 never finishes: the stop's deadline must cut it off.
    let handler = FnHandler(|x: u32| async move {
        if x == 3 {
            pending::<()>().await;
        }
        x
    });
    let stage = Stage::new(&input, handler, &output, DEADLINE);
    for item in 0..10 {
        assert_eq!(input.try_push(item), Ok(Pushed::Admitted));
    }

    let left = RefCell::new(Vec::new());
    let controller = async {
        stage.start();
        while output.len() < 3 {
            yield_now().await;
        }
        stage.stop();
    };
    let ((), report) =
        block_on(zip(controller, stage.run(&Instant, |item| left.borrow_mut().push(item))));

    assert_eq!((report.handled, report.cancelled, report.unhandled), (3, 1, 6));
    assert!(report.deadline_passed);
    let expected: Vec<Left<u32, u32>> = (4..10).map(Left::Unhandled).collect();
    assert_eq!(left.into_inner(), expected);
    assert_eq!(stage.lifecycle(), Lifecycle::Stopped);
    assert!(input.is_empty());
}

#[test]
fn a_push_waiting_on_a_full_output_at_the_deadline_is_handed_back_undelivered() {
    let (input, output): (Q<u32, 8>, Q<u32, 1>) =
        (Queue::new(Overflow::Block), Queue::new(Overflow::Block));
    let stage = Stage::new(&input, doubling(), &output, DEADLINE);
    for item in 0..4 {
        assert_eq!(input.try_push(item), Ok(Pushed::Admitted));
    }

    let left = RefCell::new(Vec::new());
    let controller = async {
        stage.start();
        while !output.is_full() {
            yield_now().await;
        }
        yield_now().await;
        stage.stop();
    };
    let ((), report) =
        block_on(zip(controller, stage.run(&Instant, |item| left.borrow_mut().push(item))));

    assert_eq!(report.handled, 1);
    assert_eq!(report.undelivered, 1);
    assert_eq!(report.unhandled, 2);
    assert_eq!(
        left.into_inner(),
        vec![Left::Undelivered(2), Left::Unhandled(2), Left::Unhandled(3)]
    );
    assert_eq!(output.try_pop(), Ok(0));
}

#[test]
fn an_overflowing_output_hands_back_what_its_policy_dropped() {
    let (input, output): (Q<u32, 8>, Q<u32, 2>) =
        (Queue::new(Overflow::Block), Queue::new(Overflow::DropOldest));
    let stage = Stage::new(&input, doubling(), &output, DEADLINE);
    for item in 0..5 {
        assert_eq!(input.try_push(item), Ok(Pushed::Admitted));
    }
    stage.start();
    stage.stop();

    let left = RefCell::new(Vec::new());
    let report = block_on(stage.run(&Never, |item| left.borrow_mut().push(item)));
    assert_eq!((report.handled, report.overflowed), (5, 3));
    assert_eq!(
        left.into_inner(),
        vec![Left::Overflowed(0), Left::Overflowed(2), Left::Overflowed(4)]
    );
    assert_eq!((output.try_pop(), output.try_pop()), (Ok(6), Ok(8)));
}

#[test]
fn several_workers_handle_every_item_exactly_once() {
    let (input, output): (Q<u32, 8>, Q<u32, 256>) =
        (Queue::new(Overflow::Block), Queue::new(Overflow::Block));
    let handler = FnHandler(|x: u32| async move {
        if x.is_multiple_of(3) {
            yield_now().await; // uneven handling times let workers overtake each other
        }
        x
    });
    let stage = Stage::new(&input, handler, &output, DEADLINE);

    let producer = async {
        stage.start();
        for item in 0..200 {
            assert_eq!(stage.publish(item).await, Ok(Pushed::Admitted));
        }
        stage.stop();
    };
    let workers = zip(
        stage.run(&Never, |_| panic!("nothing left")),
        zip(stage.run(&Never, |_| panic!("nothing left")), stage.run(&Never, |_| panic!())),
    );
    let ((), (a, (b, c))) = block_on(zip(producer, workers));

    assert_eq!(a.handled + b.handled + c.handled, 200);
    let delivered: HashSet<u32> = std::iter::from_fn(|| output.try_pop().ok()).collect();
    assert_eq!(delivered, (0..200).collect());
    assert_eq!(stage.lifecycle(), Lifecycle::Stopped);
}

/// A source over a list; remembers what was acknowledged.
struct ListSource {
    items: std::vec::IntoIter<u32>,
    next_receipt: u64,
    acknowledged: Vec<u64>,
}

impl Source for ListSource {
    type Item = u32;
    type Receipt = u64;
    type Error = ();

    async fn receive(&mut self) -> Received<u32, u64, ()> {
        let item = self.items.next();
        Ok(item.map(|item| {
            self.next_receipt += 1;
            Delivery { item, receipt: self.next_receipt }
        }))
    }

    async fn acknowledge(&mut self, receipt: u64) -> Result<(), ()> {
        self.acknowledged.push(receipt);
        Ok(())
    }
}

/// A sink that records what it received and how often it was flushed; refuses 13.
#[derive(Default)]
struct ListSink {
    received: Vec<u32>,
    handled: usize,
    flushes: usize,
}

impl Sink<u32> for ListSink {
    type Error = &'static str;

    async fn send(&mut self, item: u32) -> Result<(), Rejected<u32, &'static str>> {
        if item == 13 {
            return Err(Rejected { item, error: "unlucky" });
        }
        self.received.push(item);
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), &'static str> {
        self.handled = self.received.len();
        self.flushes += 1;
        Ok(())
    }
}

#[test]
fn source_to_stage_to_sink_delivers_in_order_and_acknowledges_every_item() {
    let (q0, q1): (Q<u32, 4>, Q<u32, 4>) =
        (Queue::new(Overflow::Block), Queue::new(Overflow::Block));
    let stage = Stage::new(&q0, FnHandler(|x: u32| ready(x + 100)), &q1, DEADLINE);
    let mut source = ListSource {
        items: (0..30).collect::<Vec<_>>().into_iter(),
        next_receipt: 0,
        acknowledged: Vec::new(),
    };
    let mut sink = ListSink::default();
    stage.start();

    let feeding = pump(&mut source, &q0, |_| panic!("nothing is returned under Block"));
    let draining = deliver::<_, _, _, 4, 8>(&q1, &mut sink, |_| panic!("nothing rejected"));
    let (pumped, (report, delivered)) =
        block_on(zip(feeding, zip(stage.run(&Never, |_| panic!()), draining)));

    assert_eq!(pumped.unwrap().admitted, 30);
    assert_eq!(report.handled, 30);
    assert_eq!(delivered.unwrap().sent, 30);
    assert_eq!(sink.received, (100..130).collect::<Vec<_>>());
    assert_eq!(sink.handled, 30, "the last flush covered everything");
    assert!(sink.flushes >= 4, "batches of at most 8 were flushed one by one");
    assert_eq!(source.acknowledged, (1..=30).collect::<Vec<_>>());
    assert_eq!(
        stage.lifecycle(),
        Lifecycle::Stopped,
        "the source's end cascaded through the stage"
    );
}

#[test]
fn a_sink_rejection_hands_back_the_item_and_the_rest_of_its_batch() {
    let queue: Q<u32, 16> = Queue::new(Overflow::Block);
    for item in 10..16 {
        assert_eq!(queue.try_push(item), Ok(Pushed::Admitted));
    }
    queue.close();
    let mut sink = ListSink::default();
    let mut rejected = Vec::new();
    let result = block_on(deliver::<_, _, _, 16, 8>(&queue, &mut sink, |item| rejected.push(item)));
    assert_eq!(result.unwrap_err(), "unlucky");
    assert_eq!(sink.received, vec![10, 11, 12]);
    assert_eq!(rejected, vec![13, 14, 15]);
}

#[test]
fn a_pump_into_a_stopped_stage_hands_the_item_back_unacknowledged() {
    let (q0, q1): (Q<u32, 4>, Q<u32, 4>) =
        (Queue::new(Overflow::Block), Queue::new(Overflow::Block));
    let stage = Stage::new(&q0, doubling(), &q1, DEADLINE);
    stage.stop();
    let mut source =
        ListSource { items: vec![7, 8].into_iter(), next_receipt: 0, acknowledged: Vec::new() };
    let mut returned = Vec::new();
    let report = block_on(pump(&mut source, &q0, |item| returned.push(item))).unwrap();
    assert!(report.queue_closed);
    assert_eq!(returned, vec![7]);
    assert!(source.acknowledged.is_empty());
}

#[test]
fn a_pipeline_is_a_stage_handler() {
    use plover_core::stage::Handler;
    use plover_core::{Call, Phase, Pipeline};

    let pipeline = Pipeline::<u32>::new()
        .intercept_fn(Phase::PROCESS, async |call: &Call<u32>| {
            call.with_subject_mut(|n| *n += 1);
            Ok(())
        })
        .unwrap();
    assert_eq!(futures_lite::future::block_on(pipeline.handle(41)), Ok(42));
}

/// Counts how often it was woken.
struct CountingWaker(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn more_lifecycle_waiters_than_slots_all_see_the_start_when_polled_only_after_a_wake() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Waker};

    const WAITERS: usize = 20;
    let (input, output): (Q<u32, 4>, Q<u32, 4>) =
        (Queue::new(Overflow::Block), Queue::new(Overflow::Block));
    let stage = Stage::new(&input, doubling(), &output, DEADLINE);
    let counters: Vec<_> =
        (0..WAITERS).map(|_| Arc::new(CountingWaker(AtomicUsize::new(0)))).collect();
    let wakers: Vec<Waker> = counters.iter().map(|c| Waker::from(c.clone())).collect();
    let mut waits: Vec<_> =
        (0..WAITERS).map(|_| Some(Box::pin(stage.control().reached(Lifecycle::Running)))).collect();
    for (wait, waker) in waits.iter_mut().zip(&wakers) {
        let polled = wait.as_mut().map(|w| w.as_mut().poll(&mut Context::from_waker(waker)));
        assert_eq!(polled, Some(Poll::Pending));
    }

    assert!(stage.start());
    // Like an executor: a waiter is polled again only after its waker was woken.
    let mut acted_on = [0; WAITERS];
    while waits.iter().any(Option::is_some) {
        let mut progressed = false;
        for (i, wait) in waits.iter_mut().enumerate() {
            let wakes = counters[i].0.load(Ordering::SeqCst);
            let Some(future) = wait.as_mut().filter(|_| wakes != acted_on[i]) else { continue };
            acted_on[i] = wakes;
            progressed = true;
            if future.as_mut().poll(&mut Context::from_waker(&wakers[i])).is_ready() {
                *wait = None;
            }
        }
        assert!(progressed, "waiters still wait but none was woken: a lost wake-up");
    }
}
