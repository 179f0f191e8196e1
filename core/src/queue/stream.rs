//! `futures` adapters: a queue read as a [`Stream`] and written as a [`Sink`].
//!
//! Behind the `futures` feature (futures-core and futures-sink, both `no_std`). The adapters
//! borrow the queue and add no buffering beyond the one item a `Sink` holds while it waits; an
//! evicted or refused item comes back as a [`SinkError`], never dropped.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;

use super::{Pushed, Queue, QueueMutex, Step, TryPopError};

impl<M: QueueMutex, T, const N: usize> Queue<M, T, N> {
    /// This queue read as a `futures` [`Stream`]: yields items oldest first and ends once the
    /// queue is closed and drained.
    pub fn stream(&self) -> QueueStream<'_, M, T, N> {
        QueueStream { queue: self }
    }

    /// This queue written as a `futures` [`Sink`]. Closing the sink closes the queue.
    pub fn sink(&self) -> QueueSink<'_, M, T, N> {
        QueueSink { queue: self, pending: None, waited: false }
    }
}

/// A [`Stream`] over a borrowed queue, made by [`Queue::stream`].
///
/// # Cancel safety
///
/// Cancel safe: an item leaves the queue only in the `poll_next` that returns it.
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct QueueStream<'a, M: QueueMutex, T, const N: usize> {
    queue: &'a Queue<M, T, N>,
}

impl<M: QueueMutex, T, const N: usize> Stream for QueueStream<'_, M, T, N> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match self.queue.pop_step(Some(cx.waker())) {
            Ok(item) => Poll::Ready(Some(item)),
            Err(TryPopError::Closed) => Poll::Ready(None),
            Err(TryPopError::Empty) => Poll::Pending,
        }
    }
}

/// Why a [`QueueSink`] hands an item back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SinkError<T> {
    /// The queue is closed; the item was not pushed.
    Closed(T),
    /// `DropOldest`: the new item was admitted and this oldest one was evicted for it.
    Evicted(T),
    /// `DropNewest`: the queue was full and this new item was refused.
    Refused(T),
    /// `start_send` was called while an earlier item still waited for room (the caller skipped
    /// `poll_ready`); this item was not pushed.
    Full(T),
}

impl<T> SinkError<T> {
    /// The item handed back.
    pub fn into_inner(self) -> T {
        match self {
            SinkError::Closed(item)
            | SinkError::Evicted(item)
            | SinkError::Refused(item)
            | SinkError::Full(item) => item,
        }
    }
}

impl<T> fmt::Debug for SinkError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SinkError::Closed(_) => "Closed(..)",
            SinkError::Evicted(_) => "Evicted(..)",
            SinkError::Refused(_) => "Refused(..)",
            SinkError::Full(_) => "Full(..)",
        })
    }
}

impl<T> fmt::Display for SinkError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SinkError::Closed(_) => "the queue is closed",
            SinkError::Evicted(_) => "an old item was evicted to admit the new one",
            SinkError::Refused(_) => "the queue is full and refused the new item",
            SinkError::Full(_) => "the sink was not ready: an earlier item still waits for room",
        })
    }
}

impl<T> core::error::Error for SinkError<T> {}

/// A [`Sink`] into a borrowed queue, made by [`Queue::sink`].
///
/// `start_send` pushes at once; under `Block` an item that finds the queue full is held (one at
/// most) until `poll_ready` or `poll_flush` gets it in. Flushing means "admitted to the queue",
/// not "consumed".
///
/// # Cancel safety
///
/// An item held while the queue is full is dropped with the sink if the sink is dropped before
/// a flush completes; flush before dropping to be sure it is in.
#[must_use = "sinks do nothing unless polled"]
pub struct QueueSink<'a, M: QueueMutex, T, const N: usize> {
    queue: &'a Queue<M, T, N>,
    pending: Option<T>,
    waited: bool,
}

impl<M: QueueMutex, T, const N: usize> QueueSink<'_, M, T, N> {
    /// Maps a finished push step to the sink's result; `Full` puts the item back as pending.
    fn settle(&mut self, step: Step<T>) -> Poll<Result<(), SinkError<T>>> {
        match step {
            Step::Done(Pushed::Admitted) => Poll::Ready(Ok(())),
            Step::Done(Pushed::Evicted(old)) => Poll::Ready(Err(SinkError::Evicted(old))),
            Step::Done(Pushed::Refused(item)) => Poll::Ready(Err(SinkError::Refused(item))),
            Step::Closed(item) => Poll::Ready(Err(SinkError::Closed(item))),
            Step::Full(item) => {
                self.pending = Some(item);
                Poll::Pending
            }
        }
    }

    /// Gets the held item, if any, into the queue.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SinkError<T>>> {
        let Some(item) = self.pending.take() else { return Poll::Ready(Ok(())) };
        let step = self.queue.push_step(item, Some((cx.waker(), !self.waited)));
        self.waited = true;
        self.settle(step)
    }
}

impl<M: QueueMutex, T, const N: usize> Unpin for QueueSink<'_, M, T, N> {}

impl<M: QueueMutex, T, const N: usize> Sink<T> for QueueSink<'_, M, T, N> {
    type Error = SinkError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_pending(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let this = self.get_mut();
        if this.pending.is_some() {
            return Err(SinkError::Full(item));
        }

        this.waited = false;
        match this.settle(this.queue.push_step(item, None)) {
            Poll::Ready(result) => result,
            // Held as pending; `poll_ready` / `poll_flush` will push it and count the wait.
            Poll::Pending => Ok(()),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_pending(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        let flushed = this.poll_pending(cx);
        if flushed.is_ready() {
            this.queue.close();
        }
        flushed
    }
}

impl<M: QueueMutex, T, const N: usize> fmt::Debug for QueueSink<'_, M, T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueSink").field("holding", &self.pending.is_some()).finish()
    }
}
