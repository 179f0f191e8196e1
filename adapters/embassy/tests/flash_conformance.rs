//! Runs the core's storage conformance suite and damaged-log corpus on [`FlashStorage`] over
//! the NOR-rules mock flash, with 4 KiB pages and a reopen that mounts the flash again.

use futures_lite::future::block_on;
use plover_embassy::{FlashStorage, MockFlash};

type Flash = MockFlash<Vec<u8>, 4096, 4>;
type Flashed = FlashStorage<Flash, 12>;

const REGION: core::ops::Range<u32> = 0..14 * 4096;

fn fresh() -> Flashed {
    block_on(FlashStorage::mount(Flash::new(vec![0; 14 * 4096]), REGION)).expect("mount")
}

fn remount(storage: Flashed) -> Flashed {
    block_on(FlashStorage::mount(storage.into_flash(), REGION)).expect("remount")
}

mod on_mock_flash {
    use super::*;

    plover_core::log_conformance_tests!(futures_lite::future::block_on, fresh(), remount);
}
