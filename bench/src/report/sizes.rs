//! The size topics of the report: the firmware image's sections and what plover adds to a
//! firmware, and the browser package raw and gzipped, each against its goal.

use super::{NOT_MEASURED, Writer};
use crate::footprint::{FIRMWARE_BUILDS, Sections};
use crate::text::{count, table};

/// The code budget for pipeline, queue and flash log on the firmware, bytes (24 KiB).
const FIRMWARE_CODE_GOAL: u64 = 24 * 1024;
/// The budget for the browser package, gzipped, bytes (150 KB).
const WEB_GZIP_GOAL: u64 = 150_000;

fn section(sections: Option<&Sections>, name: &str) -> Option<u64> {
    sections.and_then(|s| s.get(name)).copied()
}

fn ram(sections: Option<&Sections>) -> Option<u64> {
    Some(section(sections, ".data")? + section(sections, ".bss")?)
}

fn difference(a: Option<u64>, b: Option<u64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => count(a.saturating_sub(b)),
        _ => NOT_MEASURED.to_owned(),
    }
}

impl Writer<'_> {
    pub(super) fn sizes(&mut self) {
        let sizes = self.inputs.results.sizes.clone().unwrap_or_default();
        self.section(
            "Firmware footprint",
            "The Cortex-M3 image (`thumbv7m-none-eabi`, `opt-level = \"z\"`, LTO, one codegen \
             unit), built by this run and measured with binutils' `size -A`. *full* is the \
             image CI runs under QEMU; *footprint* only passes readings through a RAM queue, \
             the pipeline and a durable queue on the flash log, with a policy chosen at run \
             time; *footprint-no-pipeline* is the same without the pipeline; *baseline* is the \
             same executor, prints and panic handler without any plover code. \
             `docs/benchmarks-firmware.md` has the owner-by-owner breakdown.\n\n\
             ```sh\ncd adapters/embassy/firmware\n\
             cargo build --release --features footprint --target-dir target/footprint   # etc.\n\
             size -A target/footprint/thumbv7m-none-eabi/release/plover-firmware\n```",
            None,
        );
        let firmware = &sizes.firmware;
        let build = |name: &str| firmware.get(name);
        let mut headers = vec!["section (bytes)"];
        headers.extend(FIRMWARE_BUILDS.iter().map(|b| b.0));
        let rows: Vec<Vec<String>> = [".text", ".rodata", ".data", ".bss"]
            .iter()
            .map(|name| {
                let mut row = vec![format!("`{name}`")];
                row.extend(
                    FIRMWARE_BUILDS
                        .iter()
                        .map(|b| section(build(b.0), name).map_or(NOT_MEASURED.to_owned(), count)),
                );
                row
            })
            .collect();
        self.push_table(&headers, &rows);

        let probe = build("footprint");
        let nopipe = build("footprint-no-pipeline");
        let base = build("baseline");
        let rows = vec![
            vec![
                "RAM queue, pipeline, durable queue, log, flash backend".to_owned(),
                difference(section(probe, ".text"), section(base, ".text")),
                difference(section(probe, ".rodata"), section(base, ".rodata")),
                difference(ram(probe), ram(base)),
            ],
            vec![
                "the same without the pipeline".to_owned(),
                difference(section(nopipe, ".text"), section(base, ".text")),
                difference(section(nopipe, ".rodata"), section(base, ".rodata")),
                difference(ram(nopipe), ram(base)),
            ],
            vec![
                "the pipeline alone".to_owned(),
                difference(section(probe, ".text"), section(nopipe, ".text")),
                difference(section(probe, ".rodata"), section(nopipe, ".rodata")),
                difference(ram(probe), ram(nopipe)),
            ],
        ];
        self.body.push_str("\nWhat plover adds to a firmware (probe minus baseline):\n");
        self.push_table(&["", "code", "`.rodata`", "static RAM"], &rows);
        self.body.push_str(
            "\nThe static RAM includes the 12 KiB simulated flash (QEMU's board has no \
             writable NOR flash model).\n",
        );
        let added =
            section(probe, ".text").zip(section(base, ".text")).map(|(p, b)| p.saturating_sub(b));
        self.goal(
            "firmware",
            "code for pipeline, queue and flash log: at most 24 KiB",
            added.map(|a| a <= FIRMWARE_CODE_GOAL),
            added.map_or(NOT_MEASURED.to_owned(), |a| format!("{} bytes", count(a))),
        );
        self.reason(
            "Profile of 2026-12-04 (`docs/benchmarks-firmware.md`, code attributed to source \
             functions through the line tables): the durable queue and log take most of it, \
             as async state machines inlined into their caller: opening (flash mount and \
             recovery) about 7 KB, a durable push (append and eviction) about 4.5 KB, \
             acknowledging and reading about 3 KB, the pipeline about 5 KB. No single item \
             is left that would close the 8 KB gap.",
            None,
        );

        self.section(
            "Browser package",
            "`scripts/web-build.sh` (release, `wasm32-unknown-unknown`, wasm-pack `--target \
             web`, no wasm-opt), built by this run; gzip at level 9.",
            None,
        );
        let rows: Vec<Vec<String>> = sizes
            .web
            .iter()
            .map(|(file, raw, gz)| vec![format!("`web/pkg/{file}`"), count(*raw), count(*gz)])
            .collect();
        if rows.is_empty() {
            self.body.push_str("\nNot measured in this run.\n");
        } else {
            self.body.push_str(&format!("\n{}", table(&["file", "bytes", "gzip -9"], &rows)));
        }
        let total: Option<u64> =
            (!sizes.web.is_empty()).then(|| sizes.web.iter().map(|f| f.2).sum());
        self.goal(
            "browser",
            "package at most 150 KB gzipped",
            total.map(|t| t <= WEB_GZIP_GOAL),
            total.map_or(NOT_MEASURED.to_owned(), |t| format!("{} bytes", count(t))),
        );
        self.reason("Not profiled yet.", None);
    }
}
