//! Fuzzes the record, segment-header and checkpoint decoders: no input may panic, and whatever
//! decodes must re-encode to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plover_core::log::format::{self, CHECKPOINT_LEN, MAX_PAYLOAD_LEN, RECORD_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = format::decode_record(data, MAX_PAYLOAD_LEN) {
        let header = format::encode_record_header(record.seq, record.payload);
        assert_eq!(&data[..RECORD_HEADER_LEN], &header[..]);
    }
    let _ = format::decode_record_len(data, 1024);
    if let Ok(base) = format::decode_segment_header(data) {
        assert_eq!(&data[..format::SEGMENT_HEADER_LEN], &format::encode_segment_header(base)[..]);
    }
    if let Some(slot) = data.first_chunk::<CHECKPOINT_LEN>() {
        if let Ok(acked) = format::decode_checkpoint(slot) {
            assert_eq!(slot, &format::encode_checkpoint(acked));
        }
    }
});
