//! The durable-log topics of the report (file backend): appends per fsync policy beside raw
//! `write` + `fdatasync`, durable throughput by batch size with its chart, group commit with
//! 1/4/16 appenders, and the recovery scan beside a plain read of the same files.

use std::fmt::Write;

use super::{NOT_MEASURED, Writer};
use crate::plot;
use crate::suite::Bench;
use crate::text::{byte_rate, percent, rate, ratio};

/// The fsync policies of the append benchmark: id, flag as `plover run` spells it, batch.
const POLICIES: [(&str, &str, u32); 4] = [
    ("always", "`always`", 16),
    ("every-64", "`every:64`", 1024),
    ("interval-10ms", "`interval:10`", 1024),
    ("never", "`never`", 4096),
];

impl Writer<'_> {
    pub(super) fn durable(&mut self) {
        self.section(
            "Durable log: append per fsync policy",
            "`FileLog` with 100-byte payloads (121 bytes on disk). An iteration appends a batch \
             and ends with `flush()`, so both sides end equally durable. The baseline writes the \
             same number of 121-byte records to one file with one `write` each and calls \
             `fdatasync` when the policy would: after every record (`always`), every 64 \
             (`every:64`), and at the end of the batch.",
            Some(Bench::LogFile),
        );
        let mut rows = Vec::new();
        for (id, flag, batch) in POLICIES {
            let plover = self.get(&format!("append/plover/{id}")).cloned();
            let raw = self.get(&format!("append/raw-write-fdatasync/{id}")).cloned();
            let share = plover.as_ref().zip(raw.as_ref()).map(|(p, r)| r.median_ns / p.median_ns);
            rows.push(vec![
                flag.to_owned(),
                batch.to_string(),
                plover.as_ref().map_or(NOT_MEASURED.to_owned(), |m| rate(m.per_second())),
                raw.as_ref().map_or(NOT_MEASURED.to_owned(), |m| rate(m.per_second())),
                share.map_or("–".to_owned(), percent),
            ]);
            self.goal(
                "durable log",
                format!("append, {flag}: at least 80 % of raw write + fdatasync"),
                share.map(|s| s >= 0.8),
                share.map_or(NOT_MEASURED.to_owned(), percent),
            );
            self.reason(
                "Not profiled yet; fsync-bound figures on this disk move by ±50 % between runs \
                 (`docs/benchmarks-log.md`).",
                plover.as_ref().zip(raw.as_ref()),
            );
        }
        self.push_table(&["policy", "batch", "plover", "raw", "plover ÷ raw"], &rows);

        self.section(
            "Durable log: throughput by batch size",
            "Records per second when every batch ends with one fsync: plover appends the batch \
             (policy `never`) and flushes; the baseline writes the same bytes with a single \
             `write` and one `fdatasync`, the least a durable batch can cost. Group commit and \
             `every:N` turn appends into such batches.",
            None,
        );
        let mut rows = Vec::new();
        for batch in plot::BATCHES {
            let plover = self.get(&format!("batch/plover/{batch}")).cloned();
            let raw = self.get(&format!("batch/raw-write-fdatasync/{batch}")).cloned();
            rows.push(vec![
                batch.to_string(),
                plover.as_ref().map_or(NOT_MEASURED.to_owned(), |m| rate(m.per_second())),
                raw.as_ref().map_or(NOT_MEASURED.to_owned(), |m| rate(m.per_second())),
                plover
                    .as_ref()
                    .zip(raw.as_ref())
                    .map_or("–".to_owned(), |(p, r)| percent(r.median_ns / p.median_ns)),
            ]);
        }
        self.push_table(&["records per fsync", "plover", "raw", "plover ÷ raw"], &rows);
        if !plot::BatchLines::from_results(self.inputs.results).is_empty() {
            let _ = writeln!(
                self.body,
                "\n![Durable throughput by batch size]({})",
                plot::DURABLE_CHART
            );
        }

        self.group_commit();
        self.recovery_scan();
    }

    fn group_commit(&mut self) {
        self.section(
            "Durable log: group commit",
            "fsync `always`: every append returns only once its record is durable. 16 appends \
             per thread per iteration; with several threads, one `fdatasync` covers the \
             appends of all who wait for it.",
            None,
        );
        let one = self.get("always-concurrent/1").cloned();
        let mut rows = Vec::new();
        for threads in [1, 4, 16] {
            let m = self.get(&format!("always-concurrent/{threads}")).cloned();
            rows.push(vec![
                threads.to_string(),
                m.as_ref().map_or(NOT_MEASURED.to_owned(), |m| rate(m.per_second())),
                m.as_ref()
                    .zip(one.as_ref())
                    .map_or("–".to_owned(), |(m, o)| ratio(m.per_second() / o.per_second())),
            ]);
        }
        self.push_table(&["appenders", "records/s", "÷ one appender"], &rows);
        let sixteen = self.get("always-concurrent/16").cloned();
        let gain = sixteen.as_ref().zip(one.as_ref()).map(|(s, o)| s.per_second() / o.per_second());
        self.goal(
            "durable log",
            "group commit shows: 16 appenders reach at least 4× one appender's records/s",
            gain.map(|g| g >= 4.0),
            gain.map_or(NOT_MEASURED.to_owned(), ratio),
        );
        self.reason("Not profiled yet.", None);
    }

    fn recovery_scan(&mut self) {
        self.section(
            "Durable log: recovery scan",
            "`FileLog::open` on a log of 1000-byte records in 64 MiB segments, files in the \
             page cache: recovery reads every record and checks its CRC-32C. The baseline reads \
             the same files with 4 MiB `read`s. The quick mode scans 256 MB; `--mode full` \
             scans the 1 GB that the goal names.",
            None,
        );
        let plover = self.inputs.results.find("recovery-scan/plover-open/").cloned();
        let raw = self.inputs.results.find("recovery-scan/raw-read/").cloned();
        let size = self.inputs.results.find_id("recovery-scan/plover-open/").map(str::to_owned);
        let row = |label: &str, m: &Option<crate::results::Measurement>| {
            vec![
                label.to_owned(),
                m.as_ref().map_or(NOT_MEASURED.to_owned(), |m| byte_rate(m.per_second())),
            ]
        };
        let rows = vec![
            row("plover `FileLog::open` (full scan, CRC of every record)", &plover),
            row("raw sequential read", &raw),
        ];
        self.push_table(&["case", "bytes/s"], &rows);
        if let Some(id) = size {
            let _ = writeln!(self.body, "\nLog size: {}.", id.rsplit('/').next().unwrap_or(&id));
        }
        let speed = plover.as_ref().map(|m| m.per_second());
        self.goal(
            "durable log",
            "recovery scan: at least 1 GB/s from the page cache",
            speed.map(|s| s >= 1e9),
            speed.map_or(NOT_MEASURED.to_owned(), byte_rate),
        );
        self.reason(
            "The scan is bound by CRC-32C computed in software (`crc`'s table-driven \
             implementation; no hardware CRC instruction).",
            None,
        );
    }
}
