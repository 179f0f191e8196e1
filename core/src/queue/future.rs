//! The futures returned by the queue's async methods: [`Push`], [`Pop`] and [`PopMany`].
//!
//! Each poll runs one locked step of the queue (see the wake-up protocol in the module docs);
//! the futures themselves hold no lock and no pinned state, so they are all `Unpin`.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::{Closed, Pushed, Queue, QueueMutex, Step};

/// The future of [`Queue::push`]: completes once the item is admitted, evicted-for, refused or
/// turned away by a closed queue.
#[must_use = "futures do nothing unless polled"]
pub struct Push<'a, M: QueueMutex, T, const N: usize> {
    queue: &'a Queue<M, T, N>,
    /// `None` only after the future completed or was cancelled.
    item: Option<T>,
    /// Whether this push has already been counted as a producer wait.
    waited: bool,
}

impl<'a, M: QueueMutex, T, const N: usize> Push<'a, M, T, N> {
    #[inline]
    pub(super) fn new(queue: &'a Queue<M, T, N>, item: T) -> Self {
        Push { queue, item: Some(item), waited: false }
    }

    /// Gives up the push and hands back its item, if the future has not completed yet.
    ///
    /// Use it where a push races a timeout: unlike dropping the future, it loses nothing.
    pub fn cancel(mut self) -> Option<T> {
        self.item.take()
    }
}

// The item is moved in and out by value and never pinned, so `Push` is `Unpin` for any `T`.
impl<M: QueueMutex, T, const N: usize> Unpin for Push<'_, M, T, N> {}

impl<M: QueueMutex, T, const N: usize> Future for Push<'_, M, T, N> {
    type Output = Result<Pushed<T>, Closed<T>>;

    /// # Panics
    ///
    /// If polled again after it completed (the item is gone by then).
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let item = this.item.take().expect("`Push` polled after completion");
        let first_wait = !this.waited;

        match this.queue.push_step(item, Some((cx.waker(), first_wait))) {
            Step::Done(pushed) => Poll::Ready(Ok(pushed)),
            Step::Closed(item) => Poll::Ready(Err(Closed(item))),
            Step::Full(item) => {
                this.item = Some(item);
                this.waited = true;
                Poll::Pending
            }
        }
    }
}

impl<M: QueueMutex, T, const N: usize> core::fmt::Debug for Push<'_, M, T, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Push").field("pending", &self.item.is_some()).finish()
    }
}

/// The future of [`Queue::pop`]: completes with the oldest item, or `None` once the queue is
/// closed and drained.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Pop<'a, M: QueueMutex, T, const N: usize> {
    queue: &'a Queue<M, T, N>,
}

impl<'a, M: QueueMutex, T, const N: usize> Pop<'a, M, T, N> {
    #[inline]
    pub(super) fn new(queue: &'a Queue<M, T, N>) -> Self {
        Pop { queue }
    }
}

impl<M: QueueMutex, T, const N: usize> Future for Pop<'_, M, T, N> {
    type Output = Option<T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match self.queue.pop_step(Some(cx.waker())) {
            Ok(item) => Poll::Ready(Some(item)),
            Err(super::TryPopError::Closed) => Poll::Ready(None),
            Err(super::TryPopError::Empty) => Poll::Pending,
        }
    }
}

/// The future of [`Queue::pop_many`]: completes with how many items it moved into the buffer.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct PopMany<'a, M: QueueMutex, T, const N: usize, const K: usize> {
    queue: &'a Queue<M, T, N>,
    out: &'a mut heapless::Vec<T, K>,
}

impl<'a, M: QueueMutex, T, const N: usize, const K: usize> PopMany<'a, M, T, N, K> {
    #[inline]
    pub(super) fn new(queue: &'a Queue<M, T, N>, out: &'a mut heapless::Vec<T, K>) -> Self {
        PopMany { queue, out }
    }
}

impl<M: QueueMutex, T, const N: usize, const K: usize> Future for PopMany<'_, M, T, N, K> {
    type Output = usize;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = self.get_mut();
        match this.queue.pop_many_step(this.out, Some(cx.waker())) {
            Some(moved) => Poll::Ready(moved),
            None => Poll::Pending,
        }
    }
}
