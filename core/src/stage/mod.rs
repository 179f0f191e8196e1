//! Stages: async workers that join queues, and the traits at a pipeline's edges.
//!
//! This module owns the [`Stage`] worker and its lifecycle ([`Control`], [`Lifecycle`]), the
//! [`Handler`] a stage runs per item, the [`Source`] and [`Sink`] traits with [`pump`] and
//! [`deliver`] to wire them to queues, and the host's [`Timer`]. It builds futures only; each
//! host adapter spawns them on its executor.
//!
//! A typical wiring, every arrow a [`Queue`](crate::queue::Queue):
//!
//! ```text
//!   Source --pump--> q0 --Stage(handler A)--> q1 --Stage(handler B)--> q2 --deliver--> Sink
//! ```
//!
//! Shutting down is a cascade: stopping the first stage closes `q0` (the pump then ends), the
//! stage drains and closes `q1`, which ends the next stage once drained, and so on to the sink.

mod control;
mod handler;
mod io;
mod wire;
mod worker;

pub use crate::time::Timer;
pub use control::{Control, Lifecycle};
pub use handler::{FnHandler, Handler};
pub use io::{Delivery, Received, Rejected, Sink, Source};
pub use wire::{DeliverReport, PumpReport, deliver, pump};
pub use worker::{Left, Stage, StopReport};
