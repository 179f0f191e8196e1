//! The run-time registered pipeline (`alloc` feature) keeps the typed pipeline's semantics:
//! nesting through proceed, fail-forward recovery, finish, and merging.
#![cfg(feature = "alloc")]

use std::sync::{Arc, Mutex};

use futures_lite::future::block_on;
use plover_core::pipeline::{DynInterceptor, DynPipeline, FnInterceptor};
use plover_core::{Call, Failure, Phase};

type Trace = Arc<Mutex<Vec<String>>>;

fn step(trace: &Trace, name: &'static str) -> Box<dyn DynInterceptor<u32>> {
    let trace = trace.clone();
    Box::new(FnInterceptor(async move |_: &Call<u32>| {
        trace.lock().unwrap().push(name.to_string());
        Ok(())
    }))
}

fn wrapper(trace: &Trace, name: &'static str) -> Box<dyn DynInterceptor<u32>> {
    let trace = trace.clone();
    Box::new(FnInterceptor(async move |call: &Call<u32>| {
        trace.lock().unwrap().push(format!("{name} before"));
        let result = call.proceed().await;
        trace
            .lock()
            .unwrap()
            .push(format!("{name} after {}", if result.is_ok() { "ok" } else { "err" }));
        Ok(())
    }))
}

#[test]
fn dynamic_pipeline_nests_recovers_forward_and_finishes() {
    let trace: Trace = Arc::default();
    let mut pipeline = DynPipeline::<u32>::dynamic();
    pipeline.add_interceptor(Phase::FALLBACK, step(&trace, "fallback")).unwrap();
    pipeline.add_interceptor(Phase::MONITORING, wrapper(&trace, "monitoring")).unwrap();
    pipeline.add_interceptor(Phase::FEATURES, wrapper(&trace, "features")).unwrap();
    pipeline
        .add_interceptor(
            Phase::PROCESS,
            Box::new(FnInterceptor(async |call: &Call<u32>| {
                if call.with_subject(|n| *n) == 0 {
                    Err(Failure::processing("zero"))
                } else {
                    Ok(())
                }
            })),
        )
        .unwrap();
    pipeline.add_interceptor(Phase::PROCESS, step(&trace, "process 2")).unwrap();

    block_on(pipeline.execute(0)).unwrap();
    assert_eq!(
        std::mem::take(&mut *trace.lock().unwrap()),
        [
            "monitoring before",
            "features before",
            "features after err",
            "process 2",
            "fallback",
            "monitoring after ok"
        ]
    );

    block_on(pipeline.execute(1)).unwrap();
    assert_eq!(
        std::mem::take(&mut *trace.lock().unwrap()),
        [
            "monitoring before",
            "features before",
            "process 2",
            "fallback",
            "features after ok",
            "monitoring after ok"
        ]
    );
}

#[test]
fn dynamic_pipelines_merge_in_ktor_order() {
    let trace: Trace = Arc::default();
    let mut left = DynPipeline::<u32>::dynamic();
    left.add_interceptor(Phase::PROCESS, step(&trace, "left")).unwrap();
    let mut right = DynPipeline::<u32>::dynamic();
    right.insert_phase_after(Phase::PROCESS, Phase::new("Audit")).unwrap();
    right.add_interceptor(Phase::new("Audit"), step(&trace, "audit")).unwrap();
    right.add_interceptor(Phase::PROCESS, step(&trace, "right")).unwrap();
    let merged = left.merge(right).unwrap();
    block_on(merged.execute(5)).unwrap();
    assert_eq!(*trace.lock().unwrap(), ["left", "right", "audit"]);
}

#[test]
fn finish_in_a_dynamic_pipeline_skips_fallback() {
    let trace: Trace = Arc::default();
    let mut pipeline = DynPipeline::<u32>::dynamic();
    pipeline.add_interceptor(Phase::MONITORING, wrapper(&trace, "monitoring")).unwrap();
    pipeline
        .add_interceptor(
            Phase::FEATURES,
            Box::new(FnInterceptor(async |call: &Call<u32>| {
                call.finish();
                Ok(())
            })),
        )
        .unwrap();
    pipeline.add_interceptor(Phase::FALLBACK, step(&trace, "fallback")).unwrap();
    block_on(pipeline.execute(5)).unwrap();
    assert_eq!(*trace.lock().unwrap(), ["monitoring before", "monitoring after ok"]);
}
