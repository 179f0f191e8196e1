//! Fuzzes recovery: arbitrary bytes as the segments of a log (after a valid prefix, so the
//! fuzzer starts near real records). Opening must not panic or loop, replay must be ordered,
//! and the log must accept and replay a new append.
#![no_main]

use futures_lite::future::block_on;
use libfuzzer_sys::fuzz_target;
use plover_core::log::{Log, LogConfig, MemStorage, Start, Storage};

const CONFIG: LogConfig = LogConfig { segment_size: 512, max_payload: 64 };

fuzz_target!(|data: &[u8]| {
    block_on(async {
        let mut storage = MemStorage::new();
        // The first byte splits the input into two segments.
        let split = data.first().map_or(0, |b| *b as usize).min(data.len());
        let (a, b) = data.split_at(split);
        for (id, bytes) in [(1, a), (2, b)] {
            storage.create_segment(id).await.unwrap();
            storage.append(id, bytes).await.unwrap();
        }
        let mut buf = [0u8; 84];
        let mut log = Log::open(storage, CONFIG, &mut buf).await.unwrap();
        let mut reader = log.reader(Start::Oldest, [0u8; 84]).await.unwrap();
        let mut last = 0;
        let mut count = 0;
        while let Some(record) = log.read(&mut reader).await.unwrap() {
            assert!(record.seq > last);
            last = record.seq;
            count += 1;
            assert!(count <= data.len());
        }
        let seq = log.append_bytes(b"after").await.unwrap();
        let mut reader = log.reader(Start::Seq(seq), [0u8; 84]).await.unwrap();
        assert_eq!(log.read(&mut reader).await.unwrap().map(|r| r.seq), Some(seq));
    });
});
