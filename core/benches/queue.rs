//! Queue benchmarks (work in progress): see `docs/benchmarks-queue.md`.

fn main() {}
