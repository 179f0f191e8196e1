//! plover in the browser: an IndexedDB log backend, a timer and clock from `setTimeout` and
//! `performance.now()`, and a JS API (wasm-bindgen) over a pipeline fed by a bounded queue.
//!
//! Everything lives behind `cfg(target_arch = "wasm32")`; on other targets the crate is empty,
//! so the host workspace builds and tests without a browser toolchain.

#[cfg(target_arch = "wasm32")]
extern crate alloc;

#[cfg(target_arch = "wasm32")]
pub mod idb;

#[cfg(target_arch = "wasm32")]
pub use idb::{Durability, IdbError, IdbStorage};

#[cfg(target_arch = "wasm32")]
pub mod api;
#[cfg(target_arch = "wasm32")]
pub mod time;

#[cfg(target_arch = "wasm32")]
pub use api::WebPipeline;
#[cfg(target_arch = "wasm32")]
pub use time::{WebClock, WebTimer};
#[cfg(target_arch = "wasm32")]
pub mod bench;
