//! The same semantic cases as `pipeline_semantics.rs`, on pipelines whose first interceptor is
//! a no-op in Fallback: execution order then differs from registration order, so every case
//! runs through the level driver that dispatches interceptors by index.

use std::sync::Mutex;

use futures_lite::future::{block_on, poll_once};
#[cfg(feature = "alloc")]
use plover_core::pipeline::MAX_INTERCEPTORS;
use plover_core::{Call, Failure, Phase, Pipeline, PipelineError, Unhandled};

use plover_core::Interceptor;
use plover_core::pipeline::Link;

/// Does nothing; registered first, in the last phase, it puts execution order out of
/// registration order.
struct Noop;

impl<S> Interceptor<S> for Noop {
    async fn intercept(&self, _call: &Call<S>) -> Result<(), Failure> {
        Ok(())
    }
}

/// A pipeline with the default phases and a no-op interceptor in Fallback.
fn new_pipeline<S>() -> Pipeline<S, Link<Noop, ()>> {
    Pipeline::new().intercept(Phase::FALLBACK, Noop).unwrap()
}

include!("common/semantics.rs");
