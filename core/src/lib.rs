//! plover-core: the host-independent heart of plover.
//!
//! It owns the Ktor-style [`pipeline`] (phases, interceptors, the [`event`] model), the bounded
//! [`queue`]s that join stages, and the record format and replay logic of the durable [`log`].
//! It builds futures and never runs them: each host adapter (`plover-std`, `plover-web`,
//! `plover-embassy`) drives them on its own executor. No allocator is needed unless the `alloc`
//! feature is enabled.
#![no_std]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod acquisition;
pub mod event;
pub mod failure;
pub mod interceptors;
pub mod log;
pub mod overflow;
pub mod pipeline;
pub mod queue;
pub mod stage;
pub mod time;

pub use failure::{Failure, FailureKind};
pub use overflow::Overflow;
pub use pipeline::{Call, Interceptor, Phase, Pipeline, PipelineError, Unhandled};
