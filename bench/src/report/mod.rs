//! `docs/benchmarks.md`, written from one run's figures: the machine and the command first, then
//! every goal the issues set with its verdict, then one table per topic with plover, each
//! alternative and the ratio. A figure the run lacks reads "not measured"; a goal it cannot
//! judge reads the same. Where a goal is missed, the report gives the reason the last profile
//! found (and says when the two figures' confidence intervals overlap, i.e. it may be noise).

use std::fmt::Write;

use crate::machine::Machine;
use crate::results::{Measurement, Results};
use crate::suite::{Bench, Mode};
use crate::text::{nanos, rate, ratio, table, table_aligned};

mod browser;
mod command;
mod durable;
mod pipeline;
mod queues;
mod sizes;

/// What the report is written from.
pub struct Inputs<'a> {
    /// The machine, as probed when the run started.
    pub machine: &'a Machine,
    /// The mode the run used.
    pub mode: Mode,
    /// The one-minute load average when the run ended.
    pub load_after: Option<f64>,
    /// The figures.
    pub results: &'a Results,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Met,
    Missed,
    NotMeasured,
}

struct Goal {
    topic: &'static str,
    text: String,
    verdict: Verdict,
    figure: String,
    reason: Option<String>,
}

/// The report being written: the topics' Markdown and the goals they judged.
struct Writer<'a> {
    inputs: &'a Inputs<'a>,
    body: String,
    goals: Vec<Goal>,
}

const NOT_MEASURED: &str = "not measured";

/// Writes the whole report.
pub fn render(inputs: &Inputs<'_>) -> String {
    let mut writer = Writer { inputs, body: String::new(), goals: Vec::new() };
    writer.queues();
    writer.pipeline();
    writer.durable();
    writer.end_to_end();
    writer.sizes();
    writer.browser();
    writer.elsewhere();
    writer.finish()
}

impl Writer<'_> {
    fn get(&self, id: &str) -> Option<&Measurement> {
        self.inputs.results.get(id)
    }

    fn goal(
        &mut self,
        topic: &'static str,
        text: impl Into<String>,
        met: Option<bool>,
        figure: String,
    ) {
        let verdict = match met {
            Some(true) => Verdict::Met,
            Some(false) => Verdict::Missed,
            None => Verdict::NotMeasured,
        };
        self.goals.push(Goal { topic, text: text.into(), verdict, figure, reason: None });
    }

    /// Attaches `reason` to the last goal if it was missed; notes overlapping intervals.
    fn reason(&mut self, reason: &str, pair: Option<(&Measurement, &Measurement)>) {
        let Some(goal) = self.goals.last_mut() else { return };
        if goal.verdict != Verdict::Missed {
            return;
        }
        let mut text = reason.to_owned();
        if let Some((a, b)) = pair
            && a.low_ns <= b.high_ns
            && b.low_ns <= a.high_ns
        {
            text.push_str(
                " In this run the two figures' confidence intervals overlap: they are equal \
                 within the noise of this machine.",
            );
        }
        goal.reason = Some(text);
    }

    fn section(&mut self, title: &str, intro: &str, bench: Option<Bench>) {
        let _ = writeln!(self.body, "\n## {title}\n\n{intro}");
        if let Some(bench) = bench {
            let _ = writeln!(self.body, "\n```sh\n{}\n```", bench.command_line(self.inputs.mode));
        }
    }

    fn push_table(&mut self, headers: &[&str], rows: &[Vec<String>]) {
        let _ = write!(self.body, "\n{}", table(headers, rows));
    }

    fn throughput_table(&mut self, rows: &[(&str, &str)], base: &str, last: &str) {
        let base = self.get(base).cloned();
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|(id, label)| match self.get(id) {
                Some(m) => {
                    let (slow, fast) = m.per_second_range();
                    vec![
                        (*label).to_owned(),
                        nanos(m.ns_per_unit()),
                        format!("{} ({}–{})", rate(m.per_second()), rate(slow), rate(fast)),
                        base.as_ref()
                            .map_or("–".to_owned(), |b| ratio(b.median_ns / m.median_ns)),
                    ]
                }
                None => not_measured_row(label),
            })
            .collect();
        self.push_table(&["contender", "per item", "items/s (95 % CI)", last], &cells);
    }

    fn cost_table(&mut self, rows: &[(&str, &str)], base: &str, last: &str) {
        let base = self.get(base).cloned();
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|(id, label)| match self.get(id) {
                Some(m) => vec![
                    (*label).to_owned(),
                    nanos(m.ns_per_unit()),
                    rate(m.per_second()),
                    base.as_ref().map_or("–".to_owned(), |b| ratio(m.median_ns / b.median_ns)),
                ],
                None => not_measured_row(label),
            })
            .collect();
        self.push_table(&["case", "per item", "items/s", last], &cells);
    }
}

impl Writer<'_> {
    fn elsewhere(&mut self) {
        self.section(
            "Measured by other commands",
            "- [`docs/benchmarks-web.md`](benchmarks-web.md): earlier runs of the browser \
             benchmark, by hand, and what its figures do and do not say.\n\
             - The profiles behind the reasons given for missed goals, and earlier runs: \
             [queues](benchmarks-queue.md), [pipeline](benchmarks-pipeline.md), \
             [durable log](benchmarks-log.md), [`plover run`](benchmarks-cli.md), \
             [firmware](benchmarks-firmware.md).",
            None,
        );
    }

    fn finish(self) -> String {
        let inputs = self.inputs;
        let machine = inputs.machine;
        let mut out = String::new();
        let load = |load: Option<f64>| load.map_or("unknown".to_owned(), |l| format!("{l:.2}"));
        let _ = writeln!(
            out,
            "# Benchmarks\n\n\
             Written by `scripts/bench.sh {}` from the figures of one run; do not edit by hand \
             (run the command again). Every table puts plover beside the crate or tool a user \
             would pick instead, measured in the same run on the same machine, so the ratios \
             hold even where the machine is noisy.\n\n\
             | | |\n|---|---|\n\
             | date (UTC) | {} |\n\
             | machine | {} logical cores, {} |\n\
             | system | {}, Linux {} |\n\
             | compiler | {} |\n\
             | load average (1 min) before / after | {} / {} |\n\
             | mode | {} |",
            inputs.mode.flag(),
            machine.started,
            machine.cores,
            machine.cpu,
            machine.os,
            machine.kernel,
            machine.rustc,
            load(machine.load_before),
            load(inputs.load_after),
            match inputs.mode {
                Mode::Quick => "quick (short samples; `--mode full` for longer runs)",
                Mode::Full => "full",
            },
        );

        let _ = writeln!(out, "\n## Goals\n");
        let rows: Vec<Vec<String>> = self
            .goals
            .iter()
            .map(|goal| {
                let verdict = match goal.verdict {
                    Verdict::Met => "**met**",
                    Verdict::Missed => "**missed**",
                    Verdict::NotMeasured => "not measured",
                };
                vec![goal.topic.to_owned(), goal.text.clone(), goal.figure.clone(), verdict.into()]
            })
            .collect();
        out.push_str(&table_aligned(&["topic", "goal", "this run", "verdict"], &rows, 4));
        let missed: Vec<&Goal> =
            self.goals.iter().filter(|goal| goal.verdict == Verdict::Missed).collect();
        if !missed.is_empty() {
            let _ = writeln!(out, "\nWhy the missed goals are missed, as far as it is known:\n");
            for goal in missed {
                let reason = goal.reason.as_deref().unwrap_or("Not profiled yet.");
                let _ = writeln!(out, "- *{}*: {reason}", goal.text);
            }
        }
        out.push_str(&self.body);
        out
    }
}

/// A table row for a benchmark that has no figure in this run.
fn not_measured_row(label: &str) -> Vec<String> {
    vec![label.to_owned(), NOT_MEASURED.to_owned(), "–".into(), "–".into()]
}
