//! Model-based property tests: random append / sync / read / ack / reopen / crash / torn-write
//! sequences against a simple model, on the memory backend wrapped in the fault injector.
//!
//! The model knows which records were synced; after a crash the log must hold exactly the
//! synced unacknowledged records followed by some in-order prefix of the unsynced ones.

use futures_lite::future::block_on;
use plover_core::log::{
    CrashTail, FaultPlan, FaultStorage, Log, LogConfig, MemStorage, RecordRef, Start, format,
};
use proptest::prelude::*;

const CONFIG: LogConfig = LogConfig { segment_size: 200, max_payload: 48 };

type Store = FaultStorage<MemStorage>;

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<u8>),
    Sync,
    /// Acknowledge the n-th unacknowledged record (modulo their count).
    Ack(usize),
    ReadAll,
    Reopen,
    Crash(CrashTail),
    /// The next append is torn after this many bytes, then the process crashes.
    TornAppend(Vec<u8>, u64, CrashTail),
}

fn tail() -> impl Strategy<Value = CrashTail> {
    prop_oneof![
        Just(CrashTail::Drop),
        Just(CrashTail::Keep),
        Just(CrashTail::Zero),
        (0usize..80).prop_map(CrashTail::KeepPrefix),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let payload = prop::collection::vec(any::<u8>(), 0..48);
    prop_oneof![
        6 => payload.clone().prop_map(Op::Append),
        2 => Just(Op::Sync),
        2 => any::<usize>().prop_map(Op::Ack),
        1 => Just(Op::ReadAll),
        1 => Just(Op::Reopen),
        1 => tail().prop_map(Op::Crash),
        1 => (payload, 0u64..60, tail()).prop_map(|(p, n, t)| Op::TornAppend(p, n, t)),
    ]
}

/// What the model believes: every record that may exist, which are surely durable, the ack.
#[derive(Debug, Default)]
struct Model {
    records: Vec<(u64, Vec<u8>)>,
    durable: u64,
    acked: u64,
}

fn buffer() -> Vec<u8> {
    vec![0u8; format::RECORD_HEADER_LEN + CONFIG.max_payload as usize]
}

fn open(store: Store) -> Log<Store> {
    block_on(Log::open(store, CONFIG, &mut buffer())).expect("open never fails on bad bytes")
}

fn replay(log: &mut Log<Store>) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut reader = block_on(log.reader(Start::Unacknowledged, buffer())).expect("reader");
    while let Some(RecordRef { seq, payload }) = block_on(log.read(&mut reader)).expect("read") {
        out.push((seq, payload.to_vec()));
        assert!(out.len() < 100_000, "reader loops");
    }
    out
}

/// Crash, then check the log against the model and bring the model in line.
fn crash_and_check(log: Log<Store>, model: &mut Model, how: CrashTail) -> Log<Store> {
    let mut store = log.into_storage();
    store.inner_mut().crash(how);
    store.revive(FaultPlan::default());
    let mut log = open(store);
    let report = *log.recovery_report();
    assert_eq!(report.corrupt_regions, 0, "a crash alone must not look like corruption");

    let got = replay(&mut log);
    let unacked: Vec<_> = model.records.iter().filter(|(s, _)| *s > model.acked).cloned().collect();
    let sure = unacked.iter().filter(|(s, _)| *s <= model.durable).count();
    assert!(got.len() >= sure, "synced records lost: got {got:?}, model {model:?}");
    assert_eq!(got[..], unacked[..got.len()], "replay is not a prefix of the model");

    // The survivors define the model from now on.
    let survived_last = got.last().map(|(s, _)| *s);
    model.records.retain(|(s, _)| *s <= model.acked || survived_last.is_some_and(|l| *s <= l));
    let last = model.records.last().map_or(0, |(s, _)| *s);
    assert!(log.last_seq() >= last.max(model.acked), "a seq could be handed out twice");
    model.durable = log.last_seq();
    log
}

fn run(ops: Vec<Op>) {
    let mut log = open(FaultStorage::new(MemStorage::new(), FaultPlan::default()));
    let mut model = Model::default();
    let mut scratch = vec![0u8; 128];

    for op in ops {
        match op {
            Op::Append(payload) => {
                let seq = block_on(log.append(&payload, &mut scratch)).expect("append");
                assert!(model.records.last().is_none_or(|(s, _)| seq > *s), "seq went back");
                assert!(seq > model.acked, "new seq at or below the checkpoint");
                model.records.push((seq, postcard::to_allocvec(&payload).unwrap()));
            }
            Op::Sync => {
                block_on(log.sync()).expect("sync");
                model.durable = log.last_seq();
            }
            Op::Ack(n) => {
                let unacked: Vec<u64> =
                    model.records.iter().map(|(s, _)| *s).filter(|s| *s > model.acked).collect();
                if !unacked.is_empty() {
                    let seq = unacked[n % unacked.len()];
                    block_on(log.ack(seq)).expect("ack");
                    model.acked = seq;
                }
            }
            Op::ReadAll => {
                let got = replay(&mut log);
                let want: Vec<_> =
                    model.records.iter().filter(|(s, _)| *s > model.acked).cloned().collect();
                assert_eq!(got, want);
            }
            Op::Reopen => {
                // A clean restart keeps everything written, synced or not.
                log = crash_and_check(log, &mut model, CrashTail::Keep);
            }
            Op::Crash(how) => log = crash_and_check(log, &mut model, how),
            Op::TornAppend(payload, after, how) => {
                log.storage_mut()
                    .revive(FaultPlan { fail_after_bytes: Some(after), ..FaultPlan::default() });
                match block_on(log.append(&payload, &mut scratch)) {
                    Ok(seq) => {
                        // The write fit under the limit: an ordinary append.
                        model.records.push((seq, postcard::to_allocvec(&payload).unwrap()));
                        log.storage_mut().revive(FaultPlan::default());
                    }
                    Err(_) => log = crash_and_check(log, &mut model, how),
                }
            }
        }
    }
    crash_and_check(log, &mut model, CrashTail::Drop);
}

proptest! {
    // 256 cases by default; `PROPTEST_CASES=n` runs more.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn log_matches_model_through_crashes_and_torn_writes(
        ops in prop::collection::vec(op(), 1..80)
    ) {
        run(ops);
    }

    #[test]
    fn random_damage_never_panics_and_replay_stays_ordered(
        count in 1u64..40,
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..6),
        cut in any::<Option<prop::sample::Index>>(),
    ) {
        let mut log = open(FaultStorage::new(MemStorage::new(), FaultPlan::default()));
        for i in 0..count {
            block_on(log.append_bytes(&i.to_le_bytes())).expect("append");
        }
        block_on(log.sync()).expect("sync");
        let mut store = log.into_storage();
        let mem = store.inner_mut();
        for id in mem.segment_ids() {
            let bytes = mem.segment_bytes_mut(id).unwrap();
            for (at, bit) in &flips {
                let i = at.index(bytes.len().max(1));
                if let Some(b) = bytes.get_mut(i) { *b ^= 1 << bit; }
            }
            if let Some(cut) = &cut {
                let n = cut.index(bytes.len() + 1);
                bytes.truncate(n);
            }
        }
        let mut log = open(store);
        let got = replay(&mut log);
        prop_assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "out of order");
        for (seq, payload) in &got {
            prop_assert!(*seq >= 1 && *seq <= count);
            prop_assert_eq!(payload.clone(), (seq - 1).to_le_bytes().to_vec());
        }
        // Still usable: a new append is replayed last.
        let seq = block_on(log.append_bytes(b"after")).expect("append after damage");
        let again = replay(&mut log);
        prop_assert_eq!(again.last().map(|r| r.0), Some(seq));
    }
}

/// Appends records through a fault plan until it fires; returns the log.
fn append_until_fault(plan: FaultPlan, count: u64) -> Log<Store> {
    let mut log = open(FaultStorage::new(MemStorage::new(), FaultPlan::default()));
    log.storage_mut().revive(plan);
    for i in 0..count {
        if block_on(log.append_bytes(&i.to_le_bytes())).is_err() {
            break;
        }
        if block_on(log.sync()).is_err() {
            break;
        }
    }
    log
}

#[test]
fn failing_after_n_operations_loses_nothing_synced() {
    for ops in 0..40 {
        let log =
            append_until_fault(FaultPlan { fail_after_ops: Some(ops), ..FaultPlan::default() }, 30);
        let synced = log.synced_seq();
        let mut store = log.into_storage();
        assert!(store.is_dead() || ops > 60, "the plan should have fired at op {ops}");
        store.inner_mut().crash(CrashTail::Drop);
        store.revive(FaultPlan::default());
        let mut log = open(store);
        let got: Vec<u64> = replay(&mut log).iter().map(|r| r.0).collect();
        assert_eq!(got, (1..=synced).collect::<Vec<_>>(), "fault after {ops} ops");
        assert!(!log.recovery_report().lost_data());
    }
}

#[test]
fn a_flipped_bit_on_the_way_to_storage_is_skipped_and_counted() {
    // Byte 60 of the appended stream: inside the second record (the header is 20 bytes, each
    // record 28), in its sequence number, which the record CRC covers.
    let plan = FaultPlan { flip_bit: Some((60, 3)), ..FaultPlan::default() };
    let log = append_until_fault(plan, 5);
    let mut store = log.into_storage();
    assert_eq!(store.injected(), 1);
    store.revive(FaultPlan::default());
    let mut log = open(store);
    let report = *log.recovery_report();
    assert_eq!((report.corrupt_regions, report.lost_records), (1, 1), "{report:?}");
    let got: Vec<u64> = replay(&mut log).iter().map(|r| r.0).collect();
    assert_eq!(got, vec![1, 3, 4, 5]);
}

#[test]
fn a_failed_append_that_was_cut_back_is_invisible_to_readers() {
    let mut log = open(FaultStorage::new(MemStorage::new(), FaultPlan::default()));
    for i in 1..=3u64 {
        block_on(log.append_bytes(&i.to_le_bytes())).expect("append");
    }
    let mut reader = block_on(log.reader(Start::Unacknowledged, buffer())).expect("reader");
    for _ in 0..3 {
        block_on(log.read(&mut reader)).expect("read").expect("record");
    }
    // The next write tears after 10 bytes, transiently: the log cuts the 10 bytes back.
    let plan = FaultPlan { fail_after_bytes: Some(10), transient: true, ..FaultPlan::default() };
    log.storage_mut().revive(plan);
    assert!(block_on(log.append_bytes(b"lost....")).is_err());
    assert!(block_on(log.read(&mut reader)).expect("read").is_none());
    let seq = block_on(log.append_bytes(b"kept....")).expect("append after the failure");
    assert_eq!(seq, 4, "the failed append's seq is free again");
    let record = block_on(log.read(&mut reader)).expect("read").expect("record");
    assert_eq!((record.seq, record.payload), (4, &b"kept...."[..]));
    assert_eq!(reader.stats().corrupt_regions, 0);
}

#[test]
fn a_crafted_max_sequence_number_is_refused_not_a_panic() {
    use plover_core::log::{LogError, Storage};
    let mut mem = MemStorage::new();
    block_on(async {
        mem.create_segment(1).await.unwrap();
        mem.append(1, &format::encode_segment_header(1)).await.unwrap();
        mem.append(1, &format::encode_record_header(u64::MAX, b"")).await.unwrap();
        mem.write_checkpoint(&format::encode_checkpoint(u64::MAX)).await.unwrap();
    });
    let mut log = open(FaultStorage::new(mem, FaultPlan::default()));
    assert_eq!(log.recovery_report().records, 1);
    assert!(matches!(block_on(log.append_bytes(b"x")), Err(LogError::SeqExhausted)));
    assert!(replay(&mut log).is_empty());
}

#[test]
fn read_up_to_stops_in_front_of_later_records_and_resumes() {
    let mut log = open(FaultStorage::new(MemStorage::new(), FaultPlan::default()));
    for i in 1..=5u64 {
        block_on(log.append_bytes(&i.to_le_bytes())).expect("append");
    }
    let mut reader = block_on(log.reader(Start::Oldest, buffer())).expect("reader");
    let mut seen = Vec::new();
    while let Some(record) = block_on(log.read_up_to(&mut reader, 3)).expect("read") {
        seen.push(record.seq);
    }
    assert_eq!(seen, vec![1, 2, 3]);
    assert!(block_on(log.read_up_to(&mut reader, 3)).expect("read again").is_none());
    while let Some(record) = block_on(log.read(&mut reader)).expect("read") {
        seen.push(record.seq);
    }
    assert_eq!(seen, vec![1, 2, 3, 4, 5]);
}
