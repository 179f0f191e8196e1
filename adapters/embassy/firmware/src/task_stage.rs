//! A stage spawned as its own embassy task, beside the scenario's joined futures.
//!
//! An embassy task cannot be generic and its arguments must be `'static`, so the stage and its
//! two queues are `static`s (all `const`-constructed, on the critical-section mutex, so they are
//! `Sync`) and the task is written for this one stage type: the pattern an application follows
//! for every stage it wants in a task of its own. The producer and the consumer stay in the main
//! task; the only link between the two tasks is the queues and the stage's lifecycle.

use core::cell::Cell;
use core::time::Duration;

use embassy_executor::Spawner;
use embassy_futures::join::join;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use plover_core::Overflow;
use plover_core::queue::{Pushed, Queue};
use plover_core::stage::{Handler, Lifecycle, Stage, StopReport};
use plover_embassy::time::EmbassyTimer;

use crate::scenario::Failed;

/// Readings through the task's stage.
const ITEMS: u32 = 30;

type Shared<T> = Queue<CriticalSectionRawMutex, T, 4>;
type SquareStage = Stage<'static, CriticalSectionRawMutex, u32, Square, 4, 4>;

static INPUT: Shared<u32> = Queue::new(Overflow::Block);
static OUTPUT: Shared<u32> = Queue::new(Overflow::Block);
static STAGE: SquareStage = Stage::new(&INPUT, Square, &OUTPUT, Duration::from_secs(1));
/// What the worker reported when it ended, for the main task to check.
static REPORT: Mutex<CriticalSectionRawMutex, Cell<Option<StopReport>>> =
    Mutex::new(Cell::new(None));

/// The stage's handler: squares a reading.
struct Square;

impl Handler<u32> for Square {
    type Out = u32;

    async fn handle(&self, reading: u32) -> u32 {
        reading * reading
    }
}

/// The stage's one worker, in a task of its own. Its drain deadline sleeps on embassy-time.
#[embassy_executor::task]
async fn square_worker(stage: &'static SquareStage) {
    // Nothing is handed back in this run (checked through the report), so `on_left` drops.
    let report = stage.run(&EmbassyTimer, drop).await;
    REPORT.lock(|slot| slot.set(Some(report)));
}

/// What the run saw: items delivered in order, and the worker's report.
pub(crate) struct TaskRun {
    pub(crate) delivered: u32,
    pub(crate) report: StopReport,
}

/// Spawns the worker, publishes [`ITEMS`] readings and takes the squares back in order, stops
/// the stage, and waits for the worker's task to end.
pub(crate) async fn run(spawner: Spawner) -> Result<TaskRun, Failed> {
    spawner.spawn(square_worker(&STAGE).map_err(|_| "stage task: could not be spawned")?);
    STAGE.start();

    let produce = async {
        for reading in 0..ITEMS {
            let pushed = STAGE.publish(reading).await;
            // `Block`: every reading is admitted, none evicted or refused.
            if !matches!(pushed, Ok(Pushed::Admitted)) {
                return Err("stage task: a reading was not admitted");
            }
        }
        // Graceful: input refused from here on, the worker drains what is buffered.
        STAGE.stop();
        Ok::<(), Failed>(())
    };
    let consume = async {
        let mut delivered = 0;
        // The stage closes its output when its last worker ends.
        while let Some(square) = OUTPUT.pop().await {
            if square != delivered * delivered {
                return Err("stage task: an output out of order");
            }
            delivered += 1;
        }
        Ok(delivered)
    };
    let (produced, delivered) = join(produce, consume).await;
    produced?;
    let delivered = delivered?;

    STAGE.stopped().await;
    if STAGE.lifecycle() != Lifecycle::Stopped {
        return Err("stage task: the stage did not reach Stopped");
    }
    let report = REPORT.lock(Cell::get).ok_or("stage task: the worker left no report")?;
    if delivered != ITEMS || report.handled != u64::from(ITEMS) {
        return Err("stage task: not every reading was handled and delivered");
    }
    if report.unhandled + report.overflowed + report.undelivered + report.cancelled != 0 {
        return Err("stage task: the worker handed items back");
    }
    if STAGE.publish(0).await.is_ok() {
        return Err("stage task: a publish after stop was accepted");
    }
    Ok(TaskRun { delivered, report })
}
