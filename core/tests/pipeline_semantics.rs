//! Ktor's execution semantics, one test per rule: proceed nesting, proceed_with, finish,
//! continuing without proceed, failures travelling outward, fail-forward recovery, and
//! cancellation that is never a failure. Here most pipelines register interceptors in phase
//! order, so execution walks the typed chain in order.

use std::sync::Mutex;

use futures_lite::future::{block_on, poll_once};
#[cfg(feature = "alloc")]
use plover_core::pipeline::MAX_INTERCEPTORS;
use plover_core::{Call, Failure, Phase, Pipeline, PipelineError, Unhandled};

/// A pipeline with the default phases and no interceptors.
fn new_pipeline<S>() -> Pipeline<S> {
    Pipeline::new()
}

include!("common/semantics.rs");
