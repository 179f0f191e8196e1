//! The durable log: one record format for every backend, replay and acknowledgement.
//!
//! [`format`] owns the bytes. Backends implement the storage trait; the log above it keeps
//! sequence numbers, the acknowledged checkpoint and recovery. Hosts run the futures.

pub mod format;
