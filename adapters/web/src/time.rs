//! The core's [`Clock`] and [`Timer`] in a browser: `performance.now()` and `setTimeout`.
//!
//! Both are read off the global object, so they work in a window and in a worker. Where
//! `performance` is missing the clock falls back to `Date.now()`, which is not monotonic.

use core::time::Duration;

use js_sys::{Function, Promise, Reflect};
use plover_core::time::{Clock, Timer};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Milliseconds from `performance.now()` (or `Date.now()` where there is no `performance`).
pub fn now_ms() -> f64 {
    let global = js_sys::global();
    let performance = Reflect::get(&global, &"performance".into()).unwrap_or(JsValue::UNDEFINED);
    if !performance.is_undefined() {
        let now = Reflect::get(&performance, &"now".into()).ok();
        if let Some(now) = now.and_then(|f| f.dyn_into::<Function>().ok())
            && let Some(ms) = now.call0(&performance).ok().and_then(|v| v.as_f64())
        {
            return ms;
        }
    }
    js_sys::Date::now()
}

/// A monotonic clock on `performance.now()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebClock;

impl Clock for WebClock {
    fn now(&self) -> Duration {
        Duration::from_secs_f64(now_ms().max(0.0) / 1000.0)
    }
}

/// A timer on `setTimeout`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebTimer;

/// Resolves after `ms` milliseconds (at once if `setTimeout` is missing: a sleep may end
/// early only in that broken environment, never silently hang).
pub async fn sleep_ms(ms: f64) {
    let promise = Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let set_timeout = Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        let scheduled = set_timeout
            .map(|f| f.call2(&global, &resolve, &JsValue::from_f64(ms.max(0.0))).is_ok())
            .unwrap_or(false);
        if !scheduled {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    let _ = JsFuture::from(promise).await;
}

impl Timer for WebTimer {
    /// # Cancel safety
    ///
    /// Dropping the future leaves the timeout to fire into a promise nobody awaits; nothing
    /// else happens.
    async fn sleep(&self, duration: Duration) {
        sleep_ms(duration.as_secs_f64() * 1000.0).await;
    }
}
