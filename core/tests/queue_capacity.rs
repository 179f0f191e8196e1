//! A capacity chosen at run time (`Queue::with_capacity`) behaves exactly like the type's `N`:
//! every policy acts at that capacity, and impossible capacities are refused.

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use plover_core::Overflow;
use plover_core::queue::{CapacityError, Pushed, Queue, TryPushError};

type Big = Queue<NoopRawMutex, u32, 64>;

#[test]
fn block_is_full_at_the_run_time_capacity() {
    let queue = Big::with_capacity(Overflow::Block, 5).unwrap();
    assert_eq!(queue.capacity(), 5);
    for n in 0..5 {
        assert_eq!(queue.try_push(n), Ok(Pushed::Admitted));
    }
    assert!(queue.is_full());
    assert_eq!(queue.try_push(5), Err(TryPushError::Full(5)));
    assert_eq!(queue.try_pop(), Ok(0));
    assert_eq!(queue.try_push(5), Ok(Pushed::Admitted));
    assert_eq!(queue.len(), 5);
}

#[test]
fn drop_oldest_and_drop_newest_act_at_the_run_time_capacity() {
    let oldest = Big::with_capacity(Overflow::DropOldest, 3).unwrap();
    let newest = Big::with_capacity(Overflow::DropNewest, 3).unwrap();
    for n in 0..3 {
        assert_eq!(oldest.try_push(n), Ok(Pushed::Admitted));
        assert_eq!(newest.try_push(n), Ok(Pushed::Admitted));
    }
    assert_eq!(oldest.try_push(3), Ok(Pushed::Evicted(0)));
    assert_eq!(newest.try_push(3), Ok(Pushed::Refused(3)));
    assert_eq!(oldest.len(), 3);
    assert_eq!(newest.len(), 3);
    assert_eq!(oldest.metrics().evicted, 1);
    assert_eq!(newest.metrics().refused, 1);
}

#[test]
fn zero_or_oversized_capacity_is_refused() {
    assert_eq!(
        Big::with_capacity(Overflow::Block, 0).err(),
        Some(CapacityError { requested: 0, max: 64 })
    );
    assert_eq!(
        Big::with_capacity(Overflow::Block, 65).err(),
        Some(CapacityError { requested: 65, max: 64 })
    );
    assert_eq!(Big::with_capacity(Overflow::Block, 64).map(|q| q.capacity()).ok(), Some(64));
}
