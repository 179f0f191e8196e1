//! [`DurableQueue`]: a bounded queue whose items live in a [`Log`], with the RAM queue's
//! three overflow policies and a capacity in records or bytes.
//!
//! Items stay in the log until acknowledged; a restarted queue hands out every unacknowledged
//! item again, in order. Waiting (Block, `recv`) uses generation counters so no wake-up is lost.

use core::cell::RefCell;
use core::future::poll_fn;
use core::marker::PhantomData;
use core::task::Poll;

use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::mutex::Mutex;
use embassy_sync::waitqueue::MultiWakerRegistration;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Overflow;
use crate::log::format::RECORD_HEADER_LEN;
use crate::log::{Checkpoint, Log, LogError, Reader, Start, Storage};

/// How many tasks may wait at once before waiters are woken in bulk (they re-register).
const WAITERS: usize = 8;

/// The bound of a durable queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// At most this many unacknowledged records.
    Records(u64),
    /// At most this many unacknowledged bytes (record headers included).
    Bytes(u64),
}

/// Errors of the durable queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError<E> {
    /// The queue is full and its policy is [`Overflow::DropNewest`]: the item was refused
    /// (the caller still holds it).
    Full,
    /// The record is larger than the whole capacity (or the capacity is zero): no policy could
    /// ever admit it.
    TooLarge,
    /// The log failed.
    Log(LogError<E>),
}

impl<E> From<LogError<E>> for QueueError<E> {
    fn from(e: LogError<E>) -> Self {
        QueueError::Log(e)
    }
}

struct Inner<S: Storage, const N: usize> {
    log: Log<S>,
    reader: Reader<[u8; N]>,
    scratch: [u8; N],
    unacked_bytes: u64,
    dropped: u64,
}

struct Wait {
    wakers: MultiWakerRegistration<WAITERS>,
    generation: u64,
}

impl Wait {
    const fn new() -> Self {
        Wait { wakers: MultiWakerRegistration::new(), generation: 0 }
    }
}

/// A durable, bounded queue of `T` over a log; `N` is the size of its two record buffers
/// (at least `RECORD_HEADER_LEN + max_payload`).
///
/// Share it by reference between producer and consumer tasks; `M` picks the mutex kind as in
/// embassy-sync.
pub struct DurableQueue<M: RawMutex, S: Storage, T, const N: usize> {
    inner: Mutex<M, Inner<S, N>>,
    space: BlockingMutex<M, RefCell<Wait>>,
    items: BlockingMutex<M, RefCell<Wait>>,
    capacity: Capacity,
    overflow: Overflow,
    _items: PhantomData<fn(T) -> T>,
}

impl<M: RawMutex, S: Storage, T, const N: usize> core::fmt::Debug for DurableQueue<M, S, T, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DurableQueue")
            .field("capacity", &self.capacity)
            .field("overflow", &self.overflow)
            .finish_non_exhaustive()
    }
}

fn bump<M: RawMutex>(wait: &BlockingMutex<M, RefCell<Wait>>) {
    wait.lock(|w| {
        let mut w = w.borrow_mut();
        w.generation += 1;
        w.wakers.wake();
    });
}

fn generation<M: RawMutex>(wait: &BlockingMutex<M, RefCell<Wait>>) -> u64 {
    wait.lock(|w| w.borrow().generation)
}

async fn changed<M: RawMutex>(wait: &BlockingMutex<M, RefCell<Wait>>, seen: u64) {
    poll_fn(|cx| {
        wait.lock(|w| {
            let mut w = w.borrow_mut();
            if w.generation != seen {
                Poll::Ready(())
            } else {
                w.wakers.register(cx.waker());
                Poll::Pending
            }
        })
    })
    .await;
}

impl<M, S, T, const N: usize> DurableQueue<M, S, T, N>
where
    M: RawMutex,
    S: Storage,
    T: Serialize + DeserializeOwned,
{
    /// Makes a queue over an opened log. Unacknowledged records in it are the queue's items
    /// and will be received first; their bytes are counted by reading them once.
    ///
    /// # Errors
    ///
    /// [`LogError::BufferTooSmall`] if `N` cannot hold the log's largest record; storage
    /// errors while counting.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn new(
        mut log: Log<S>,
        capacity: Capacity,
        overflow: Overflow,
    ) -> Result<Self, QueueError<S::Error>> {
        let mut counter = log.reader(Start::Unacknowledged, [0u8; N]).await?;
        let mut unacked_bytes = 0;
        while let Some(record) = log.read(&mut counter).await? {
            unacked_bytes += record.encoded_len() as u64;
        }
        let reader = log.reader(Start::Unacknowledged, [0u8; N]).await?;
        let inner = Inner { log, reader, scratch: [0u8; N], unacked_bytes, dropped: 0 };
        Ok(DurableQueue {
            inner: Mutex::new(inner),
            space: BlockingMutex::new(RefCell::new(Wait::new())),
            items: BlockingMutex::new(RefCell::new(Wait::new())),
            capacity,
            overflow,
            _items: PhantomData,
        })
    }

    /// Gives the log back.
    pub fn into_log(self) -> Log<S> {
        self.inner.into_inner().log
    }

    /// Appends an item and returns its sequence number; durable (synced) on return. When the
    /// queue is full, the policy decides: [`Overflow::Block`] waits for acknowledgements,
    /// [`Overflow::DropNewest`] refuses with [`QueueError::Full`], [`Overflow::DropOldest`]
    /// acknowledges the oldest items as dropped and counts them (see
    /// [`DurableQueue::push_evicting`] to receive them).
    ///
    /// # Errors
    ///
    /// [`QueueError::Full`], [`QueueError::TooLarge`], [`QueueError::Log`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe while waiting for space (nothing was written). Once the write started,
    /// dropping the future may leave the item in the log without its seq being known.
    pub async fn push(&self, item: &T) -> Result<u64, QueueError<S::Error>> {
        self.push_evicting(item, |_, _| {}).await
    }

    /// As [`DurableQueue::push`]; under [`Overflow::DropOldest`] each evicted item is handed to
    /// `evicted` with its seq (for example to write it to a dead-letter log) before it is
    /// acknowledged as dropped.
    ///
    /// # Errors
    ///
    /// As [`DurableQueue::push`].
    ///
    /// # Cancel safety
    ///
    /// As [`DurableQueue::push`]; an eviction already handed over stays acknowledged.
    pub async fn push_evicting(
        &self,
        item: &T,
        mut evicted: impl FnMut(u64, T),
    ) -> Result<u64, QueueError<S::Error>> {
        loop {
            let seen = generation(&self.space);
            {
                let mut guard = self.inner.lock().await;
                let inner = &mut *guard;
                let len = Self::encode(inner, item)?;
                let needed = (RECORD_HEADER_LEN + len) as u64;
                let never_fits = match self.capacity {
                    Capacity::Bytes(max) => needed > max,
                    Capacity::Records(max) => max == 0,
                };
                if never_fits {
                    return Err(QueueError::TooLarge);
                }
                let mut freed = false;
                while !self.has_room(inner, needed) {
                    match self.overflow {
                        Overflow::Block => break,
                        Overflow::DropNewest => return Err(QueueError::Full),
                        Overflow::DropOldest => {
                            let before = (inner.log.acked(), inner.unacked_bytes);
                            self.evict_oldest(inner, &mut evicted).await?;
                            if (inner.log.acked(), inner.unacked_bytes) == before {
                                // Nothing left to evict yet still no room: refuse rather than
                                // spin (cannot happen while the counts are consistent).
                                return Err(QueueError::Full);
                            }
                            freed = true;
                        }
                    }
                }
                if freed {
                    bump(&self.space);
                }
                if self.has_room(inner, needed) {
                    let seq = inner.log.append(item, &mut inner.scratch).await?;
                    inner.log.sync().await?;
                    inner.unacked_bytes += needed;
                    drop(guard);
                    bump(&self.items);
                    return Ok(seq);
                }
            }
            // Full under Block: wait for an acknowledgement after `seen`, then look again.
            changed(&self.space, seen).await;
        }
    }

    /// The encoded payload length of `item` (encoding into scratch to measure it).
    fn encode(inner: &mut Inner<S, N>, item: &T) -> Result<usize, QueueError<S::Error>> {
        let tail = inner.scratch.get_mut(RECORD_HEADER_LEN..).unwrap_or_default();
        let out = postcard::to_slice(item, tail).map_err(|_| QueueError::Log(LogError::Encode))?;
        Ok(out.len())
    }

    fn has_room(&self, inner: &Inner<S, N>, needed: u64) -> bool {
        match self.capacity {
            Capacity::Records(max) => inner.log.unacked_records() < max,
            Capacity::Bytes(max) => inner.unacked_bytes + needed <= max,
        }
    }

    async fn evict_oldest(
        &self,
        inner: &mut Inner<S, N>,
        evicted: &mut impl FnMut(u64, T),
    ) -> Result<(), QueueError<S::Error>> {
        let acked = inner.log.acked();
        let mut oldest = inner.log.reader(Start::Resume(acked), &mut inner.scratch[..]).await?;
        let Some(record) = inner.log.read(&mut oldest).await? else {
            // Nothing readable is unacknowledged, yet the count says full: the count includes
            // seqs lost to damage. Acknowledge through the last seq to clear them.
            let last = inner.log.last_seq();
            inner.log.ack(last).await?;
            inner.unacked_bytes = 0;
            return Ok(());
        };
        let (seq, size) = (record.seq, record.encoded_len() as u64);
        let value = postcard::from_bytes::<T>(record.payload).ok();
        inner.log.ack(seq).await?;
        inner.unacked_bytes = inner.unacked_bytes.saturating_sub(size);
        inner.dropped += 1;
        if let Some(value) = value {
            evicted(seq, value);
        }
        Ok(())
    }

    /// Takes the next item that was not yet handed out, if any. It stays in the log until
    /// [`DurableQueue::ack`] covers it.
    ///
    /// # Errors
    ///
    /// [`QueueError::Log`]; a record that does not decode as `T` is reported with its seq
    /// ([`LogError::Decode`]) and the queue moves past it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an item is handed out only when the future completes.
    pub async fn try_recv(&self) -> Result<Option<(u64, T)>, QueueError<S::Error>> {
        let mut guard = self.inner.lock().await;
        let inner = &mut *guard;
        loop {
            let acked = inner.log.acked().0;
            match inner.log.read_value::<T, _>(&mut inner.reader).await? {
                // Dropped (acknowledged) while waiting: not an item any more.
                Some((seq, _)) if seq <= acked => continue,
                other => return Ok(other),
            }
        }
    }

    /// Waits for the next item.
    ///
    /// # Errors
    ///
    /// As [`DurableQueue::try_recv`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`DurableQueue::try_recv`].
    pub async fn recv(&self) -> Result<(u64, T), QueueError<S::Error>> {
        loop {
            let seen = generation(&self.items);
            if let Some(item) = self.try_recv().await? {
                return Ok(item);
            }
            changed(&self.items, seen).await;
        }
    }

    /// Acknowledges every item with a seq `<= seq`: handled (processed or dead-lettered), never
    /// handed out again, not even after a restart. Frees space for blocked producers.
    ///
    /// # Errors
    ///
    /// As [`Log::ack`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Log::ack`].
    pub async fn ack(&self, seq: u64) -> Result<(), QueueError<S::Error>> {
        let mut guard = self.inner.lock().await;
        let inner = &mut *guard;
        let before = inner.log.acked();
        if seq <= before.0 {
            return Ok(());
        }
        // Count the bytes being released by reading them once more (from cache, usually).
        let mut released = 0u64;
        let mut walk = inner.log.reader(Start::Resume(before), &mut inner.scratch[..]).await?;
        while let Some(record) = inner.log.read(&mut walk).await? {
            if record.seq > seq {
                break;
            }
            released += record.encoded_len() as u64;
        }
        inner.log.ack(seq).await?;
        inner.unacked_bytes = inner.unacked_bytes.saturating_sub(released);
        drop(guard);
        bump(&self.space);
        Ok(())
    }

    /// Items handed in and not yet acknowledged (seq gaps from damage included).
    pub async fn len(&self) -> u64 {
        self.inner.lock().await.log.unacked_records()
    }

    /// Whether no unacknowledged item remains.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    /// Bytes of unacknowledged items, record headers included.
    pub async fn unacked_bytes(&self) -> u64 {
        self.inner.lock().await.unacked_bytes
    }

    /// Items dropped by [`Overflow::DropOldest`] since this queue was made.
    pub async fn dropped(&self) -> u64 {
        self.inner.lock().await.dropped
    }

    /// The acknowledged position, to resume from.
    pub async fn checkpoint(&self) -> Checkpoint {
        self.inner.lock().await.log.acked()
    }
}
