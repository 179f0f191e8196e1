//! Runs the core's storage conformance suite and damaged-log corpus on [`FileStorage`].
//!
//! Each check gets a fresh directory under cargo's per-target temp dir.

use std::sync::atomic::{AtomicU32, Ordering};

use plover_std::FileStorage;

fn fresh() -> FileStorage {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("conformance-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    FileStorage::open(&dir).expect("open storage")
}

// Small batches too, so that the batch/flush paths are crossed by every check.
fn fresh_tiny_batches() -> FileStorage {
    let storage = fresh();
    let dir = storage.dir().to_path_buf();
    drop(storage);
    FileStorage::with_batch_bytes(dir, 7).expect("open storage")
}

// A restarted process: drop every handle and list the directory again.
fn reopen(storage: FileStorage) -> FileStorage {
    let dir = storage.dir().to_path_buf();
    drop(storage);
    FileStorage::open(dir).expect("reopen storage")
}

mod file {
    plover_core::log_conformance_tests!(
        futures_lite::future::block_on,
        super::fresh(),
        super::reopen
    );
}

mod file_tiny_batches {
    plover_core::log_conformance_tests!(
        futures_lite::future::block_on,
        super::fresh_tiny_batches(),
        super::reopen
    );
}
