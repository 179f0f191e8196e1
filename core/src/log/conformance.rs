//! The conformance suite every storage backend runs, and the corpus of damaged logs.
//!
//! Each check takes a fresh, empty storage and panics with a message when the backend or the
//! log breaks a promise (it is test support, behind the `conformance` feature). Backends call
//! [`log_conformance_tests!`](crate::log_conformance_tests) to get one `#[test]` per check.

use alloc::vec;
use alloc::vec::Vec;

use crate::log::format::{self, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use crate::log::{Checkpoint, Log, LogConfig, RecoveryReport, SegmentId, Start, Storage};

/// The small configuration the checks use: segments of 256 bytes, payloads up to 64 bytes.
pub const CONFIG: LogConfig = LogConfig { segment_size: 256, max_payload: 64 };

fn buffer() -> Vec<u8> {
    vec![0u8; RECORD_HEADER_LEN + CONFIG.max_payload as usize]
}

/// Opens a log over `storage` with [`CONFIG`]; panics on a storage error.
pub async fn open<S: Storage>(storage: S) -> Log<S> {
    Log::open(storage, CONFIG, &mut buffer()).await.expect("open failed")
}

/// Appends `count` records whose payload is the 8-byte little-endian seq they are expected to
/// get, then syncs; returns the seqs.
pub async fn fill<S: Storage>(log: &mut Log<S>, count: u64) -> Vec<u64> {
    let mut seqs = Vec::new();
    for _ in 0..count {
        let expected = log.last_seq() + 1;
        let seq = log.append_bytes(&expected.to_le_bytes()).await.expect("append failed");
        assert_eq!(seq, expected, "seqs must be contiguous in a healthy log");
        seqs.push(seq);
    }
    log.sync().await.expect("sync failed");
    seqs
}

/// Reads every record from `start`; checks each payload names its own seq; returns the seqs.
pub async fn replay<S: Storage>(log: &mut Log<S>, start: Start) -> Vec<u64> {
    let mut buf = buffer();
    let mut reader = log.reader(start, &mut buf[..]).await.expect("reader failed");
    let mut seqs = Vec::new();
    // A bound on the loop: a log that yields more records than bytes is looping.
    let bound = log.stored_bytes() as usize + 1;
    while let Some(record) = log.read(&mut reader).await.expect("read failed") {
        assert_eq!(record.payload, &record.seq.to_le_bytes(), "payload does not match seq");
        seqs.push(record.seq);
        assert!(seqs.len() <= bound, "reader loops");
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "replay out of order: {seqs:?}");
    seqs
}

/// How a backend is reopened after the log lets go of it, as a restarted process would: the
/// identity for memory, re-reading the directory for files.
pub type ReopenFn<S> = fn(S) -> S;

/// Reopens: gives the storage back, lets the backend reopen it, and opens the log again.
pub async fn reopen<S: Storage>(log: Log<S>, r: ReopenFn<S>) -> Log<S> {
    open(r(log.into_storage())).await
}

/// Replaces a segment's bytes with `damage` applied, through the trait alone (the segment is
/// deleted and created again under the same id, which flash can do where it cannot rewrite).
pub async fn damage<S: Storage>(storage: &mut S, id: SegmentId, damage: impl FnOnce(&mut Vec<u8>)) {
    let len = storage.segment_len(id).await.expect("len") as usize;
    let mut bytes = vec![0u8; len];
    let n = storage.read(id, 0, &mut bytes).await.expect("read");
    bytes.truncate(n);
    damage(&mut bytes);
    storage.delete_segment(id).await.expect("delete");
    storage.create_segment(id).await.expect("create again");
    storage.append(id, &bytes).await.expect("append");
    storage.sync(id).await.expect("sync");
}

/// All segment ids, in order.
pub async fn segments<S: Storage>(storage: &mut S) -> Vec<SegmentId> {
    let mut ids = Vec::new();
    let mut cursor = None;
    while let Some(id) = storage.next_segment(cursor).await.expect("list") {
        ids.push(id);
        cursor = Some(id);
    }
    ids
}

/// After damage: the log takes a new append, and replay shows it last.
async fn still_usable<S: Storage>(log: &mut Log<S>) {
    let seqs = fill(log, 1).await;
    let replayed = replay(log, Start::Unacknowledged).await;
    assert_eq!(replayed.last(), seqs.last(), "a new append after recovery is not replayed");
}

/// Storage basics: create, append, read, length, seal, listing order, delete, checkpoint.
pub async fn storage_contract<S: Storage>(mut s: S, r: ReopenFn<S>) {
    assert_eq!(segments(&mut s).await, Vec::<SegmentId>::new());
    s.create_segment(2).await.expect("create 2");
    s.create_segment(1).await.expect("create 1");
    s.create_segment(7).await.expect("create 7");
    assert_eq!(segments(&mut s).await, vec![1, 2, 7]);

    s.append(2, b"hello ").await.expect("append");
    s.append(2, b"world").await.expect("append");
    s.sync(2).await.expect("sync");
    assert_eq!(s.segment_len(2).await.expect("len"), 11);
    let mut buf = [0u8; 32];
    let n = s.read(2, 6, &mut buf).await.expect("read");
    assert_eq!(&buf[..n], b"world");
    assert_eq!(s.read(2, 11, &mut buf).await.expect("read at end"), 0);
    assert_eq!(s.read(2, 50, &mut buf).await.expect("read past end"), 0);

    // Sealing ends a segment where the log says, and a segment can be made again after it
    // was deleted.
    s.seal(2, 5).await.expect("seal");
    assert_eq!(s.segment_len(2).await.expect("len"), 5);
    let n = s.read(2, 0, &mut buf).await.expect("read");
    assert_eq!(&buf[..n], b"hello");
    s.append(7, b"abc").await.expect("append");
    s.delete_segment(7).await.expect("delete");
    s.create_segment(7).await.expect("create a deleted id again");
    assert_eq!(s.segment_len(7).await.expect("len"), 0);
    s.append(7, b"xyz").await.expect("append");
    s.sync(7).await.expect("sync");

    s.delete_segment(1).await.expect("delete");
    s.delete_segment(1).await.expect("deleting a missing segment is not an error");
    assert_eq!(segments(&mut s).await, vec![2, 7]);
    assert!(s.create_segment(2).await.is_err(), "creating an existing segment must fail");

    let mut slot = [0u8; format::CHECKPOINT_LEN];
    assert!(!s.read_checkpoint(&mut slot).await.expect("read checkpoint"));
    s.write_checkpoint(&format::encode_checkpoint(5)).await.expect("write checkpoint");
    s.write_checkpoint(&format::encode_checkpoint(9)).await.expect("write checkpoint");
    assert!(s.read_checkpoint(&mut slot).await.expect("read checkpoint"));
    assert_eq!(format::decode_checkpoint(&slot), Ok(9));

    // Everything synced survives a reopen.
    let mut s = r(s);
    assert_eq!(segments(&mut s).await, vec![2, 7]);
    let n = s.read(2, 0, &mut buf).await.expect("read after reopen");
    assert_eq!(&buf[..n], b"hello", "a seal survives a reopen");
    let n = s.read(7, 0, &mut buf).await.expect("read after reopen");
    assert_eq!(&buf[..n], b"xyz");
    assert!(s.read_checkpoint(&mut slot).await.expect("read checkpoint"));
    assert_eq!(format::decode_checkpoint(&slot), Ok(9));
}

/// Every appended record is replayed, in order, after a reopen.
pub async fn appended_records_replay_in_order_after_reopen<S: Storage>(s: S, r: ReopenFn<S>) {
    let mut log = open(s).await;
    let seqs = fill(&mut log, 40).await;
    assert!(segments(log.storage_mut()).await.len() > 1, "the test should span segments");
    let mut log = reopen(log, r).await;
    assert!(log.recovery_report().is_clean(), "{:?}", log.recovery_report());
    assert_eq!(replay(&mut log, Start::Unacknowledged).await, seqs);
    still_usable(&mut log).await;
}

/// Acknowledged records are not replayed after a reopen, and freed segments are deleted.
pub async fn acknowledged_records_are_not_replayed<S: Storage>(s: S, r: ReopenFn<S>) {
    let mut log = open(s).await;
    fill(&mut log, 40).await;
    let before = segments(log.storage_mut()).await.len();
    log.ack(30).await.expect("ack");
    log.ack(10).await.expect("acknowledging less is a no-op");
    assert!(log.ack(41).await.is_err(), "acknowledging an unknown seq must fail");
    assert!(segments(log.storage_mut()).await.len() < before, "no segment was deleted");

    let mut log = reopen(log, r).await;
    assert_eq!(log.acked(), Checkpoint(30));
    assert_eq!(replay(&mut log, Start::Unacknowledged).await, (31..=40).collect::<Vec<_>>());
    still_usable(&mut log).await;
}

/// `Start::Resume`, `Start::Seq` and `Start::Oldest` start where they say.
pub async fn start_points_are_respected<S: Storage>(s: S, r: ReopenFn<S>) {
    let mut log = open(s).await;
    fill(&mut log, 30).await;
    log.ack(5).await.expect("ack");
    let mut log = reopen(log, r).await;
    assert_eq!(
        replay(&mut log, Start::Resume(Checkpoint(20))).await,
        (21..=30).collect::<Vec<_>>()
    );
    assert_eq!(replay(&mut log, Start::Seq(25)).await, (25..=30).collect::<Vec<_>>());
    let oldest = replay(&mut log, Start::Oldest).await;
    assert_eq!(oldest.last(), Some(&30));
    assert!(oldest[0] <= 6, "Oldest must include unacknowledged records: {oldest:?}");
}

/// A reader sees records appended after it caught up.
pub async fn reader_sees_later_appends<S: Storage>(s: S, r: ReopenFn<S>) {
    let mut log = reopen(open(s).await, r).await;
    let mut buf = buffer();
    let mut reader = log.reader(Start::Unacknowledged, &mut buf[..]).await.expect("reader");
    assert!(log.read(&mut reader).await.expect("read").is_none());
    for round in 0..20u64 {
        let seq = log.append_bytes(&(round + 1).to_le_bytes()).await.expect("append");
        let record = log.read(&mut reader).await.expect("read").expect("record");
        assert_eq!(record.seq, seq);
        assert!(log.read(&mut reader).await.expect("read").is_none());
    }
}

/// A reader whose segment is deleted by an acknowledgement goes on with the next one.
pub async fn reader_survives_deletion_of_its_segment<S: Storage>(s: S, r: ReopenFn<S>) {
    let mut log = reopen(open(s).await, r).await;
    fill(&mut log, 40).await;
    // Read exactly to the end of the second segment, so the reader sits in a segment that the
    // acknowledgement below deletes.
    let boundary = 2 * ((CONFIG.segment_size as usize - SEGMENT_HEADER_LEN) / record_len()) as u64;
    let mut buf = buffer();
    let mut reader = log.reader(Start::Unacknowledged, &mut buf[..]).await.expect("reader");
    for expected in 1..=boundary {
        let record = log.read(&mut reader).await.expect("read").expect("record");
        assert_eq!(record.seq, expected);
    }
    let before = segments(log.storage_mut()).await;
    log.ack(boundary).await.expect("ack");
    assert_eq!(segments(log.storage_mut()).await[0], before[2], "two segments should be gone");
    for expected in boundary + 1..=40 {
        let record = log.read(&mut reader).await.expect("read after deletion").expect("record");
        assert_eq!(record.seq, expected);
    }
    assert_eq!(reader.stats(), crate::log::ReadStats::default());
}

fn first_record_offset() -> usize {
    SEGMENT_HEADER_LEN
}

fn record_len() -> usize {
    RECORD_HEADER_LEN + 8
}

/// Torn tail: half a record at the end of the newest segment is cut, not replayed.
pub async fn torn_tail_is_cut_not_replayed<S: Storage>(s: S, r: ReopenFn<S>) {
    let mut log = open(s).await;
    let seqs = fill(&mut log, 5).await;
    let id = *segments(log.storage_mut()).await.last().expect("a segment");
    let next = 6u64.to_le_bytes();
    let mut torn = format::encode_record_header(6, &next).to_vec();
    torn.extend_from_slice(&next[..3]);
    log.storage_mut().append(id, &torn).await.expect("append");
    log.storage_mut().sync(id).await.expect("sync");

    let mut log = reopen(log, r).await;
    let report = *log.recovery_report();
    assert_eq!(report.torn_tail_bytes, torn.len() as u64, "{report:?}");
    assert!(!report.lost_data(), "{report:?}");
    assert_eq!(replay(&mut log, Start::Unacknowledged).await, seqs);
    still_usable(&mut log).await;
    assert_eq!(log.last_seq(), 6, "the torn record's seq is free again");
}

/// Zero-filled tail: zeros after the last record are cut and reported apart from a torn tail.
pub async fn zero_filled_tail_is_cut<S: Storage>(s: S, r: ReopenFn<S>) {
    let mut log = open(s).await;
    let seqs = fill(&mut log, 5).await;
    let id = *segments(log.storage_mut()).await.last().expect("a segment");
    log.storage_mut().append(id, &[0u8; 100]).await.expect("append");
    log.storage_mut().sync(id).await.expect("sync");

    let mut log = reopen(log, r).await;
    let report = *log.recovery_report();
    assert_eq!((report.zero_tail_bytes, report.torn_tail_bytes), (100, 0), "{report:?}");
    assert_eq!(replay(&mut log, Start::Unacknowledged).await, seqs);
    still_usable(&mut log).await;
}

async fn flip_and_reopen<S: Storage>(
    s: S,
    r: ReopenFn<S>,
    at_in_record: usize,
) -> (Log<S>, RecoveryReport) {
    let mut log = open(s).await;
    fill(&mut log, 5).await;
    let id = segments(log.storage_mut()).await[0];
    // Damage the third record of the first segment.
    let at = first_record_offset() + 2 * record_len() + at_in_record;
    damage(log.storage_mut(), id, |bytes| bytes[at] ^= 0x10).await;
    let log = reopen(log, r).await;
    let report = *log.recovery_report();
    (log, report)
}

/// Bit flip in a length: the record is skipped, counted as lost, and reading goes on.
pub async fn bit_flip_in_length_skips_one_record<S: Storage>(s: S, r: ReopenFn<S>) {
    let (mut log, report) = flip_and_reopen(s, r, format::REC_LEN).await;
    assert_eq!((report.corrupt_regions, report.lost_records), (1, 1), "{report:?}");
    assert_eq!(replay(&mut log, Start::Unacknowledged).await, vec![1, 2, 4, 5]);
    still_usable(&mut log).await;
}

/// Bit flip in a payload: the record is skipped, counted as lost, and reading goes on.
pub async fn bit_flip_in_payload_skips_one_record<S: Storage>(s: S, r: ReopenFn<S>) {
    let (mut log, report) = flip_and_reopen(s, r, RECORD_HEADER_LEN + 1).await;
    assert_eq!((report.corrupt_regions, report.lost_records), (1, 1), "{report:?}");
    assert_eq!(replay(&mut log, Start::Unacknowledged).await, vec![1, 2, 4, 5]);
    still_usable(&mut log).await;
}

/// Bit flip in a segment header: reported; its records are still read.
pub async fn bit_flip_in_segment_header_keeps_its_records<S: Storage>(s: S, r: ReopenFn<S>) {
    let mut log = open(s).await;
    let seqs = fill(&mut log, 20).await;
    let first = segments(log.storage_mut()).await[0];
    damage(log.storage_mut(), first, |bytes| bytes[format::SEG_BASE_SEQ] ^= 1).await;
    let mut log = reopen(log, r).await;
    assert_eq!(log.recovery_report().bad_segment_headers, 1, "{:?}", log.recovery_report());
    assert_eq!(replay(&mut log, Start::Unacknowledged).await, seqs);
    still_usable(&mut log).await;
}

/// A sealed segment cut short: the missing records are counted, later segments are read.
pub async fn truncated_segment_is_counted_and_skipped<S: Storage>(s: S, r: ReopenFn<S>) {
    let mut log = open(s).await;
    fill(&mut log, 20).await;
    let first = segments(log.storage_mut()).await[0];
    let per_segment = (CONFIG.segment_size as usize - SEGMENT_HEADER_LEN) / record_len();
    let cut = first_record_offset() + record_len() + 5;
    damage(log.storage_mut(), first, |bytes| bytes.truncate(cut)).await;
    let mut log = reopen(log, r).await;
    let report = *log.recovery_report();
    assert_eq!(report.lost_records, per_segment as u64 - 1, "{report:?}");
    let replayed = replay(&mut log, Start::Unacknowledged).await;
    assert_eq!(replayed[0], 1);
    assert_eq!(replayed[1], per_segment as u64 + 1);
    still_usable(&mut log).await;
}

/// A segment missing between two others: reported, and the gap counted as lost.
pub async fn missing_segment_is_counted_and_skipped<S: Storage>(s: S, r: ReopenFn<S>) {
    let mut log = open(s).await;
    fill(&mut log, 30).await;
    let ids = segments(log.storage_mut()).await;
    assert!(ids.len() >= 3);
    log.storage_mut().delete_segment(ids[1]).await.expect("delete");
    let mut log = reopen(log, r).await;
    let report = *log.recovery_report();
    assert_eq!(report.missing_segments, 1, "{report:?}");
    let per_segment = (CONFIG.segment_size as usize - SEGMENT_HEADER_LEN) / record_len();
    assert_eq!(report.lost_records, per_segment as u64, "{report:?}");
    let replayed = replay(&mut log, Start::Unacknowledged).await;
    assert_eq!(replayed.len(), 30 - per_segment);
    still_usable(&mut log).await;
}

/// A checkpoint beyond the data: reported; new appends get seqs after it, so they are read.
pub async fn checkpoint_ahead_of_data_is_reported<S: Storage>(mut s: S, r: ReopenFn<S>) {
    s.write_checkpoint(&format::encode_checkpoint(100)).await.expect("checkpoint");
    let mut log = open(s).await;
    assert!(log.recovery_report().checkpoint_ahead);
    let seqs = fill(&mut log, 3).await;
    assert_eq!(seqs, vec![101, 102, 103]);
    let mut log = reopen(log, r).await;
    assert!(!log.recovery_report().checkpoint_ahead, "{:?}", log.recovery_report());
    assert_eq!(replay(&mut log, Start::Unacknowledged).await, seqs);
}

/// A damaged checkpoint: reported, and everything is replayed (at-least-once).
pub async fn damaged_checkpoint_replays_everything<S: Storage>(mut s: S, r: ReopenFn<S>) {
    s = r(s);
    let mut bad = format::encode_checkpoint(3);
    bad[format::CK_ACKED] ^= 0x40;
    s.write_checkpoint(&bad).await.expect("checkpoint");
    let mut log = open(s).await;
    assert!(log.recovery_report().bad_checkpoint);
    let seqs = fill(&mut log, 4).await;
    assert_eq!(replay(&mut log, Start::Unacknowledged).await, seqs);
}

/// Garbage everywhere: a segment of random-looking bytes never makes open fail or loop.
pub async fn garbage_segment_never_wedges<S: Storage>(mut s: S, r: ReopenFn<S>) {
    s.create_segment(1).await.expect("create");
    let mut x = 0x9e37_79b9_u32;
    let mut junk = vec![0u8; 3000];
    for b in junk.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    s.append(1, &junk).await.expect("append");
    let mut log = open(s).await;
    assert_eq!(log.recovery_report().records, 0);
    still_usable(&mut log).await;
    let mut log = reopen(log, r).await;
    assert_eq!(replay(&mut log, Start::Unacknowledged).await, vec![1]);
}

/// Generates one `#[test]` per conformance check for a backend.
///
/// `$block_on` runs a future to completion; `$fresh` is an expression that makes a new, empty
/// storage each time it is evaluated; `$reopen` is a `fn(S) -> S` that reopens a storage the way
/// a restarted process would.
#[macro_export]
macro_rules! log_conformance_tests {
    ($block_on:path, $fresh:expr, $reopen:expr) => {
        $crate::log_conformance_tests!(@each $block_on, $fresh, $reopen,
            storage_contract,
            appended_records_replay_in_order_after_reopen,
            acknowledged_records_are_not_replayed,
            start_points_are_respected,
            reader_sees_later_appends,
            reader_survives_deletion_of_its_segment,
            torn_tail_is_cut_not_replayed,
            zero_filled_tail_is_cut,
            bit_flip_in_length_skips_one_record,
            bit_flip_in_payload_skips_one_record,
            bit_flip_in_segment_header_keeps_its_records,
            truncated_segment_is_counted_and_skipped,
            missing_segment_is_counted_and_skipped,
            checkpoint_ahead_of_data_is_reported,
            damaged_checkpoint_replays_everything,
            garbage_segment_never_wedges
        );
    };
    (@each $block_on:path, $fresh:expr, $reopen:expr, $($check:ident),*) => {
        $(
            #[test]
            fn $check() {
                $block_on($crate::log::conformance::$check($fresh, $reopen));
            }
        )*
    };
}
