//! The report's two charts, as SVG (plotters; the viewer draws the text): queue throughput by
//! queue and policy, and durable throughput by batch size beside the raw-fsync line. Each chart
//! is built only from figures the run has; an empty chart is not drawn.

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use crate::results::Results;

/// File name of the queue chart, beside `benchmarks.md`.
pub const QUEUE_CHART: &str = "benchmarks-queues.svg";
/// File name of the durable-log chart, beside `benchmarks.md`.
pub const DURABLE_CHART: &str = "benchmarks-durable.svg";
/// The batch sizes (records per fsync) of the durable-throughput benchmark.
pub const BATCHES: [u32; 6] = [1, 4, 16, 64, 256, 1024];

const BARS: [(&str, &str); 13] = [
    ("two_threads/plover_queue", "2 threads: plover, critical-section"),
    ("two_threads/plover_queue_std_mutex", "2 threads: plover, StdRawMutex"),
    ("two_threads/plover_queue_pop_many", "2 threads: plover, pop_many"),
    ("two_threads/tokio_mpsc", "2 threads: tokio mpsc"),
    ("two_threads/async_channel", "2 threads: async-channel"),
    ("two_threads/embassy_sync_channel", "2 threads: embassy-sync Channel"),
    ("two_threads/crossbeam_channel", "2 threads: crossbeam (blocking)"),
    ("two_threads/std_sync_channel", "2 threads: std sync_channel (blocking)"),
    ("one_executor/plover_queue_noop_mutex", "1 executor: plover"),
    ("one_executor/embassy_sync_channel_noop_mutex", "1 executor: embassy-sync Channel"),
    ("overflow/block_push_pop", "1 thread: plover Block"),
    ("overflow/drop_oldest_full", "1 thread: plover DropOldest, full"),
    ("overflow/drop_newest_full", "1 thread: plover DropNewest, full"),
];

const PLOVER: RGBColor = RGBColor(0x2b, 0x6c, 0xb0);
const OTHER: RGBColor = RGBColor(0x9a, 0x9a, 0x9a);

/// One bar of the queue chart: label, millions of items per second, and whether it is plover.
type Bar = (&'static str, f64, bool);

/// The bars of the queue chart, in two panels with their own scales: two OS threads, and one
/// thread or executor (ten times faster, so one scale would flatten the first panel).
pub struct QueueBars {
    threads: Vec<Bar>,
    single: Vec<Bar>,
}

impl QueueBars {
    /// The bars the run has figures for, in the chart's order.
    pub fn from_results(results: &Results) -> Self {
        let bars: Vec<Bar> = BARS
            .iter()
            .filter_map(|(id, label)| {
                let m = results.get(id)?;
                Some((*label, m.per_second() / 1e6, label.contains("plover")))
            })
            .collect();
        let (threads, single) = bars.into_iter().partition(|bar| bar.0.starts_with("2 threads"));
        Self { threads, single }
    }

    /// Whether no bar has a figure.
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty() && self.single.is_empty()
    }

    /// The chart as an SVG document.
    ///
    /// # Errors
    ///
    /// plotters fails to lay the chart out.
    pub fn svg(&self) -> Result<String> {
        let mut svg = String::new();
        {
            let panels: Vec<(&str, &[Bar])> = [
                ("Two OS threads, M items/s", self.threads.as_slice()),
                ("One thread or executor, M items/s", self.single.as_slice()),
            ]
            .into_iter()
            .filter(|panel| !panel.1.is_empty())
            .collect();
            let rows: usize = panels.iter().map(|panel| panel.1.len()).sum();
            let height = 60 + 80 * panels.len() as u32 + 26 * rows as u32;
            let root = SVGBackend::with_string(&mut svg, (820, height)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
            let root = root
                .titled(
                    "Queue throughput (2 M u64 items, capacity 1024; plover in blue)",
                    ("sans-serif", 18),
                )
                .map_err(|e| anyhow!("{e}"))?;
            let mut rest = root;
            for (i, (title, bars)) in panels.iter().enumerate() {
                let area = if i + 1 == panels.len() {
                    rest.clone()
                } else {
                    let (top, bottom) = rest.split_vertically(80 + 26 * bars.len() as u32);
                    rest = bottom;
                    top
                };
                draw_bars(&area, title, bars)?;
            }
            rest.present().map_err(|e| anyhow!("{e}"))?;
        }
        Ok(svg)
    }
}

/// Draws one panel of horizontal bars, the first bar at the top.
fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    bars: &[Bar],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let n = bars.len() as i32;
    let max = bars.iter().map(|bar| bar.1).fold(0.0, f64::max).max(1.0) * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 15))
        .margin(10)
        .x_label_area_size(24)
        .y_label_area_size(290)
        .build_cartesian_2d(0.0..max, (0..n - 1).into_segmented())
        .map_err(|e| anyhow!("{e}"))?;
    // Segment `n - 1 - i` holds bar `i`.
    let bar_at = |segment: &SegmentValue<i32>| match segment {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
            usize::try_from(n - 1 - i).ok().and_then(|i| bars.get(i))
        }
        SegmentValue::Last => None,
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(bars.len())
        .y_label_formatter(&|segment| bar_at(segment).map_or_else(String::new, |b| b.0.to_owned()))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .draw_series(
            Histogram::horizontal(&chart)
                .margin(3)
                .style_func(|segment, _| match bar_at(segment) {
                    Some(bar) if bar.2 => PLOVER.filled(),
                    _ => OTHER.filled(),
                })
                .data(bars.iter().enumerate().map(|(i, bar)| (n - 1 - i as i32, bar.1))),
        )
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// One point of the durable chart: batch size, plover's and the raw records per second.
type BatchPoint = (u32, Option<f64>, Option<f64>);

/// The lines of the durable chart.
pub struct BatchLines(Vec<BatchPoint>);

impl BatchLines {
    /// The points the run has figures for.
    pub fn from_results(results: &Results) -> Self {
        Self(
            BATCHES
                .iter()
                .map(|&batch| {
                    let plover = results.get(&format!("batch/plover/{batch}"));
                    let raw = results.get(&format!("batch/raw-write-fdatasync/{batch}"));
                    (batch, plover.map(|m| m.per_second()), raw.map(|m| m.per_second()))
                })
                .filter(|point| point.1.is_some() || point.2.is_some())
                .collect(),
        )
    }

    /// Whether no point has a figure.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The chart as an SVG document.
    ///
    /// # Errors
    ///
    /// plotters fails to lay the chart out.
    pub fn svg(&self) -> Result<String> {
        let values = self.0.iter().flat_map(|p| [p.1, p.2]).flatten();
        let (low, high) = values.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (low, high) = if high > 0.0 { (low / 2.0, high * 2.0) } else { (1.0, 10.0) };
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (820, 460)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    "Durable throughput by batch size (one fsync per batch)",
                    ("sans-serif", 18),
                )
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(80)
                .build_cartesian_2d((0.8f64..1300.0).log_scale(), (low..high).log_scale())
                .map_err(|e| anyhow!("{e}"))?;
            chart
                .configure_mesh()
                .x_desc("records per fsync")
                .y_desc("records per second")
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|y| crate::text::rate(*y).replace(" /s", "").replace("/s", ""))
                .label_style(("sans-serif", 13))
                .draw()
                .map_err(|e| anyhow!("{e}"))?;
            let series = |pick: fn(&BatchPoint) -> Option<f64>| {
                self.0
                    .iter()
                    .filter_map(move |p| pick(p).map(|v| (f64::from(p.0), v)))
                    .collect::<Vec<_>>()
            };
            for (points, colour, name) in [
                (series(|p| p.1), PLOVER, "plover FileLog: append × n, flush"),
                (series(|p| p.2), OTHER, "raw: one write of n records + fdatasync"),
            ] {
                chart
                    .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                    .map_err(|e| anyhow!("{e}"))?
                    .label(name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
                chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                    .map_err(|e| anyhow!("{e}"))?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK.mix(0.3))
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(|e| anyhow!("{e}"))?;
            root.present().map_err(|e| anyhow!("{e}"))?;
        }
        Ok(svg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Measurement, Throughput};

    fn measurement(median_ns: f64, items: u64) -> Measurement {
        Measurement {
            median_ns,
            low_ns: median_ns,
            high_ns: median_ns,
            throughput: Some(Throughput::Elements(items)),
        }
    }

    #[test]
    fn queue_chart_has_a_bar_per_measured_contender() {
        let mut results = Results::default();
        assert!(QueueBars::from_results(&results).is_empty());
        results.insert("two_threads/plover_queue", measurement(160e6, 2_000_000));
        results.insert("two_threads/tokio_mpsc", measurement(320e6, 2_000_000));
        let bars = QueueBars::from_results(&results);
        let svg = bars.svg().unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("2 threads: tokio mpsc"));
        assert!(svg.contains("2 threads: plover, critical-section"));
        assert!(!svg.contains("async-channel"), "unmeasured contenders get no bar");
    }

    #[test]
    fn durable_chart_has_both_lines() {
        let mut results = Results::default();
        for batch in BATCHES {
            results.insert(&format!("batch/plover/{batch}"), measurement(3e6, u64::from(batch)));
            results.insert(
                &format!("batch/raw-write-fdatasync/{batch}"),
                measurement(2.5e6, u64::from(batch)),
            );
        }
        let svg = BatchLines::from_results(&results).svg().unwrap();
        assert!(svg.contains("plover FileLog"));
        assert!(svg.contains("raw: one write"));
        assert!(svg.matches("<circle").count() >= 2 * BATCHES.len());
    }
}
