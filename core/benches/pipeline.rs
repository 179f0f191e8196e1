//! Pipeline overhead: pipelines of one and five no-op interceptors beside hand-written chains of
//! the same async calls (the difference gives the cost per interceptor), and five interceptors
//! that wrap the rest with `proceed` beside a hand-written recursion of boxed async calls.
//!
//! `scripts/bench.sh` runs it and writes `docs/benchmarks.md`; the profile behind the figures is
//! in `docs/benchmarks-pipeline.md`.
#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_lite::future::block_on;
use plover_core::pipeline::Chain;
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
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
