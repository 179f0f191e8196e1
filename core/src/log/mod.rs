//! The durable log (work in progress).
