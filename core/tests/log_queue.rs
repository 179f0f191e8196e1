//! The durable queue's overflow policies and restart behaviour, and the dead-letter log, on the
//! in-memory backend.

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use futures_lite::future::{block_on, zip};
use plover_core::Overflow;
use plover_core::log::{
    Capacity, DeadLetterLog, DurableQueue, Log, LogConfig, MemStorage, QueueError, Start,
};

const CONFIG: LogConfig = LogConfig { segment_size: 512, max_payload: 200 };
const N: usize = 256;

type Queue = DurableQueue<CriticalSectionRawMutex, MemStorage, (u32, String), N>;

fn open_log(storage: MemStorage) -> Log<MemStorage> {
    block_on(Log::open(storage, CONFIG, &mut [0u8; N])).expect("open")
}

fn queue(storage: MemStorage, capacity: Capacity, overflow: Overflow) -> Queue {
    block_on(Queue::new(open_log(storage), capacity, overflow)).expect("queue")
}

fn item(i: u32) -> (u32, String) {
    (i, format!("event {i}"))
}

#[test]
fn block_waits_for_an_ack_then_admits() {
    let q = queue(MemStorage::new(), Capacity::Records(3), Overflow::Block);
    block_on(async {
        for i in 0..3 {
            q.push(&item(i)).await.expect("push");
        }
        let fourth = item(3);
        let producer = q.push(&fourth);
        let consumer = async {
            let (seq, value) = q.recv().await.expect("recv");
            assert_eq!(value, item(0));
            q.ack(seq).await.expect("ack");
        };
        let (pushed, ()) = zip(producer, consumer).await;
        assert_eq!(pushed.expect("push after ack"), 4);
        assert_eq!(q.len().await, 3);
    });
}

#[test]
fn drop_newest_refuses_when_full() {
    let q = queue(MemStorage::new(), Capacity::Records(2), Overflow::DropNewest);
    block_on(async {
        q.push(&item(0)).await.expect("push");
        q.push(&item(1)).await.expect("push");
        assert_eq!(q.push(&item(2)).await, Err(QueueError::Full));
        assert_eq!(q.try_recv().await.expect("recv").map(|r| r.1), Some(item(0)));
    });
}

#[test]
fn drop_oldest_acknowledges_the_oldest_as_dropped_and_counts_it() {
    let q = queue(MemStorage::new(), Capacity::Records(2), Overflow::DropOldest);
    block_on(async {
        q.push(&item(0)).await.expect("push");
        q.push(&item(1)).await.expect("push");
        let mut evicted = Vec::new();
        q.push_evicting(&item(2), |seq, value| evicted.push((seq, value))).await.expect("push");
        assert_eq!(evicted, vec![(1, item(0))], "the evicted item is handed back");
        assert_eq!(q.dropped().await, 1);
        assert_eq!(q.try_recv().await.expect("recv").map(|r| r.1), Some(item(1)));
        assert_eq!(q.try_recv().await.expect("recv").map(|r| r.1), Some(item(2)));
    });
}

#[test]
fn byte_capacity_counts_record_bytes() {
    // Each record: 20 header + 1 (u32 varint) + 1 (len) + 7 ("event n") = 29 bytes.
    let q = queue(MemStorage::new(), Capacity::Bytes(60), Overflow::DropNewest);
    block_on(async {
        q.push(&item(1)).await.expect("push");
        q.push(&item(2)).await.expect("push");
        assert_eq!(q.unacked_bytes().await, 58);
        assert_eq!(q.push(&item(3)).await, Err(QueueError::Full));
        let (seq, _) = q.recv().await.expect("recv");
        q.ack(seq).await.expect("ack");
        assert_eq!(q.unacked_bytes().await, 29);
        q.push(&item(3)).await.expect("room after ack");
    });
}

#[test]
fn unacknowledged_items_come_back_after_restart_in_order() {
    let q = queue(MemStorage::new(), Capacity::Records(100), Overflow::Block);
    let storage = block_on(async {
        for i in 0..10 {
            q.push(&item(i)).await.expect("push");
        }
        for _ in 0..4 {
            let (seq, _) = q.recv().await.expect("recv");
            q.ack(seq).await.expect("ack");
        }
        // Handed out but not acknowledged: must come back.
        q.recv().await.expect("recv");
        q.into_log().into_storage()
    });
    let q = queue(storage, Capacity::Records(100), Overflow::Block);
    block_on(async {
        let mut got = Vec::new();
        while let Some((seq, value)) = q.try_recv().await.expect("recv") {
            got.push((seq, value.0));
        }
        assert_eq!(got, (4..10).map(|i| (u64::from(i) + 1, i)).collect::<Vec<_>>());
        assert_eq!(q.unacked_bytes().await, 6 * 29);
    });
}

#[test]
fn dead_letters_are_listed_with_reasons_and_replayed_once() {
    let mut dlq: DeadLetterLog<MemStorage, (u32, String), N> =
        DeadLetterLog::new(open_log(MemStorage::new()));
    block_on(async {
        dlq.record(item(7), "validation failed: missing field").await.expect("record");
        dlq.record(item(8), &"x".repeat(500)).await.expect("a long reason is clipped");
        assert_eq!(dlq.len(), 2);

        let mut reader = dlq.reader(Start::Oldest).await.expect("reader");
        let (_, first) = dlq.next(&mut reader).await.expect("next").expect("entry");
        assert_eq!(
            (first.event, first.reason.as_str()),
            (item(7), "validation failed: missing field")
        );
        let (_, second) = dlq.next(&mut reader).await.expect("next").expect("entry");
        assert_eq!(second.reason.len(), plover_core::log::MAX_REASON_LEN);

        let mut replayed = Vec::new();
        let count = dlq
            .replay(async |_, letter| {
                replayed.push(letter.event.0);
                true
            })
            .await
            .expect("replay");
        assert_eq!((count, replayed), (2, vec![7, 8]));
        assert!(dlq.is_empty());

        let storage = dlq.into_log().into_storage();
        let mut dlq: DeadLetterLog<MemStorage, (u32, String), N> =
            DeadLetterLog::new(open_log(storage));
        let again = dlq.replay(async |_, _| true).await.expect("replay after restart");
        assert_eq!(again, 0, "replayed entries are not replayed again");
    });
}

#[test]
fn zero_capacity_refuses_instead_of_spinning() {
    for overflow in Overflow::ALL {
        let q = queue(MemStorage::new(), Capacity::Records(0), overflow);
        assert_eq!(block_on(q.push(&item(1))), Err(QueueError::TooLarge), "{overflow:?}");
        let q = queue(MemStorage::new(), Capacity::Bytes(10), overflow);
        assert_eq!(block_on(q.push(&item(1))), Err(QueueError::TooLarge), "{overflow:?}");
    }
}

#[test]
fn acking_each_item_as_received_lets_the_reader_leave_a_deleted_segment() {
    // Found on flash: the ack that completes a segment deletes it while the reader still sits
    // after its last record; the next receive must go on in the following segment.
    let q = queue(MemStorage::new(), Capacity::Records(1000), Overflow::Block);
    for i in 0..40 {
        block_on(q.push(&item(i))).expect("push");
    }
    for i in 0..40 {
        let (seq, value) = block_on(q.try_recv()).expect("recv").expect("an item");
        assert_eq!(value, item(i));
        block_on(q.ack(seq)).expect("ack");
    }
    assert!(block_on(q.try_recv()).expect("recv").is_none());
}
