//! The byte format of the durable log: segment header, record frame and checkpoint.
//!
//! Every backend stores exactly these bytes; `docs/log-format.md` is the prose of this file and
//! the golden-bytes tests below pin it. Decoding never panics: bad bytes become a
//! [`DecodeError`], and what to do about them is left to recovery (`recovery.rs`).

use crc::{Crc, Table};

/// The CRC-32C (Castagnoli, `CRC_32_ISCSI`) used for every check in the format.
///
/// Slice-by-16 tables on hosts with a standard library (speed matters for recovery scans); the
/// byte-wise table elsewhere, to keep firmware small. Both compute the same value.
#[cfg(feature = "std")]
static CRC32C: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&crc::CRC_32_ISCSI);
#[cfg(not(feature = "std"))]
static CRC32C: Crc<u32, Table<1>> = Crc::<u32, Table<1>>::new(&crc::CRC_32_ISCSI);

/// The four bytes that open every segment.
pub const SEGMENT_MAGIC: [u8; 4] = *b"PLVL";
/// The format version this code writes and the only one it reads.
pub const FORMAT_VERSION: u16 = 1;

/// Offset of the magic in the segment header.
pub const SEG_MAGIC: usize = 0;
/// Offset of the format version (u16) in the segment header.
pub const SEG_VERSION: usize = 4;
/// Offset of the flags (u16, must be zero in version 1) in the segment header.
pub const SEG_FLAGS: usize = 6;
/// Offset of the base sequence number (u64): no record in the segment has a smaller one.
pub const SEG_BASE_SEQ: usize = 8;
/// Offset of the CRC-32C over bytes `0..SEG_CRC` of the segment header.
pub const SEG_CRC: usize = 16;
/// Length of the segment header; the first record starts here.
pub const SEGMENT_HEADER_LEN: usize = 20;

/// Offset of the payload length (u32) in a record frame.
pub const REC_LEN: usize = 0;
/// Offset of the length check (u32): CRC-32C of the four length bytes XOR [`LEN_CHECK_XOR`].
pub const REC_LEN_CHECK: usize = 4;
/// Offset of the record CRC (u32): CRC-32C of the sequence number bytes then the payload.
pub const REC_CRC: usize = 8;
/// Offset of the sequence number (u64).
pub const REC_SEQ: usize = 12;
/// Length of a record header; the payload follows it.
pub const RECORD_HEADER_LEN: usize = 20;

/// The largest payload the format allows (16 MiB); a larger length is corruption by definition.
pub const MAX_PAYLOAD_LEN: u32 = 16 * 1024 * 1024;

/// The four bytes that open the checkpoint slot.
pub const CHECKPOINT_MAGIC: [u8; 4] = *b"PLCK";
/// Offset of the acknowledged sequence number (u64) in the checkpoint.
pub const CK_ACKED: usize = 4;
/// Offset of the CRC-32C over bytes `0..CK_CRC` of the checkpoint.
pub const CK_CRC: usize = 12;
/// Length of the checkpoint slot.
pub const CHECKPOINT_LEN: usize = 16;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end before the structure does; `needed` bytes in total would be required.
    Incomplete {
        /// Total number of bytes the structure needs from its start.
        needed: usize,
    },
    /// The bytes are all there but they are not a valid structure.
    Corrupted(Corruption),
}

/// What exactly is wrong with corrupted bytes; the bad values are kept for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// The length field does not match its check.
    LengthCheck {
        /// The length field as read.
        len: u32,
        /// The check field as read.
        check: u32,
    },
    /// The length passed its check but exceeds [`MAX_PAYLOAD_LEN`] or the reader's limit.
    LengthTooLarge {
        /// The length field as read.
        len: u32,
        /// The limit it broke.
        max: u32,
    },
    /// The record CRC does not match the sequence number and payload.
    RecordChecksum {
        /// CRC stored in the record.
        stored: u32,
        /// CRC computed over the bytes.
        computed: u32,
    },
    /// A segment header does not start with [`SEGMENT_MAGIC`].
    SegmentMagic {
        /// The four bytes found instead.
        found: [u8; 4],
    },
    /// A segment header names a version this code does not read.
    SegmentVersion {
        /// The version found.
        found: u16,
    },
    /// A segment header fails its CRC.
    SegmentChecksum {
        /// CRC stored in the header.
        stored: u32,
        /// CRC computed over the header.
        computed: u32,
    },
    /// The checkpoint does not start with [`CHECKPOINT_MAGIC`] or fails its CRC.
    Checkpoint,
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::Incomplete { needed } => write!(f, "incomplete: {needed} bytes needed"),
            DecodeError::Corrupted(c) => write!(f, "corrupted: {c:?}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// CRC-32C of one byte slice.
pub fn crc32c(bytes: &[u8]) -> u32 {
    CRC32C.checksum(bytes)
}

/// Mixed into the length check so that erased flash (all `0xFF`) does not pass it: CRC-32C of
/// four `0xFF` bytes is itself `0xFFFF_FFFF`.
pub const LEN_CHECK_XOR: u32 = 0x5a5a_5a5a;

fn length_check(len: u32) -> u32 {
    crc32c(&len.to_le_bytes()) ^ LEN_CHECK_XOR
}

fn record_crc(seq: u64, payload: &[u8]) -> u32 {
    let mut digest = CRC32C.digest();
    digest.update(&seq.to_le_bytes());
    digest.update(payload);
    digest.finalize()
}

/// Encodes a segment header whose records all have sequence numbers `>= base_seq`.
pub fn encode_segment_header(base_seq: u64) -> [u8; SEGMENT_HEADER_LEN] {
    let mut out = [0u8; SEGMENT_HEADER_LEN];
    out[SEG_MAGIC..SEG_MAGIC + 4].copy_from_slice(&SEGMENT_MAGIC);
    out[SEG_VERSION..SEG_VERSION + 2].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[SEG_BASE_SEQ..SEG_BASE_SEQ + 8].copy_from_slice(&base_seq.to_le_bytes());
    let crc = crc32c(&out[..SEG_CRC]);
    out[SEG_CRC..SEG_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a segment header and returns its base sequence number.
///
/// # Errors
///
/// [`DecodeError::Incomplete`] if fewer than [`SEGMENT_HEADER_LEN`] bytes are given;
/// [`DecodeError::Corrupted`] for a wrong magic, checksum, version or non-zero flags.
pub fn decode_segment_header(bytes: &[u8]) -> Result<u64, DecodeError> {
    if bytes.len() < SEGMENT_HEADER_LEN {
        return Err(DecodeError::Incomplete { needed: SEGMENT_HEADER_LEN });
    }
    let mut magic = [0u8; 4];
    magic.copy_from_slice(&bytes[SEG_MAGIC..SEG_MAGIC + 4]);
    if magic != SEGMENT_MAGIC {
        return Err(DecodeError::Corrupted(Corruption::SegmentMagic { found: magic }));
    }
    let stored = u32_at(bytes, SEG_CRC);
    let computed = crc32c(&bytes[..SEG_CRC]);
    if stored != computed {
        return Err(DecodeError::Corrupted(Corruption::SegmentChecksum { stored, computed }));
    }
    // The CRC passed, so a wrong version or flags is a file from another format version, not
    // damage; it is still reported as corruption because this code cannot read it.
    let version = u16_at(bytes, SEG_VERSION);
    if version != FORMAT_VERSION || u16_at(bytes, SEG_FLAGS) != 0 {
        return Err(DecodeError::Corrupted(Corruption::SegmentVersion { found: version }));
    }
    Ok(u64_at(bytes, SEG_BASE_SEQ))
}

/// Encodes the header of a record carrying `payload` under sequence number `seq`.
///
/// The caller writes the payload right after it. `payload.len()` must not exceed
/// [`MAX_PAYLOAD_LEN`]; the log checks that before calling.
pub fn encode_record_header(seq: u64, payload: &[u8]) -> [u8; RECORD_HEADER_LEN] {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut out = [0u8; RECORD_HEADER_LEN];
    out[REC_LEN..REC_LEN + 4].copy_from_slice(&len.to_le_bytes());
    out[REC_LEN_CHECK..REC_LEN_CHECK + 4].copy_from_slice(&length_check(len).to_le_bytes());
    out[REC_CRC..REC_CRC + 4].copy_from_slice(&record_crc(seq, payload).to_le_bytes());
    out[REC_SEQ..REC_SEQ + 8].copy_from_slice(&seq.to_le_bytes());
    out
}

/// Checks only the length field of a record header and returns the payload length.
///
/// This is the cheap first test used when scanning for the next valid record after damage.
///
/// # Errors
///
/// [`DecodeError::Incomplete`] if fewer than 8 bytes are given; [`Corruption::LengthCheck`] or
/// [`Corruption::LengthTooLarge`] (against `max_payload`) otherwise.
pub fn decode_record_len(bytes: &[u8], max_payload: u32) -> Result<u32, DecodeError> {
    if bytes.len() < REC_LEN_CHECK + 4 {
        return Err(DecodeError::Incomplete { needed: RECORD_HEADER_LEN });
    }
    let len = u32_at(bytes, REC_LEN);
    let check = u32_at(bytes, REC_LEN_CHECK);
    if check != length_check(len) {
        return Err(DecodeError::Corrupted(Corruption::LengthCheck { len, check }));
    }
    let max = max_payload.min(MAX_PAYLOAD_LEN);
    if len > max {
        return Err(DecodeError::Corrupted(Corruption::LengthTooLarge { len, max }));
    }
    Ok(len)
}

/// A record decoded in place: its sequence number and a borrow of its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// The record's sequence number.
    pub seq: u64,
    /// The payload bytes (postcard-encoded for typed records).
    pub payload: &'a [u8],
}

impl RecordRef<'_> {
    /// The number of bytes the whole record occupies: header plus payload.
    pub fn encoded_len(&self) -> usize {
        RECORD_HEADER_LEN + self.payload.len()
    }
}

/// Decodes the record that starts at `bytes[0]`.
///
/// # Errors
///
/// [`DecodeError::Incomplete`] with the total size needed when `bytes` ends inside the record;
/// [`DecodeError::Corrupted`] when the length check or the record CRC fails.
pub fn decode_record(bytes: &[u8], max_payload: u32) -> Result<RecordRef<'_>, DecodeError> {
    let len = decode_record_len(bytes, max_payload)? as usize;
    let needed = RECORD_HEADER_LEN + len;
    if bytes.len() < needed {
        return Err(DecodeError::Incomplete { needed });
    }
    let seq = u64_at(bytes, REC_SEQ);
    let payload = &bytes[RECORD_HEADER_LEN..needed];
    let stored = u32_at(bytes, REC_CRC);
    let computed = record_crc(seq, payload);
    if stored != computed {
        return Err(DecodeError::Corrupted(Corruption::RecordChecksum { stored, computed }));
    }
    Ok(RecordRef { seq, payload })
}

/// Encodes the checkpoint slot: everything up to and including `acked` is acknowledged.
pub fn encode_checkpoint(acked: u64) -> [u8; CHECKPOINT_LEN] {
    let mut out = [0u8; CHECKPOINT_LEN];
    out[..4].copy_from_slice(&CHECKPOINT_MAGIC);
    out[CK_ACKED..CK_ACKED + 8].copy_from_slice(&acked.to_le_bytes());
    let crc = crc32c(&out[..CK_CRC]);
    out[CK_CRC..CK_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes the checkpoint slot and returns the acknowledged sequence number.
///
/// # Errors
///
/// [`Corruption::Checkpoint`] for a wrong magic or CRC.
pub fn decode_checkpoint(bytes: &[u8; CHECKPOINT_LEN]) -> Result<u64, DecodeError> {
    if bytes[..4] != CHECKPOINT_MAGIC || u32_at(bytes, CK_CRC) != crc32c(&bytes[..CK_CRC]) {
        return Err(DecodeError::Corrupted(Corruption::Checkpoint));
    }
    Ok(u64_at(bytes, CK_ACKED))
}

#[cfg(test)]
mod tests {
    use super::*;

    // These bytes are the format (CRCs cross-checked with an independent bitwise CRC-32C).
    // If this test fails, the on-disk format changed: bump
    // FORMAT_VERSION and update docs/log-format.md instead of editing the expected bytes.
    #[test]
    fn golden_segment_header_bytes_are_pinned() {
        let header = encode_segment_header(0x0102_0304_0506_0708);
        let expected: [u8; SEGMENT_HEADER_LEN] = [
            b'P', b'L', b'V', b'L', // magic
            0x01, 0x00, // version 1
            0x00, 0x00, // flags
            0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, // base seq
            0x1c, 0xa9, 0xfc, 0x07, // CRC-32C of the 16 bytes above
        ];
        assert_eq!(header, expected);
        assert_eq!(decode_segment_header(&header), Ok(0x0102_0304_0506_0708));
    }

    #[test]
    fn golden_record_bytes_are_pinned() {
        let payload = b"hi";
        let mut bytes = [0u8; RECORD_HEADER_LEN + 2];
        bytes[..RECORD_HEADER_LEN].copy_from_slice(&encode_record_header(7, payload));
        bytes[RECORD_HEADER_LEN..].copy_from_slice(payload);
        let expected: [u8; RECORD_HEADER_LEN + 2] = [
            0x02, 0x00, 0x00, 0x00, // payload length 2
            0x1c, 0x32, 0x5a, 0xad, // CRC-32C of the length bytes ^ 0x5a5a5a5a
            0xe2, 0xd1, 0x5a, 0x9c, // CRC-32C of seq bytes + payload
            0x07, 0, 0, 0, 0, 0, 0, 0, // seq 7
            b'h', b'i', // payload
        ];
        assert_eq!(bytes, expected);
        let record = decode_record(&bytes, MAX_PAYLOAD_LEN).unwrap();
        assert_eq!((record.seq, record.payload), (7, &payload[..]));
    }

    #[test]
    fn golden_checkpoint_bytes_are_pinned() {
        let ck = encode_checkpoint(42);
        let expected: [u8; CHECKPOINT_LEN] =
            [b'P', b'L', b'C', b'K', 42, 0, 0, 0, 0, 0, 0, 0, 0xcf, 0xca, 0x25, 0x17];
        assert_eq!(ck, expected);
        assert_eq!(decode_checkpoint(&ck), Ok(42));
    }

    #[test]
    fn crc_is_crc32c() {
        // The check value of CRC-32C for "123456789".
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn zero_filled_header_is_a_length_check_failure() {
        let zeros = [0u8; RECORD_HEADER_LEN];
        assert!(matches!(
            decode_record(&zeros, MAX_PAYLOAD_LEN),
            Err(DecodeError::Corrupted(Corruption::LengthCheck { len: 0, check: 0 }))
        ));
        let ones = [0xffu8; RECORD_HEADER_LEN];
        assert!(matches!(
            decode_record(&ones, MAX_PAYLOAD_LEN),
            Err(DecodeError::Corrupted(Corruption::LengthCheck { .. }))
        ));
    }

    #[test]
    fn every_single_bit_flip_in_a_record_is_detected() {
        let payload = b"payload bytes";
        let mut bytes = [0u8; RECORD_HEADER_LEN + 13];
        bytes[..RECORD_HEADER_LEN].copy_from_slice(&encode_record_header(99, payload));
        bytes[RECORD_HEADER_LEN..].copy_from_slice(payload);
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes;
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_record(&damaged, MAX_PAYLOAD_LEN).is_err(), "bit {bit} undetected");
        }
    }

    #[test]
    fn short_input_is_incomplete_not_a_panic() {
        let header = encode_record_header(1, b"abc");
        for cut in 0..RECORD_HEADER_LEN {
            assert!(matches!(
                decode_record(&header[..cut], MAX_PAYLOAD_LEN),
                Err(DecodeError::Incomplete { .. })
            ));
        }
        assert_eq!(
            decode_record(&header, MAX_PAYLOAD_LEN),
            Err(DecodeError::Incomplete { needed: RECORD_HEADER_LEN + 3 })
        );
    }
}
