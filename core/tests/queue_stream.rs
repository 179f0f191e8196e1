//! The `futures` adapters of `Queue` (feature `futures`): a queue read as a `Stream` and
//! written as a `Sink`, with evicted and refused items handed back as `SinkError`s.
//!
//! Run with `cargo test -p plover-core --features futures --test queue_stream`.
#![cfg(feature = "futures")]

use std::future::poll_fn;
use std::pin::Pin;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use futures_lite::StreamExt;
use futures_lite::future::{block_on, zip};
use futures_sink::Sink;
use plover_core::Overflow;
use plover_core::queue::{Queue, SinkError};

/// Sends one item the way `SinkExt::send` does: ready, start_send, flush.
async fn send<S: Sink<u32> + Unpin>(sink: &mut S, item: u32) -> Result<(), S::Error> {
    poll_fn(|cx| Pin::new(&mut *sink).poll_ready(cx)).await?;
    Pin::new(&mut *sink).start_send(item)?;
    poll_fn(|cx| Pin::new(&mut *sink).poll_flush(cx)).await
}

#[test]
fn a_stream_yields_items_in_order_and_ends_when_closed_and_drained() {
    let queue: Queue<NoopRawMutex, u32, 4> = Queue::new(Overflow::Block);
    for item in 0..3 {
        let _ = queue.try_push(item);
    }
    queue.close();
    let items: Vec<u32> = block_on(queue.stream().collect());
    assert_eq!(items, vec![0, 1, 2]);
}

#[test]
fn a_sink_into_a_block_queue_waits_for_room_and_loses_nothing() {
    let queue: Queue<NoopRawMutex, u32, 2> = Queue::new(Overflow::Block);
    let producer = async {
        let mut sink = queue.sink();
        for item in 0..50 {
            send(&mut sink, item).await.unwrap();
        }
        poll_fn(|cx| Pin::new(&mut sink).poll_close(cx)).await.unwrap();
    };
    let ((), items) = block_on(zip(producer, queue.stream().collect::<Vec<u32>>()));
    assert_eq!(items, (0..50).collect::<Vec<_>>());
    assert!(queue.metrics().producer_waits > 0);
}

#[test]
fn a_sink_hands_back_evicted_and_refused_items_as_errors() {
    let oldest: Queue<NoopRawMutex, u32, 1> = Queue::new(Overflow::DropOldest);
    let mut sink = oldest.sink();
    assert!(block_on(send(&mut sink, 1)).is_ok());
    let evicted = block_on(send(&mut sink, 2)).unwrap_err();
    assert!(matches!(evicted, SinkError::Evicted(1)));

    let newest: Queue<NoopRawMutex, u32, 1> = Queue::new(Overflow::DropNewest);
    let mut sink = newest.sink();
    assert!(block_on(send(&mut sink, 1)).is_ok());
    assert_eq!(block_on(send(&mut sink, 2)).unwrap_err().into_inner(), 2);

    newest.close();
    assert!(matches!(block_on(send(&mut sink, 3)), Err(SinkError::Closed(3))));
}
