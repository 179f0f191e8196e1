//! Runs a million events through a pipeline of 0, 1 or 5 no-op interceptors (first argument),
//! or of five interceptors that each `proceed` (`proceed`), or through the benchmark's
//! hand-written chain of five no-op async calls (`hand`), printing the execution future's
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
fn main() {
    let arg = std::env::args().nth(1);
    let n: usize = match arg.as_deref() {
        Some("proceed") => 6,
        Some("hand") => 7,
        Some(n) => n.parse().expect("0, 1, 5 or proceed"),
        None => 5,
    };
    let wrap = one_per_phase(|| Wrap);
    let p0 = Pipeline::<u64>::new();
    let p1 = Pipeline::<u64>::new().intercept(Phase::ACQUIRE, Noop).unwrap();
    let p5 = one_per_phase(|| Noop);
    println!("execute future: {} bytes", std::mem::size_of_val(&p5.execute(0)));
    let start = std::time::Instant::now();
    futures_lite::future::block_on(async {
        for i in 0..1_000_000u64 {
            match n {
                0 => {
                    std::hint::black_box(p0.execute(i).await.ok());
                }
                1 => {
                    std::hint::black_box(p1.execute(i).await.ok());
                }
                5 => {
                    std::hint::black_box(p5.execute(i).await.ok());
                }
                7 => {
                    std::hint::black_box(hand_sequential(i).await.ok());
                }
                _ => {
                    std::hint::black_box(wrap.execute(i).await.ok());
                }
            }
        }
    });
    println!("{:?} per event", start.elapsed() / 1_000_000);
}
