//! What a stage runs per item: the [`Handler`] contract, and [`FnHandler`] for closures.
//!
//! [`Pipeline`](crate::Pipeline) implements `Handler` (its output is the executed subject, or
//! the `Unhandled` failure holding it); simple stages use an async closure wrapped in
//! `FnHandler`.

use core::future::Future;

/// Turns one input item into one output item, asynchronously.
///
/// # Contract
///
/// - `handle` is called once per item, in the order the worker took the items; with one worker
///   its calls never overlap, with several they may (so it takes `&self`).
/// - Every item yields exactly one output: failures are part of `Out` (for a pipeline, an event
///   marked failed), not a reason to drop the item.
/// - The returned future may be dropped before it completes, when a stop's drain deadline
///   passes; the item it owned is then gone and the stage counts it as `cancelled`. A handler
///   that must not lose items on cancellation should keep them somewhere durable first.
///
/// The future is not required to be `Send`; a host with a multi-threaded executor runs each
/// stage's worker as a local task or picks a handler whose futures happen to be `Send`.
pub trait Handler<In> {
    /// What the stage pushes to its output queue for each item.
    type Out;

    /// Handles one item.
    fn handle(&self, item: In) -> impl Future<Output = Self::Out>;
}

/// A [`Handler`] made from a function that returns a future, e.g. `|x| async move { x + 1 }`.
#[derive(Debug, Clone, Copy)]
pub struct FnHandler<F>(pub F);

impl<In, F, Fut> Handler<In> for FnHandler<F>
where
    F: Fn(In) -> Fut,
    Fut: Future,
{
    type Out = Fut::Output;

    fn handle(&self, item: In) -> impl Future<Output = Fut::Output> {
        (self.0)(item)
    }
}
