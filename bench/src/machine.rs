//! What the report says about the machine a run was taken on: cores, CPU model, OS, kernel,
//! compiler, the load before and after the run, and the date. Each fact is read from the host
//! (`/proc`, `rustc --version`); a fact the host does not give reads "unknown", never a guess.

use std::process::Command;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// The facts printed at the top of the report.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Machine {
    /// Logical cores the process may use.
    pub cores: usize,
    /// CPU model name (`/proc/cpuinfo`).
    pub cpu: String,
    /// Operating system (`/etc/os-release`).
    pub os: String,
    /// Kernel release.
    pub kernel: String,
    /// `rustc --version`.
    pub rustc: String,
    /// When the run started, UTC, to the second (RFC 3339).
    pub started: String,
    /// One-minute load average when the run started.
    pub load_before: Option<f64>,
}

impl Machine {
    /// Reads the facts of this host now.
    pub fn probe() -> Self {
        Self {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu: cpu_model().unwrap_or_else(unknown),
            os: os_name().unwrap_or_else(unknown),
            kernel: read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_else(unknown),
            rustc: rustc_version().unwrap_or_else(unknown),
            started: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            load_before: load_average(),
        }
    }

    /// The date part of [`Machine::started`] (`YYYY-MM-DD`).
    pub fn date(&self) -> &str {
        self.started.get(..10).unwrap_or(&self.started)
    }
}

fn unknown() -> String {
    "unknown".to_owned()
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
}

fn os_name() -> Option<String> {
    let release = std::fs::read_to_string("/etc/os-release").ok()?;
    let name = release.lines().find_map(|line| line.strip_prefix("PRETTY_NAME="))?;
    Some(name.trim_matches('"').to_owned())
}

fn rustc_version() -> Option<String> {
    let out = Command::new("rustc").arg("--version").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The one-minute load average (`/proc/loadavg`): how busy the machine was.
pub fn load_average() -> Option<f64> {
    read_trimmed("/proc/loadavg")?.split_whitespace().next()?.parse().ok()
}
