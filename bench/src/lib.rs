//! plover's benchmark suite as one command: runs the criterion benchmarks of the workspace, the
//! end-to-end `plover run` benchmark and the browser benchmark, then writes
//! `docs/benchmarks.md` and its two charts from that run's figures. It owns no benchmark itself
//! (they live beside the code they measure, in `core/benches/` and `adapters/std/benches/`); it
//! owns running them and reporting.

pub mod browser;
pub mod end_to_end;
pub mod footprint;
pub mod machine;
pub mod plot;
pub mod report;
pub mod results;
pub mod suite;
pub mod text;
