#!/usr/bin/env bash
# Runs plover's benchmark suite beside the alternatives and writes docs/benchmarks.md with its
# charts, from the figures of this one run. Quick by default (a few minutes once built);
# `scripts/bench.sh --mode full` samples longer and scans a 1 GB log. Other flags: see
# `cargo run -p plover-bench -- --help`. Installs what it needs: the Cortex-M3 and wasm32
# targets (the firmware footprint and the browser package are built and sized),
# wasm-bindgen-cli and wasm-pack (through scripts/web-build.sh), and jq (the end-to-end
# comparison) when it can.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add thumbv7m-none-eabi wasm32-unknown-unknown >/dev/null 2>&1 \
  || rustup target add thumbv7m-none-eabi wasm32-unknown-unknown

if ! command -v jq >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "==> installing jq (the end-to-end comparison)"
  apt-get install -y -qq jq >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq jq; } \
    || echo "    jq could not be installed; the report will say so"
fi

exec cargo run --release -q -p plover-bench -- "$@"
