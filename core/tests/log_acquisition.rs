//! The acquisition modes start a log reader at the right record: `Once` at the oldest,
//! `Resume(checkpoint)` right after the checkpoint, `ByTopicPartition` at its offset.

use futures_lite::future::block_on;
use plover_core::acquisition::{Acquisition, Checkpoint};
use plover_core::log::{Log, LogConfig, MemStorage};

const CONFIG: LogConfig = LogConfig { segment_size: 256, max_payload: 64 };

/// The sequence numbers a reader started by `mode` sees, over a log of records 1..=10 whose
/// first three are acknowledged.
fn seqs_read(mode: &Acquisition) -> Vec<u64> {
    block_on(async {
        let mut scratch = [0u8; 256];
        let mut log = Log::open(MemStorage::new(), CONFIG, &mut scratch).await.unwrap();
        for n in 1..=10_u32 {
            log.append(&n, &mut scratch).await.unwrap();
        }
        log.sync().await.unwrap();
        log.ack(3).await.unwrap();

        let start = mode.start().expect("a log mode");
        let mut reader = log.reader(start, vec![0u8; 256]).await.unwrap();
        let mut seen = Vec::new();
        while let Some(record) = log.read(&mut reader).await.unwrap() {
            seen.push(record.seq);
        }
        seen
    })
}

#[test]
fn once_reads_from_the_oldest_stored_record() {
    assert_eq!(seqs_read(&Acquisition::Once), (1..=10).collect::<Vec<_>>());
}

#[test]
fn resume_reads_from_the_record_after_the_checkpoint() {
    assert_eq!(seqs_read(&Acquisition::Resume(Checkpoint(6))), [7, 8, 9, 10]);
}

#[test]
fn by_topic_partition_reads_from_the_offset() {
    let mode = Acquisition::ByTopicPartition {
        topic: heapless::String::try_from("sensors").unwrap(),
        partition: 0,
        offset: 9,
    };
    assert_eq!(seqs_read(&mode), [9, 10]);
}

#[test]
fn custom_mode_leaves_the_start_to_the_source() {
    let mode = Acquisition::Custom(heapless::String::try_from("tail").unwrap());
    assert_eq!(mode.start(), None);
}
