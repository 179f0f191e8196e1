//! The sizes the report gives beside the speeds: the firmware image's sections (the full image
//! and three probes that isolate what plover adds, see `docs/benchmarks-firmware.md`) and the
//! browser package's files, raw and gzipped. Each is built by this run before it is measured,
//! so a stale artifact is never reported.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The firmware builds, by name: cargo features and target directory under the firmware crate.
pub const FIRMWARE_BUILDS: [(&str, &str, &str); 4] = [
    ("full", "", "target"),
    ("footprint", "footprint", "target/footprint"),
    ("footprint-no-pipeline", "footprint-no-pipeline", "target/footprint-nopipe"),
    ("baseline", "baseline", "target/baseline"),
];

/// The firmware crate, relative to the workspace.
pub const FIRMWARE_DIR: &str = "adapters/embassy/firmware";

/// The sections of one ELF image, bytes by name (`.text`, `.rodata`, `.data`, `.bss`, …).
pub type Sections = BTreeMap<String, u64>;

/// Sizes of the browser package's files: (file, bytes, gzip -9 bytes).
pub type WebFiles = Vec<(String, u64, u64)>;

/// Everything sized in one run.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Sizes {
    /// Sections of each firmware build, by build name.
    pub firmware: BTreeMap<String, Sections>,
    /// The browser package.
    pub web: WebFiles,
}

/// Parses the output of binutils' `size -A`: one `name size addr` line per section.
pub fn parse_size_a(text: &str) -> Sections {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let name = fields.next()?;
            let size = fields.next()?.parse().ok()?;
            name.starts_with('.').then(|| (name.to_owned(), size))
        })
        .collect()
}

/// Builds each firmware variant (release) and reads its sections with `size -A`.
///
/// # Errors
///
/// A build fails, or `size` is missing or fails.
pub fn measure_firmware(workspace: &Path) -> Result<BTreeMap<String, Sections>> {
    let dir = workspace.join(FIRMWARE_DIR);
    let mut out = BTreeMap::new();
    for (name, features, target_dir) in FIRMWARE_BUILDS {
        eprintln!("==> firmware build `{name}` (release, thumbv7m-none-eabi)");
        let mut build = Command::new(crate::suite::cargo());
        build.current_dir(&dir).args(["build", "--release", "--target-dir", target_dir]);
        if !features.is_empty() {
            build.args(["--features", features]);
        }
        // The firmware has its own toolchain settings; the host's would leak in from cargo run.
        build.env_remove("CARGO_TARGET_DIR").env_remove("RUSTFLAGS");
        let status = build.status().context("starting the firmware build")?;
        if !status.success() {
            bail!("firmware build `{name}` failed ({status})");
        }
        let elf = dir.join(target_dir).join("thumbv7m-none-eabi/release/plover-firmware");
        let size = Command::new("size")
            .arg("-A")
            .arg(&elf)
            .output()
            .context("running binutils' size (apt-get install binutils)")?;
        if !size.status.success() {
            bail!("size -A {} failed: {}", elf.display(), String::from_utf8_lossy(&size.stderr));
        }
        out.insert(name.to_owned(), parse_size_a(&String::from_utf8_lossy(&size.stdout)));
    }
    Ok(out)
}

/// Builds the browser package (`scripts/web-build.sh`) and sizes its two files.
///
/// # Errors
///
/// The build fails or a file cannot be read.
pub fn measure_web(workspace: &Path) -> Result<WebFiles> {
    eprintln!("==> scripts/web-build.sh");
    let status = Command::new("bash")
        .arg("scripts/web-build.sh")
        .current_dir(workspace)
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .context("starting scripts/web-build.sh")?;
    if !status.success() {
        bail!("scripts/web-build.sh failed ({status})");
    }
    ["plover_web_bg.wasm", "plover_web.js"]
        .iter()
        .map(|file| {
            let path = workspace.join("web/pkg").join(file);
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok(((*file).to_owned(), bytes.len() as u64, gzip_len(&bytes)?))
        })
        .collect()
}

/// Length of `bytes` compressed by `gzip -9`.
fn gzip_len(bytes: &[u8]) -> Result<u64> {
    let mut gzip = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting gzip")?;
    let mut stdin = gzip.stdin.take().context("gzip's stdin")?;
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = gzip.wait_with_output().context("running gzip")?;
    writer.join().map_err(|_| anyhow::anyhow!("writing to gzip panicked"))??;
    if !out.status.success() {
        bail!("gzip failed ({})", out.status);
    }
    Ok(out.stdout.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_a_output_gives_every_section() {
        let text = "plover-firmware  :\nsection             size        addr\n\
                    .vector_table       1024           0\n.text              51552        1024\n\
                    .bss               20128   536870912\nTotal             567690\n";
        let sections = parse_size_a(text);
        assert_eq!(sections.len(), 3);
        assert_eq!(sections[".text"], 51552);
        assert_eq!(sections[".bss"], 20128);
    }

    #[test]
    fn gzip_shrinks_repetitive_bytes() {
        let len = gzip_len(&[b'a'; 10_000]).unwrap();
        assert!(len > 0 && len < 200, "{len}");
    }
}
