//! IndexedDB requests and transactions as futures, and the few bindings web-sys lacks.
//!
//! A request's `success`/`error` events resolve a JS promise that Rust awaits. The promise is
//! made *when the request is issued* (not when first polled), so several requests can be issued
//! in one transaction before any is awaited and no event is missed.

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransaction};

use super::IdbError;

#[wasm_bindgen]
extern "C" {
    /// `IDBDatabase`, seen through the one binding below.
    #[wasm_bindgen(js_name = IDBDatabase)]
    type DbWithOptions;

    /// `IDBDatabase.transaction(stores, mode, { durability })`: web-sys has no binding for the
    /// options argument on stable, so this one is declared here.
    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with_options(
        this: &DbWithOptions,
        stores: &JsValue,
        mode: &str,
        options: &JsValue,
    ) -> Result<IdbTransaction, JsValue>;
}

/// A request issued, its outcome not yet awaited.
pub(super) struct Pending {
    request: IdbRequest,
    outcome: JsFuture,
}

impl Pending {
    /// Starts listening to `request`; call right after issuing it.
    pub(super) fn new(request: IdbRequest) -> Pending {
        let promise = Promise::new(&mut |resolve, reject| {
            request.set_onsuccess(Some(&resolve));
            request.set_onerror(Some(&reject));
        });
        Pending { request, outcome: JsFuture::from(promise) }
    }

    /// The request's result, or the error it failed with.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the request running; its transaction decides what happens.
    pub(super) async fn result(self, op: &'static str) -> Result<JsValue, IdbError> {
        match self.outcome.await {
            Ok(_) => self.request.result().map_err(|e| IdbError::js(op, &e)),
            Err(_) => Err(match self.request.error() {
                Ok(Some(dom)) => IdbError::js(op, &dom.into()),
                _ => IdbError::Js { op, message: "request failed".into() },
            }),
        }
    }
}

/// Issues a request built by `f`, mapping a synchronous throw to an error.
pub(super) fn issue(
    op: &'static str,
    f: impl FnOnce() -> Result<IdbRequest, JsValue>,
) -> Result<Pending, IdbError> {
    f().map(Pending::new).map_err(|e| IdbError::js(op, &e))
}

/// A transaction and the future of its end (`complete`, or `error`/`abort`).
pub(super) struct Tx {
    pub(super) tx: IdbTransaction,
    done: JsFuture,
}

impl Tx {
    /// Opens a transaction over `stores`; `write` asks for `readwrite`. `durability` is the
    /// hint IndexedDB passes to the browser: "strict" flushes to disk before `complete`.
    pub(super) fn open(
        db: &IdbDatabase,
        stores: &[&str],
        write: bool,
        durability: &str,
    ) -> Result<Tx, IdbError> {
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        let options = Object::new();
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&options, &"durability".into(), &durability.into());
        let mode = if write { "readwrite" } else { "readonly" };
        let tx = db
            .unchecked_ref::<DbWithOptions>()
            .transaction_with_options(&names, mode, &options)
            .map_err(|e| IdbError::js("transaction", &e))?;
        let promise = Promise::new(&mut |resolve, reject| {
            tx.set_oncomplete(Some(&resolve));
            tx.set_onerror(Some(&reject));
            tx.set_onabort(Some(&reject));
        });
        Ok(Tx { tx, done: JsFuture::from(promise) })
    }

    /// Waits until the transaction has committed (durably, under "strict").
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not stop the transaction: it commits or aborts on its own.
    pub(super) async fn committed(self, op: &'static str) -> Result<(), IdbError> {
        match self.done.await {
            Ok(_) => Ok(()),
            Err(_) => Err(match self.tx.error() {
                Some(dom) => IdbError::js(op, &dom.into()),
                None => IdbError::Js { op, message: "transaction aborted".into() },
            }),
        }
    }
}
