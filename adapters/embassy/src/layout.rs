//! The bytes [`FlashStorage`](crate::FlashStorage) puts on flash around the log's own bytes.
//!
//! It owns the page header, the seal field, the length marks and the checkpoint entries; the
//! log's records inside a page are `plover_core::log::format`'s business. Every field is
//! written once after an erase, and each one carries a check so that erased (`0xFF`) or
//! half-programmed bytes never pass for a value. Decoding never panics.
//!
//! ```text
//! segment page (ERASE_SIZE bytes)
//! 0      4      8      12     16     20     24                              end-8k   end
//! +------+------+------+------+------+------+-------------------- ... ----+--------+
//! |magic |seg id|layout| crc  | seal | seal |  the log's bytes, growing ->  | <- marks|
//! |"PLFP"|  u32 | u32  |0..12 | len  |check |  (never rewritten)            | 8 each  |
//! +------+------+------+------+------+------+-------------------- ... ----+--------+
//!
//! checkpoint page: 24-byte entries from offset 0: [slot 16][counter u32][crc u32 of 0..20]
//! ```

use plover_core::log::format::{CHECKPOINT_LEN, crc32c};

/// Magic of a segment page header.
pub(crate) const PAGE_MAGIC: [u8; 4] = *b"PLFP";
/// Version of this page layout.
pub(crate) const LAYOUT_VERSION: u32 = 1;
/// Offset of the segment id (u32) in the page header.
pub(crate) const HDR_ID: usize = 4;
/// Offset of the layout version (u32).
pub(crate) const HDR_VERSION: usize = 8;
/// Offset of the header CRC (CRC-32C of bytes `0..HDR_CRC`).
pub(crate) const HDR_CRC: usize = 12;
/// Length of the part written when the segment is created.
pub(crate) const HEADER_LEN: usize = 16;
/// Offset of the seal field: the sealed length (u32) and its check (u32).
pub(crate) const SEAL: usize = 16;
/// Where the log's bytes start in a segment page.
pub(crate) const DATA_START: usize = 24;
/// Size of one length mark (at the end of a page) and of the seal field.
pub(crate) const FIELD_LEN: usize = 8;

/// Mixed into length checks so that `FF FF FF FF FF FF FF FF` never decodes.
const SEAL_XOR: u32 = 0x53ea_1ed0;
const MARK_XOR: u32 = 0x3a7c_0b15;

/// Size of one checkpoint entry.
pub(crate) const CK_ENTRY_LEN: usize = CHECKPOINT_LEN + 8;

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

/// Whether bytes are still erased.
pub(crate) fn is_erased(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| *b == 0xff)
}

/// The header written right after a page is erased for segment `id`.
pub(crate) fn encode_header(id: u32) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[..4].copy_from_slice(&PAGE_MAGIC);
    out[HDR_ID..HDR_ID + 4].copy_from_slice(&id.to_le_bytes());
    out[HDR_VERSION..HDR_VERSION + 4].copy_from_slice(&LAYOUT_VERSION.to_le_bytes());
    let crc = crc32c(&out[..HDR_CRC]);
    out[HDR_CRC..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// The segment id of a valid header; `None` for anything else (erased, torn, foreign).
pub(crate) fn decode_header(bytes: &[u8; HEADER_LEN]) -> Option<u32> {
    let valid = bytes[..4] == PAGE_MAGIC
        && u32_at(bytes, HDR_VERSION) == LAYOUT_VERSION
        && u32_at(bytes, HDR_CRC) == crc32c(&bytes[..HDR_CRC]);
    valid.then(|| u32_at(bytes, HDR_ID))
}

fn encode_len(len: u32, xor: u32) -> [u8; FIELD_LEN] {
    let mut out = [0u8; FIELD_LEN];
    out[..4].copy_from_slice(&len.to_le_bytes());
    out[4..].copy_from_slice(&(crc32c(&len.to_le_bytes()) ^ xor).to_le_bytes());
    out
}

fn decode_len(bytes: &[u8; FIELD_LEN], xor: u32) -> Option<u32> {
    let len = u32_at(bytes, 0);
    (u32_at(bytes, 4) == crc32c(&len.to_le_bytes()) ^ xor).then_some(len)
}

/// The seal field saying the segment ends at `len` bytes.
pub(crate) fn encode_seal(len: u32) -> [u8; FIELD_LEN] {
    encode_len(len, SEAL_XOR)
}

/// The sealed length, if the field holds a valid seal.
pub(crate) fn decode_seal(bytes: &[u8; FIELD_LEN]) -> Option<u32> {
    decode_len(bytes, SEAL_XOR)
}

/// A length mark: at least `len` bytes of the segment were synced.
pub(crate) fn encode_mark(len: u32) -> [u8; FIELD_LEN] {
    encode_len(len, MARK_XOR)
}

/// The synced length a mark records, if it is valid.
pub(crate) fn decode_mark(bytes: &[u8; FIELD_LEN]) -> Option<u32> {
    decode_len(bytes, MARK_XOR)
}

/// A checkpoint entry: the log's slot bytes, kept opaque, and a counter that orders entries.
pub(crate) fn encode_checkpoint(slot: &[u8; CHECKPOINT_LEN], counter: u32) -> [u8; CK_ENTRY_LEN] {
    let mut out = [0u8; CK_ENTRY_LEN];
    out[..CHECKPOINT_LEN].copy_from_slice(slot);
    out[CHECKPOINT_LEN..CHECKPOINT_LEN + 4].copy_from_slice(&counter.to_le_bytes());
    let crc = crc32c(&out[..CHECKPOINT_LEN + 4]);
    out[CHECKPOINT_LEN + 4..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// The slot and counter of a complete entry; `None` for an erased or torn one.
pub(crate) fn decode_checkpoint(bytes: &[u8; CK_ENTRY_LEN]) -> Option<([u8; CHECKPOINT_LEN], u32)> {
    if u32_at(bytes, CHECKPOINT_LEN + 4) != crc32c(&bytes[..CHECKPOINT_LEN + 4]) {
        return None;
    }
    let mut slot = [0u8; CHECKPOINT_LEN];
    slot.copy_from_slice(&bytes[..CHECKPOINT_LEN]);
    Some((slot, u32_at(bytes, CHECKPOINT_LEN)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erased_bytes_decode_as_nothing() {
        assert_eq!(decode_header(&[0xff; HEADER_LEN]), None);
        assert_eq!(decode_seal(&[0xff; FIELD_LEN]), None);
        assert_eq!(decode_mark(&[0xff; FIELD_LEN]), None);
        assert_eq!(decode_checkpoint(&[0xff; CK_ENTRY_LEN]), None);
        assert_eq!(decode_mark(&[0; FIELD_LEN]), None);
    }

    #[test]
    fn fields_round_trip_and_a_flipped_bit_is_caught() {
        assert_eq!(decode_header(&encode_header(7)), Some(7));
        assert_eq!(decode_seal(&encode_seal(300)), Some(300));
        assert_eq!(decode_mark(&encode_mark(300)), Some(300));
        // A seal is not a mark: the two checks differ.
        assert_eq!(decode_mark(&encode_seal(300)), None);
        let entry = encode_checkpoint(&[3; CHECKPOINT_LEN], 9);
        assert_eq!(decode_checkpoint(&entry), Some(([3; CHECKPOINT_LEN], 9)));
        for bit in 0..CK_ENTRY_LEN * 8 {
            let mut bad = entry;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(decode_checkpoint(&bad), None, "bit {bit}");
        }
    }
}
