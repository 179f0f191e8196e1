//! `plover-bench`: runs the whole benchmark suite (quick or full) and writes
//! `docs/benchmarks.md` with its charts. `scripts/bench.sh` is the way to call it; `--skip-run`
//! writes the report again from the figures the last run left under `target/plover-bench/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Parser;
use plover_bench::browser::{self, Browser};
use plover_bench::end_to_end;
use plover_bench::footprint::{self, Sizes};
use plover_bench::machine::{Machine, load_average};
use plover_bench::plot::{BatchLines, DURABLE_CHART, QUEUE_CHART, QueueBars};
use plover_bench::report::{Inputs, render};
use plover_bench::results::{EndToEnd, Results};
use plover_bench::suite::{Bench, Mode, cargo, target_dir};
use serde::{Deserialize, Serialize};

/// Runs plover's benchmarks beside the alternatives and writes docs/benchmarks.md.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// quick: a few minutes; full: longer samples, a 1 GB recovery scan, repeated runs.
    #[arg(long, value_enum, default_value = "quick")]
    mode: Mode,
    /// Write the report from the figures of the last complete run instead of running it.
    #[arg(long)]
    skip_run: bool,
    /// Leave out the end-to-end `plover run` benchmark.
    #[arg(long)]
    skip_end_to_end: bool,
    /// Leave out the firmware footprint and the browser package size (they build both).
    #[arg(long)]
    skip_sizes: bool,
    /// Leave out the browser benchmark (three stages in headless Chromium).
    #[arg(long)]
    skip_browser: bool,
    /// Lines in the end-to-end benchmark's input.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    lines: u64,
    /// Where the report and its charts go.
    #[arg(long, default_value = "docs")]
    out: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the bench crate sits inside the workspace")?
        .to_path_buf();
    let home = target_dir(&workspace).join("plover-bench");
    let criterion_home = home.join("criterion");
    let e2e_file = home.join("end-to-end.json");
    let run_file = home.join("run.json");
    let sizes_file = home.join("sizes.json");
    let browser_file = home.join("browser.json");

    if !args.skip_run {
        let machine = Machine::probe();
        // Old figures must not leak into this run's report.
        let _ = fs::remove_dir_all(&home);
        fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
        for bench in Bench::ALL {
            eprintln!("==> {}", bench.command_line(args.mode));
            bench.run(&workspace, args.mode, &criterion_home)?;
        }
        if !args.skip_end_to_end {
            let e2e = run_end_to_end(&workspace, &home, args.mode, args.lines)?;
            write(&e2e_file, &serde_json::to_string_pretty(&e2e)?)?;
        }
        if !args.skip_sizes {
            let sizes = Sizes {
                firmware: footprint::measure_firmware(&workspace)?,
                web: footprint::measure_web(&workspace)?,
            };
            write(&sizes_file, &serde_json::to_string_pretty(&sizes)?)?;
        }
        if !args.skip_browser {
            let browser = browser::measure(&workspace)?;
            write(&browser_file, &serde_json::to_string_pretty(&browser)?)?;
        }
        let run = Run { machine, mode: args.mode, load_after: load_average() };
        write(&run_file, &serde_json::to_string_pretty(&run)?)?;
    }

    let run: Run = fs::read_to_string(&run_file)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .with_context(|| {
            format!("no complete run in {}: run without --skip-run", home.display())
        })?;
    let mut results = Results::load_criterion(&criterion_home)?;
    if !args.skip_end_to_end && e2e_file.is_file() {
        let text = fs::read_to_string(&e2e_file)?;
        results.end_to_end = Some(
            serde_json::from_str::<EndToEnd>(&text)
                .with_context(|| format!("reading {}", e2e_file.display()))?,
        );
    }

    if !args.skip_sizes && sizes_file.is_file() {
        let text = fs::read_to_string(&sizes_file)?;
        results.sizes = Some(
            serde_json::from_str::<Sizes>(&text)
                .with_context(|| format!("reading {}", sizes_file.display()))?,
        );
    }

    if !args.skip_browser && browser_file.is_file() {
        let text = fs::read_to_string(&browser_file)?;
        results.browser = Some(
            serde_json::from_str::<Browser>(&text)
                .with_context(|| format!("reading {}", browser_file.display()))?,
        );
    }

    let report = render(&Inputs {
        machine: &run.machine,
        mode: run.mode,
        load_after: run.load_after,
        results: &results,
    });
    let out = if args.out.is_relative() { workspace.join(&args.out) } else { args.out.clone() };
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    write(&out.join("benchmarks.md"), &report)?;
    let bars = QueueBars::from_results(&results);
    if !bars.is_empty() {
        write(&out.join(QUEUE_CHART), &bars.svg()?)?;
    }
    let lines = BatchLines::from_results(&results);
    if !lines.is_empty() {
        write(&out.join(DURABLE_CHART), &lines.svg()?)?;
    }
    eprintln!("==> wrote {} ({} figures)", out.join("benchmarks.md").display(), results.len());
    Ok(())
}

/// What a run leaves beside its figures, so that `--skip-run` reports the run, not the moment.
#[derive(Deserialize, Serialize)]
struct Run {
    machine: Machine,
    mode: Mode,
    load_after: Option<f64>,
}

fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Builds `plover` in release mode and runs the end-to-end benchmark in a scratch directory.
fn run_end_to_end(workspace: &Path, home: &Path, mode: Mode, lines: u64) -> Result<EndToEnd> {
    eprintln!("==> cargo build --release -p plover-std --bin plover");
    let status = Command::new(cargo())
        .current_dir(workspace)
        .args(["build", "--release", "-p", "plover-std", "--bin", "plover"])
        .status()
        .context("starting cargo build")?;
    if !status.success() {
        bail!("building plover failed ({status})");
    }
    let plover = target_dir(workspace).join("release").join("plover");
    let work = home.join("end-to-end");
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let result = end_to_end::measure(&plover, &work, lines, mode.end_to_end_runs());
    let _ = fs::remove_dir_all(&work);
    result
}
