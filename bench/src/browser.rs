//! The browser benchmark: `web/bench.html` in headless Chromium, driven by `web/e2e/bench.mjs`
//! through `scripts/bench-web.sh`, which passes events through three stages in memory and with
//! the IndexedDB log, each beside plain JS. A machine without Chromium or Node.js gives no
//! figures and a reason, so the report says why the topic is not measured.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The page's names for its four cases: (plover, plain JS) in memory, then with IndexedDB.
pub const CASES: [(&str, &str); 2] = [
    ("memory only", "plain JS, memory only"),
    ("IndexedDB log (relaxed)", "plain JS + raw IndexedDB"),
];

/// The best of a case's runs, as the page reports it.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
pub struct Figure {
    /// Events passed through the three stages.
    pub events: u64,
    /// Wall time of the run, milliseconds.
    pub ms: f64,
    /// Events per second.
    #[serde(rename = "perSecond")]
    pub per_second: f64,
}

/// What the browser benchmark gave: figures by case name, or why there are none.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Browser {
    /// Figures by the page's case name.
    pub figures: BTreeMap<String, Figure>,
    /// Why nothing was measured, when a tool it needs is missing.
    pub missing: Option<String>,
}

/// Runs `scripts/bench-web.sh --json` if Chromium and Node.js are here.
///
/// # Errors
///
/// The script fails, or what it prints is not the figures.
pub fn measure(workspace: &Path) -> Result<Browser> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    if !Path::new(&chromium).is_file() {
        return Ok(missing(format!(
            "Chromium is not installed at {chromium} (`scripts/web-test.sh` installs it)"
        )));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Ok(missing("Node.js is not installed".to_owned()));
    }

    eprintln!("==> scripts/bench-web.sh --json");
    let out = Command::new("bash")
        .args(["scripts/bench-web.sh", "--json"])
        .current_dir(workspace)
        .env_remove("CARGO_TARGET_DIR")
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("starting scripts/bench-web.sh")?;
    if !out.status.success() {
        bail!("scripts/bench-web.sh failed ({})", out.status);
    }
    let figures = parse(&String::from_utf8_lossy(&out.stdout))?;
    Ok(Browser { figures, missing: None })
}

/// Reads the figures from the script's output: the last line that is not blank.
fn parse(stdout: &str) -> Result<BTreeMap<String, Figure>> {
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    let figures: BTreeMap<String, Figure> = serde_json::from_str(line)
        .with_context(|| format!("the browser benchmark printed no figures: {line:?}"))?;
    for (plover, js) in CASES {
        if !figures.contains_key(plover) || !figures.contains_key(js) {
            bail!("the browser benchmark left out `{plover}` or `{js}`");
        }
    }
    Ok(figures)
}

fn missing(why: String) -> Browser {
    Browser { figures: BTreeMap::new(), missing: Some(why) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_holds_the_four_cases() {
        let out = "==> building\n{\
                   \"memory only\":{\"events\":200000,\"ms\":50.5,\"perSecond\":3960396},\
                   \"IndexedDB log (relaxed)\":{\"events\":20000,\"ms\":150,\"perSecond\":133333},\
                   \"plain JS, memory only\":{\"events\":200000,\"ms\":125,\"perSecond\":1600000},\
                   \"plain JS + raw IndexedDB\":\
                   {\"events\":20000,\"ms\":1600,\"perSecond\":12500}}\n";
        let figures = parse(out).unwrap();
        assert_eq!(figures.len(), 4);
        assert_eq!(figures["memory only"].events, 200_000);
        assert_eq!(figures["plain JS + raw IndexedDB"].per_second, 12_500.0);
    }

    #[test]
    fn output_without_figures_or_with_a_case_missing_is_an_error() {
        assert!(parse("").is_err());
        assert!(parse("failed: no IndexedDB\n").is_err());
        let one = "{\"memory only\":{\"events\":1,\"ms\":1,\"perSecond\":1000}}";
        let err = parse(one).unwrap_err().to_string();
        assert!(err.contains("left out"), "{err}");
    }
}
