//! Runs a million events through a pipeline of 0, 1 or 5 no-op interceptors (first argument),
//! printing the execution future's size and the time per event. Under
//! `valgrind --tool=callgrind` it gives repeatable instruction counts per event, which is how
//! the driver's overhead was profiled (see docs/benchmarks.md).
use plover_core::{Call, Failure, Interceptor, Phase, Pipeline};
struct Noop;
impl Interceptor<u64> for Noop {
    async fn intercept(&self, call: &Call<u64>) -> Result<(), Failure> {
        std::hint::black_box(call);
        Ok(())
    }
}
fn main() {
    let n: usize = std::env::args().nth(1).map(|a| a.parse().unwrap()).unwrap_or(5);
    let p0 = Pipeline::<u64>::new();
    let p1 = Pipeline::<u64>::new().intercept(Phase::ACQUIRE, Noop).unwrap();
    let p5 = Pipeline::<u64>::new()
        .intercept(Phase::ACQUIRE, Noop)
        .unwrap()
        .intercept(Phase::MONITORING, Noop)
        .unwrap()
        .intercept(Phase::FEATURES, Noop)
        .unwrap()
        .intercept(Phase::PROCESS, Noop)
        .unwrap()
        .intercept(Phase::FALLBACK, Noop)
        .unwrap();
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
                _ => {
                    std::hint::black_box(p5.execute(i).await.ok());
                }
            }
        }
    });
    println!("{:?} per event", start.elapsed() / 1_000_000);
}
