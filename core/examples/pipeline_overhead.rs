//! Runs a million events through a pipeline of 0, 1 or 5 no-op interceptors (first argument),
//! or of five interceptors that each `proceed` (`proceed`), or through the benchmark's
//! hand-written chain of five no-op async calls (`hand`), or through five interceptors of which
//! the one in Monitoring proceeds (`monitoring`), or through five interceptors registered from
//! the last phase to the first, so that the level driver runs them (`levels`: no-op,
//! `levels-proceed`: each wraps the rest), printing the execution future's
//! size and the time per event. Under `valgrind --tool=callgrind` it gives repeatable
//! instruction counts per event, which is how the driver's overhead was profiled (see
//! docs/benchmarks-pipeline.md).
use plover_core::pipeline::Chain;
use plover_core::{Call, Failure, Interceptor, Phase, Pipeline};
struct Noop;
impl Interceptor<u64> for Noop {
    async fn intercept(&self, call: &Call<u64>) -> Result<(), Failure> {
        std::hint::black_box(call);
        Ok(())
    }
}
/// Wraps everything downstream, Ktor style.
struct Wrap;
impl Interceptor<u64> for Wrap {
    async fn intercept(&self, call: &Call<u64>) -> Result<(), Failure> {
        std::hint::black_box(call);
        call.proceed().await
    }
}
/// A no-op or a wrapping interceptor, chosen at run time.
enum Either {
    Noop(Noop),
    Wrap(Wrap),
}
impl Interceptor<u64> for Either {
    async fn intercept(&self, call: &Call<u64>) -> Result<(), Failure> {
        match self {
            Either::Noop(noop) => noop.intercept(call).await,
            Either::Wrap(wrap) => wrap.intercept(call).await,
        }
    }
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
async fn noop(subject: &mut u64) -> Result<(), Failure> {
    std::hint::black_box(subject);
    Ok(())
}
/// The hand-written chain of the benchmark: five sequential no-op calls.
async fn hand_sequential(mut subject: u64) -> Result<u64, Failure> {
    noop(&mut subject).await?;
    noop(&mut subject).await?;
    noop(&mut subject).await?;
    noop(&mut subject).await?;
    noop(&mut subject).await?;
    Ok(subject)
}
/// Runs a million events through `execute` on one thread and prints the time per event. Out of
/// line and one copy per case, so that the cases do not change each other's code.
#[inline(never)]
fn run<F: std::future::Future<Output = Option<u64>>>(execute: impl Fn(u64) -> F) {
    let start = std::time::Instant::now();
    futures_lite::future::block_on(async {
        for i in 0..1_000_000u64 {
            std::hint::black_box(execute(i).await);
        }
    });
    println!("{:?} per event", start.elapsed() / 1_000_000);
}
fn main() {
    let p5 = one_per_phase(|| Noop);
    println!("execute future: {} bytes", std::mem::size_of_val(&p5.execute(0)));
    match std::env::args().nth(1).as_deref().unwrap_or("5") {
        "0" => {
            let p0 = &Pipeline::<u64>::new();
            run(|i| async move { p0.execute(i).await.ok() });
        }
        "1" => {
            let p1 = &Pipeline::<u64>::new().intercept(Phase::ACQUIRE, Noop).unwrap();
            run(|i| async move { p1.execute(i).await.ok() });
        }
        "5" => {
            let p5 = &p5;
            run(|i| async move { p5.execute(i).await.ok() });
        }
        "proceed" => {
            let wrap = &one_per_phase(|| Wrap);
            run(|i| async move { wrap.execute(i).await.ok() });
        }
        "monitoring" => {
            // The usual shape: Monitoring wraps the rest, the other phases return.
            let monitored = &Pipeline::<u64>::new()
                .intercept(Phase::ACQUIRE, Noop)
                .and_then(|p| p.intercept(Phase::MONITORING, Wrap))
                .and_then(|p| p.intercept(Phase::FEATURES, Noop))
                .and_then(|p| p.intercept(Phase::PROCESS, Noop))
                .and_then(|p| p.intercept(Phase::FALLBACK, Noop))
                .expect("the default phases are registered");
            run(|i| async move { monitored.execute(i).await.ok() });
        }
        "levels" | "levels-proceed" => {
            // Registered from the last phase to the first, so that execution order differs
            // from registration order and the level driver runs.
            let reversed = |wrap: bool| {
                let one = move || if wrap { Either::Wrap(Wrap) } else { Either::Noop(Noop) };
                Pipeline::<u64>::new()
                    .intercept(Phase::FALLBACK, one())
                    .and_then(|p| p.intercept(Phase::PROCESS, one()))
                    .and_then(|p| p.intercept(Phase::FEATURES, one()))
                    .and_then(|p| p.intercept(Phase::MONITORING, one()))
                    .and_then(|p| p.intercept(Phase::ACQUIRE, one()))
                    .expect("the default phases are registered")
            };
            let levels = &reversed(std::env::args().nth(1).as_deref() == Some("levels-proceed"));
            run(|i| async move { levels.execute(i).await.ok() });
        }
        "hand" => run(|i| async move { hand_sequential(i).await.ok() }),
        other => panic!(
            "unknown case {other:?}: 0, 1, 5, proceed, monitoring, levels, levels-proceed or hand"
        ),
    }
}
