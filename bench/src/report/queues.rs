//! The queue topics of the report: hand-off on two OS threads beside tokio, async-channel,
//! embassy-sync, crossbeam and std; one executor beside embassy-sync; the overflow policies
//! beside `Block`; and the chart of all of them.

use std::fmt::Write;

use super::{NOT_MEASURED, Writer};
use crate::plot;
use crate::suite::Bench;
use crate::text::ratio;

impl Writer<'_> {
    pub(super) fn queues(&mut self) {
        self.section(
            "Queues: two OS threads",
            "2 M `u64` items through a queue of capacity 1024, producer and consumer each on \
             its own thread under `futures_lite::future::block_on` (the blocking channels use \
             their blocking calls). Throughput is the median of criterion's samples, with its \
             95 % confidence interval.",
            Some(Bench::Queue),
        );
        let rows = [
            ("two_threads/plover_queue", "plover `Queue`, critical-section mutex, `Block`"),
            (
                "two_threads/plover_queue_std_mutex",
                "plover `Queue`, `StdRawMutex` (parking_lot), `Block`",
            ),
            (
                "two_threads/plover_queue_pop_many",
                "plover `Queue`, `StdRawMutex`, consumer `pop_many` (64)",
            ),
            ("two_threads/tokio_mpsc", "tokio `mpsc::channel`"),
            ("two_threads/async_channel", "async-channel `bounded`"),
            ("two_threads/embassy_sync_channel", "embassy-sync `Channel`, critical-section"),
            ("two_threads/crossbeam_channel", "crossbeam-channel `bounded` (blocking)"),
            ("two_threads/std_sync_channel", "std `sync_channel` (blocking)"),
        ];
        self.throughput_table(&rows, "two_threads/plover_queue", "÷ plover (first row)");

        let plover = ["two_threads/plover_queue", "two_threads/plover_queue_std_mutex"]
            .iter()
            .filter_map(|id| self.get(id).map(|m| (*id, m.clone())))
            .min_by(|a, b| a.1.median_ns.total_cmp(&b.1.median_ns));
        let tokio = self.get("two_threads/tokio_mpsc").cloned();
        let (met, figure) = match (&plover, &tokio) {
            (Some((id, p)), Some(t)) => {
                let speedup = t.median_ns / p.median_ns;
                let which =
                    if id.ends_with("std_mutex") { "`StdRawMutex`" } else { "critical-section" };
                (Some(speedup >= 2.0), format!("{} (plover with {which})", ratio(speedup)))
            }
            _ => (None, NOT_MEASURED.to_owned()),
        };
        self.goal("queues", "two threads: plover at least 2× tokio `mpsc`", met, figure);
        self.reason(
            "Met on 2026-12-04 once `StdRawMutex` moved from `std::sync::Mutex` to \
             parking_lot's mutex (2.8× tokio at load 0.5; `docs/benchmarks-queue.md`). A miss \
             here is new: compare the run's load, and the `StdRawMutex` row against tokio's, \
             before profiling again.",
            None,
        );

        self.section(
            "Queues: one executor",
            "The same 2 M items with producer and consumer as two futures joined on one \
             single-threaded executor (`block_on(zip(..))`), the shape of the firmware and the \
             browser, both with a no-op mutex.",
            None,
        );
        let rows = [
            ("one_executor/plover_queue_noop_mutex", "plover `Queue`, `NoopRawMutex`"),
            (
                "one_executor/embassy_sync_channel_noop_mutex",
                "embassy-sync `Channel`, `NoopRawMutex`",
            ),
        ];
        self.throughput_table(&rows, "one_executor/plover_queue_noop_mutex", "÷ plover");
        let plover = self.get(rows[0].0).cloned();
        let embassy = self.get(rows[1].0).cloned();
        let speed = plover.as_ref().zip(embassy.as_ref()).map(|(p, e)| e.median_ns / p.median_ns);
        self.goal(
            "queues",
            "one executor: no slower than embassy-sync `Channel`",
            speed.map(|r| r >= 1.0),
            speed.map_or(NOT_MEASURED.to_owned(), |r| {
                format!("plover at {} of embassy-sync's speed", ratio(r))
            }),
        );
        self.reason(
            "Profile of 2026-12-04 (`docs/benchmarks-queue.md`): the goal was missed while \
             the queue's locked step ran out of line (embassy-sync's `RawMutex::lock` is not \
             `#[inline]`) and returned its decision through memory; `QueueMutex` and a \
             register-sized step fixed both. If it is missed again, profile the push and pop \
             futures first.",
            plover.as_ref().zip(embassy.as_ref()),
        );

        self.section(
            "Queues: overflow policies",
            "One thread, `NoopRawMutex`, 2 M pushes. `Block` moves each item in and out of a \
             half-full queue; `DropOldest` and `DropNewest` push into a full queue, so every \
             push evicts the oldest item or is refused, and the item is handed back. The \
             `try_` rows are the same hand-off without futures, beside embassy-sync's.",
            None,
        );
        let rows = [
            ("overflow/block_push_pop", "`Block`: `push().await` + `pop().await`"),
            ("overflow/drop_oldest_full", "`DropOldest`, full queue: every push evicts"),
            ("overflow/drop_newest_full", "`DropNewest`, full queue: every push is refused"),
            ("overflow/block_try_push_try_pop", "`Block`: `try_push` + `try_pop`"),
            ("overflow/embassy_try_send_try_receive", "embassy-sync `try_send` + `try_receive`"),
        ];
        self.cost_table(&rows, "overflow/block_push_pop", "cost ÷ `Block`");
        let block = self.get(rows[0].0).cloned();
        let oldest = self.get(rows[1].0).cloned();
        let cost = block.as_ref().zip(oldest.as_ref()).map(|(b, o)| o.median_ns / b.median_ns);
        self.goal(
            "queues",
            "`DropOldest` under overflow at most 2× `Block` per item",
            cost.map(|r| r <= 2.0),
            cost.map_or(NOT_MEASURED.to_owned(), |r| format!("{} the cost of `Block`", ratio(r))),
        );
        self.reason("Not profiled yet.", None);

        let bars = plot::QueueBars::from_results(self.inputs.results);
        if !bars.is_empty() {
            let _ = writeln!(
                self.body,
                "\n![Queue throughput by queue and policy]({})",
                plot::QUEUE_CHART
            );
        }
    }
}
