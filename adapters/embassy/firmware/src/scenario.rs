//! The runs the firmware makes: one per overflow policy, then a reset in the middle of a write.
//!
//! Each run mounts the flash log and joins, on one executor, a producer (sensor -> RAM queue ->
//! pipeline -> durable queue) with a consumer (durable queue -> uplink -> acknowledge), then
//! checks that every reading is accounted for. A failed check ends the run with a message;
//! `main` turns that into exit code 1.

use core::cell::Cell;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::time::Duration;

use embassy_futures::join::join;
use embassy_futures::yield_now;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use plover_core::Overflow;
use plover_core::event::Subject;
use plover_core::log::{DurableQueue, Log, QueueError, RecoveryReport};
use plover_core::queue::{Pushed, Queue as RamQueue};
use plover_embassy::time::EmbassyClock;
use plover_embassy::{FlashStorage, MockFlash};

use crate::sensor::{Reading, Sensor};
use crate::stages::{self, Enriched, Sample, Ticks, enrich};
use crate::uplink::{Uplink, sleep_ticks};

/// Erase page of the simulated flash (the LM3S6965's own flash page is 1 KiB too).
pub(crate) const PAGE: usize = 1024;
/// Pages in the log's region: two for checkpoints, ten for segments.
pub(crate) const PAGES: usize = 12;
/// Bytes of simulated flash.
pub(crate) const FLASH_BYTES: usize = PAGE * PAGES;
/// The simulated NOR flash: QEMU models no writable flash for this board, so it lives in RAM.
pub(crate) type Flash = MockFlash<&'static mut [u8; FLASH_BYTES], PAGE, 4>;

type Store = FlashStorage<Flash, { PAGES - 2 }>;
const MAX_PAYLOAD: u32 = 32;
const RECORD_BUF: usize = 64;
type Queue = DurableQueue<NoopRawMutex, Store, Enriched, RECORD_BUF>;

/// Why a run failed.
pub(crate) type Failed = &'static str;

fn ensure(ok: bool, what: Failed) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what) }
}

/// What the producer saw.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Produced {
    /// Valid readings handed to the queue.
    pub(crate) valid: u32,
    /// Readings refused by validation.
    pub(crate) rejected: u32,
    /// Pushes refused by `DropNewest`.
    pub(crate) refused: u32,
    /// Pushes that had to wait for space (`Block`).
    pub(crate) waited: u32,
    /// The index of the last valid reading.
    pub(crate) last_index: u32,
    /// The slowest pipeline execution, as monitoring measured it on the embassy-time clock.
    pub(crate) slowest_us: u32,
    /// Readings the RAM queue evicted (`DropOldest`) or refused (`DropNewest`).
    pub(crate) ram_lost: u32,
    /// Sensor pushes that waited for room in the RAM queue (`Block`).
    pub(crate) ram_waits: u32,
}

/// The result of one policy run, for printing.
pub(crate) struct PolicyRun {
    /// What the producer saw.
    pub(crate) produced: Produced,
    /// Items evicted by `DropOldest`.
    pub(crate) dropped: u64,
    /// The uplink at the end of the run.
    pub(crate) uplink: Uplink,
}

/// The result of the reset run, for printing.
pub(crate) struct ResetRun {
    /// What recovery found after the reset.
    pub(crate) report: RecoveryReport,
    /// Items replayed after the reset.
    pub(crate) replayed: u32,
    /// The uplink at the end of the run.
    pub(crate) uplink: Uplink,
}

async fn open_queue(flash: Flash, policy: Overflow) -> Result<(Queue, RecoveryReport), Failed> {
    let storage =
        FlashStorage::mount(flash, 0..FLASH_BYTES as u32).await.map_err(|_| "mount failed")?;
    let capacity = storage.queue_capacity(MAX_PAYLOAD);
    let mut buf = [0u8; RECORD_BUF];
    let log = Log::open(storage, Store::log_config(MAX_PAYLOAD), &mut buf)
        .await
        .map_err(|_| "log open failed")?;
    let report = *log.recovery_report();
    let queue = Queue::new(log, capacity, policy).await.map_err(|_| "queue failed")?;
    Ok((queue, report))
}

/// The footprint probe: mount, open a queue, pass readings through a RAM queue and the
/// pipeline and push them, receive and acknowledge them.
#[cfg(feature = "footprint")]
pub(crate) async fn probe(flash: Flash, policy: Overflow) -> Result<(u32, Flash), Failed> {
    let (queue, _) = open_queue(flash, policy).await?;
    let (clock, slowest) = (Ticks::default(), Cell::new(Duration::ZERO));
    let pipeline = stages::pipeline(EmbassyClock, &slowest).map_err(|_| "pipeline: bad layout")?;
    let ram: RamQueue<NoopRawMutex, Reading, 8> = RamQueue::new(policy);
    let mut sensor = Sensor::new(40);
    while let Some(reading) = sensor.read() {
        if let Ok(pushed) = ram.push(reading).await {
            let _handed_back = pushed.into_returned();
        }
        let Some(reading) = ram.pop().await else { break };
        #[cfg(not(feature = "footprint-no-pipeline"))]
        let item = {
            let sample = pipeline.execute(Sample::new(reading, clock.tick())).await;
            let sample = sample.map_err(|_| "pipeline: a failure escaped monitoring")?;
            if sample.is_failed() {
                continue;
            }
            sample.enriched.ok_or("pipeline: the sample was not enriched")?
        };
        #[cfg(feature = "footprint-no-pipeline")]
        let item = {
            let _ = &pipeline;
            enrich(reading, clock.tick())
        };
        queue.push(&item).await.map_err(|_| "push failed")?;
    }
    let mut count = 0;
    while let Some((seq, _)) = queue.try_recv().await.map_err(|_| "recv failed")? {
        queue.ack(seq).await.map_err(|_| "ack failed")?;
        count += 1;
    }
    Ok((count, queue.into_log().into_storage().into_flash()))
}

/// Counts how often a future is polled: more than once means it had to wait.
async fn polled<F: Future>(future: F) -> (F::Output, u32) {
    let mut future = pin!(future);
    let mut polls = 0;
    let output = poll_fn(|cx| {
        polls += 1;
        future.as_mut().poll(cx)
    })
    .await;
    (output, polls)
}

/// Sensor -> RAM queue (8 readings, `policy`) -> pipeline (monitoring, validate, enrich) ->
/// durable queue, for `count` readings. The sensor delivers bursts of ten, faster than the
/// stage behind the RAM queue takes them, so the RAM queue's policy acts too.
async fn produce(
    queue: &Queue,
    count: u32,
    policy: Overflow,
    done: &Cell<bool>,
) -> Result<Produced, Failed> {
    let ram: RamQueue<NoopRawMutex, Reading, 8> = RamQueue::new(policy);
    let sensor = async {
        let mut sensor = Sensor::new(count);
        let mut handed_back = 0u32;
        while let Some(reading) = sensor.read() {
            // An evicted or refused reading comes back here; the queue's metrics count it.
            match ram.push(reading).await {
                Ok(Pushed::Admitted) => {}
                Ok(Pushed::Evicted(_) | Pushed::Refused(_)) => handed_back += 1,
                Err(_) => return Err("ram queue: closed while the sensor was running"),
            }
            if reading.index % 10 == 9 {
                yield_now().await;
            }
        }
        ram.close();
        Ok(handed_back)
    };
    let stage = async {
        let mut produced = Produced::default();
        let (ticks, slowest) = (Ticks::default(), Cell::new(Duration::ZERO));
        let pipeline =
            stages::pipeline(EmbassyClock, &slowest).map_err(|_| "pipeline: bad layout")?;
        while let Some(reading) = ram.pop().await {
            let sample = pipeline.execute(Sample::new(reading, ticks.tick())).await;
            let sample = sample.map_err(|_| "pipeline: a failure escaped monitoring")?;
            if sample.is_failed() {
                produced.rejected += 1;
                continue;
            }
            let item = sample.enriched.ok_or("pipeline: the sample was not enriched")?;
            produced.valid += 1;
            produced.last_index = item.index;
            let (result, polls) = polled(queue.push(&item)).await;
            if polls > 1 {
                produced.waited += 1;
            }
            match result {
                Ok(_) => {}
                Err(QueueError::Full) => produced.refused += 1,
                Err(_) => return Err("push failed"),
            }
        }
        produced.slowest_us = u32::try_from(slowest.get().as_micros()).unwrap_or(u32::MAX);
        Ok(produced)
    };
    let (handed_back, produced) = join(sensor, stage).await;
    let (handed_back, mut produced) = (handed_back?, produced?);
    let metrics = ram.metrics();
    produced.ram_lost = (metrics.evicted + metrics.refused) as u32;
    produced.ram_waits = metrics.producer_waits as u32;
    ensure(handed_back == produced.ram_lost, "ram queue: a reading was lost silently")?;
    let seen = produced.ram_lost + produced.rejected + produced.valid;
    ensure(seen == count, "ram queue: readings unaccounted for")?;
    match policy {
        Overflow::Block => ensure(produced.ram_lost == 0, "ram queue: block lost a reading")?,
        _ => ensure(produced.ram_lost > 0, "ram queue: the policy never acted")?,
    }
    done.set(true);
    Ok(produced)
}

/// Queue -> uplink (retrying with backoff while it is down) -> acknowledge in batches of 8,
/// until the producer is done and the queue is empty; `limit` stops after that many items
/// without acknowledging the last ones (used to stage a reset).
async fn deliver(
    queue: &Queue,
    uplink: &mut Uplink,
    done: &Cell<bool>,
    limit: Option<u32>,
) -> Result<u32, Failed> {
    let (mut taken, mut pending) = (0u32, None);
    loop {
        if limit.is_some_and(|l| taken >= l) {
            return Ok(taken);
        }
        match queue.try_recv().await.map_err(|_| "recv failed")? {
            Some((seq, item)) => {
                let mut backoff = 1;
                while !uplink.send(seq, &item) {
                    sleep_ticks(backoff).await;
                    backoff = (backoff * 2).min(64);
                }
                taken += 1;
                pending = Some(seq);
                if taken % 8 == 0 {
                    queue.ack(seq).await.map_err(|_| "ack failed")?;
                    pending = None;
                }
            }
            None => {
                if let Some(seq) = pending.take() {
                    queue.ack(seq).await.map_err(|_| "ack failed")?;
                }
                if done.get() && queue.is_empty().await {
                    return Ok(taken);
                }
                yield_now().await;
            }
        }
    }
}

/// One run with `policy`; gives the flash back for the next run.
pub(crate) async fn run_policy(
    flash: Flash,
    policy: Overflow,
    readings: u32,
) -> Result<(PolicyRun, Flash), Failed> {
    let (queue, report) = open_queue(flash, policy).await?;
    ensure(report.is_clean() && report.records == 0, "a fresh flash is not empty")?;
    let done = Cell::new(false);
    let produced = match policy {
        // Backpressure: produce and deliver at once over a link that is mostly down, so the
        // producer has to wait for acknowledgements.
        Overflow::Block => {
            let mut uplink = Uplink::new(20, 60);
            let (produced, delivered) = join(
                produce(&queue, readings, policy, &done),
                deliver(&queue, &mut uplink, &done, None),
            )
            .await;
            let produced = produced?;
            delivered?;
            return finish(queue, policy, produced, uplink).await;
        }
        // The link is down while every reading comes in: the queue overflows.
        Overflow::DropOldest | Overflow::DropNewest => {
            produce(&queue, readings, policy, &done).await?
        }
    };
    let mut uplink = Uplink::new(20, 5);
    deliver(&queue, &mut uplink, &done, None).await?;
    finish(queue, policy, produced, uplink).await
}

async fn finish(
    queue: Queue,
    policy: Overflow,
    produced: Produced,
    uplink: Uplink,
) -> Result<(PolicyRun, Flash), Failed> {
    let dropped = queue.dropped().await;
    ensure(!uplink.out_of_order, "readings arrived out of order")?;
    let newest_delivered = uplink.last_index == Some(produced.last_index);
    ensure(uplink.offline > 0, "the uplink was never offline")?;
    let handled = uplink.delivered as u64 + dropped + produced.refused as u64;
    ensure(handled == produced.valid as u64, "a reading was neither delivered nor counted")?;
    match policy {
        Overflow::Block => {
            ensure(produced.waited > 0, "block: the producer never waited")?;
            ensure(dropped == 0 && produced.refused == 0, "block: a reading was dropped")?;
            ensure(newest_delivered, "block: the newest reading was lost")?;
        }
        Overflow::DropOldest => {
            ensure(dropped > 0 && produced.refused == 0, "drop-oldest: nothing was evicted")?;
            ensure(newest_delivered, "drop-oldest: the newest reading was lost")?;
        }
        Overflow::DropNewest => {
            ensure(produced.refused > 0 && dropped == 0, "drop-newest: nothing was refused")?;
            ensure(uplink.first_index == Some(0), "drop-newest: the oldest reading was lost")?;
        }
    }
    let flash = queue.into_log().into_storage().into_flash();
    Ok((PolicyRun { produced, dropped, uplink }, flash))
}

/// Queues readings, delivers some, acknowledges fewer, then loses power in the middle of a
/// write; after the reset the log is mounted from the same flash and replays the rest.
pub(crate) async fn run_reset(flash: Flash) -> Result<(ResetRun, Flash), Failed> {
    let (queue, _) = open_queue(flash, Overflow::Block).await?;
    let done = Cell::new(false);
    let produced = produce(&queue, 66, Overflow::Block, &done).await?;
    let mut uplink = Uplink::new(u32::MAX, 0);
    // 30 are sent but only 24 acknowledged (batches of 8): at-least-once sends 6 again.
    deliver(&queue, &mut uplink, &done, Some(30)).await?;
    ensure(uplink.delivered == 30, "reset: the first 30 were not delivered")?;

    // The power fails 13 bytes into the next record.
    let mut log = queue.into_log();
    log.storage_mut().flash_mut().cut_power_after(Some(13));
    let queue = Queue::new(log, plover_core::log::Capacity::Records(1000), Overflow::Block)
        .await
        .map_err(|_| "reset: queue failed")?;
    let item = enrich(crate::sensor::Reading { sensor: 0, index: 999, millicelsius: 0 }, 0);
    ensure(queue.push(&item).await.is_err(), "reset: the power cut did not hit the write")?;

    // Reset: RAM is gone, the flash keeps what the cut left.
    let mut flash = queue.into_log().into_storage().into_flash();
    flash.power_on();
    let (queue, report) = open_queue(flash, Overflow::Block).await?;
    ensure(report.torn_tail_bytes > 0, "reset: the torn record was not found")?;
    ensure(!report.lost_data(), "reset: recovery reports lost data")?;
    let before = uplink.delivered + uplink.duplicates;
    let done = Cell::new(true);
    deliver(&queue, &mut uplink, &done, None).await?;
    let replayed = uplink.delivered + uplink.duplicates - before;
    ensure(uplink.duplicates == 6, "reset: replay did not start after the checkpoint")?;
    ensure(uplink.delivered == produced.valid, "reset: a queued reading was lost")?;
    ensure(uplink.last_index == Some(produced.last_index), "reset: the newest reading is missing")?;
    ensure(!uplink.out_of_order, "reset: readings arrived out of order")?;
    let flash = queue.into_log().into_storage().into_flash();
    Ok((ResetRun { report, replayed, uplink }, flash))
}
