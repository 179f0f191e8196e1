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

#[test]
fn a_typed_pipeline_merged_with_a_dynamic_one_runs_every_interceptor_once_in_order() {
    // The merged chain is a typed link followed by the boxed chain: execution walks the typed
    // part and hands the rest to the boxed driver, whose indexes must count from the boxed
    // chain's own start.
    let trace: Trace = Arc::default();
    let typed = plover_core::Pipeline::<u32>::new()
        .intercept(
            Phase::MONITORING,
            FnInterceptor({
                let trace = trace.clone();
                async move |call: &Call<u32>| {
                    trace.lock().unwrap().push("typed monitoring before".to_owned());
                    let result = call.proceed().await;
                    trace.lock().unwrap().push("typed monitoring after".to_owned());
                    result
                }
            }),
        )
        .unwrap();
    let mut dynamic = DynPipeline::<u32>::dynamic();
    dynamic.add_interceptor(Phase::PROCESS, step(&trace, "dynamic process")).unwrap();
    dynamic.add_interceptor(Phase::FALLBACK, step(&trace, "dynamic fallback")).unwrap();
    let merged = typed.merge(dynamic).unwrap();

    block_on(merged.execute(1)).unwrap();
    assert_eq!(
        std::mem::take(&mut *trace.lock().unwrap()),
        [
            "typed monitoring before",
            "dynamic process",
            "dynamic fallback",
            "typed monitoring after"
        ]
    );
}

#[test]
fn a_typed_pipeline_merged_after_registration_order_changes_still_runs_in_phase_order() {
    // A typed interceptor in Fallback registered before the dynamic ones in Process: execution
    // order differs from registration order, so the level driver dispatches by index across
    // the typed link and the boxed chain.
    let trace: Trace = Arc::default();
    let typed = plover_core::Pipeline::<u32>::new()
        .intercept(
            Phase::FALLBACK,
            FnInterceptor({
                let trace = trace.clone();
                async move |_: &Call<u32>| {
                    trace.lock().unwrap().push("typed fallback".to_owned());
                    Ok(())
                }
            }),
        )
        .unwrap();
    let mut dynamic = DynPipeline::<u32>::dynamic();
    dynamic.add_interceptor(Phase::PROCESS, step(&trace, "dynamic process")).unwrap();
    dynamic.add_interceptor(Phase::MONITORING, wrapper(&trace, "dynamic monitoring")).unwrap();
    let merged = typed.merge(dynamic).unwrap();

    block_on(merged.execute(1)).unwrap();
    assert_eq!(
        std::mem::take(&mut *trace.lock().unwrap()),
        [
            "dynamic monitoring before",
            "dynamic process",
            "typed fallback",
            "dynamic monitoring after ok"
        ]
    );
}
