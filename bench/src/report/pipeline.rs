//! The pipeline topic of the report: overhead per event and per interceptor beside hand-written
//! chains of the same async calls, and wrapping interceptors beside boxed recursion.

use super::{NOT_MEASURED, Writer};
use crate::suite::Bench;
use crate::text::{nanos, ratio};

impl Writer<'_> {
    pub(super) fn pipeline(&mut self) {
        self.section(
            "Pipeline overhead",
            "1 000 `u64` events per iteration through a pipeline of no-op interceptors (one \
             per phase), beside a hand-written chain of the same number of async calls; and \
             five interceptors that each wrap the rest with `proceed`, beside a hand-written \
             recursion of five boxed async calls (the plain way to get Ktor's nesting in Rust); \
             and the ready-made interceptors (on_failure, monitoring with the host's clock, \
             validate, enrich, process) doing small real work on an `Event` of 1 232 bytes, \
             beside the same work written as one async function. The cost per interceptor is \
             the difference between five and one no-op interceptors, divided by four.",
            Some(Bench::Pipeline),
        );
        let pairs = [
            ("1 no-op interceptor", "pipeline/plover_noop/1", "pipeline/hand_written_noop/1"),
            ("5 no-op interceptors", "pipeline/plover_noop/5", "pipeline/hand_written_noop/5"),
            (
                "5 interceptors, each `proceed`s",
                "pipeline/plover_proceed/5",
                "pipeline/hand_written_boxed_recursion/5",
            ),
            (
                "5 ready-made interceptors on an `Event`",
                "pipeline/plover_helpers/5",
                "pipeline/hand_written_helpers/5",
            ),
        ];
        let rows: Vec<Vec<String>> = pairs
            .iter()
            .map(|(label, plover, hand)| {
                let p = self.get(plover).map(|m| m.ns_per_unit());
                let h = self.get(hand).map(|m| m.ns_per_unit());
                vec![
                    (*label).to_owned(),
                    p.map_or(NOT_MEASURED.to_owned(), nanos),
                    h.map_or(NOT_MEASURED.to_owned(), nanos),
                    p.zip(h).map_or("–".to_owned(), |(p, h)| ratio(p / h)),
                ]
            })
            .collect();
        self.push_table(&["case", "plover, per event", "hand-written, per event", "÷"], &rows);

        let slope = |five: &str, one: &str| {
            Some((self.get(five)?.ns_per_unit() - self.get(one)?.ns_per_unit()) / 4.0)
        };
        let plover_slope = slope("pipeline/plover_noop/5", "pipeline/plover_noop/1");
        let hand_slope = slope("pipeline/hand_written_noop/5", "pipeline/hand_written_noop/1");
        self.body.push_str(&format!(
            "\nPer interceptor (no-op): plover {}, hand-written {}.\n",
            plover_slope.map_or(NOT_MEASURED.to_owned(), nanos),
            hand_slope.map_or(NOT_MEASURED.to_owned(), nanos),
        ));

        let plover = self.get("pipeline/plover_noop/5").cloned();
        let hand = self.get("pipeline/hand_written_noop/5").cloned();
        let per_event = plover.as_ref().map(|m| m.ns_per_unit());
        self.goal(
            "pipeline",
            "5 no-op interceptors: at most 20 ns per event",
            per_event.map(|ns| ns <= 20.0),
            // Two decimals: a figure near the goal must not read as met when it is not.
            per_event.map_or(NOT_MEASURED.to_owned(), |ns| format!("{ns:.2} ns")),
        );
        const WHY: &str = "Profile of the evening of 2026-12-04 (`docs/benchmarks-pipeline.md`, \
             callgrind): 113 instructions per event against 43 for the hand-written chain; \
             12 per interceptor, of which the claim of the shared cursor and the proceed flag \
             are what Ktor's semantics cost at run time and the rest is the interceptor's \
             future kept in the execution's memory, which the hand-written chain inlines \
             into straight-line code. No run-time check is left to drop on that path. \
             With small real work (the ready-made interceptors on an `Event`, in the table \
             above) the ratio is much lower.";
        self.reason(WHY, None);
        let times = plover.as_ref().zip(hand.as_ref()).map(|(p, h)| p.median_ns / h.median_ns);
        self.goal(
            "pipeline",
            "5 no-op interceptors: within 2× the hand-written chain",
            times.map(|r| r <= 2.0),
            times.map_or(NOT_MEASURED.to_owned(), ratio),
        );
        self.reason(WHY, None);
    }
}
