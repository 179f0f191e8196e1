//! A storage wrapper that injects faults: fail after N operations or N bytes, tear a write,
//! flip a bit on its way to storage.
//!
//! Once a failure fires, the wrapper is "dead" (every call fails) until [`FaultStorage::revive`],
//! which models a process that crashed and restarted, unless the plan says the failure is
//! transient. It needs no allocator.

use crate::log::format::CHECKPOINT_LEN;
use crate::log::storage::{SegmentId, Storage};

/// When and how [`FaultStorage`] misbehaves. The default injects nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Fail every operation after this many have succeeded (reads included).
    pub fail_after_ops: Option<u64>,
    /// Tear the write that crosses this many appended bytes: the bytes before the limit reach
    /// storage, the call fails, and the wrapper dies.
    pub fail_after_bytes: Option<u64>,
    /// Flip one bit of the appended byte stream: (index of the byte counted over all appends,
    /// bit number 0..8). The write itself succeeds.
    pub flip_bit: Option<(u64, u8)>,
    /// A fired failure is transient: that one call fails and the wrapper stays alive (a full
    /// disk, an interrupted call) instead of dying like a crashed process.
    pub transient: bool,
}

/// Errors of [`FaultStorage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultError<E> {
    /// A fault planned by the [`FaultPlan`] fired, or the wrapper is dead since one did.
    Injected,
    /// The wrapped storage failed on its own.
    Inner(E),
}

/// Wraps any [`Storage`] and injects the faults of a [`FaultPlan`].
#[derive(Debug, Clone)]
pub struct FaultStorage<S> {
    inner: S,
    plan: FaultPlan,
    ops: u64,
    bytes: u64,
    dead: bool,
    injected: u64,
}

impl<S: Storage> FaultStorage<S> {
    /// Wraps `inner`; faults fire according to `plan`.
    pub fn new(inner: S, plan: FaultPlan) -> Self {
        Self { inner, plan, ops: 0, bytes: 0, dead: false, injected: 0 }
    }

    /// Brings a dead wrapper back with a new plan; counters restart from zero.
    pub fn revive(&mut self, plan: FaultPlan) {
        self.plan = plan;
        self.ops = 0;
        self.bytes = 0;
        self.dead = false;
    }

    /// Whether a failure has fired and not been revived.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// How many faults fired so far (flips included).
    pub fn injected(&self) -> u64 {
        self.injected
    }

    /// The wrapped storage, for inspection.
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the storage.
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn fire(&mut self) {
        self.injected += 1;
        self.dead = !self.plan.transient;
    }

    fn enter(&mut self) -> Result<(), FaultError<S::Error>> {
        if self.dead {
            return Err(FaultError::Injected);
        }
        if self.plan.fail_after_ops.is_some_and(|limit| self.ops >= limit) {
            self.fire();
            self.plan.fail_after_ops = None;
            return Err(FaultError::Injected);
        }
        self.ops += 1;
        Ok(())
    }
}

impl<S: Storage> Storage for FaultStorage<S> {
    type Error = FaultError<S::Error>;

    async fn next_segment(
        &mut self,
        after: Option<SegmentId>,
    ) -> Result<Option<SegmentId>, Self::Error> {
        self.enter()?;
        self.inner.next_segment(after).await.map_err(FaultError::Inner)
    }

    async fn create_segment(&mut self, id: SegmentId) -> Result<(), Self::Error> {
        self.enter()?;
        self.inner.create_segment(id).await.map_err(FaultError::Inner)
    }

    async fn delete_segment(&mut self, id: SegmentId) -> Result<(), Self::Error> {
        self.enter()?;
        self.inner.delete_segment(id).await.map_err(FaultError::Inner)
    }

    async fn segment_len(&mut self, id: SegmentId) -> Result<u64, Self::Error> {
        self.enter()?;
        self.inner.segment_len(id).await.map_err(FaultError::Inner)
    }

    async fn append(&mut self, id: SegmentId, bytes: &[u8]) -> Result<(), Self::Error> {
        self.enter()?;
        let start = self.bytes;
        let end = start + bytes.len() as u64;

        // A tear keeps the prefix below the limit, then the "process" dies.
        let (keep, torn) = match self.plan.fail_after_bytes {
            Some(limit) if end > limit => ((limit.saturating_sub(start)) as usize, true),
            _ => (bytes.len(), false),
        };
        let kept = &bytes[..keep];

        match self.plan.flip_bit {
            Some((at, bit)) if at >= start && at < start + keep as u64 => {
                let i = (at - start) as usize;
                let flipped = [kept[i] ^ (1 << (bit % 8))];
                self.injected += 1;
                self.inner.append(id, &kept[..i]).await.map_err(FaultError::Inner)?;
                self.inner.append(id, &flipped).await.map_err(FaultError::Inner)?;
                self.inner.append(id, &kept[i + 1..]).await.map_err(FaultError::Inner)?;
            }
            _ => self.inner.append(id, kept).await.map_err(FaultError::Inner)?,
        }
        self.bytes += keep as u64;

        if torn {
            self.fire();
            self.plan.fail_after_bytes = None;
            return Err(FaultError::Injected);
        }
        Ok(())
    }

    async fn read(
        &mut self,
        id: SegmentId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, Self::Error> {
        self.enter()?;
        self.inner.read(id, offset, buf).await.map_err(FaultError::Inner)
    }

    async fn seal(&mut self, id: SegmentId, len: u64) -> Result<(), Self::Error> {
        self.enter()?;
        self.inner.seal(id, len).await.map_err(FaultError::Inner)
    }

    async fn is_sealed(&mut self, id: SegmentId) -> Result<bool, Self::Error> {
        self.enter()?;
        self.inner.is_sealed(id).await.map_err(FaultError::Inner)
    }

    async fn sync(&mut self, id: SegmentId) -> Result<(), Self::Error> {
        self.enter()?;
        self.inner.sync(id).await.map_err(FaultError::Inner)
    }

    async fn read_checkpoint(
        &mut self,
        buf: &mut [u8; CHECKPOINT_LEN],
    ) -> Result<bool, Self::Error> {
        self.enter()?;
        self.inner.read_checkpoint(buf).await.map_err(FaultError::Inner)
    }

    async fn write_checkpoint(&mut self, bytes: &[u8; CHECKPOINT_LEN]) -> Result<(), Self::Error> {
        // The checkpoint is atomic by contract, so a fault fails it whole (the old slot stays).
        self.enter()?;
        self.inner.write_checkpoint(bytes).await.map_err(FaultError::Inner)
    }
}
