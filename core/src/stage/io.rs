//! The async edges of a pipeline: [`Source`] (where items come from) and [`Sink`] (where they
//! go), with "received" and "handled" kept apart on both.
//!
//! A source hands out an item with a receipt and is told later, by `acknowledge`, that the item
//! was handled; a sink takes items (`send`, "received") and says by `flush` that everything sent
//! so far is handled. Message brokers (NATS JetStream) and the durable log fit this shape.

use core::fmt;
use core::future::Future;

/// One item from a [`Source`], with the receipt that acknowledges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery<T, R> {
    /// The item.
    pub item: T,
    /// What to pass to [`Source::acknowledge`] once the item is handled (a sequence number, a
    /// broker's message id, `()` for sources that need no acknowledgement).
    pub receipt: R,
}

/// What [`Source::receive`] yields: a delivery, `None` once the source is exhausted, or an
/// error.
pub type Received<T, R, E> = Result<Option<Delivery<T, R>>, E>;

/// Where items come from: a file, a broker subscription, a sensor, the durable log.
///
/// # Contract
///
/// - `receive` yields items in the source's order; `Ok(None)` means the source is exhausted
///   for good.
/// - An item counts as *received* when `receive` returns it and as *handled* only when
///   `acknowledge` is called with its receipt. A source that redelivers (at-least-once) must
///   redeliver every received but unacknowledged item after a restart.
/// - Receipts may be acknowledged in any order; a source that only tracks a watermark may treat
///   acknowledging receipt `n` as covering everything before it and must say so.
pub trait Source {
    /// The items produced.
    type Item;
    /// What identifies a delivery for acknowledgement.
    type Receipt;
    /// Why receiving or acknowledging failed.
    type Error;

    /// Waits for the next item.
    ///
    /// # Cancel safety
    ///
    /// Implementations must document it; [`pump`](super::pump) drops this future only when its
    /// own future is dropped.
    fn receive(&mut self)
    -> impl Future<Output = Received<Self::Item, Self::Receipt, Self::Error>>;

    /// Marks the delivery with `receipt` as handled.
    ///
    /// # Cancel safety
    ///
    /// If dropped, the acknowledgement may or may not have been recorded; an at-least-once
    /// source then redelivers the item, which is allowed.
    fn acknowledge(
        &mut self,
        receipt: Self::Receipt,
    ) -> impl Future<Output = Result<(), Self::Error>>;
}

/// A sink refused an item: the item comes back with the reason.
pub struct Rejected<T, E> {
    /// The item that was not taken.
    pub item: T,
    /// Why.
    pub error: E,
}

impl<T, E: fmt::Debug> fmt::Debug for Rejected<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejected").field("error", &self.error).finish_non_exhaustive()
    }
}

/// Where items go: a file, a broker, a downstream service.
///
/// # Contract
///
/// - `send` returning `Ok` means *received*: the sink owns the item now, but may still buffer
///   it. On error the item comes back in [`Rejected`], untouched.
/// - `flush` returning `Ok` means *handled*: every item sent before the call is durable,
///   processed or acknowledged by the far end. Only then may the items' sources be acknowledged.
///
/// Wrong: acknowledging a source right after `send`. Right: `send` a batch, `flush`, then
/// acknowledge the batch.
pub trait Sink<T> {
    /// Why sending or flushing failed.
    type Error;

    /// Takes one item.
    ///
    /// # Cancel safety
    ///
    /// Implementations must document it; [`deliver`](super::deliver) drops this future only
    /// when its own future is dropped, losing the item in hand (see its docs).
    fn send(&mut self, item: T) -> impl Future<Output = Result<(), Rejected<T, Self::Error>>>;

    /// Waits until everything sent so far is handled.
    ///
    /// # Cancel safety
    ///
    /// Dropping it must lose nothing already sent: a later `flush` covers the same items.
    fn flush(&mut self) -> impl Future<Output = Result<(), Self::Error>>;
}
