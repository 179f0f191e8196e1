//! Pipeline overhead: pipelines of one and five no-op interceptors beside hand-written chains of
//! the same async calls (the difference gives the cost per interceptor), five interceptors
//! that wrap the rest with `proceed` beside a hand-written recursion of boxed async calls, and
//! the ready-made interceptors doing small real work on an `Event` beside the same work written
//! as one async function.
//!
//! `scripts/bench.sh` runs it and writes `docs/benchmarks.md`; the profile behind the figures is
//! in `docs/benchmarks-pipeline.md`.
#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_lite::future::block_on;
use std::cell::Cell;
use std::time::{Duration, Instant};

use plover_core::event::{Event, Subject, Value};
use plover_core::interceptors::{enrich, monitoring, on_failure, process, validate};
use plover_core::pipeline::Chain;
use plover_core::time::Clock;
use plover_core::{Call, Failure, Interceptor, Phase, Pipeline};

const EVENTS: u64 = 1_000;

/// Touches the call so that the optimiser cannot drop it, and continues.
struct Noop;

impl Interceptor<u64> for Noop {
    async fn intercept(&self, call: &Call<u64>) -> Result<(), Failure> {
        black_box(call);
        Ok(())
    }
}

/// Wraps everything downstream, Ktor style.
struct Wrap;

impl Interceptor<u64> for Wrap {
    async fn intercept(&self, call: &Call<u64>) -> Result<(), Failure> {
        black_box(&call);
        call.proceed().await
    }
}

async fn noop(subject: &mut u64) -> Result<(), Failure> {
    black_box(subject);
    Ok(())
}

/// The hand-written equivalent of one no-op interceptor.
async fn hand_single(mut subject: u64) -> Result<u64, Failure> {
    noop(&mut subject).await?;
    Ok(subject)
}

/// The hand-written equivalent of five sequential no-op interceptors.
async fn hand_sequential(mut subject: u64) -> Result<u64, Failure> {
    noop(&mut subject).await?;
    noop(&mut subject).await?;
    noop(&mut subject).await?;
    noop(&mut subject).await?;
    noop(&mut subject).await?;
    Ok(subject)
}

/// The hand-written equivalent of five nested wrapping interceptors.
async fn hand_nested(mut subject: u64) -> Result<u64, Failure> {
    async fn level(subject: &mut u64, depth: u32) -> Result<(), Failure> {
        black_box(&subject);
        if depth == 0 { Ok(()) } else { Box::pin(level(subject, depth - 1)).await }
    }
    level(&mut subject, 5).await?;
    Ok(subject)
}

/// A pipeline with one interceptor made by `make` in each of the five default phases.
fn one_per_phase<I: Interceptor<u64>>(make: impl Fn() -> I) -> Pipeline<u64, impl Chain<u64>> {
    Pipeline::<u64>::new()
        .intercept(Phase::ACQUIRE, make())
        .and_then(|p| p.intercept(Phase::MONITORING, make()))
        .and_then(|p| p.intercept(Phase::FEATURES, make()))
        .and_then(|p| p.intercept(Phase::PROCESS, make()))
        .and_then(|p| p.intercept(Phase::FALLBACK, make()))
        .expect("the default phases are registered")
}

/// The host's monotonic clock, as monitoring reads it in a native program.
struct Monotonic(Instant);

impl Clock for Monotonic {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// What each helper does, shared by the pipeline and the hand-written function so that both do
/// the same work: a range check, a text attribute, a computed attribute, and counters for the
/// monitoring report and the failure hook.
mod work {
    use super::*;

    pub(crate) fn check(event: &Event<u32>) -> Result<(), Failure> {
        if *event.input() < 1_000 { Ok(()) } else { Err(Failure::validation("out of range")) }
    }

    pub(crate) fn label(event: &mut Event<u32>) -> Result<(), Failure> {
        let unit = Value::text("celsius").map_err(|_| Failure::internal("label too long"))?;
        event.attributes_mut().insert("unit", unit).map_err(|_| Failure::internal("full"))?;
        Ok(())
    }

    pub(crate) async fn scale(event: &mut Event<u32>) -> Result<(), Failure> {
        let scaled = Value::F64(f64::from(*event.input()) * 0.5 - 40.0);
        event.attributes_mut().insert("scaled", scaled).map_err(|_| Failure::internal("full"))?;
        Ok(())
    }

    pub(crate) fn report(event: &Event<u32>, took: Duration, total: &Cell<Duration>) {
        black_box(event);
        total.set(total.get() + took);
    }
}

/// Monitoring, validate, enrich, process and on_failure, one per phase (Acquire holds
/// on_failure, outside monitoring, as its documentation advises).
fn helpers<'a>(
    clock: &'a Monotonic,
    total: &'a Cell<Duration>,
    failed: &'a Cell<u64>,
) -> Pipeline<Event<u32>, impl Chain<Event<u32>> + 'a> {
    Pipeline::<Event<u32>>::new()
        .intercept(
            Phase::ACQUIRE,
            on_failure(|_: &Event<u32>, _: &Failure| failed.set(failed.get() + 1)),
        )
        .and_then(|p| {
            p.intercept(
                Phase::MONITORING,
                monitoring(clock, |e: &Event<u32>, took| work::report(e, took, total)),
            )
        })
        .and_then(|p| p.intercept(Phase::FEATURES, validate(work::check)))
        .and_then(|p| p.intercept(Phase::FEATURES, enrich(work::label)))
        .and_then(|p| {
            p.intercept(Phase::PROCESS, process(async |e: &mut Event<u32>| work::scale(e).await))
        })
        .expect("the default phases are registered")
}

/// The helpers' pipeline written by hand for events that pass, as one async function: the same
/// calls in the same order, the failure paths kept (a failure marks the event, the scaling is
/// skipped, the failure hook runs), without a pipeline.
async fn hand_helpers(
    mut event: Event<u32>,
    clock: &Monotonic,
    total: &Cell<Duration>,
    failed: &Cell<u64>,
) -> Result<Event<u32>, Failure> {
    let started = clock.now();
    let result = match work::check(&event) {
        Ok(()) => work::label(&mut event),
        Err(failure) => Err(failure),
    };
    let result = match result {
        Ok(()) if !event.is_failed() => work::scale(&mut event).await,
        other => other,
    };
    if let Err(failure) = result {
        event.mark_failed(failure);
    }
    work::report(&event, clock.now().saturating_sub(started), total);
    if event.is_failed() {
        failed.set(failed.get() + 1);
    }
    Ok(event)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(EVENTS));

    let single = Pipeline::<u64>::new().intercept(Phase::PROCESS, Noop).unwrap();
    group.bench_function(BenchmarkId::new("plover_noop", 1), |b| {
        b.iter(|| {
            block_on(async {
                for n in 0..EVENTS {
                    black_box(single.execute(black_box(n)).await.ok());
                }
            })
        })
    });
    group.bench_function(BenchmarkId::new("hand_written_noop", 1), |b| {
        b.iter(|| {
            block_on(async {
                for n in 0..EVENTS {
                    black_box(hand_single(black_box(n)).await.ok());
                }
            })
        })
    });

    let sequential = one_per_phase(|| Noop);
    group.bench_function(BenchmarkId::new("plover_noop", 5), |b| {
        b.iter(|| {
            block_on(async {
                for n in 0..EVENTS {
                    black_box(sequential.execute(black_box(n)).await.ok());
                }
            })
        })
    });
    group.bench_function(BenchmarkId::new("hand_written_noop", 5), |b| {
        b.iter(|| {
            block_on(async {
                for n in 0..EVENTS {
                    black_box(hand_sequential(black_box(n)).await.ok());
                }
            })
        })
    });

    let nested = one_per_phase(|| Wrap);
    group.bench_function(BenchmarkId::new("plover_proceed", 5), |b| {
        b.iter(|| {
            block_on(async {
                for n in 0..EVENTS {
                    black_box(nested.execute(black_box(n)).await.ok());
                }
            })
        })
    });
    group.bench_function(BenchmarkId::new("hand_written_boxed_recursion", 5), |b| {
        b.iter(|| {
            block_on(async {
                for n in 0..EVENTS {
                    black_box(hand_nested(black_box(n)).await.ok());
                }
            })
        })
    });

    let (clock, total, failed) = (Monotonic(Instant::now()), Cell::default(), Cell::new(0));
    let real = helpers(&clock, &total, &failed);
    group.bench_function(BenchmarkId::new("plover_helpers", 5), |b| {
        b.iter(|| {
            block_on(async {
                for n in 0..EVENTS {
                    let event = Event::new(black_box(n as u32));
                    black_box(real.execute(event).await.ok());
                }
            })
        })
    });
    group.bench_function(BenchmarkId::new("hand_written_helpers", 5), |b| {
        b.iter(|| {
            block_on(async {
                for n in 0..EVENTS {
                    let event = Event::new(black_box(n as u32));
                    black_box(hand_helpers(event, &clock, &total, &failed).await.ok());
                }
            })
        })
    });
    assert_eq!(failed.get(), 0, "every event of the benchmark passes");
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
