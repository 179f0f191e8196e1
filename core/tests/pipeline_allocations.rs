//! Proves that executing an event allocates nothing: a counting global allocator watches a
//! realistic five-phase pipeline run a thousand events.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use plover_core::event::{Event, Value};
use plover_core::interceptors::{enrich, monitoring, on_failure, process, validate};
use plover_core::time::Clock;
use plover_core::{Call, Failure, Phase, Pipeline};

/// Counts the allocations made by the thread that runs the test; other threads (the test
/// harness's) are not counted.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards every call unchanged to the system allocator, which upholds the contract.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

type Reading = Event<i64, 4>;

/// Runs events 0..1000 through `execute` after one warm-up event, and returns how many
/// allocations the thread made meanwhile and how many events ended failed.
fn run_counted<F>(execute: impl Fn(Reading) -> F) -> (usize, usize)
where
    F: Future<Output = Result<Reading, plover_core::Unhandled<Reading>>>,
{
    futures_lite::future::block_on(async {
        let _ = execute(Event::new(1)).await;
        let before = allocations();
        let mut failed = 0;
        for n in 0..1000 {
            let event = execute(Event::new(n)).await.unwrap();
            failed += usize::from(plover_core::event::Subject::is_failed(&event));
        }
        (allocations() - before, failed)
    })
}

#[test]
fn executing_an_event_allocates_nothing() {
    // The counter itself works: a box is counted.
    let seen = allocations();
    drop(std::hint::black_box(Box::new(7_u64)));
    assert!(allocations() > seen);

    let pipeline = Pipeline::<Reading>::new()
        .intercept(Phase::ACQUIRE, on_failure(|_: &Reading, _: &Failure| {}))
        .unwrap()
        .intercept(Phase::MONITORING, monitoring(FixedClock, |_: &Reading, _| {}))
        .unwrap()
        .intercept(
            Phase::FEATURES,
            validate(|event: &Reading| {
                if *event.input() % 3 == 0 {
                    Err(Failure::validation("multiple of 3"))
                } else {
                    Ok(())
                }
            }),
        )
        .unwrap()
        .intercept(
            Phase::FEATURES,
            enrich(|event: &mut Reading| {
                let text = Value::text("enriched").map_err(|_| Failure::internal("text"))?;
                event
                    .attributes_mut()
                    .insert("note", text)
                    .map_err(|_| Failure::internal("full"))?;
                Ok(())
            }),
        )
        .unwrap()
        .intercept(
            Phase::PROCESS,
            process(async |event: &mut Reading| {
                futures_lite::future::yield_now().await;
                if *event.input() % 5 == 0 {
                    Err(Failure::processing("multiple of 5"))
                } else {
                    Ok(())
                }
            }),
        )
        .unwrap()
        .intercept_fn(Phase::FALLBACK, async |call: &Call<Reading>| {
            call.proceed().await?;
            Ok(())
        })
        .unwrap();

    let (allocations, failed) = run_counted(|event| pipeline.execute(event));
    // The pipeline really did work: validation and processing failures were marked.
    assert_eq!(failed, (0..1000).filter(|n| n % 3 == 0 || n % 5 == 0).count());
    assert_eq!(allocations, 0, "executions allocated {allocations} times");
}

#[test]
fn executing_out_of_registration_order_allocates_nothing() {
    // Registering Fallback first puts execution order out of registration order, so the level
    // driver (dispatch by index) runs these events.
    let pipeline = Pipeline::<Reading>::new()
        .intercept_fn(Phase::FALLBACK, async |call: &Call<Reading>| {
            call.proceed().await?;
            Ok(())
        })
        .unwrap()
        .intercept(Phase::MONITORING, monitoring(FixedClock, |_: &Reading, _| {}))
        .unwrap()
        .intercept(
            Phase::PROCESS,
            process(async |event: &mut Reading| {
                futures_lite::future::yield_now().await;
                if *event.input() % 5 == 0 {
                    Err(Failure::processing("multiple of 5"))
                } else {
                    Ok(())
                }
            }),
        )
        .unwrap();

    let (allocations, failed) = run_counted(|event| pipeline.execute(event));
    assert_eq!(failed, 200);
    assert_eq!(allocations, 0, "executions allocated {allocations} times");
}
