//! Runs the criterion benchmarks of the workspace, quick or full: which `cargo bench` commands,
//! with which criterion settings and sizes, and where their figures go. The commands are kept
//! as text too, so the report names exactly what produced each table.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// How long the suite takes: quick (a few minutes, the default) or full (longer samples, the
/// 1 GB recovery scan, repeated end-to-end runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Short warm-up and measurement, a 256 MB recovery scan, one end-to-end run each.
    Quick,
    /// Longer warm-up and measurement, more samples, a 1 GB scan, three end-to-end runs each.
    Full,
}

impl Mode {
    /// The criterion flags that set warm-up, measurement and sample count.
    pub fn criterion_args(self) -> &'static [&'static str] {
        match self {
            Mode::Quick => &["--warm-up-time", "0.5", "--measurement-time", "1.5"],
            Mode::Full => {
                &["--warm-up-time", "2", "--measurement-time", "8", "--sample-size", "20"]
            }
        }
    }

    /// Size of the log the recovery benchmark scans, MB.
    pub fn scan_megabytes(self) -> u64 {
        match self {
            Mode::Quick => 256,
            Mode::Full => 1024,
        }
    }

    /// How often each end-to-end case runs (the report gives the median).
    pub fn end_to_end_runs(self) -> usize {
        match self {
            Mode::Quick => 1,
            Mode::Full => 3,
        }
    }

    /// The flag that selects this mode on `scripts/bench.sh`.
    pub fn flag(self) -> &'static str {
        match self {
            Mode::Quick => "--mode quick",
            Mode::Full => "--mode full",
        }
    }
}

/// One `cargo bench` target of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bench {
    /// `plover-core`'s `queue` bench: handoff and overflow policies.
    Queue,
    /// `plover-core`'s `pipeline` bench: overhead per event and per interceptor.
    Pipeline,
    /// `plover-std`'s `log_file` bench: durable appends, group commit, recovery scan.
    LogFile,
}

impl Bench {
    /// Every bench target, in the order the suite runs them.
    pub const ALL: [Bench; 3] = [Bench::Queue, Bench::Pipeline, Bench::LogFile];

    fn package_and_name(self) -> (&'static str, &'static str) {
        match self {
            Bench::Queue => ("plover-core", "queue"),
            Bench::Pipeline => ("plover-core", "pipeline"),
            Bench::LogFile => ("plover-std", "log_file"),
        }
    }

    /// The command line that runs this bench in `mode`, as a person would type it.
    pub fn command_line(self, mode: Mode) -> String {
        let (package, name) = self.package_and_name();
        let env = match self {
            Bench::LogFile => format!("PLOVER_BENCH_SCAN_MB={} ", mode.scan_megabytes()),
            _ => String::new(),
        };
        format!(
            "{env}cargo bench -p {package} --bench {name} -- {}",
            mode.criterion_args().join(" ")
        )
    }

    /// Runs this bench in `mode`, with criterion writing under `criterion_home`.
    ///
    /// # Errors
    ///
    /// cargo cannot be started, or the bench fails.
    pub fn run(self, workspace: &Path, mode: Mode, criterion_home: &Path) -> Result<()> {
        let (package, name) = self.package_and_name();
        let mut command = Command::new(cargo());
        command
            .current_dir(workspace)
            .args(["bench", "-p", package, "--bench", name, "--"])
            .args(mode.criterion_args())
            .env("CRITERION_HOME", criterion_home)
            .env("PLOVER_BENCH_SCAN_MB", mode.scan_megabytes().to_string());
        let status = command.status().with_context(|| format!("starting {command:?}"))?;
        if !status.success() {
            bail!("`{}` failed ({status})", self.command_line(mode));
        }
        Ok(())
    }
}

/// The cargo that started this program, or the one on `PATH`.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// The workspace's target directory (`CARGO_TARGET_DIR` or `<workspace>/target`).
pub fn target_dir(workspace: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| if dir.is_relative() { workspace.join(dir) } else { dir })
        .unwrap_or_else(|| workspace.join("target"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_name_package_bench_and_settings() {
        assert_eq!(
            Bench::Queue.command_line(Mode::Quick),
            "cargo bench -p plover-core --bench queue -- --warm-up-time 0.5 --measurement-time 1.5"
        );
        assert_eq!(
            Bench::LogFile.command_line(Mode::Full),
            "PLOVER_BENCH_SCAN_MB=1024 cargo bench -p plover-std --bench log_file -- \
             --warm-up-time 2 --measurement-time 8 --sample-size 20"
        );
    }
}
