//! plover on a native host.
//!
//! This crate will own the file-backed durable log, the native executor glue and the `plover`
//! command-line program. For now it re-exports the core so that dependants can start from it.

pub use plover_core as core;
