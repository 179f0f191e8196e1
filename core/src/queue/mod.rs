//! Bounded async queues (work in progress).
