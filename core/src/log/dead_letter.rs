//! [`DeadLetterLog`]: a durable log of failed events with the reason they failed.
//!
//! Fallback writes here; an operator lists the entries and replays them into the pipeline
//! later, acknowledging each once it was handed back. It is a [`Log`] of [`DeadLetter`] records.

use core::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::log::{Checkpoint, Log, LogError, Reader, Start, Storage};

/// The longest reason kept, in bytes; longer reasons are cut at a character boundary.
pub const MAX_REASON_LEN: usize = 128;

/// One failed event and why it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter<T> {
    /// Why the event failed, as the failing phase said it.
    pub reason: heapless::String<MAX_REASON_LEN>,
    /// The event as it was handed to the pipeline.
    pub event: T,
}

fn clip(reason: &str) -> heapless::String<MAX_REASON_LEN> {
    let mut end = reason.len().min(MAX_REASON_LEN);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = heapless::String::new();
    // Cannot fail: `end <= MAX_REASON_LEN`.
    let _ = out.push_str(&reason[..end]);
    out
}

/// A durable log of failed events; `N` is its record buffer size.
#[derive(Debug)]
pub struct DeadLetterLog<S: Storage, T, const N: usize> {
    log: Log<S>,
    scratch: [u8; N],
    _events: PhantomData<fn(T) -> T>,
}

impl<S, T, const N: usize> DeadLetterLog<S, T, N>
where
    S: Storage,
    T: Serialize + DeserializeOwned,
{
    /// Wraps an opened log (its own storage, not the pipeline's queue).
    pub fn new(log: Log<S>) -> Self {
        DeadLetterLog { log, scratch: [0u8; N], _events: PhantomData }
    }

    /// Gives the log back.
    pub fn into_log(self) -> Log<S> {
        self.log
    }

    /// Records a failed event with its reason; durable on return. Returns its seq.
    ///
    /// # Errors
    ///
    /// As [`Log::append`] and [`Log::sync`].
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as [`Log::append`]: the entry may or may not have been recorded.
    pub async fn record(&mut self, event: T, reason: &str) -> Result<u64, LogError<S::Error>> {
        let letter = DeadLetter { reason: clip(reason), event };
        let seq = self.log.append(&letter, &mut self.scratch).await?;
        self.log.sync().await?;
        Ok(seq)
    }

    /// A reader over the entries: `Start::Unacknowledged` lists those not yet replayed,
    /// `Start::Oldest` everything still stored.
    ///
    /// # Errors
    ///
    /// As [`Log::reader`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn reader(&mut self, start: Start) -> Result<Reader<[u8; N]>, LogError<S::Error>> {
        self.log.reader(start, [0u8; N]).await
    }

    /// The next entry for `reader`, or `None` at the end.
    ///
    /// # Errors
    ///
    /// As [`Log::read_value`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Log::read`].
    pub async fn next(
        &mut self,
        reader: &mut Reader<[u8; N]>,
    ) -> Result<Option<(u64, DeadLetter<T>)>, LogError<S::Error>> {
        self.log.read_value(reader).await
    }

    /// Marks every entry `<= seq` as replayed: it will not be listed as unacknowledged again.
    ///
    /// # Errors
    ///
    /// As [`Log::ack`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Log::ack`].
    pub async fn ack(&mut self, seq: u64) -> Result<(), LogError<S::Error>> {
        self.log.ack(seq).await
    }

    /// Replays every unacknowledged entry into `handle`, in order, acknowledging each after
    /// `handle` accepts it (returns `true`); stops at the first refusal. Returns how many were
    /// replayed.
    ///
    /// # Errors
    ///
    /// As [`Log::read_value`] and [`Log::ack`]; entries replayed before the error stay
    /// acknowledged.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an entry handed to `handle` but not yet acknowledged is replayed again.
    pub async fn replay(
        &mut self,
        mut handle: impl AsyncFnMut(u64, DeadLetter<T>) -> bool,
    ) -> Result<u64, LogError<S::Error>> {
        let mut reader = self.reader(Start::Unacknowledged).await?;
        let mut count = 0;
        while let Some((seq, letter)) = self.next(&mut reader).await? {
            if !handle(seq, letter).await {
                break;
            }
            self.ack(seq).await?;
            count += 1;
        }
        Ok(count)
    }

    /// Entries not yet replayed (seq gaps from damage included).
    pub fn len(&self) -> u64 {
        self.log.unacked_records()
    }

    /// Whether every entry was replayed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The replay position.
    pub fn checkpoint(&self) -> Checkpoint {
        self.log.acked()
    }
}
