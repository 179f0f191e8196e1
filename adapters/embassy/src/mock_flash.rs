//! [`MockFlash`]: NOR flash simulated in RAM, strict about NOR rules, with a power-cut switch.
//!
//! A write may only clear bits (1 -> 0); asking it to set one is an error, as is a write that is
//! not aligned to the word size. An erase sets a page to `0xFF`. Power can be cut after any
//! number of programmed bytes, leaving a half-programmed byte or a half-erased page behind.

use embedded_storage::nor_flash::{ErrorType, NorFlashError, NorFlashErrorKind};
use embedded_storage_async::nor_flash::{MultiwriteNorFlash, NorFlash, ReadNorFlash};

/// How many pages have their erase counts kept (enough for the tests and the firmware).
pub const COUNTED_PAGES: usize = 64;

/// Why the mock refused an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MockFlashError {
    /// The range runs past the end of the flash.
    OutOfBounds,
    /// The offset or length is not a multiple of the write (or erase) size.
    NotAligned,
    /// A write asked to turn a 0 bit back into 1 at this offset, which only an erase can do.
    WouldSetBits {
        /// Flash offset of the first offending byte.
        offset: u32,
    },
    /// The power was cut during this operation, or is still off.
    PowerCut,
}

impl core::fmt::Display for MockFlashError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MockFlashError::OutOfBounds => f.write_str("out of the flash's bounds"),
            MockFlashError::NotAligned => f.write_str("not aligned to the write or erase size"),
            MockFlashError::WouldSetBits { offset } => {
                write!(f, "a write at {offset} would set a bit that only an erase can set")
            }
            MockFlashError::PowerCut => f.write_str("the power was cut"),
        }
    }
}

impl core::error::Error for MockFlashError {}

impl NorFlashError for MockFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            MockFlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            MockFlashError::NotAligned => NorFlashErrorKind::NotAligned,
            _ => NorFlashErrorKind::Other,
        }
    }
}

/// NOR flash in RAM: `PAGE` bytes per erase unit, `WORD` bytes per write unit, over any byte
/// buffer `B` (a `Vec<u8>` in tests, a `&'static mut [u8]` in firmware).
///
/// Power-cut accounting counts *units*: each programmed byte is one unit and each page erase
/// is one unit. With [`MockFlash::cut_power_after`]`(n)`, the first `n` units complete, the
/// next one is done halfway (a byte gets only its low four bits programmed, a page gets only
/// its first half erased), the call fails with [`MockFlashError::PowerCut`], and every call
/// fails until [`MockFlash::power_on`].
#[derive(Debug)]
pub struct MockFlash<B, const PAGE: usize, const WORD: usize> {
    bytes: B,
    cut_after: Option<u64>,
    units: u64,
    off: bool,
    erases: [u32; COUNTED_PAGES],
}

impl<B: AsRef<[u8]> + AsMut<[u8]>, const PAGE: usize, const WORD: usize> MockFlash<B, PAGE, WORD> {
    /// A flash over `bytes`, erased (every byte set to `0xFF`), as it leaves the factory.
    pub fn new(mut bytes: B) -> Self {
        bytes.as_mut().fill(0xff);
        MockFlash { bytes, cut_after: None, units: 0, off: false, erases: [0; COUNTED_PAGES] }
    }

    /// A flash whose bytes are `bytes` as they are: a snapshot taken with
    /// [`MockFlash::into_inner`], to try several futures from one state.
    pub fn with_contents(bytes: B) -> Self {
        MockFlash { bytes, cut_after: None, units: 0, off: false, erases: [0; COUNTED_PAGES] }
    }

    /// Plans a power cut once `units` more units have been done (see the type's docs);
    /// `None` cancels the plan.
    pub fn cut_power_after(&mut self, units: Option<u64>) {
        self.cut_after = units.map(|n| self.units + n);
    }

    /// Turns the power back on after a cut; the bytes stay as the cut left them.
    pub fn power_on(&mut self) {
        self.off = false;
        self.cut_after = None;
    }

    /// Whether a cut happened and the power is still off.
    pub fn is_off(&self) -> bool {
        self.off
    }

    /// Units done since the flash was made (programmed bytes plus erased pages).
    pub fn units(&self) -> u64 {
        self.units
    }

    /// How often page `index` was erased (0 for pages beyond [`COUNTED_PAGES`]).
    pub fn erase_count(&self, index: usize) -> u32 {
        self.erases.get(index).copied().unwrap_or(0)
    }

    /// The raw bytes, for tests that look at or damage what is stored.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.bytes.as_mut()
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> B {
        self.bytes
    }

    fn check(&self, offset: u32, len: usize, unit: usize) -> Result<usize, MockFlashError> {
        if self.off {
            return Err(MockFlashError::PowerCut);
        }
        let start = offset as usize;
        if start.checked_add(len).is_none_or(|end| end > self.bytes.as_ref().len()) {
            return Err(MockFlashError::OutOfBounds);
        }
        if !start.is_multiple_of(unit) || !len.is_multiple_of(unit) {
            return Err(MockFlashError::NotAligned);
        }
        Ok(start)
    }

    /// Counts one unit; `true` if the power dies during it.
    fn spend(&mut self) -> bool {
        if self.cut_after.is_some_and(|at| self.units >= at) {
            self.off = true;
            return true;
        }
        self.units += 1;
        false
    }
}

impl<B, const PAGE: usize, const WORD: usize> ErrorType for MockFlash<B, PAGE, WORD> {
    type Error = MockFlashError;
}

impl<B: AsRef<[u8]> + AsMut<[u8]>, const PAGE: usize, const WORD: usize> ReadNorFlash
    for MockFlash<B, PAGE, WORD>
{
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), MockFlashError> {
        let start = self.check(offset, bytes.len(), 1)?;
        bytes.copy_from_slice(&self.bytes.as_ref()[start..start + bytes.len()]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.bytes.as_ref().len()
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>, const PAGE: usize, const WORD: usize> NorFlash
    for MockFlash<B, PAGE, WORD>
{
    const WRITE_SIZE: usize = WORD;
    const ERASE_SIZE: usize = PAGE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), MockFlashError> {
        let len = (to as usize).checked_sub(from as usize).ok_or(MockFlashError::OutOfBounds)?;
        let start = self.check(from, len, PAGE)?;
        for page in (start..start + len).step_by(PAGE) {
            if self.spend() {
                // Erasure stopped halfway: the first half is clean, the rest still old.
                self.bytes.as_mut()[page..page + PAGE / 2].fill(0xff);
                return Err(MockFlashError::PowerCut);
            }
            self.bytes.as_mut()[page..page + PAGE].fill(0xff);
            if let Some(count) = self.erases.get_mut(page / PAGE) {
                *count = count.saturating_add(1);
            }
        }
        Ok(())
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), MockFlashError> {
        let start = self.check(offset, bytes.len(), WORD)?;
        // NOR rule first, for the whole write: no bit may go from 0 to 1.
        let stored = &self.bytes.as_ref()[start..start + bytes.len()];
        if let Some(i) = stored.iter().zip(bytes).position(|(old, new)| new & !old != 0) {
            return Err(MockFlashError::WouldSetBits { offset: offset + i as u32 });
        }
        for (i, new) in bytes.iter().enumerate() {
            let cut = self.spend();
            let cell = &mut self.bytes.as_mut()[start + i];
            if cut {
                // Programming stopped inside this byte: only its low bits made it.
                *cell &= new | 0xf0;
                return Err(MockFlashError::PowerCut);
            }
            *cell &= new;
        }
        Ok(())
    }
}

/// Programming a word again is allowed as long as it only clears bits, as on most NOR chips.
impl<B: AsRef<[u8]> + AsMut<[u8]>, const PAGE: usize, const WORD: usize> MultiwriteNorFlash
    for MockFlash<B, PAGE, WORD>
{
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;
    use std::vec;
    use std::vec::Vec;

    type Flash = MockFlash<Vec<u8>, 64, 4>;

    #[test]
    fn writes_only_clear_bits_and_erase_sets_ones() {
        let mut flash = Flash::new(vec![0; 128]);
        block_on(flash.write(0, &[0x0f, 0xf0, 0x00, 0xff])).unwrap();
        // Clearing more bits of a written word is fine; setting one back is not.
        block_on(flash.write(0, &[0x0e, 0xf0, 0x00, 0xff])).unwrap();
        assert_eq!(
            block_on(flash.write(0, &[0x0f, 0xf0, 0x00, 0xff])),
            Err(MockFlashError::WouldSetBits { offset: 0 })
        );
        assert_eq!(block_on(flash.write(2, &[0; 4])), Err(MockFlashError::NotAligned));
        assert_eq!(block_on(flash.write(128, &[0; 4])), Err(MockFlashError::OutOfBounds));
        block_on(flash.erase(0, 64)).unwrap();
        let mut back = [0u8; 4];
        block_on(flash.read(0, &mut back)).unwrap();
        assert_eq!(back, [0xff; 4]);
        assert_eq!(flash.erase_count(0), 1);
    }

    #[test]
    fn power_cut_leaves_a_half_programmed_byte_and_blocks_until_power_on() {
        let mut flash = Flash::new(vec![0; 128]);
        flash.cut_power_after(Some(2));
        assert_eq!(block_on(flash.write(0, &[0x00; 4])), Err(MockFlashError::PowerCut));
        assert_eq!(&flash.bytes_mut()[..4], &[0x00, 0x00, 0xf0, 0xff]);
        let mut back = [0u8; 1];
        assert_eq!(block_on(flash.read(0, &mut back)), Err(MockFlashError::PowerCut));
        flash.power_on();
        block_on(flash.read(2, &mut back)).unwrap();
        assert_eq!(back, [0xf0]);
    }

    #[test]
    fn power_cut_during_erase_leaves_half_a_page() {
        let mut flash = Flash::new(vec![0; 128]);
        block_on(flash.write(0, &[0; 64])).unwrap();
        flash.cut_power_after(Some(0));
        assert_eq!(block_on(flash.erase(0, 64)), Err(MockFlashError::PowerCut));
        assert!(flash.bytes_mut()[..32].iter().all(|b| *b == 0xff));
        assert!(flash.bytes_mut()[32..64].iter().all(|b| *b == 0));
    }
}
