//! The stage worker: take from the input queue, handle, push to the output queue, and stop
//! gracefully within a deadline.
//!
//! It owns the order of a graceful stop (refuse input, drain, cancel at the deadline, hand back
//! the rest) and the per-worker [`StopReport`]. The host spawns the futures `run` returns.

use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll};
use core::time::Duration;

use crate::queue::QueueMutex;

use super::{Control, Handler, Lifecycle, Timer};
use crate::queue::{Push, Queue};

/// An item that a worker hands back instead of delivering it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Left<In, Out> {
    /// Still in the input queue when the drain deadline passed: never handled.
    Unhandled(In),
    /// Handled, but the output queue's policy evicted this older output (`DropOldest`) or
    /// refused this one (`DropNewest`) to make its decision.
    Overflowed(Out),
    /// Handled, but not delivered: the output queue was closed, or the deadline passed while
    /// the push waited for room.
    Undelivered(Out),
}

/// What one worker did, returned when its `run` ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StopReport {
    /// Items handled whose output the output queue decided on: admitted, or (with a dropping
    /// policy) evicting an older output or refused, both handed back as [`Left::Overflowed`].
    pub handled: u64,
    /// Items handed back as [`Left::Unhandled`].
    pub unhandled: u64,
    /// Outputs handed back as [`Left::Overflowed`].
    pub overflowed: u64,
    /// Outputs handed back as [`Left::Undelivered`].
    pub undelivered: u64,
    /// Items whose handler was still running at the deadline and was cancelled (dropped); they
    /// cannot be handed back.
    pub cancelled: u64,
    /// Whether the drain deadline passed before the input was drained.
    pub deadline_passed: bool,
}

/// A stage: one input queue, one [`Handler`], one output queue, and its [`Control`].
///
/// Share it by reference: producers [`publish`](Self::publish), a controller calls
/// [`start`](Self::start) and [`stop`](Self::stop), and the host runs one or more workers from
/// [`run`](Self::run).
///
/// # Ordering
///
/// One worker keeps order: outputs are pushed in input order. With several workers (several
/// `run` futures over the same stage), each takes items in input order but they finish in any
/// order, so outputs may be reordered; only the items taken by one worker stay in order.
///
/// # Graceful stop
///
/// `stop` closes the input queue at once (publishing then fails with the item handed back) and
/// moves the control to `Draining`. Workers keep handling what is buffered; `drain_deadline`
/// after they saw the stop, whatever is left is cancelled: the item being handled is dropped
/// (counted), a waiting output push is given up and its item handed back, and the items still
/// queued are handed back. When the last worker ends, the stage closes its output queue so a
/// downstream stage drains and ends in turn (so a queue fed by several stages ends with the
/// first of them).
pub struct Stage<'q, M: QueueMutex, In, H: Handler<In>, const NI: usize, const NO: usize> {
    input: &'q Queue<M, In, NI>,
    output: &'q Queue<M, H::Out, NO>,
    handler: H,
    control: Control<M>,
    drain_deadline: Duration,
}

impl<'q, M, In, H, const NI: usize, const NO: usize> Stage<'q, M, In, H, NI, NO>
where
    M: QueueMutex,
    H: Handler<In>,
{
    /// A stage in [`Lifecycle::Idle`] between two queues.
    pub const fn new(
        input: &'q Queue<M, In, NI>,
        handler: H,
        output: &'q Queue<M, H::Out, NO>,
        drain_deadline: Duration,
    ) -> Self {
        Stage { input, output, handler, control: Control::new(), drain_deadline }
    }

    /// The lifecycle handle.
    pub fn control(&self) -> &Control<M> {
        &self.control
    }

    /// The current lifecycle.
    pub fn lifecycle(&self) -> Lifecycle {
        self.control.lifecycle()
    }

    /// Lets workers start taking items. Idempotent; `true` only for the call that started it.
    pub fn start(&self) -> bool {
        self.control.start()
    }

    /// Requests a graceful stop (see the type's docs). Idempotent; `true` only for the call
    /// that requested it. New input is refused from this call on.
    pub fn stop(&self) -> bool {
        let requested = self.control.stop();
        self.input.close();
        requested
    }

    /// Pushes `item` into the stage's input queue (see [`Queue::push`]).
    ///
    /// # Errors
    ///
    /// Once the stage is stopping or stopped the push fails with
    /// [`Closed`](crate::queue::Closed), handing `item` back; it never panics.
    ///
    /// # Cancel safety
    ///
    /// As [`Queue::push`]: use [`Push::cancel`] to get the item back from an unfinished push.
    pub fn publish(&self, item: In) -> Push<'q, M, In, NI> {
        self.input.push(item)
    }

    /// Waits until every worker has ended ([`Lifecycle::Stopped`]).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only observes the lifecycle.
    pub async fn stopped(&self) {
        self.control.reached(Lifecycle::Stopped).await
    }

    /// One worker: waits for `start` (or `stop`), then handles items until the input is closed
    /// and drained, the output is closed, or the drain deadline passes. Every item it does not
    /// deliver goes to `on_left`; the counts come back in the [`StopReport`].
    ///
    /// Call it several times for several workers (see Ordering in the type's docs).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the worker like a deadline would, but without handing back:
    /// the item being handled or pushed is dropped and the worker is not counted out, so the
    /// stage never reaches `Stopped`. Let `run` finish through `stop` instead.
    pub async fn run<T: Timer>(
        &self,
        timer: &T,
        mut on_left: impl FnMut(Left<In, H::Out>),
    ) -> StopReport {
        self.control.enter();
        let mut report = StopReport::default();
        let sleep = pin!(async {
            self.control.reached(Lifecycle::Draining).await;
            timer.sleep(self.drain_deadline).await;
        });
        let mut deadline = Deadline { sleep, fired: false };

        // Until start (or stop), take nothing.
        let _ = race(self.control.reached(Lifecycle::Running), &mut deadline).await;

        loop {
            let Some(item) = race(self.input.pop(), &mut deadline).await else {
                report.deadline_passed = true;
                break;
            };
            let Some(item) = item else { break };

            let Some(out) = race(self.handler.handle(item), &mut deadline).await else {
                report.cancelled += 1;
                report.deadline_passed = true;
                break;
            };

            let mut push = self.output.push(out);
            match race(&mut push, &mut deadline).await {
                None => {
                    report.deadline_passed = true;
                    if let Some(out) = push.cancel() {
                        report.undelivered += 1;
                        on_left(Left::Undelivered(out));
                    }
                    break;
                }
                Some(Ok(pushed)) => {
                    report.handled += 1;
                    if let Some(old) = pushed.into_returned() {
                        report.overflowed += 1;
                        on_left(Left::Overflowed(old));
                    }
                }
                Some(Err(closed)) => {
                    report.undelivered += 1;
                    on_left(Left::Undelivered(closed.into_inner()));
                    break;
                }
            }
        }

        // Whatever is still queued was not handled: hand it back. The input is closed whenever
        // a deadline passed (it only runs after `stop`), so this drain is final.
        if report.deadline_passed || self.output.is_closed() {
            self.input.close();
            while let Ok(item) = self.input.try_pop() {
                report.unhandled += 1;
                on_left(Left::Unhandled(item));
            }
        }

        if self.control.leave() {
            self.output.close();
        }
        report
    }
}

/// The drain deadline of one worker: armed by the stop, fired once, never polled after.
struct Deadline<D> {
    sleep: D,
    fired: bool,
}

pin_project_lite::pin_project! {
    /// Polls `work` first, then the deadline; `None` if the deadline has fired.
    ///
    /// Work is polled first so that a drain that can make progress does, even when the deadline
    /// is also ready. A future of its own rather than an `async fn`, which would hold `work`
    /// twice (as its argument and pinned in a local), and `work` is the handler's future, the
    /// largest thing a worker holds.
    struct Race<'d, F, S> {
        #[pin]
        work: F,
        deadline: &'d mut Deadline<S>,
    }
}

fn race<F: Future, S: Future<Output = ()> + Unpin>(
    work: F,
    deadline: &mut Deadline<S>,
) -> Race<'_, F, S> {
    Race { work, deadline }
}

impl<F: Future, S: Future<Output = ()> + Unpin> Future for Race<'_, F, S> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if this.deadline.fired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(value) = this.work.poll(cx) {
            return Poll::Ready(Some(value));
        }
        if Pin::new(&mut this.deadline.sleep).poll(cx).is_ready() {
            this.deadline.fired = true;
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}
