//! What FlashStorage promises beyond the conformance suite: wear spread over every page,
//! appends that go on in the same page after a restart, seals that survive one, DropOldest
//! freeing flash a page at a time, and regions it refuses.

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use futures_lite::future::block_on;
use plover_core::Overflow;
use plover_core::log::{DurableQueue, Log, QueueError, Start, Storage};
use plover_embassy::{FlashError, FlashStorage, MockFlash};

type Flash = MockFlash<Vec<u8>, 256, 4>;
type Flashed = FlashStorage<Flash, 8>;

const PAGES: u32 = 10;
const REGION: core::ops::Range<u32> = 0..PAGES * 256;

fn mount(flash: Flash) -> Flashed {
    block_on(FlashStorage::mount(flash, REGION)).expect("mount")
}

fn open(storage: Flashed) -> Log<Flashed> {
    let mut buf = [0u8; 64];
    block_on(Log::open(storage, Flashed::log_config(32), &mut buf)).expect("open")
}

fn blank() -> Flash {
    Flash::new(vec![0; REGION.end as usize])
}

#[test]
fn wear_spreads_over_every_segment_page() {
    let mut log = open(mount(blank()));
    for i in 0..2000u64 {
        let seq = block_on(log.append_bytes(&i.to_le_bytes())).expect("append");
        block_on(log.sync()).expect("sync");
        if i % 4 == 3 {
            block_on(log.ack(seq)).expect("ack");
        }
    }
    let flash = log.into_storage().into_flash();
    let counts: Vec<u32> = (2..PAGES as usize).map(|p| flash.erase_count(p)).collect();
    let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(*min > 10, "pages were not recycled: {counts:?}");
    assert!(max - min <= 1, "wear is uneven: {counts:?}");
}

#[test]
fn a_restart_keeps_appending_in_the_same_page() {
    let mut log = open(mount(blank()));
    block_on(log.append_bytes(b"one")).expect("append");
    block_on(log.sync()).expect("sync");
    let free = log.storage_mut().free_pages();
    let mut log = open(mount(log.into_storage().into_flash()));
    block_on(log.append_bytes(b"two")).expect("append");
    block_on(log.sync()).expect("sync");
    assert_eq!(log.storage_mut().free_pages(), free, "a restart should not cost a page");
    assert!(log.recovery_report().is_clean());
}

#[test]
fn a_torn_tail_is_sealed_and_the_seal_survives_a_restart() {
    let mut log = open(mount(blank()));
    block_on(log.append_bytes(b"kept")).expect("append");
    block_on(log.sync()).expect("sync");
    // Cut the power in the middle of the next record.
    log.storage_mut().flash_mut().cut_power_after(Some(10));
    assert!(block_on(log.append_bytes(b"lost in the cut")).is_err());
    let mut flash = log.into_storage().into_flash();
    flash.power_on();

    let mut log = open(mount(flash));
    let report = *log.recovery_report();
    assert!(report.torn_tail_bytes > 0 && !report.lost_data(), "{report:?}");
    block_on(log.append_bytes(b"after")).expect("append");
    block_on(log.sync()).expect("sync");
    assert_eq!(log.newest_segment(), Some(2), "appends must not go to the sealed segment");

    let mut log = open(mount(log.into_storage().into_flash()));
    assert!(log.recovery_report().is_clean(), "{:?}", log.recovery_report());
    assert!(block_on(log.storage_mut().is_sealed(1)).expect("is_sealed"));
    let mut buf = [0u8; 64];
    let mut reader = block_on(log.reader(Start::Unacknowledged, &mut buf[..])).expect("reader");
    let mut payloads = Vec::new();
    while let Some(record) = block_on(log.read(&mut reader)).expect("read") {
        payloads.push(record.payload.to_vec());
    }
    assert_eq!(payloads, vec![b"kept".to_vec(), b"after".to_vec()]);
}

#[test]
fn drop_oldest_frees_flash_a_page_at_a_time_and_never_fills_it() {
    let storage = mount(blank());
    let capacity = storage.queue_capacity(32);
    let queue: DurableQueue<NoopRawMutex, Flashed, u64, 64> =
        block_on(DurableQueue::new(open(storage), capacity, Overflow::DropOldest)).expect("queue");
    for i in 0..500u64 {
        block_on(queue.push(&i)).expect("DropOldest must always admit");
    }
    assert!(block_on(queue.dropped()) > 400);
    let kept = block_on(queue.len());

    // After a restart the newest items are still there, oldest first.
    let flash = queue.into_log().into_storage().into_flash();
    let queue: DurableQueue<NoopRawMutex, Flashed, u64, 64> =
        block_on(DurableQueue::new(open(mount(flash)), capacity, Overflow::DropOldest))
            .expect("queue");
    let mut items = Vec::new();
    while let Some((_, item)) = block_on(queue.try_recv()).expect("recv") {
        items.push(item);
    }
    assert_eq!(items.len() as u64, kept);
    assert_eq!(items.last(), Some(&499));
    assert!(items.windows(2).all(|w| w[1] == w[0] + 1), "{items:?}");
}

#[test]
fn drop_newest_refuses_before_the_flash_fills() {
    let storage = mount(blank());
    let capacity = storage.queue_capacity(32);
    let queue: DurableQueue<NoopRawMutex, Flashed, u64, 64> =
        block_on(DurableQueue::new(open(storage), capacity, Overflow::DropNewest)).expect("queue");
    let mut accepted = 0;
    loop {
        match block_on(queue.push(&accepted)) {
            Ok(_) => accepted += 1,
            Err(QueueError::Full) => break,
            Err(e) => panic!("the flash filled before the queue: {e:?}"),
        }
    }
    assert!(accepted > 20, "{accepted}");
}

#[test]
fn unsupported_regions_are_refused() {
    let bad = |range: core::ops::Range<u32>| {
        matches!(
            block_on(FlashStorage::<Flash, 8>::mount(blank(), range)),
            Err(FlashError::BadRegion)
        )
    };
    assert!(bad(0..2 * 256), "two pages leave none for segments");
    assert!(bad(100..1000), "not whole pages");
    assert!(bad(0..11 * 256), "past the end of the flash");
    assert!(!bad(0..3 * 256));
}

#[test]
fn acknowledging_each_item_as_it_is_received_crosses_segments() {
    let queue: DurableQueue<NoopRawMutex, Flashed, u64, 64> = block_on(DurableQueue::new(
        open(mount(blank())),
        plover_core::log::Capacity::Records(1000),
        Overflow::Block,
    ))
    .expect("queue");
    for i in 0..40u64 {
        block_on(queue.push(&i)).expect("push");
    }
    // The reader sits at the end of the oldest segment when an ack deletes it.
    for i in 0..40u64 {
        let (seq, item) = block_on(queue.try_recv()).expect("recv").expect("an item");
        assert_eq!(item, i);
        block_on(queue.ack(seq)).expect("ack");
    }
    assert!(block_on(queue.try_recv()).expect("recv").is_none());
}

/// A flash whose driver pends before every write after the first `free` ones, as an
/// interrupt-driven driver does; used to drop an operation halfway.
struct Pausing {
    inner: Flash,
    free: u32,
}

impl embedded_storage::nor_flash::ErrorType for Pausing {
    type Error = plover_embassy::MockFlashError;
}

impl embedded_storage_async::nor_flash::ReadNorFlash for Pausing {
    const READ_SIZE: usize = 1;
    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.inner.read(offset, bytes).await
    }
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }
}

impl embedded_storage_async::nor_flash::NorFlash for Pausing {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = 256;
    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.inner.erase(from, to).await
    }
    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        match self.free.checked_sub(1) {
            Some(n) => self.free = n,
            None => futures_lite::future::yield_now().await,
        }
        self.inner.write(offset, bytes).await
    }
}

impl embedded_storage_async::nor_flash::MultiwriteNorFlash for Pausing {}

#[test]
fn an_append_dropped_halfway_poisons_its_segment_and_the_log_moves_on() {
    let storage: FlashStorage<Pausing, 8> =
        block_on(FlashStorage::mount(Pausing { inner: blank(), free: u32::MAX }, REGION))
            .expect("mount");
    let mut buf = [0u8; 64];
    let config = FlashStorage::<Pausing, 8>::log_config(32);
    let mut log = block_on(Log::open(storage, config, &mut buf)).expect("open");
    block_on(log.append_bytes(b"kept!")).expect("append"); // 25 bytes: the next append is unaligned
    block_on(log.sync()).expect("sync");

    // An unaligned append takes several writes; let one through, then drop the future.
    log.storage_mut().flash_mut().free = 1;
    {
        let append = log.storage_mut().append(1, b"a record that is cut off");
        assert!(block_on(futures_lite::future::poll_once(append)).is_none(), "it should pend");
    }
    log.storage_mut().flash_mut().free = u32::MAX;
    assert!(block_on(log.storage_mut().is_sealed(1)).expect("is_sealed"), "not poisoned");
    assert!(matches!(block_on(log.storage_mut().append(1, b"more")), Err(FlashError::Sealed(1))));

    // After a restart the half-written bytes are a torn tail: sealed off, nothing lost.
    let flash = log.into_storage().into_flash();
    let storage: FlashStorage<Pausing, 8> =
        block_on(FlashStorage::mount(flash, REGION)).expect("mount");
    let mut log = block_on(Log::open(storage, config, &mut buf)).expect("open");
    assert!(log.recovery_report().torn_tail_bytes > 0, "{:?}", log.recovery_report());
    assert!(!log.recovery_report().lost_data());
    block_on(log.append_bytes(b"after")).expect("append after the drop");
}
