#!/usr/bin/env bash
# Installs what plover's build, tests and demo need on a fresh Debian machine with rustup.
# Idempotent: each step checks before it installs, so a second run takes seconds.
set -euo pipefail

say() { printf '==> %s\n' "$*"; }

say "Rust targets (wasm32, Cortex-M0/M3)"
rustup target add wasm32-unknown-unknown thumbv6m-none-eabi thumbv7m-none-eabi >/dev/null

if [ "${PLOVER_SKIP_NIGHTLY:-0}" != 1 ]; then
  say "nightly components for Miri and fuzzing"
  rustup +nightly component add miri rust-src >/dev/null
fi

if [ "${PLOVER_SKIP_FUZZ:-0}" != 1 ] && ! command -v cargo-fuzz >/dev/null 2>&1; then
  say "cargo-fuzz (a few minutes, once)"
  cargo install cargo-fuzz --locked --quiet
fi
say "set-up done"
