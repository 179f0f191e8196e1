// The cases of Ktor's execution semantics, shared by `pipeline_semantics.rs` (interceptors
// registered in phase order: the pipeline walks its chain in order) and
// `pipeline_semantics_indexed.rs` (registration order differs from execution order: the
// level driver dispatches by index). Each includer defines `new_pipeline`.

/// A trace the interceptors write to, to show what ran in which order.
#[derive(Default)]
struct Trace(Mutex<Vec<String>>);

impl Trace {
    fn push(&self, step: impl Into<String>) {
        self.0.lock().unwrap().push(step.into());
    }

    /// Records `step` and lets execution go on.
    fn ok(&self, step: &str) -> Result<(), Failure> {
        self.push(step);
        Ok(())
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

#[test]
fn interceptors_run_in_phase_order_then_registration_order() {
    let trace = Trace::default();
    let t = &trace;
    let pipeline = new_pipeline::<()>()
        .intercept_fn(Phase::FALLBACK, async |_: &Call<()>| t.ok("fallback"))
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |_: &Call<()>| t.ok("process 1"))
        .unwrap()
        .intercept_fn(Phase::ACQUIRE, async |_: &Call<()>| t.ok("acquire"))
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |_: &Call<()>| t.ok("process 2"))
        .unwrap()
        .intercept_fn(Phase::FEATURES, async |_: &Call<()>| t.ok("features"))
        .unwrap()
        .intercept_fn(Phase::MONITORING, async |_: &Call<()>| t.ok("monitoring"))
        .unwrap();

    block_on(pipeline.execute(())).unwrap();
    assert_eq!(
        trace.take(),
        ["acquire", "monitoring", "features", "process 1", "process 2", "fallback"]
    );
}

#[test]
fn proceed_runs_downstream_inside_the_interceptor() {
    let trace = Trace::default();
    let t = &trace;
    let pipeline = new_pipeline::<()>()
        .intercept_fn(Phase::MONITORING, async |call: &Call<()>| {
            t.push("outer before");
            call.proceed().await?;
            t.push("outer after");
            Ok(())
        })
        .unwrap()
        .intercept_fn(Phase::FEATURES, async |call: &Call<()>| {
            t.push("inner before");
            call.proceed().await?;
            t.push("inner after");
            Ok(())
        })
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |_: &Call<()>| t.ok("process"))
        .unwrap()
        .intercept_fn(Phase::FALLBACK, async |_: &Call<()>| t.ok("fallback"))
        .unwrap();

    block_on(pipeline.execute(())).unwrap();
    assert_eq!(
        trace.take(),
        ["outer before", "inner before", "process", "fallback", "inner after", "outer after"]
    );
}

#[test]
fn returning_without_proceed_continues_with_the_next_interceptor() {
    let trace = Trace::default();
    let t = &trace;
    let pipeline = new_pipeline::<()>()
        .intercept_fn(Phase::FEATURES, async |_: &Call<()>| t.ok("no proceed"))
        .unwrap()
        .intercept_fn(Phase::FEATURES, async |_: &Call<()>| t.ok("next"))
        .unwrap()
        .intercept_fn(Phase::FALLBACK, async |_: &Call<()>| t.ok("fallback"))
        .unwrap();

    block_on(pipeline.execute(())).unwrap();
    assert_eq!(trace.take(), ["no proceed", "next", "fallback"]);
}

#[test]
fn proceed_with_replaces_the_subject_downstream_and_for_the_caller() {
    let trace = Trace::default();
    let t = &trace;
    let pipeline = new_pipeline::<String>()
        .intercept_fn(Phase::FEATURES, async |call: &Call<String>| {
            call.proceed_with("replaced".to_string()).await?;
            t.push(format!("after proceed_with: {}", call.with_subject(|s| s.clone())));
            Ok(())
        })
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |call: &Call<String>| {
            t.push(format!("process sees: {}", call.with_subject(|s| s.clone())));
            Ok(())
        })
        .unwrap();

    let subject = block_on(pipeline.execute("original".to_string())).unwrap();
    assert_eq!(subject, "replaced");
    assert_eq!(trace.take(), ["process sees: replaced", "after proceed_with: replaced"]);
}

#[test]
fn finish_skips_the_rest_and_fallback_but_enclosing_interceptors_complete() {
    let trace = Trace::default();
    let t = &trace;
    let pipeline = new_pipeline::<()>()
        .intercept_fn(Phase::MONITORING, async |call: &Call<()>| {
            call.proceed().await?;
            t.push(format!("monitoring after, finished={}", call.is_finished()));
            Ok(())
        })
        .unwrap()
        .intercept_fn(Phase::FEATURES, async |call: &Call<()>| {
            t.push("features finishes");
            call.finish();
            t.push("features goes on with its own code");
            Ok(())
        })
        .unwrap()
        .intercept_fn(Phase::FEATURES, async |_: &Call<()>| t.ok("features 2"))
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |_: &Call<()>| t.ok("process"))
        .unwrap()
        .intercept_fn(Phase::FALLBACK, async |_: &Call<()>| t.ok("fallback"))
        .unwrap();

    block_on(pipeline.execute(())).unwrap();
    assert_eq!(
        trace.take(),
        [
            "features finishes",
            "features goes on with its own code",
            "monitoring after, finished=true"
        ]
    );
}

#[test]
fn a_call_is_finished_only_by_finish_not_by_running_out_of_interceptors() {
    // The last interceptor, and the first one once everything after it ran, see a call with
    // nothing left to start that was never finished.
    let pipeline = new_pipeline::<Vec<bool>>()
        .intercept_fn(Phase::MONITORING, async |call: &Call<Vec<bool>>| {
            call.proceed().await?;
            let finished = call.is_finished();
            call.with_subject_mut(|seen| seen.push(finished));
            Ok(())
        })
        .unwrap()
        .intercept_fn(Phase::FALLBACK, async |call: &Call<Vec<bool>>| {
            let finished = call.is_finished();
            call.with_subject_mut(|seen| seen.push(finished));
            Ok(())
        })
        .unwrap();

    assert_eq!(block_on(pipeline.execute(Vec::new())), Ok(vec![false, false]));
}

#[test]
fn proceed_after_finish_resolves_at_once() {
    let pipeline = new_pipeline::<u32>()
        .intercept_fn(Phase::FEATURES, async |call: &Call<u32>| {
            call.finish();
            call.proceed().await?;
            call.with_subject_mut(|n| *n += 1);
            Ok(())
        })
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |call: &Call<u32>| {
            call.with_subject_mut(|n| *n += 100);
            Ok(())
        })
        .unwrap();

    assert_eq!(block_on(pipeline.execute(0)), Ok(1));
}

#[test]
fn failure_travels_outward_and_hands_the_subject_back() {
    let trace = Trace::default();
    let t = &trace;
    let pipeline = new_pipeline::<u32>()
        .intercept_fn(Phase::MONITORING, async |call: &Call<u32>| {
            let result = call.proceed().await;
            t.push(format!("monitoring saw {:?}", result.as_ref().map_err(Failure::reason)));
            result
        })
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |call: &Call<u32>| {
            call.with_subject_mut(|n| *n = 7);
            Err(Failure::processing("boom"))
        })
        .unwrap()
        .intercept_fn(Phase::FALLBACK, async |_: &Call<u32>| t.ok("fallback"))
        .unwrap();

    let result = block_on(pipeline.execute(0));
    assert_eq!(result, Err(Unhandled { subject: 7, failure: Failure::processing("boom") }));
    assert_eq!(trace.take(), ["monitoring saw Err(\"boom\")"]);
}

#[test]
fn recovery_resumes_after_the_failed_interceptor_which_is_not_rerun() {
    let trace = Trace::default();
    let t = &trace;
    let pipeline = new_pipeline::<()>()
        .intercept_fn(Phase::MONITORING, async |call: &Call<()>| {
            if let Err(failure) = call.proceed().await {
                t.push(format!("recovered from {}", failure.reason()));
            }
            Ok(())
        })
        .unwrap()
        .intercept_fn(Phase::FEATURES, async |call: &Call<()>| {
            t.push("features before");
            let result = call.proceed().await;
            t.push("features after");
            result
        })
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |_: &Call<()>| {
            t.push("failing");
            Err(Failure::processing("process failed"))
        })
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |_: &Call<()>| t.ok("process 2"))
        .unwrap()
        .intercept_fn(Phase::FALLBACK, async |_: &Call<()>| t.ok("fallback"))
        .unwrap();

    block_on(pipeline.execute(())).unwrap();
    assert_eq!(
        trace.take(),
        [
            "features before",
            "failing",
            "features after",
            "recovered from process failed",
            "process 2",
            "fallback"
        ]
    );
}

#[test]
fn an_interceptor_may_proceed_again_after_recovering() {
    // After catching a failure, proceeding again runs what is left after the failed
    // interceptor, inside the recovering one.
    let trace = Trace::default();
    let t = &trace;
    let pipeline = new_pipeline::<()>()
        .intercept_fn(Phase::MONITORING, async |call: &Call<()>| {
            if call.proceed().await.is_err() {
                t.push("caught");
                call.proceed().await?;
                t.push("rest done inside");
            }
            Ok(())
        })
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |_: &Call<()>| Err(Failure::processing("x")))
        .unwrap()
        .intercept_fn(Phase::FALLBACK, async |_: &Call<()>| t.ok("fallback"))
        .unwrap();

    block_on(pipeline.execute(())).unwrap();
    assert_eq!(trace.take(), ["caught", "fallback", "rest done inside"]);
}

#[test]
fn every_interceptor_may_wait_in_proceed_at_once() {
    // The deepest nesting: all interceptors waiting in proceed together.
    let pipeline = Pipeline::<Vec<u32>>::new();
    macro_rules! nest {
        ($p:expr, $($n:literal)*) => {
            $p$(.intercept_fn(Phase::PROCESS, async |call: &Call<Vec<u32>>| {
                call.with_subject_mut(|v| v.push($n));
                call.proceed().await?;
                call.with_subject_mut(|v| v.push(100 + $n));
                Ok(())
            }).unwrap())*
        };
    }
    let pipeline = nest!(pipeline, 1 2 3 4 5 6);
    let subject = block_on(pipeline.execute(Vec::new())).unwrap();
    assert_eq!(subject, [1, 2, 3, 4, 5, 6, 106, 105, 104, 103, 102, 101]);
}

#[test]
fn proceeding_twice_runs_downstream_once() {
    let pipeline = new_pipeline::<u32>()
        .intercept_fn(Phase::FEATURES, async |call: &Call<u32>| {
            call.proceed().await?;
            call.proceed().await?;
            Ok(())
        })
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |call: &Call<u32>| {
            call.with_subject_mut(|n| *n += 1);
            Ok(())
        })
        .unwrap();
    assert_eq!(block_on(pipeline.execute(0)), Ok(1));
}

/// A future that never completes.
async fn pending_forever() {
    std::future::pending::<()>().await
}

#[test]
fn cancellation_is_never_a_failure() {
    let trace = Trace::default();
    let t = &trace;
    let pipeline = new_pipeline::<()>()
        .intercept_fn(Phase::MONITORING, async |call: &Call<()>| {
            match call.proceed().await {
                Ok(()) => t.push("monitoring saw success"),
                Err(_) => t.push("monitoring saw failure"),
            }
            Ok(())
        })
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |_: &Call<()>| {
            t.push("process started");
            pending_forever().await;
            t.push("process ended");
            Ok(())
        })
        .unwrap()
        .intercept_fn(Phase::FALLBACK, async |_: &Call<()>| t.ok("fallback"))
        .unwrap();

    let mut execution = Box::pin(pipeline.execute(()));
    assert!(block_on(poll_once(execution.as_mut())).is_none());
    drop(execution);
    assert_eq!(trace.take(), ["process started"]);
}

#[test]
fn an_interceptor_that_waits_is_resumed_by_its_waker() {
    // A real suspension (not proceed) in the middle of the chain: the execution is pending,
    // then completes once the interceptor's future is woken.
    let trace = Trace::default();
    let t = &trace;
    let pipeline = new_pipeline::<u32>()
        .intercept_fn(Phase::MONITORING, async |call: &Call<u32>| {
            call.proceed().await?;
            t.push("monitoring after");
            Ok(())
        })
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |call: &Call<u32>| {
            futures_lite::future::yield_now().await;
            futures_lite::future::yield_now().await;
            call.with_subject_mut(|n| *n += 1);
            Ok(())
        })
        .unwrap();
    assert_eq!(block_on(pipeline.execute(1)), Ok(2));
    assert_eq!(trace.take(), ["monitoring after"]);
}

#[test]
fn a_proceed_polled_and_dropped_does_not_run_downstream_inside_the_next_interceptor() {
    // The first interceptor asks to proceed, then drops the request and returns. The next one
    // waits on something else: that wait must not be taken for the dropped request, which
    // would run the rest of the chain inside it.
    let trace = Trace::default();
    let t = &trace;
    let pipeline = new_pipeline::<()>()
        .intercept_fn(Phase::MONITORING, async |call: &Call<()>| {
            assert!(poll_once(call.proceed()).await.is_none(), "downstream is left to run");
            t.ok("monitoring")
        })
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |_: &Call<()>| {
            futures_lite::future::yield_now().await;
            t.ok("process")
        })
        .unwrap()
        .intercept_fn(Phase::FALLBACK, async |_: &Call<()>| t.ok("fallback"))
        .unwrap();

    block_on(pipeline.execute(())).unwrap();
    assert_eq!(trace.take(), ["monitoring", "process", "fallback"]);
}

#[test]
fn intercepting_an_unregistered_phase_is_an_error() {
    let result =
        new_pipeline::<()>().intercept_fn(Phase::new("Audit"), async |_: &Call<()>| Ok(()));
    assert_eq!(result.err(), Some(PipelineError::UnknownPhase(Phase::new("Audit"))));
}

#[test]
fn custom_phases_run_where_they_were_inserted() {
    let trace = Trace::default();
    let t = &trace;
    let mut pipeline = new_pipeline::<()>();
    pipeline.insert_phase_after(Phase::FEATURES, Phase::new("Audit")).unwrap();
    pipeline.insert_phase_before(Phase::new("Audit"), Phase::new("Normalize")).unwrap();
    pipeline.add_phase(Phase::new("Archive")).unwrap();
    let pipeline = pipeline
        .intercept_fn(Phase::new("Archive"), async |_: &Call<()>| t.ok("archive"))
        .unwrap()
        .intercept_fn(Phase::new("Audit"), async |_: &Call<()>| t.ok("audit"))
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |_: &Call<()>| t.ok("process"))
        .unwrap()
        .intercept_fn(Phase::new("Normalize"), async |_: &Call<()>| t.ok("normalize"))
        .unwrap()
        .intercept_fn(Phase::SETUP, async |_: &Call<()>| t.ok("setup"))
        .unwrap();

    let phases: Vec<_> = pipeline.phases().map(|p| p.name()).collect();
    assert_eq!(
        phases,
        [
            "Acquire",
            "Monitoring",
            "Features",
            "Normalize",
            "Audit",
            "Process",
            "Fallback",
            "Archive"
        ]
    );
    block_on(pipeline.execute(())).unwrap();
    assert_eq!(trace.take(), ["setup", "normalize", "audit", "process", "archive"]);
}

#[test]
fn phases_added_after_interceptors_still_order_them() {
    let trace = Trace::default();
    let t = &trace;
    let mut pipeline = new_pipeline::<()>();
    pipeline.add_phase(Phase::new("B")).unwrap();
    let mut pipeline =
        pipeline.intercept_fn(Phase::new("B"), async |_: &Call<()>| t.ok("b")).unwrap();
    pipeline.insert_phase_before(Phase::new("B"), Phase::new("A")).unwrap();
    let pipeline = pipeline.intercept_fn(Phase::new("A"), async |_: &Call<()>| t.ok("a")).unwrap();
    block_on(pipeline.execute(())).unwrap();
    assert_eq!(trace.take(), ["a", "b"]);
}

#[test]
fn merge_keeps_phase_order_and_runs_the_other_pipelines_interceptors_after() {
    let trace = Trace::default();
    let t = &trace;
    let mut left = new_pipeline::<()>();
    left.insert_phase_after(Phase::FEATURES, Phase::new("Left")).unwrap();
    let left = left
        .intercept_fn(Phase::PROCESS, async |_: &Call<()>| t.ok("left process"))
        .unwrap()
        .intercept_fn(Phase::new("Left"), async |_: &Call<()>| t.ok("left phase"))
        .unwrap();

    let mut right = new_pipeline::<()>();
    right.insert_phase_before(Phase::PROCESS, Phase::new("Right")).unwrap();
    let right = right
        .intercept_fn(Phase::PROCESS, async |_: &Call<()>| t.ok("right process"))
        .unwrap()
        .intercept_fn(Phase::new("Right"), async |_: &Call<()>| t.ok("right phase"))
        .unwrap()
        .intercept_fn(Phase::ACQUIRE, async |_: &Call<()>| t.ok("right acquire"))
        .unwrap();

    let counts = left.interceptor_count() + right.interceptor_count();
    let merged = left.merge(right).unwrap();
    assert_eq!(merged.interceptor_count(), counts);
    let phases: Vec<_> = merged.phases().map(|p| p.name()).collect();
    assert_eq!(
        phases,
        ["Acquire", "Monitoring", "Features", "Left", "Right", "Process", "Fallback"]
    );
    block_on(merged.execute(())).unwrap();
    assert_eq!(
        trace.take(),
        ["right acquire", "left phase", "right phase", "left process", "right process"]
    );
}

#[cfg(feature = "alloc")]
#[test]
fn too_many_interceptors_is_an_error() {
    // A dynamic pipeline reaches the limit without a 33-link type.
    use plover_core::pipeline::{DynPipeline, FnInterceptor};
    let mut pipeline = DynPipeline::<()>::dynamic();
    for _ in 0..MAX_INTERCEPTORS {
        let f = FnInterceptor(async |_: &Call<()>| Ok(()));
        pipeline.add_interceptor(Phase::PROCESS, Box::new(f)).unwrap();
    }
    let f = FnInterceptor(async |_: &Call<()>| Ok(()));
    assert_eq!(
        pipeline.add_interceptor(Phase::PROCESS, Box::new(f)),
        Err(PipelineError::TooManyInterceptors { capacity: MAX_INTERCEPTORS })
    );
}

#[test]
fn execute_future_is_send_when_the_subject_is() {
    fn assert_send<T: Send>(_: &T) {}
    let pipeline = new_pipeline::<String>()
        .intercept_fn(Phase::MONITORING, async |call: &Call<String>| {
            call.proceed().await?;
            Ok(())
        })
        .unwrap()
        .intercept_fn(Phase::PROCESS, async |call: &Call<String>| {
            futures_lite::future::yield_now().await;
            call.with_subject_mut(|s| s.push('!'));
            Ok(())
        })
        .unwrap();
    let execution = pipeline.execute(String::new());
    assert_send(&execution);
    assert_eq!(block_on(execution).unwrap(), "!");
}
