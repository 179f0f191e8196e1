//! The end-to-end benchmark: `plover run` over a generated file of JSON lines, in memory and
//! durable (`--fsync interval:100`), beside jq doing the same checks when it is installed. The
//! figures are the run's own `--json` metrics (handled lines over wall time, peak memory);
//! every run starts from a fresh data directory so that none resumes another.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::results::{CommandRun, EndToEnd};

/// The flags every `plover run` of the benchmark gets.
pub const RUN_FLAGS: &str = "-q --json --output /dev/null --require id:int --require name:string";

/// The flags the durable runs add.
pub const DURABLE_FLAGS: &str = "--data-dir DIR --fsync interval:100";

/// jq's program: the same two checks and one added field.
pub const JQ_PROGRAM: &str = concat!(
    r#"select((.id|type)=="number" and (.name|type)=="string")"#,
    r#" | . + {_plover: {line: input_line_number}}"#,
);

/// Writes `lines` JSON lines of about 80 bytes to `path`; returns the file's size.
///
/// # Errors
///
/// The file cannot be written.
pub fn generate_input(path: &Path, lines: u64) -> Result<u64> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    for i in 1..=lines {
        writeln!(
            out,
            r#"{{"id":{i},"name":"user-{i}","score":{}.5,"active":true,"tags":["a","b"]}}"#,
            i % 1000
        )?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// Runs `plover run` on `input` (durable when `data_dir` is given) and returns its metrics.
///
/// # Errors
///
/// The command cannot start, fails, or prints no metrics.
pub fn run_plover(plover: &Path, input: &Path, data_dir: Option<&Path>) -> Result<CommandRun> {
    let mut command = Command::new(plover);
    command.arg("run").arg(input).args(RUN_FLAGS.split(' '));
    if let Some(dir) = data_dir {
        command.arg("--data-dir").arg(dir).args(["--fsync", "interval:100"]);
    }
    let out = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting {}", plover.display()))?;
    if !out.status.success() {
        bail!("plover run failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().context("plover run printed no metrics")?;
    serde_json::from_str(last).with_context(|| format!("reading plover's metrics: {last}"))
}

/// Runs jq with [`JQ_PROGRAM`] over `input`; returns its wall time in seconds, or `None` when
/// jq is not installed.
///
/// # Errors
///
/// jq is installed but fails.
pub fn run_jq(input: &Path) -> Result<Option<f64>> {
    let start = Instant::now();
    let status =
        Command::new("jq").args(["-c", JQ_PROGRAM]).arg(input).stdout(Stdio::null()).status();
    match status {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).context("starting jq"),
        Ok(status) if !status.success() => bail!("jq failed ({status})"),
        Ok(_) => Ok(Some(start.elapsed().as_secs_f64())),
    }
}

fn jq_version() -> Option<String> {
    let out = Command::new("jq").arg("--version").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A run counts only if it processed every line (all generated lines are valid).
fn checked(run: CommandRun, lines: u64) -> Result<CommandRun> {
    if run.processed != lines || run.dead_lettered != 0 {
        bail!(
            "plover run processed {} and dead-lettered {} of {lines} valid lines",
            run.processed,
            run.dead_lettered
        );
    }
    Ok(run)
}

/// The whole end-to-end benchmark: `lines` lines, `runs` runs of each case, in `work`.
///
/// # Errors
///
/// The input cannot be written, or a run fails.
pub fn measure(plover: &Path, work: &Path, lines: u64, runs: usize) -> Result<EndToEnd> {
    let input = work.join("input.jsonl");
    let input_bytes = generate_input(&input, lines)?;
    let mut result = EndToEnd { lines, input_bytes, ..EndToEnd::default() };
    for run in 0..runs {
        eprintln!("==> plover run, in memory ({}/{runs})", run + 1);
        result.memory.push(checked(run_plover(plover, &input, None)?, lines)?);
        eprintln!("==> plover run, durable ({}/{runs})", run + 1);
        let data: PathBuf = work.join(format!("data-{run}"));
        result.durable.push(checked(run_plover(plover, &input, Some(&data))?, lines)?);
        let _ = std::fs::remove_dir_all(&data);
        eprintln!("==> jq, the same checks ({}/{runs})", run + 1);
        if let Some(seconds) = run_jq(&input)? {
            result.jq_seconds.push(seconds);
        }
    }
    result.jq_version = jq_version();
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_lines_are_json_objects_with_the_required_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.jsonl");
        let size = generate_input(&path, 3).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(size, text.len() as u64);
        let lines: Vec<serde_json::Value> =
            text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2]["id"], 3);
        assert_eq!(lines[2]["name"], "user-3");
    }
}
