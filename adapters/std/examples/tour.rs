//! A tour of the library in one program: a sensor source feeds a bounded queue, a stage runs
//! the five-phase pipeline on each reading on its own thread, and a consumer reads the results.
//! Readings that fail validation or processing still reach Fallback, marked failed.
//!
//! `cargo run -p plover-std --example tour`

use std::thread;
use std::time::Duration;

use futures_lite::future::block_on;
use plover_core::event::{Event, Source, Subject, Value};
use plover_core::interceptors::{enrich, monitoring, process, validate};
use plover_core::queue::{Queue, StdRawMutex};
use plover_core::stage::Stage;
use plover_core::{Call, Failure, Overflow, Phase, Pipeline, Unhandled};
use plover_std::time::{StdClock, StdTimer};

type Reading = Event<i64, 4>;
type Output = Result<Reading, Unhandled<Reading>>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pipeline = Pipeline::<Reading>::new()
        .intercept(
            Phase::MONITORING,
            monitoring(StdClock, |event: &Reading, took: Duration| {
                let outcome = event.failure().map_or("ok".into(), |f| f.to_string());
                println!("  monitoring: reading {} took {took:?}: {outcome}", event.input());
            }),
        )?
        .intercept(
            Phase::FEATURES,
            validate(|event: &Reading| match *event.input() {
                -40..=85 => Ok(()),
                other => Err(Failure::validation(&format!("{other} °C is out of range"))),
            }),
        )?
        .intercept(
            Phase::FEATURES,
            enrich(|event: &mut Reading| {
                let fahrenheit = *event.input() as f64 * 9.0 / 5.0 + 32.0;
                let attributes = event.attributes_mut();
                let stored = attributes.insert("fahrenheit", Value::F64(fahrenheit));
                stored.map(drop).map_err(|e| Failure::internal(&e.to_string()))
            }),
        )?
        .intercept(
            Phase::PROCESS,
            process(async |event: &mut Reading| {
                if *event.input() == 13 {
                    return Err(Failure::processing("unlucky reading"));
                }
                Ok(())
            }),
        )?
        .intercept_fn(Phase::FALLBACK, async |call: &Call<Reading>| {
            call.with_subject(|event| {
                if let Some(failure) = event.failure() {
                    println!("  fallback: dead-letter reading {}: {failure}", event.input());
                }
            });
            Ok(())
        })?;

    let input: Queue<StdRawMutex, Reading, 4> = Queue::new(Overflow::Block);
    let output: Queue<StdRawMutex, Output, 4> = Queue::new(Overflow::Block);
    let stage = Stage::new(&input, pipeline, &output, Duration::from_secs(1));
    stage.start();

    thread::scope(|scope| {
        scope.spawn(|| {
            let report = block_on(stage.run(&StdTimer, |left| println!("  left over: {left:?}")));
            println!("stage stopped: {report:?}");
        });
        scope.spawn(|| {
            for (n, celsius) in [21, 22, 150, 13, 19, -60, 20].into_iter().enumerate() {
                let reading = Event::new(celsius).with_source(Source::Sensor { id: n as u32 });
                if block_on(stage.publish(reading)).is_err() {
                    println!("stage closed: reading refused");
                }
            }
            stage.stop();
        });
        while let Some(result) = block_on(output.pop()) {
            let event = result.unwrap_or_else(|unhandled| unhandled.subject);
            let fahrenheit = event.attributes().get("fahrenheit").and_then(Value::as_f64);
            let status = if event.is_failed() { "failed" } else { "processed" };
            println!("consumer: {} °C ({fahrenheit:?} °F) {status}", event.input());
        }
    });
    let metrics = input.metrics();
    println!(
        "input queue: pushed {}, popped {}, producer waits {}",
        metrics.pushed, metrics.popped, metrics.producer_waits
    );
    Ok(())
}
