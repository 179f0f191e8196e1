#!/usr/bin/env bash
# Runs every check plover has: set-up, formatting, lints, the test suites on the host, the
# no_std builds for wasm32 and Cortex-M0, Miri, the firmware under QEMU, the browser tests in
# headless Chromium, a short fuzz run, a build of the benchmarks and the quick benchmark run
# (which checks that the report can be written; its figures are not asserted). The README's test
# command; CI (.ci/run) calls it too. PLOVER_SKIP_WEB=1, PLOVER_SKIP_NIGHTLY=1, PLOVER_SKIP_FUZZ=1
# and PLOVER_SKIP_BENCH=1 leave out the browser tests, Miri, fuzzing and the benchmark run.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT

bash scripts/setup.sh

say "formatting"
cargo fmt --all --check

say "lints"
cargo clippy --workspace --all-targets --all-features -- -D warnings
cargo clippy -p plover-web --target wasm32-unknown-unknown --all-targets -- -D warnings
# The core without features, as firmware builds it: code only some features use must not warn.
cargo clippy -p plover-core --target thumbv6m-none-eabi -- -D warnings

say "tests (host, all features)"
cargo test --workspace --all-features 2>&1 | tee -a "$log"

say "no_std builds: plover-core for Cortex-M0 and wasm32, no features"
cargo build -p plover-core --target thumbv6m-none-eabi
cargo build -p plover-core --target wasm32-unknown-unknown

if [ "${PLOVER_SKIP_NIGHTLY:-0}" != 1 ]; then
  say "Miri over the queue and stage tests (no undefined behaviour under the queue's locking)"
  # parking_lot (behind `StdRawMutex`) stores thread pointers in an integer word; the flag only
  # silences Miri's warning about it, permissive provenance being Miri's default anyway.
  MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-permissive-provenance" \
  cargo +nightly miri test -p plover-core --features futures \
    --test queue_basic --test queue_threads --test queue_stream --test stage_lifecycle \
    2>&1 | tee -a "$log"
fi

say "firmware under QEMU (Cortex-M3, lm3s6965evb)"
bash scripts/firmware.sh

if [ "${PLOVER_SKIP_WEB:-0}" != 1 ]; then
  say "browser: IndexedDB conformance suite and JS API in Chromium, the demo page end to end"
  bash scripts/web-test.sh 2>&1 | tee -a "$log"
fi

if [ "${PLOVER_SKIP_FUZZ:-0}" != 1 ]; then
  say "fuzzing the log decoder and recovery (${PLOVER_FUZZ_SECONDS:-30} s each)"
  for target in decode_record recover_segment; do
    mkdir -p "fuzz/corpus/$target"
    (cd fuzz && cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="${PLOVER_FUZZ_SECONDS:-30}" -print_final_stats=0)
  done
fi

say "benchmarks build"
cargo bench --workspace --no-run

if [ "${PLOVER_SKIP_BENCH:-0}" != 1 ]; then
  say "benchmark suite, quick mode (report in target/bench-report; docs/ is left as committed)"
  bash scripts/bench.sh --out target/bench-report
fi

passed=$(grep -Eo '(test result: [a-zA-Z]+\.|^e2e:) [0-9]+ passed' "$log" \
  | awk '{s += $(NF - 1)} END {print s + 0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s += $1} END {print s + 0}')
say "summary"
echo "$passed passed, $failed failed"
