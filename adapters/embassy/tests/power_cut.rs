//! Power cuts at every unit of a fixed workload on the mock flash: after each cut and a
//! remount, every record whose sync returned is intact and in order, nothing acknowledged
//! comes back, and the log takes new records.

use futures_lite::future::block_on;
use plover_core::log::format::CHECKPOINT_LEN;
use plover_core::log::{Log, SegmentId, Start, Storage};
use plover_embassy::{FlashStorage, MockFlash};

type Flash<const W: usize> = MockFlash<Vec<u8>, 256, W>;
type Flashed<const W: usize> = FlashStorage<Flash<W>, 6>;

const REGION: core::ops::Range<u32> = 0..8 * 256;
const RECORDS: u64 = 40;
const MAX_PAYLOAD: u32 = 32;

/// The payload of the record appended `i`-th (0-based; its seq is `i + 1`). Every third one
/// ends in 0xFF, which erased flash cannot be told from without a length mark.
fn payload(i: u64) -> Vec<u8> {
    let len = 4 + (i * 7 % 13) as usize;
    let mut bytes: Vec<u8> =
        (0..len).map(|k| (i as u8).wrapping_mul(31).wrapping_add(k as u8)).collect();
    if i.is_multiple_of(3) {
        *bytes.last_mut().unwrap() = 0xff;
    }
    bytes
}

fn open<const W: usize>(flash: Flash<W>) -> Log<Flashed<W>> {
    let storage = block_on(FlashStorage::mount(flash, REGION)).expect("mount");
    let mut buf = [0u8; 64];
    block_on(Log::open(storage, Flashed::<W>::log_config(MAX_PAYLOAD), &mut buf)).expect("open")
}

/// What the workload had been told before the power went.
#[derive(Debug, Default)]
struct Promised {
    synced: Vec<u64>,
    acked: u64,
    ack_attempted: u64,
}

/// Appends and syncs each record, then acknowledges all but the newest (39 checkpoint entries:
/// the 10-entry checkpoint pages take turns three times); stops at the first error (the power
/// cut) and gives the flash back.
fn workload<const W: usize>(flash: Flash<W>) -> (Flash<W>, Promised) {
    let mut log = open(flash);
    let mut promised = Promised::default();
    for i in 0..RECORDS {
        let Ok(seq) = block_on(log.append_bytes(&payload(i))) else { break };
        assert_eq!(seq, i + 1);
        if block_on(log.sync()).is_err() {
            break;
        }
        promised.synced.push(seq);
        if i > 0 {
            promised.ack_attempted = seq - 1;
            if block_on(log.ack(seq - 1)).is_err() {
                break;
            }
            promised.acked = seq - 1;
        }
    }
    (log.into_storage().into_flash(), promised)
}

fn replay<const W: usize>(log: &mut Log<Flashed<W>>) -> Vec<u64> {
    let mut buf = [0u8; 64];
    let mut reader = block_on(log.reader(Start::Unacknowledged, &mut buf[..])).expect("reader");
    let mut seqs = Vec::new();
    while let Some(record) = block_on(log.read(&mut reader)).expect("read") {
        assert_eq!(record.payload, payload(record.seq - 1), "record {} damaged", record.seq);
        seqs.push(record.seq);
        assert!(seqs.len() <= 1000, "reader loops");
    }
    seqs
}

#[test]
fn every_synced_record_survives_a_power_cut_at_every_unit() {
    // Word sizes of SPI NOR (1), nRF52 (4) and STM32F4-like (8) internal flash.
    cut_everywhere::<1>();
    cut_everywhere::<4>();
    cut_everywhere::<8>();
}

fn cut_everywhere<const W: usize>() {
    let (clean, all) = workload(Flash::<W>::new(vec![0; REGION.end as usize]));
    assert_eq!(all.synced.len() as u64, RECORDS);
    let total = clean.units();
    for page in 0..2 {
        assert!(clean.erase_count(page) > 0, "checkpoint page {page} never switched");
    }
    for page in 2..8 {
        assert!(clean.erase_count(page) > 0, "segment page {page} never recycled");
    }
    assert!(total > 1000, "the workload should be long enough to wrap the pages: {total}");

    for cut in 0..=total {
        let mut flash = Flash::<W>::new(vec![0; REGION.end as usize]);
        flash.cut_power_after(Some(cut));
        let (mut flash, promised) = workload(flash);
        flash.power_on();

        let mut log = open(flash);
        let acked = log.acked().0;
        assert!(
            acked >= promised.acked && acked <= promised.ack_attempted.max(promised.acked),
            "cut {cut}: checkpoint {acked} vs promised {promised:?}"
        );
        let seqs = replay(&mut log);
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "cut {cut}: out of order {seqs:?}");
        let owed: Vec<u64> = promised.synced.iter().copied().filter(|s| *s > acked).collect();
        assert!(seqs.iter().all(|s| *s > acked), "cut {cut}: acknowledged record replayed");
        assert_eq!(
            &seqs[..owed.len().min(seqs.len())],
            &owed[..],
            "cut {cut}: lost a synced record"
        );
        assert!(seqs.len() <= owed.len() + 1, "cut {cut}: more than the one unsynced record");
        assert!(!log.recovery_report().lost_data(), "cut {cut}: {:?}", log.recovery_report());

        // The log still takes records, and they survive another restart.
        let next = log.last_seq() + 1;
        let seq = block_on(log.append_bytes(&payload(next - 1))).expect("append after the cut");
        block_on(log.sync()).expect("sync after the cut");
        let mut log = open(log.into_storage().into_flash());
        assert_eq!(replay(&mut log).last(), Some(&seq), "cut {cut}");
        assert!(!log.recovery_report().lost_data(), "cut {cut}: {:?}", log.recovery_report());
    }
}

/// Checks what a reopened log must show after `promised`.
fn check_reopened<const W: usize>(log: &mut Log<Flashed<W>>, promised: &Promised, what: &str) {
    let acked = log.acked().0;
    assert!(acked >= promised.acked, "{what}: checkpoint {acked} went back: {promised:?}");
    let seqs = replay(log);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{what}: out of order {seqs:?}");
    let owed: Vec<u64> = promised.synced.iter().copied().filter(|s| *s > acked).collect();
    assert!(seqs.iter().all(|s| *s > acked), "{what}: acknowledged record replayed");
    // A record whose append failed may still have landed whole, so others may sit between.
    let missing: Vec<u64> = owed.iter().copied().filter(|s| !seqs.contains(s)).collect();
    assert!(missing.is_empty(), "{what}: lost synced records {missing:?} of {seqs:?}");
}

/// Lends a storage to a log, so that the storage outlives a log whose open failed.
struct Lent<'a, S>(&'a mut S);

impl<S: Storage> Storage for Lent<'_, S> {
    type Error = S::Error;

    async fn next_segment(
        &mut self,
        after: Option<SegmentId>,
    ) -> Result<Option<SegmentId>, S::Error> {
        self.0.next_segment(after).await
    }
    async fn create_segment(&mut self, id: SegmentId) -> Result<(), S::Error> {
        self.0.create_segment(id).await
    }
    async fn delete_segment(&mut self, id: SegmentId) -> Result<(), S::Error> {
        self.0.delete_segment(id).await
    }
    async fn segment_len(&mut self, id: SegmentId) -> Result<u64, S::Error> {
        self.0.segment_len(id).await
    }
    async fn append(&mut self, id: SegmentId, bytes: &[u8]) -> Result<(), S::Error> {
        self.0.append(id, bytes).await
    }
    async fn read(
        &mut self,
        id: SegmentId,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, S::Error> {
        self.0.read(id, offset, buf).await
    }
    async fn seal(&mut self, id: SegmentId, len: u64) -> Result<(), S::Error> {
        self.0.seal(id, len).await
    }
    async fn is_sealed(&mut self, id: SegmentId) -> Result<bool, S::Error> {
        self.0.is_sealed(id).await
    }
    async fn sync(&mut self, id: SegmentId) -> Result<(), S::Error> {
        self.0.sync(id).await
    }
    async fn read_checkpoint(&mut self, buf: &mut [u8; CHECKPOINT_LEN]) -> Result<bool, S::Error> {
        self.0.read_checkpoint(buf).await
    }
    async fn write_checkpoint(&mut self, bytes: &[u8; CHECKPOINT_LEN]) -> Result<(), S::Error> {
        self.0.write_checkpoint(bytes).await
    }
}

#[test]
fn a_second_cut_during_recovery_loses_nothing_either() {
    let total = workload(Flash::<4>::new(vec![0; REGION.end as usize])).0.units();
    for first in (0..total).step_by(7) {
        let mut flash = Flash::<4>::new(vec![0; REGION.end as usize]);
        flash.cut_power_after(Some(first));
        let (flash, promised) = workload(flash);
        let snapshot = flash.into_inner();

        // Power comes back; recovery runs (sealing a torn tail, maybe) and one record is
        // appended and synced. Cut again at every unit of that.
        for second in 0..100 {
            let what = format!("cuts at {first} then {second}");
            let mut flash = Flash::<4>::with_contents(snapshot.clone());
            flash.cut_power_after(Some(second));
            let mut storage: Flashed<4> =
                block_on(FlashStorage::mount(flash, REGION)).expect("mount");
            let mut promised = Promised { synced: promised.synced.clone(), ..promised };
            let mut buf = [0u8; 64];
            let config = Flashed::<4>::log_config(MAX_PAYLOAD);
            if let Ok(mut log) = block_on(Log::open(Lent(&mut storage), config, &mut buf)) {
                let next = log.last_seq() + 1;
                if let Ok(seq) = block_on(log.append_bytes(&payload(next - 1)))
                    && block_on(log.sync()).is_ok()
                {
                    promised.synced.push(seq);
                }
            }
            let mut flash = storage.into_flash();
            flash.power_on();

            let mut log = open(flash);
            check_reopened(&mut log, &promised, &what);
            assert!(!log.recovery_report().lost_data(), "{what}: {:?}", log.recovery_report());
            block_on(log.append_bytes(b"still usable")).expect("append after two cuts");
            block_on(log.sync()).expect("sync after two cuts");
        }
    }
}
