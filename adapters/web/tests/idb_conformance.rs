//! Runs the core's storage conformance suite and damaged-log corpus on [`IdbStorage`], in a
//! browser (`wasm-bindgen-test`, headless Chromium; see `scripts/web-test.sh`).
//!
//! Each check gets a database of its own; "reopen" closes the connection and drops every cache.
#![cfg(target_arch = "wasm32")]

use core::sync::atomic::{AtomicU32, Ordering};

use plover_web::{Durability, IdbStorage};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn fresh(batch_bytes: usize) -> IdbStorage {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = format!("plover-conformance-{}-{n}", js_sys::Date::now());
    IdbStorage::new(&name, Durability::Relaxed).with_batch_bytes(batch_bytes)
}

fn reopen(storage: IdbStorage) -> IdbStorage {
    storage.reopen()
}

// The core's `log_conformance_tests!` emits blocking `#[test]`s, which a browser cannot run
// (IndexedDB needs the event loop), so the same list is spelled out with async tests here.
macro_rules! idb_checks {
    ($mod:ident, $batch:expr, $($check:ident),* $(,)?) => {
        mod $mod {
            use super::*;
            $(
                #[wasm_bindgen_test]
                async fn $check() {
                    plover_core::log::conformance::$check(fresh($batch), reopen).await;
                }
            )*
        }
    };
}

macro_rules! all_checks {
    ($mod:ident, $batch:expr) => {
        idb_checks!(
            $mod,
            $batch,
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
            garbage_segment_never_wedges,
        );
    };
}

all_checks!(idb, plover_web::idb::DEFAULT_BATCH_BYTES);
// Batches of 7 bytes: every append crosses the early-write path and chunks straddle records.
all_checks!(idb_tiny_batches, 7);
