//! The figures of one run: criterion's measurements read back from the files it writes
//! (`<dir>/<group>/<function>[/<value>]/new/{benchmark,estimates}.json`) and the end-to-end runs
//! of the `plover` command. A measurement is found by criterion's full id
//! (`group/function[/value]`); one that is missing reads as `None`, so a filtered or failed
//! benchmark leaves a gap in the report, never a made-up figure.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// What one iteration of a benchmark processes, as criterion records it.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub enum Throughput {
    /// Items (events, records) per iteration.
    Elements(u64),
    /// Bytes per iteration.
    Bytes(u64),
    /// Bytes per iteration, shown in decimal units by criterion.
    BytesDecimal(u64),
}

/// One benchmark's result: the median time per iteration and its 95 % confidence interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Median nanoseconds per iteration.
    pub median_ns: f64,
    /// Lower bound of the median's confidence interval, ns.
    pub low_ns: f64,
    /// Upper bound of the median's confidence interval, ns.
    pub high_ns: f64,
    /// What an iteration processes; `None` if the benchmark declared nothing.
    pub throughput: Option<Throughput>,
}

impl Measurement {
    /// Items (or bytes) per iteration, 1 if the benchmark declared no throughput.
    fn units(&self) -> f64 {
        match self.throughput {
            Some(Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n)) => {
                n.max(1) as f64
            }
            None => 1.0,
        }
    }

    /// Median nanoseconds per item (or per byte).
    pub fn ns_per_unit(&self) -> f64 {
        self.median_ns / self.units()
    }

    /// Median items (or bytes) per second.
    pub fn per_second(&self) -> f64 {
        self.units() / (self.median_ns * 1e-9)
    }

    /// Items (or bytes) per second at the two ends of the confidence interval (slow, fast).
    pub fn per_second_range(&self) -> (f64, f64) {
        (self.units() / (self.high_ns * 1e-9), self.units() / (self.low_ns * 1e-9))
    }
}

/// One run of `plover run` over the generated input.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct CommandRun {
    /// Lines processed.
    pub processed: u64,
    /// Lines dead-lettered.
    pub dead_lettered: u64,
    /// Wall time from start to the last acknowledgement.
    pub elapsed_s: f64,
    /// Handled lines per second.
    pub events_per_s: f64,
    /// The process's peak resident memory, where the host reports it.
    pub peak_memory_bytes: Option<u64>,
}

/// The end-to-end figures: `plover run` in memory and durable, and jq doing the same checks.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct EndToEnd {
    /// Lines in the generated input.
    pub lines: u64,
    /// Size of the input in bytes.
    pub input_bytes: u64,
    /// Runs without a data directory.
    pub memory: Vec<CommandRun>,
    /// Runs with a data directory and `--fsync interval:100`.
    pub durable: Vec<CommandRun>,
    /// jq's wall time per run, seconds, if jq is installed.
    pub jq_seconds: Vec<f64>,
    /// `jq --version`, if installed.
    pub jq_version: Option<String>,
}

/// Everything one run measured.
#[derive(Debug, Clone, Default)]
pub struct Results {
    criterion: BTreeMap<String, Measurement>,
    /// The end-to-end runs of the `plover` command, if they ran.
    pub end_to_end: Option<EndToEnd>,
    /// The firmware and browser package sizes, if they were measured.
    pub sizes: Option<crate::footprint::Sizes>,
    /// The browser benchmark's figures (or why there are none), if it ran.
    pub browser: Option<crate::browser::Browser>,
}

#[derive(Deserialize)]
struct BenchmarkFile {
    full_id: String,
    throughput: Option<Throughput>,
}

#[derive(Deserialize)]
struct EstimatesFile {
    median: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

impl Results {
    /// Reads every measurement under criterion's output directory `dir`.
    ///
    /// # Errors
    ///
    /// A file criterion wrote that cannot be read or parsed, with its path.
    pub fn load_criterion(dir: &Path) -> Result<Self> {
        let mut results = Self::default();
        if dir.is_dir() {
            results.walk(dir)?;
        }
        Ok(results)
    }

    fn walk(&mut self, dir: &Path) -> Result<()> {
        let entries = fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|name| name == "new") {
                let benchmark = path.join("benchmark.json");
                if benchmark.is_file() {
                    self.read_one(&benchmark, &path.join("estimates.json"))?;
                }
            } else if path.file_name().is_some_and(|name| name != "report") {
                self.walk(&path)?;
            }
        }
        Ok(())
    }

    fn read_one(&mut self, benchmark: &Path, estimates: &Path) -> Result<()> {
        let read = |path: &Path| {
            fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
        };
        let id: BenchmarkFile = serde_json::from_str(&read(benchmark)?)
            .with_context(|| format!("parsing {}", benchmark.display()))?;
        let estimate: EstimatesFile = serde_json::from_str(&read(estimates)?)
            .with_context(|| format!("parsing {}", estimates.display()))?;
        let median = estimate.median;
        self.criterion.insert(
            id.full_id,
            Measurement {
                median_ns: median.point_estimate,
                low_ns: median.confidence_interval.lower_bound,
                high_ns: median.confidence_interval.upper_bound,
                throughput: id.throughput,
            },
        );
        Ok(())
    }

    /// The measurement with criterion's full id `id`, if the run has it.
    pub fn get(&self, id: &str) -> Option<&Measurement> {
        self.criterion.get(id)
    }

    /// The first measurement (by id) whose id starts with `prefix`, for ids that carry a size.
    pub fn find(&self, prefix: &str) -> Option<&Measurement> {
        self.find_id(prefix).and_then(|id| self.criterion.get(id))
    }

    /// The first id that starts with `prefix`.
    pub fn find_id(&self, prefix: &str) -> Option<&str> {
        self.criterion.keys().find(|id| id.starts_with(prefix)).map(String::as_str)
    }

    /// Adds or replaces a measurement (for tests and for figures taken outside criterion).
    pub fn insert(&mut self, id: &str, measurement: Measurement) {
        self.criterion.insert(id.to_owned(), measurement);
    }

    /// How many criterion measurements the run has.
    pub fn len(&self) -> usize {
        self.criterion.len()
    }

    /// Whether the run has no criterion measurement at all.
    pub fn is_empty(&self) -> bool {
        self.criterion.is_empty()
    }
}

/// The median of `values` (the mean of the middle two for an even count); `None` if empty.
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, id: &str, median: f64, throughput: &str) {
        let new = dir.join(id).join("new");
        fs::create_dir_all(&new).unwrap();
        fs::write(
            new.join("benchmark.json"),
            format!(
                concat!(
                    r#"{{"group_id":"g","function_id":"f","value_str":null,"#,
                    r#""throughput":{throughput},"full_id":"{id}","directory_name":"{id}","#,
                    r#""title":"{id}"}}"#,
                ),
                throughput = throughput,
                id = id,
            ),
        )
        .unwrap();
        let estimate = |v: f64| {
            format!(
                concat!(
                    r#"{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{},"#,
                    r#""upper_bound":{}}},"point_estimate":{v},"standard_error":1.0}}"#,
                ),
                v * 0.9,
                v * 1.2,
                v = v,
            )
        };
        fs::write(
            new.join("estimates.json"),
            format!(
                r#"{{"mean":{},"median":{},"median_abs_dev":{},"slope":null,"std_dev":{}}}"#,
                estimate(median + 5.0),
                estimate(median),
                estimate(1.0),
                estimate(2.0)
            ),
        )
        .unwrap();
    }

    #[test]
    fn reads_criterion_output_by_full_id() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "two_threads/plover_queue", 160e6, r#"{"Elements":2000000}"#);
        write(dir.path(), "append/plover/always", 3e6, r#"{"Elements":16}"#);
        write(dir.path(), "scan/raw", 1e9, r#"{"Bytes":2000000000}"#);
        // A `base` directory (the previous run) and criterion's HTML report are not results.
        fs::create_dir_all(dir.path().join("two_threads/plover_queue/base")).unwrap();
        fs::create_dir_all(dir.path().join("report")).unwrap();

        let results = Results::load_criterion(dir.path()).unwrap();
        assert_eq!(results.len(), 3);
        let queue = results.get("two_threads/plover_queue").unwrap();
        assert_eq!(queue.median_ns, 160e6);
        assert_eq!(queue.low_ns, 160e6 * 0.9);
        assert_eq!(queue.ns_per_unit(), 80.0);
        assert!((queue.per_second() - 12.5e6).abs() < 1.0);
        let always = results.get("append/plover/always").unwrap();
        assert!((always.per_second() - 16.0 / 3e-3).abs() < 1e-6);
        assert!((results.get("scan/raw").unwrap().per_second() - 2e9).abs() < 1e-3);
        assert!(results.get("two_threads/tokio_mpsc").is_none());
    }

    #[test]
    fn a_malformed_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "g/f", 1.0, "null");
        fs::write(dir.path().join("g/f/new/estimates.json"), "{").unwrap();
        let error = Results::load_criterion(dir.path()).unwrap_err();
        assert!(format!("{error:#}").contains("estimates.json"), "{error:#}");
    }

    #[test]
    fn a_missing_directory_is_an_empty_run() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Results::load_criterion(&dir.path().join("none")).unwrap().is_empty());
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median([3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median([4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median([]), None);
    }
}
