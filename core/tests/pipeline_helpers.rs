//! The ready-made interceptors on real events: monitoring catches and marks, validation and
//! processing skip failed events, retry backs off and gives up, and the outcome observers
//! never both fire.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_lite::future::{block_on, poll_once};
use plover_core::event::{Event, Subject, Value};
use plover_core::interceptors::{
    RetryPolicy, enrich, monitoring, on_failure, on_success, process, retry, validate,
};
use plover_core::time::{Clock, Timer};
use plover_core::{Call, Failure, FailureKind, Phase, Pipeline};

type Reading = Event<i64, 4>;

/// A clock that advances 5 ms every time it is read.
#[derive(Default)]
struct SteppingClock(AtomicU32);

impl Clock for SteppingClock {
    fn now(&self) -> Duration {
        Duration::from_millis(u64::from(self.0.fetch_add(5, Ordering::Relaxed)))
    }
}

/// A timer that returns at once and remembers what it was asked to wait.
#[derive(Default)]
struct RecordingTimer(Mutex<Vec<Duration>>);

impl Timer for RecordingTimer {
    async fn sleep(&self, duration: Duration) {
        self.0.lock().unwrap().push(duration);
    }
}

/// What Fallback saw: the failure of each event that reached it (None for success).
#[derive(Default)]
struct Seen(Mutex<Vec<Option<Failure>>>);

impl Seen {
    fn take(&self) -> Vec<Option<Failure>> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

fn fallback_recorder(seen: &Seen) -> impl AsyncFn(&Call<Reading>) -> Result<(), Failure> + '_ {
    async move |call: &Call<Reading>| {
        call.with_subject(|event| seen.0.lock().unwrap().push(event.failure().cloned()));
        Ok(())
    }
}

#[test]
fn attributes_accumulate_across_phases_and_the_input_never_changes() {
    let pipeline = Pipeline::<Reading>::new()
        .intercept(
            Phase::ACQUIRE,
            enrich(|event: &mut Reading| {
                event
                    .attributes_mut()
                    .insert("acquired", Value::Bool(true))
                    .map(drop)
                    .map_err(|e| Failure::internal(&e.to_string()))
            }),
        )
        .unwrap()
        .intercept(
            Phase::FEATURES,
            enrich(|event: &mut Reading| {
                let doubled = event.input() * 2;
                event
                    .attributes_mut()
                    .insert("doubled", Value::I64(doubled))
                    .map(drop)
                    .map_err(|e| Failure::internal(&e.to_string()))
            }),
        )
        .unwrap()
        .intercept(
            Phase::PROCESS,
            process(async |event: &mut Reading| {
                let doubled = event.attributes().get("doubled").and_then(Value::as_i64);
                event
                    .attributes_mut()
                    .insert("processed", Value::I64(doubled.unwrap_or(-1) + 1))
                    .map(drop)
                    .map_err(|e| Failure::internal(&e.to_string()))
            }),
        )
        .unwrap();

    let event = block_on(pipeline.execute(Event::new(21))).unwrap();
    assert_eq!(*event.input(), 21);
    let attributes: Vec<_> = event.attributes().iter().map(|(k, v)| (k, v.clone())).collect();
    assert_eq!(
        attributes,
        [
            ("acquired", Value::Bool(true)),
            ("doubled", Value::I64(42)),
            ("processed", Value::I64(43))
        ]
    );
}

#[test]
fn a_full_attribute_map_is_a_clear_failure_not_a_lost_attribute() {
    let pipeline = Pipeline::<Event<(), 1>>::new()
        .intercept(
            Phase::FEATURES,
            enrich(|event: &mut Event<(), 1>| {
                for key in ["a", "b"] {
                    event
                        .attributes_mut()
                        .insert(key, Value::Bool(true))
                        .map_err(|e| Failure::internal(&e.to_string()))?;
                }
                Ok(())
            }),
        )
        .unwrap();
    let unhandled = block_on(pipeline.execute(Event::new(()))).unwrap_err();
    assert_eq!(unhandled.failure, Failure::internal("attribute map is full (1 entries)"));
    assert_eq!(unhandled.subject.attributes().len(), 1);
}

#[test]
fn a_failure_in_process_is_caught_by_monitoring_and_fallback_sees_the_failed_event() {
    let seen = Seen::default();
    let reports = Mutex::new(Vec::new());
    let clock = SteppingClock::default();
    let pipeline = Pipeline::<Reading>::new()
        .intercept(
            Phase::MONITORING,
            monitoring(&clock, |event: &Reading, took| {
                reports.lock().unwrap().push((event.is_failed(), took))
            }),
        )
        .unwrap()
        .intercept(
            Phase::PROCESS,
            process(async |_: &mut Reading| Err(Failure::processing("disk"))),
        )
        .unwrap()
        .intercept_fn(Phase::FALLBACK, fallback_recorder(&seen))
        .unwrap();

    let event = block_on(pipeline.execute(Event::new(1))).unwrap();
    assert_eq!(event.failure(), Some(&Failure::processing("disk")));
    assert_eq!(seen.take(), [Some(Failure::processing("disk"))]);
    assert_eq!(reports.into_inner().unwrap(), [(true, Duration::from_millis(5))]);
}

#[test]
fn a_validation_failure_skips_process_but_reaches_fallback() {
    let seen = Seen::default();
    let processed = AtomicU32::new(0);
    let pipeline = Pipeline::<Reading>::new()
        .intercept(Phase::MONITORING, monitoring(SteppingClock::default(), |_: &Reading, _| {}))
        .unwrap()
        .intercept(
            Phase::FEATURES,
            validate(|event: &Reading| {
                if *event.input() >= 0 { Ok(()) } else { Err(Failure::validation("negative")) }
            }),
        )
        .unwrap()
        .intercept(
            Phase::PROCESS,
            process(async |_: &mut Reading| {
                processed.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }),
        )
        .unwrap()
        .intercept_fn(Phase::FALLBACK, fallback_recorder(&seen))
        .unwrap();

    block_on(pipeline.execute(Event::new(-3))).unwrap();
    block_on(pipeline.execute(Event::new(3))).unwrap();
    assert_eq!(processed.load(Ordering::Relaxed), 1);
    assert_eq!(seen.take(), [Some(Failure::validation("negative")), None]);
}

#[test]
fn on_success_and_on_failure_never_both_run() {
    let outcomes = Mutex::new(Vec::new());
    let pipeline =
        Pipeline::<Reading>::new()
            .intercept(
                Phase::ACQUIRE,
                on_success(|event: &Reading| outcomes.lock().unwrap().push((*event.input(), "ok"))),
            )
            .unwrap()
            .intercept(
                Phase::ACQUIRE,
                on_failure(|event: &Reading, _: &Failure| {
                    outcomes.lock().unwrap().push((*event.input(), "failed"))
                }),
            )
            .unwrap()
            .intercept(Phase::MONITORING, monitoring(SteppingClock::default(), |_: &Reading, _| {}))
            .unwrap()
            .intercept(
                Phase::PROCESS,
                process(async |event: &mut Reading| {
                    if *event.input() % 2 == 0 { Ok(()) } else { Err(Failure::processing("odd")) }
                }),
            )
            .unwrap();

    for n in 0..4 {
        block_on(pipeline.execute(Event::new(n))).unwrap();
    }
    assert_eq!(
        outcomes.into_inner().unwrap(),
        [(0, "ok"), (1, "failed"), (2, "ok"), (3, "failed")]
    );
}

#[test]
fn on_failure_sees_a_failure_that_nobody_recovered_from() {
    let seen = Mutex::new(Vec::new());
    let pipeline = Pipeline::<Reading>::new()
        .intercept(
            Phase::ACQUIRE,
            on_failure(|_: &Reading, failure: &Failure| seen.lock().unwrap().push(failure.clone())),
        )
        .unwrap()
        .intercept(Phase::PROCESS, process(async |_: &mut Reading| Err(Failure::processing("x"))))
        .unwrap();
    let unhandled = block_on(pipeline.execute(Event::new(0))).unwrap_err();
    assert_eq!(unhandled.failure, Failure::processing("x"));
    assert_eq!(seen.into_inner().unwrap(), [Failure::processing("x")]);
}

fn flaky_pipeline<'a>(
    timer: &'a RecordingTimer,
    seen: &'a Seen,
    attempts_made: &'a AtomicU32,
    failures_before_success: u32,
    kind: FailureKind,
) -> impl Fn(Reading) -> Reading + 'a {
    let policy = RetryPolicy {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(25),
        ..RetryPolicy::new(4)
    };
    let pipeline = Pipeline::<Reading>::new()
        .intercept(Phase::MONITORING, monitoring(SteppingClock::default(), |_: &Reading, _| {}))
        .unwrap()
        .intercept(
            Phase::PROCESS,
            retry(policy, timer, async move |_: &mut Reading| {
                let attempt = attempts_made.fetch_add(1, Ordering::Relaxed) + 1;
                if attempt <= failures_before_success {
                    Err(Failure::new(kind, &format!("attempt {attempt}")))
                } else {
                    Ok(())
                }
            }),
        )
        .unwrap()
        .intercept_fn(Phase::FALLBACK, fallback_recorder(seen))
        .unwrap();
    move |event| block_on(pipeline.execute(event)).expect("monitoring recovers every failure")
}

#[test]
fn retry_succeeds_after_transient_failures() {
    let (timer, seen, attempts) = (RecordingTimer::default(), Seen::default(), AtomicU32::new(0));
    let run = flaky_pipeline(&timer, &seen, &attempts, 2, FailureKind::Transient);
    let event = run(Event::new(1));
    assert!(!event.is_failed());
    assert_eq!(attempts.load(Ordering::Relaxed), 3);
    assert_eq!(*timer.0.lock().unwrap(), [Duration::from_millis(10), Duration::from_millis(20)]);
    assert_eq!(seen.take(), [None]);
}

#[test]
fn retry_gives_up_after_the_last_attempt_and_fallback_sees_the_error() {
    let (timer, seen, attempts) = (RecordingTimer::default(), Seen::default(), AtomicU32::new(0));
    let run = flaky_pipeline(&timer, &seen, &attempts, 10, FailureKind::Transient);
    let event = run(Event::new(1));
    assert_eq!(attempts.load(Ordering::Relaxed), 4);
    assert_eq!(
        *timer.0.lock().unwrap(),
        [Duration::from_millis(10), Duration::from_millis(20), Duration::from_millis(25)]
    );
    let last = Failure::transient("attempt 4");
    assert_eq!(event.failure(), Some(&last));
    assert_eq!(seen.take(), [Some(last)]);
}

#[test]
fn retry_does_not_retry_a_failure_of_a_kind_it_was_not_told_to() {
    let (timer, seen, attempts) = (RecordingTimer::default(), Seen::default(), AtomicU32::new(0));
    let run = flaky_pipeline(&timer, &seen, &attempts, 10, FailureKind::Processing);
    let event = run(Event::new(1));
    assert_eq!(attempts.load(Ordering::Relaxed), 1);
    assert!(timer.0.lock().unwrap().is_empty());
    assert_eq!(event.failure(), Some(&Failure::processing("attempt 1")));
}

#[test]
fn a_cancelled_execution_is_neither_marked_failed_nor_reported() {
    let reports = AtomicU32::new(0);
    let failures = AtomicU32::new(0);
    let pipeline = Pipeline::<Reading>::new()
        .intercept(
            Phase::ACQUIRE,
            on_failure(|_: &Reading, _: &Failure| {
                failures.fetch_add(1, Ordering::Relaxed);
            }),
        )
        .unwrap()
        .intercept(
            Phase::MONITORING,
            monitoring(SteppingClock::default(), |_: &Reading, _| {
                reports.fetch_add(1, Ordering::Relaxed);
            }),
        )
        .unwrap()
        .intercept(
            Phase::PROCESS,
            process(async |_: &mut Reading| std::future::pending::<Result<(), Failure>>().await),
        )
        .unwrap();

    let mut execution = Box::pin(pipeline.execute(Event::new(0)));
    assert!(block_on(poll_once(execution.as_mut())).is_none());
    drop(execution);
    assert_eq!(reports.load(Ordering::Relaxed), 0);
    assert_eq!(failures.load(Ordering::Relaxed), 0);
}
