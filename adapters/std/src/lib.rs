//! plover on a native host: the file-backed durable log and time.
//!
//! [`FileStorage`] implements the core's storage trait on a directory of segment files;
//! [`FileLog`] adds the fsync policy, group commit and thread safety. Unix only for now
//! (positioned reads use `std::os::unix::fs::FileExt`). [`time`] gives the core's `Clock` and
//! `Timer` on `std`.

pub use plover_core as core;

mod file_log;
mod file_storage;
pub mod time;

pub use file_log::{FileLog, FileLogError, FileLogOptions, FsyncPolicy};
pub use file_storage::{DEFAULT_BATCH_BYTES, FileStorage};
