//! Wiring the edges: [`pump`] feeds a queue from a [`Source`], [`deliver`] empties a queue into
//! a [`Sink`]. With stages between them this makes source → stages → sink.
//!
//! Both are plain futures for the host to spawn. What they cannot deliver they hand back.

use crate::queue::QueueMutex;

use super::{Delivery, Rejected, Sink, Source};
use crate::queue::{Pushed, Queue};

/// What [`pump`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PumpReport {
    /// Items admitted to the queue (and acknowledged to the source).
    pub admitted: u64,
    /// Items handed back: evicted or refused by the queue's policy, or refused by a closed
    /// queue.
    pub returned: u64,
    /// Whether the pump ended because the queue was closed (otherwise the source ended).
    pub queue_closed: bool,
}

/// Feeds `queue` from `source` until the source ends (then closes the queue) or the queue is
/// closed (a stopped stage).
///
/// An item is acknowledged as soon as the queue admits it: the RAM queue is where "received"
/// ends, and it cannot outlive a crash. Acknowledging only after the far sink handled an item
/// needs the durable log (issue 4) between source and stages. A refused item, and the one that
/// found the queue closed, are not acknowledged, so an at-least-once source delivers them again.
/// Every item handed back — evicted, refused, or turned away — goes to `on_returned`.
///
/// # Errors
///
/// The source's error, from `receive` or `acknowledge`, ends the pump.
///
/// # Cancel safety
///
/// Dropping the future drops an item it received but had not yet admitted; that item was not
/// acknowledged, so an at-least-once source redelivers it.
pub async fn pump<S, M, const N: usize>(
    source: &mut S,
    queue: &Queue<M, S::Item, N>,
    mut on_returned: impl FnMut(S::Item),
) -> Result<PumpReport, S::Error>
where
    S: Source,
    M: QueueMutex,
{
    let mut report = PumpReport::default();
    while let Some(Delivery { item, receipt }) = source.receive().await? {
        match queue.push(item).await {
            Ok(Pushed::Admitted) => {
                report.admitted += 1;
                source.acknowledge(receipt).await?;
            }
            Ok(Pushed::Evicted(old)) => {
                report.admitted += 1;
                report.returned += 1;
                on_returned(old);
                source.acknowledge(receipt).await?;
            }
            Ok(Pushed::Refused(item)) => {
                report.returned += 1;
                on_returned(item);
            }
            Err(closed) => {
                report.returned += 1;
                report.queue_closed = true;
                on_returned(closed.into_inner());
                return Ok(report);
            }
        }
    }

    queue.close();
    Ok(report)
}

/// What [`deliver`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliverReport {
    /// Items the sink took (`send` returned `Ok`).
    pub sent: u64,
    /// How many `flush`es completed, i.e. how many batches the sink reported handled.
    pub flushes: u64,
}

/// Empties `queue` into `sink` in batches of up to `B` items: each batch is sent item by item,
/// then flushed, so the sink says "handled" once per batch. Ends when the queue is closed and
/// drained, after a final flush.
///
/// # Errors
///
/// A failed `send` hands its item, and the rest of its batch, to `on_rejected` and ends the
/// delivery with the sink's error; a failed `flush` ends it with that error. Items still queued
/// stay in the queue.
///
/// # Cancel safety
///
/// Dropping the future drops the items of the batch in hand that were not yet sent.
pub async fn deliver<K, M, T, const N: usize, const B: usize>(
    queue: &Queue<M, T, N>,
    sink: &mut K,
    mut on_rejected: impl FnMut(T),
) -> Result<DeliverReport, K::Error>
where
    K: Sink<T>,
    M: QueueMutex,
{
    let mut report = DeliverReport::default();
    let mut batch: heapless::Vec<T, B> = heapless::Vec::new();

    while queue.pop_many(&mut batch).await > 0 {
        let mut items = batch.drain(..);
        while let Some(item) = items.next() {
            if let Err(Rejected { item, error }) = sink.send(item).await {
                on_rejected(item);
                items.for_each(&mut on_rejected);
                return Err(error);
            }
            report.sent += 1;
        }
        drop(items);

        sink.flush().await?;
        report.flushes += 1;
    }
    Ok(report)
}
