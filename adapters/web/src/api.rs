//! The JS API: [`WebPipeline`], a bounded queue feeding a pipeline of JS interceptors, with an
//! optional IndexedDB log under it so that a reloaded page replays what was not yet handled.
//!
//! One consumer task (spawned with `wasm-bindgen-futures`) pops events in order, runs the
//! pipeline and acknowledges each persisted event after it was handled. Values from JS are
//! checked at the boundary: a wrong type is a JS `Error` with a plain message, never a panic.

use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_sync::signal::Signal;
use js_sys::{Function, JSON, Object, Promise, Reflect};
use plover_core::log::{Log, LogConfig, Start};
use plover_core::pipeline::{Call, DynPipeline, Interceptor};
use plover_core::queue::{Pushed, Queue};
use plover_core::{Failure, Overflow, Phase};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise, spawn_local};

use crate::idb::{Durability, IdbStorage};
use crate::time::now_ms;

/// The largest capacity a page may ask for (the queue's storage is sized for it: 16 bytes an
/// event, built on the stack before it moves to the heap, so it is kept small).
pub const MAX_CAPACITY: usize = 1024;

/// Persisted events are JSON text of at most this many bytes.
pub const MAX_EVENT_BYTES: u32 = 4096;

/// Acknowledge at least every this many handled events (and whenever the queue runs empty).
const ACK_EVERY: u64 = 32;

struct Item {
    /// Sequence number in the log, 0 when not persisted.
    seq: u64,
    value: JsValue,
}

type WebLog = Log<IdbStorage>;

struct Inner {
    queue: Queue<NoopRawMutex, Item, MAX_CAPACITY>,
    pipeline: RefCell<DynPipeline<JsValue>>,
    log: Option<Mutex<NoopRawMutex, WebLog>>,
    /// Serialises publishes so that log order and queue order agree.
    publish_gate: Mutex<NoopRawMutex, ()>,
    replay: RefCell<VecDeque<Item>>,
    replayed: u64,
    on_dropped: RefCell<Option<Function>>,
    processed: Cell<u64>,
    failed: Cell<u64>,
    pending: Cell<u64>,
    running: Cell<bool>,
    stopping: Cell<bool>,
    stop_signal: Signal<NoopRawMutex, ()>,
    /// Resolves the promise of `stop()` once the consumer is idle.
    stopped: RefCell<Vec<Function>>,
    samples: RefCell<VecDeque<(f64, u64)>>,
}

/// A pipeline for JS: publish events into a bounded queue; one consumer runs them through the
/// interceptors registered on phases. See `web/index.html` for a page that uses it.
#[wasm_bindgen]
pub struct WebPipeline {
    inner: Rc<Inner>,
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Options of `WebPipeline.create`. */
export interface PipelineOptions {
  /** Queue capacity, 1 to 1024 (default 64). */
  capacity?: number;
  /** What a full queue does with a new event (default "block"). */
  policy?: "block" | "drop-oldest" | "drop-newest";
  /** An IndexedDB database name to persist events in; absent or null: memory only. */
  persistence?: string | null;
  /** IndexedDB durability hint (default "relaxed"). */
  durability?: "relaxed" | "strict";
}
/** What happened to a published event. */
export type PublishOutcome = "admitted" | "evicted" | "refused";
/** A phase of the default pipeline. */
export type PhaseName = "Acquire" | "Setup" | "Monitoring" | "Features" | "Process" | "Fallback";
/** An interceptor: may return a new event, or a promise of one; throwing fails the event. */
export type JsInterceptorFn = (event: any) => any | Promise<any>;
/** A snapshot of a pipeline's counters. */
export interface PipelineMetrics {
  depth: number; capacity: number; pushed: number; popped: number; evicted: number;
  refused: number; processed: number; failed: number; pending: number; replayed: number;
  throughput: number; running: boolean;
}
"#;

fn error(message: &str) -> JsValue {
    js_sys::Error::new(message).into()
}

fn field(options: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(JsValue::UNDEFINED);
    }
    if !options.is_object() {
        return Err(error("options must be an object"));
    }
    Reflect::get(options, &name.into())
}

fn parse_policy(value: &JsValue) -> Result<Overflow, JsValue> {
    match value.as_string().as_deref() {
        None if value.is_undefined() => Ok(Overflow::Block),
        Some("block") => Ok(Overflow::Block),
        Some("drop-oldest") => Ok(Overflow::DropOldest),
        Some("drop-newest") => Ok(Overflow::DropNewest),
        _ => Err(error("policy must be \"block\", \"drop-oldest\" or \"drop-newest\"")),
    }
}

fn parse_phase(name: &str) -> Result<Phase, JsValue> {
    Phase::DEFAULTS.into_iter().chain([Phase::SETUP]).find(|p| p.name() == name).ok_or_else(|| {
        error("phase must be one of Acquire (or Setup), Monitoring, Features, Process, Fallback")
    })
}

/// A JS function as an interceptor: called with the subject; a returned promise is awaited; a
/// value other than `undefined` replaces the subject for what follows; a throw or a rejection
/// is a processing failure carrying the JS message.
struct JsInterceptor(Function);

impl Interceptor<JsValue> for JsInterceptor {
    async fn intercept(&self, call: &Call<JsValue>) -> Result<(), Failure> {
        let subject = call.with_subject(|s| s.clone());
        let mut out = self.0.call1(&JsValue::NULL, &subject).map_err(|e| failure(&e))?;
        if let Some(promise) = out.dyn_ref::<Promise>() {
            out = JsFuture::from(promise.clone()).await.map_err(|e| failure(&e))?;
        }
        if !out.is_undefined() {
            call.replace_subject(out);
        }
        Ok(())
    }
}

fn failure(value: &JsValue) -> Failure {
    let message = value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "interceptor failed".to_string());
    Failure::processing(&message)
}

#[wasm_bindgen]
impl WebPipeline {
    /// Creates a pipeline. `options`: `capacity` (1..=1024, default 64), `policy` (`"block"`,
    /// `"drop-oldest"`, `"drop-newest"`), `persistence` (an IndexedDB database name, or
    /// absent), `durability` (`"relaxed"` or `"strict"`). With persistence, the events not
    /// acknowledged by an earlier page are read back and run first; `replayed` counts them.
    #[wasm_bindgen(unchecked_return_type = "Promise<WebPipeline>")]
    pub fn create(
        #[wasm_bindgen(unchecked_param_type = "PipelineOptions")] options: JsValue,
    ) -> Promise {
        future_to_promise(async move { Self::from_options(options).await.map(JsValue::from) })
    }
}

impl WebPipeline {
    /// [`create`](Self::create) for Rust callers: the pipeline itself rather than a promise.
    ///
    /// # Errors
    ///
    /// A JS `Error` naming the option that is wrong, or the log that could not be opened.
    ///
    /// # Cancel safety
    ///
    /// Dropped while opening the log, nothing is created; the database is left as it was.
    pub async fn from_options(options: JsValue) -> Result<WebPipeline, JsValue> {
        let capacity = field(&options, "capacity")?;
        let capacity = if capacity.is_undefined() {
            64
        } else {
            let n = capacity.as_f64().filter(|n| n.fract() == 0.0 && *n >= 1.0);
            match n {
                Some(n) if n <= MAX_CAPACITY as f64 => n as usize,
                _ => return Err(error("capacity must be a whole number from 1 to 1024")),
            }
        };
        let policy = parse_policy(&field(&options, "policy")?)?;
        let durability = match field(&options, "durability")? {
            v if v.is_undefined() => Durability::Relaxed,
            v => v
                .as_string()
                .and_then(|s| Durability::parse(&s))
                .ok_or_else(|| error("durability must be \"relaxed\" or \"strict\""))?,
        };
        let persistence = field(&options, "persistence")?;
        let name = match persistence {
            v if v.is_undefined() || v.is_null() || v == JsValue::FALSE => None,
            v => Some(v.as_string().filter(|s| !s.is_empty()).ok_or_else(|| {
                error("persistence must be an IndexedDB database name (a non-empty string)")
            })?),
        };

        let mut replay = VecDeque::new();
        let mut pending = 0;
        let log = match name {
            None => None,
            Some(name) => {
                let (log, items) = open_and_replay(&name, durability).await?;
                pending = log.unacked_records();
                replay = items;
                Some(Mutex::new(log))
            }
        };
        let replayed = replay.len() as u64;
        // Built after the awaits, so the (large) queue is not part of the future's state.
        let queue = Queue::with_capacity(policy, capacity)
            .map_err(|_| error("capacity must be a whole number from 1 to 1024"))?;
        let inner = Inner {
            queue,
            pipeline: RefCell::new(DynPipeline::dynamic()),
            log,
            publish_gate: Mutex::new(()),
            replay: RefCell::new(replay),
            replayed,
            on_dropped: RefCell::new(None),
            processed: Cell::new(0),
            failed: Cell::new(0),
            pending: Cell::new(pending),
            running: Cell::new(false),
            stopping: Cell::new(false),
            stop_signal: Signal::new(),
            stopped: RefCell::new(Vec::new()),
            samples: RefCell::new(VecDeque::new()),
        };
        Ok(WebPipeline { inner: Rc::new(inner) })
    }
}

#[wasm_bindgen]
impl WebPipeline {
    /// Registers `interceptor` (a function of the event, plain or returning a promise) on
    /// `phase`. Only while the consumer is stopped.
    pub fn intercept(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PhaseName")] phase: &str,
        #[wasm_bindgen(unchecked_param_type = "JsInterceptorFn")] interceptor: JsValue,
    ) -> Result<(), JsValue> {
        let phase = parse_phase(phase)?;
        let function: Function =
            interceptor.dyn_into().map_err(|_| error("interceptor must be a function"))?;
        let mut pipeline = self
            .inner
            .pipeline
            .try_borrow_mut()
            .map_err(|_| error("stop the pipeline before registering interceptors"))?;
        pipeline
            .add_interceptor(phase, alloc::boxed::Box::new(JsInterceptor(function)))
            .map_err(|e| error(&e.to_string()))
    }

    /// Calls `callback(kind, event)` for every event the overflow policy drops: `kind` is
    /// `"evicted"` (drop-oldest) or `"refused"` (drop-newest). `null` removes it.
    #[wasm_bindgen(js_name = onDropped)]
    pub fn on_dropped(
        &self,
        #[wasm_bindgen(
            unchecked_param_type = "((kind: \"evicted\" | \"refused\", event: any) => void) | null"
        )]
        callback: JsValue,
    ) -> Result<(), JsValue> {
        let callback = match callback {
            v if v.is_null() || v.is_undefined() => None,
            v => Some(v.dyn_into().map_err(|_| error("callback must be a function or null"))?),
        };
        *self.inner.on_dropped.borrow_mut() = callback;
        Ok(())
    }

    /// Publishes one event (any JSON value when persistence is on). Resolves to `"admitted"`,
    /// `"evicted"` (an older event made room) or `"refused"`; under `"block"` it waits for
    /// room. Rejects if the event cannot be stored or the pipeline was closed.
    #[wasm_bindgen(unchecked_return_type = "Promise<PublishOutcome>")]
    pub fn publish(&self, event: JsValue) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let outcome = publish_all(&inner, core::slice::from_ref(&event)).await?;
            Ok(outcome.into_iter().next().map(JsValue::from).unwrap_or(JsValue::UNDEFINED))
        })
    }

    /// Publishes an array of events with one IndexedDB transaction for all of them. Resolves
    /// to the array of outcomes (see [`publish`](Self::publish)).
    #[wasm_bindgen(js_name = publishMany, unchecked_return_type = "Promise<PublishOutcome[]>")]
    pub fn publish_many(
        &self,
        #[wasm_bindgen(unchecked_param_type = "any[]")] events: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let events: js_sys::Array =
                events.dyn_into().map_err(|_| error("publishMany takes an array"))?;
            let events: Vec<JsValue> = events.iter().collect();
            let outcomes = publish_all(&inner, &events).await?;
            Ok(outcomes.into_iter().map(JsValue::from).collect::<js_sys::Array>().into())
        })
    }

    /// Starts the consumer (replayed events first). Starting a running pipeline does nothing.
    pub fn start(&self) {
        if self.inner.running.replace(true) {
            return;
        }
        self.inner.stopping.set(false);
        self.inner.stop_signal.reset();
        spawn_local(consume(self.inner.clone()));
    }

    /// Stops the consumer after the event it is running and acknowledges what was handled.
    /// Events still queued stay queued. Resolves when the consumer is idle.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn stop(&self) -> Promise {
        let inner = self.inner.clone();
        Promise::new(&mut |resolve, _| {
            if inner.running.get() {
                inner.stopping.set(true);
                inner.stopped.borrow_mut().push(resolve);
                // Wakes a consumer parked on an empty queue.
                inner.stop_signal.signal(());
            } else {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
        })
    }

    /// How many events the log replayed when this pipeline was created.
    #[wasm_bindgen(getter)]
    pub fn replayed(&self) -> f64 {
        self.inner.replayed as f64
    }

    /// A snapshot: `depth`, `capacity`, `pushed`, `popped`, `evicted`, `refused`, `processed`,
    /// `failed`, `pending` (persisted, not yet acknowledged), `replayed`, `throughput`
    /// (events handled per second over the last second), `running`.
    #[wasm_bindgen(unchecked_return_type = "PipelineMetrics")]
    pub fn metrics(&self) -> Object {
        let inner = &self.inner;
        let m = inner.queue.metrics();
        let processed = inner.processed.get();
        let now = now_ms();
        let throughput = {
            let mut samples = inner.samples.borrow_mut();
            samples.push_back((now, processed));
            while samples.len() > 2 && now - samples[0].0 > 1000.0 {
                samples.pop_front();
            }
            let (t0, p0) = samples[0];
            if now - t0 > 0.0 { (processed - p0) as f64 * 1000.0 / (now - t0) } else { 0.0 }
        };
        let out = Object::new();
        let set = |k: &str, v: f64| {
            let _ = Reflect::set(&out, &k.into(), &v.into());
        };
        set("depth", inner.queue.len() as f64);
        set("capacity", inner.queue.capacity() as f64);
        set("pushed", m.pushed as f64);
        set("popped", m.popped as f64);
        set("evicted", m.evicted as f64);
        set("refused", m.refused as f64);
        set("processed", processed as f64);
        set("failed", inner.failed.get() as f64);
        set("pending", inner.pending.get() as f64);
        set("replayed", inner.replayed as f64);
        set("throughput", throughput);
        let _ = Reflect::set(&out, &"running".into(), &inner.running.get().into());
        out
    }
}

async fn open_and_replay(
    name: &str,
    durability: Durability,
) -> Result<(WebLog, VecDeque<Item>), JsValue> {
    let config = LogConfig { segment_size: 256 * 1024, max_payload: MAX_EVENT_BYTES };
    let storage = IdbStorage::new(name, durability);
    let mut scratch = alloc::vec![0u8; 64 + MAX_EVENT_BYTES as usize];
    let mut log = Log::open(storage, config, &mut scratch)
        .await
        .map_err(|e| error(&alloc::format!("could not open the log: {e:?}")))?;
    let mut reader = log
        .reader(Start::Unacknowledged, scratch)
        .await
        .map_err(|e| error(&alloc::format!("could not read the log: {e:?}")))?;
    let mut items = VecDeque::new();
    while let Some(record) =
        log.read(&mut reader).await.map_err(|e| error(&alloc::format!("replay: {e:?}")))?
    {
        // A record this API did not write is skipped rather than failing the page.
        let text = core::str::from_utf8(record.payload).ok();
        if let Some(value) = text.and_then(|t| JSON::parse(t).ok()) {
            items.push_back(Item { seq: record.seq, value });
        }
    }
    Ok((log, items))
}

async fn publish_all(inner: &Rc<Inner>, events: &[JsValue]) -> Result<Vec<&'static str>, JsValue> {
    let _gate = inner.publish_gate.lock().await;
    let mut seqs = alloc::vec![0u64; events.len()];
    if let Some(log) = &inner.log {
        let mut log = log.lock().await;
        for (event, seq) in events.iter().zip(seqs.iter_mut()) {
            let text = JSON::stringify(event)
                .ok()
                .and_then(|s| s.as_string())
                .ok_or_else(|| error("a persisted event must be a JSON value"))?;
            if text.len() > MAX_EVENT_BYTES as usize {
                return Err(error("a persisted event's JSON must be at most 4096 bytes"));
            }
            *seq = log
                .append_bytes(text.as_bytes())
                .await
                .map_err(|e| error(&alloc::format!("could not persist the event: {e:?}")))?;
        }
        log.sync().await.map_err(|e| error(&alloc::format!("could not persist: {e:?}")))?;
        inner.pending.set(log.unacked_records());
    }
    let mut outcomes = Vec::with_capacity(events.len());
    for (event, seq) in events.iter().zip(seqs) {
        let item = Item { seq, value: event.clone() };
        let outcome = match inner.queue.push(item).await {
            Ok(Pushed::Admitted) => "admitted",
            Ok(Pushed::Evicted(old)) => {
                dropped(inner, "evicted", old);
                "evicted"
            }
            Ok(Pushed::Refused(new)) => {
                dropped(inner, "refused", new);
                "refused"
            }
            Err(_) => return Err(error("the pipeline is closed")),
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

fn dropped(inner: &Inner, kind: &str, item: Item) {
    let callback = inner.on_dropped.borrow().clone();
    if let Some(callback) = callback {
        // The page's callback failing must not fail the publish.
        let _ = callback.call2(&JsValue::NULL, &kind.into(), &item.value);
    }
}

// The pipeline stays borrowed while an event runs: `intercept` then fails with a clear error
// (it uses `try_borrow_mut`) instead of changing interceptors under a running execution.
#[allow(clippy::await_holding_refcell_ref)]
async fn consume(inner: Rc<Inner>) {
    let mut unacked: Option<u64> = None;
    let mut since_ack = 0u64;
    loop {
        if inner.stopping.get() {
            break;
        }
        let replayed = inner.replay.borrow_mut().pop_front();
        let item = match replayed {
            Some(item) => item,
            None => {
                if inner.queue.is_empty() {
                    acknowledge(&inner, &mut unacked).await;
                    since_ack = 0;
                }
                match pop_or_stop(&inner).await {
                    Some(item) => item,
                    None => break,
                }
            }
        };
        let result = match inner.pipeline.try_borrow() {
            Ok(pipeline) => pipeline.execute(item.value).await.map(drop),
            Err(_) => Ok(()),
        };
        inner.processed.set(inner.processed.get() + 1);
        if result.is_err() {
            inner.failed.set(inner.failed.get() + 1);
        }
        if item.seq != 0 {
            unacked = Some(item.seq);
            since_ack += 1;
            if since_ack >= ACK_EVERY {
                acknowledge(&inner, &mut unacked).await;
                since_ack = 0;
            }
        }
    }
    acknowledge(&inner, &mut unacked).await;
    inner.running.set(false);
    inner.stopping.set(false);
    for resolve in inner.stopped.borrow_mut().drain(..) {
        let _ = resolve.call0(&JsValue::UNDEFINED);
    }
}

/// The next queued event, or `None` once the queue is closed or `stop` was called.
async fn pop_or_stop(inner: &Inner) -> Option<Item> {
    let mut pop = pin!(inner.queue.pop());
    let mut stop = pin!(inner.stop_signal.wait());
    poll_fn(|cx| {
        if let Poll::Ready(item) = pop.as_mut().poll(cx) {
            return Poll::Ready(item);
        }
        // Pop is cancel safe: dropping it when stop wins loses no item.
        stop.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// Acknowledges the last handled persisted event, so it and everything before it (including
/// events the policy dropped) is never replayed. A failure leaves them to be replayed.
async fn acknowledge(inner: &Inner, unacked: &mut Option<u64>) {
    let (Some(log), Some(seq)) = (&inner.log, *unacked) else { return };
    let mut log = log.lock().await;
    if log.ack(seq).await.is_ok() {
        *unacked = None;
    }
    inner.pending.set(log.unacked_records());
}
