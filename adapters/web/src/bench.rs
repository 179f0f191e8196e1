//! A browser benchmark: events per second through three stages (queue → pipeline, three
//! times), with or without an IndexedDB log in front, exported to JS as
//! `benchmarkThreeStages`. The page `web/bench.html` runs it; `docs/benchmarks-web.md` has
//! the figures.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::Poll;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;
use js_sys::{Object, Promise, Reflect};
use plover_core::log::{Log, LogConfig};
use plover_core::pipeline::{Call, DynPipeline, Interceptor};
use plover_core::queue::Queue;
use plover_core::{Failure, Overflow, Phase};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::idb::{Durability, IdbStorage};
use crate::time::now_ms;

/// Events between two log syncs (producer) and two acknowledgements (sink).
const BATCH: u64 = 256;

type Stage = Queue<NoopRawMutex, u64, 256>;
type Task<'a> = Pin<Box<dyn Future<Output = Result<(), JsValue>> + 'a>>;

struct Bump;

impl Interceptor<u64> for Bump {
    async fn intercept(&self, call: &Call<u64>) -> Result<(), Failure> {
        call.with_subject_mut(|n| *n = n.wrapping_add(1));
        Ok(())
    }
}

fn pipeline() -> DynPipeline<u64> {
    let mut p = DynPipeline::dynamic();
    // Registering on a default phase of a new pipeline cannot fail.
    let _ = p.add_interceptor(Phase::PROCESS, Box::new(Bump));
    p
}

/// Runs `events` events through three stages; with `persistence` (a database name, deleted
/// afterwards) each event is first appended to an IndexedDB log (one transaction per 256
/// events) and acknowledged after the last stage. Resolves to `{ events, ms, perSecond }`.
#[wasm_bindgen(js_name = benchmarkThreeStages)]
pub fn benchmark_three_stages(events: u32, persistence: Option<String>) -> Promise {
    future_to_promise(async move {
        let ms = run(u64::from(events), persistence).await?;
        let out = Object::new();
        let _ = Reflect::set(&out, &"events".into(), &f64::from(events).into());
        let _ = Reflect::set(&out, &"ms".into(), &ms.into());
        let _ = Reflect::set(&out, &"perSecond".into(), &(f64::from(events) * 1000.0 / ms).into());
        Ok(out.into())
    })
}

fn js_error(what: &str, e: impl core::fmt::Debug) -> JsValue {
    js_sys::Error::new(&format!("{what}: {e:?}")).into()
}

async fn run(events: u64, persistence: Option<String>) -> Result<f64, JsValue> {
    let log = match &persistence {
        Some(name) => {
            IdbStorage::delete_database(name).await?;
            let config = LogConfig { segment_size: 1 << 20, max_payload: 64 };
            let mut scratch = [0u8; 128];
            let log = Log::open(IdbStorage::new(name, Durability::Relaxed), config, &mut scratch)
                .await
                .map_err(|e| js_error("open", e))?;
            Some(Mutex::<NoopRawMutex, _>::new(log))
        }
        None => None,
    };
    let queues =
        [Stage::new(Overflow::Block), Stage::new(Overflow::Block), Stage::new(Overflow::Block)];
    let pipelines = [pipeline(), pipeline(), pipeline()];
    let started = now_ms();

    let producer = async {
        let mut next = 1;
        while next <= events {
            let end = (next + BATCH).min(events + 1);
            if let Some(log) = &log {
                let mut log = log.lock().await;
                for seq in next..end {
                    log.append_bytes(&seq.to_le_bytes())
                        .await
                        .map_err(|e| js_error("append", e))?;
                }
                log.sync().await.map_err(|e| js_error("sync", e))?;
            }
            for seq in next..end {
                if queues[0].push(seq).await.is_err() {
                    return Err(js_error("push", "closed"));
                }
            }
            next = end;
        }
        queues[0].close();
        Ok::<(), JsValue>(())
    };
    let stage = |i: usize| {
        let (queues, pipelines, log) = (&queues, &pipelines, &log);
        async move {
            let mut handled = 0u64;
            while let Some(n) = queues[i].pop().await {
                let n = pipelines[i].execute(n).await.unwrap_or_else(|u| u.subject);
                handled += 1;
                if i + 1 < queues.len() {
                    let _ = queues[i + 1].push(n).await;
                } else if let Some(log) = log
                    && (handled.is_multiple_of(BATCH) || handled == events)
                {
                    log.lock().await.ack(handled).await.map_err(|e| js_error("ack", e))?;
                }
            }
            if let Some(next) = queues.get(i + 1) {
                next.close();
            }
            Ok::<(), JsValue>(())
        }
    };
    let mut tasks: [Task<'_>; 4] =
        [Box::pin(producer), Box::pin(stage(0)), Box::pin(stage(1)), Box::pin(stage(2))];
    let mut done = [false; 4];
    poll_fn(|cx| {
        for (task, done) in tasks.iter_mut().zip(done.iter_mut()) {
            if !*done {
                match task.as_mut().poll(cx) {
                    Poll::Ready(Ok(())) => *done = true,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {}
                }
            }
        }
        if done.iter().all(|d| *d) { Poll::Ready(Ok(())) } else { Poll::Pending }
    })
    .await?;
    let ms = now_ms() - started;
    drop(tasks);
    if let (Some(log), Some(name)) = (log, &persistence) {
        drop(log); // closes the connection, which would block the deletion
        IdbStorage::delete_database(name).await?;
    }
    Ok(ms)
}
