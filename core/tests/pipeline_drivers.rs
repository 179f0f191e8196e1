//! The three ways a pipeline runs its interceptors must agree on every execution: the typed
//! in-order walk (interceptors registered in phase order), the typed level driver (registered
//! out of phase order, dispatched by index) and the run-time pipeline (`DynPipeline`, boxed).
//! Random scripts of proceeding, waiting, failing, recovering and finishing are run through all
//! three; the traces, outcomes and subjects must be identical.
#![cfg(feature = "alloc")]

use std::sync::{Arc, Mutex};

use futures_lite::future::{block_on, yield_now};
use plover_core::pipeline::DynPipeline;
use plover_core::{Call, Failure, Interceptor, Phase, Pipeline};
use proptest::prelude::*;

type Trace = Arc<Mutex<Vec<String>>>;

/// One thing a scripted interceptor does, in order.
#[derive(Debug, Clone, Copy)]
enum Action {
    /// Appends its id to the subject.
    Touch,
    /// Returns `Pending` once (and wakes itself).
    Yield,
    /// Runs downstream; a failure from there is recovered from (`recover`) or returned.
    Proceed { recover: bool },
    /// Returns a failure.
    Fail,
    /// Finishes the call.
    Finish,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        2 => Just(Action::Touch),
        1 => Just(Action::Yield),
        3 => any::<bool>().prop_map(|recover| Action::Proceed { recover }),
        1 => Just(Action::Fail),
        1 => Just(Action::Finish),
    ]
}

#[derive(Clone)]
struct Scripted {
    id: u8,
    actions: Vec<Action>,
    trace: Trace,
}

impl Scripted {
    fn log(&self, what: String) {
        self.trace.lock().unwrap().push(format!("{} {what}", self.id));
    }
}

impl Interceptor<Vec<u8>> for Scripted {
    async fn intercept(&self, call: &Call<Vec<u8>>) -> Result<(), Failure> {
        self.log("start".into());
        for action in &self.actions {
            match *action {
                Action::Touch => call.with_subject_mut(|s| s.push(self.id)),
                Action::Yield => yield_now().await,
                Action::Proceed { recover } => {
                    let result = call.proceed().await;
                    self.log(format!("proceeded {:?}", result.as_ref().map_err(|f| f.reason())));
                    if let Err(failure) = result
                        && !recover
                    {
                        return Err(failure);
                    }
                }
                Action::Fail => {
                    self.log("fails".into());
                    return Err(Failure::processing("scripted"));
                }
                Action::Finish => call.finish(),
            }
        }
        self.log("end".into());
        Ok(())
    }
}

const PHASES: [Phase; 5] =
    [Phase::ACQUIRE, Phase::MONITORING, Phase::FEATURES, Phase::PROCESS, Phase::FALLBACK];

/// What one execution showed: the trace, and the subject with the failure's reason if any.
type Outcome = (Vec<String>, Result<Vec<u8>, (Vec<u8>, String)>);

fn outcome<F: Future<Output = Result<Vec<u8>, plover_core::Unhandled<Vec<u8>>>>>(
    trace: &Trace,
    execution: F,
) -> Outcome {
    let result = block_on(execution)
        .map_err(|unhandled| (unhandled.subject, unhandled.failure.reason().to_string()));
    (std::mem::take(&mut *trace.lock().unwrap()), result)
}

/// Six interceptors with their phases, in execution order (phases never decrease).
fn scripts() -> impl Strategy<Value = Vec<(usize, Vec<Action>)>> {
    prop::collection::vec((0..PHASES.len(), prop::collection::vec(action(), 0..4)), 6).prop_map(
        |mut scripts| {
            scripts.sort_by_key(|(phase, _)| *phase);
            scripts
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_walk_the_level_driver_and_the_boxed_pipeline_agree(scripts in scripts()) {
        let trace: Trace = Arc::default();
        let make = |i: usize| Scripted {
            id: i as u8,
            actions: scripts[i].1.clone(),
            trace: trace.clone(),
        };
        let phase = |i: usize| PHASES[scripts[i].0];

        // Registered in execution order: the in-order walk.
        let walked = Pipeline::<Vec<u8>>::new()
            .intercept(phase(0), make(0))
            .and_then(|p| p.intercept(phase(1), make(1)))
            .and_then(|p| p.intercept(phase(2), make(2)))
            .and_then(|p| p.intercept(phase(3), make(3)))
            .and_then(|p| p.intercept(phase(4), make(4)))
            .and_then(|p| p.intercept(phase(5), make(5)))
            .unwrap();
        // Registered phase by phase from the last phase back, in execution order within a
        // phase: the same execution order, which the level driver has to work out.
        let mut perm: Vec<usize> = (0..6).collect();
        perm.sort_by_key(|&i| (std::cmp::Reverse(scripts[i].0), i));
        let indexed = Pipeline::<Vec<u8>>::new()
            .intercept(phase(perm[0]), make(perm[0]))
            .and_then(|p| p.intercept(phase(perm[1]), make(perm[1])))
            .and_then(|p| p.intercept(phase(perm[2]), make(perm[2])))
            .and_then(|p| p.intercept(phase(perm[3]), make(perm[3])))
            .and_then(|p| p.intercept(phase(perm[4]), make(perm[4])))
            .and_then(|p| p.intercept(phase(perm[5]), make(perm[5])))
            .unwrap();
        let mut boxed = DynPipeline::<Vec<u8>>::dynamic();
        for i in 0..6 {
            boxed.add_interceptor(phase(i), Box::new(make(i))).unwrap();
        }

        let by_walk = outcome(&trace, walked.execute(Vec::new()));
        let by_index = outcome(&trace, indexed.execute(Vec::new()));
        let by_box = outcome(&trace, boxed.execute(Vec::new()));
        prop_assert_eq!(&by_index, &by_walk);
        prop_assert_eq!(&by_box, &by_walk);
    }
}
