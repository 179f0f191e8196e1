#!/usr/bin/env bash
# Builds plover-web for the browser into web/pkg (ES module, .wasm, TypeScript types) with the
# wasm-bindgen CLI, installing the target and the pinned CLI first if they are missing.
# wasm-opt is not run: Debian's binaryen 108 emits wasm that fails at start-up in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130

rustup target add wasm32-unknown-unknown >/dev/null 2>&1
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  echo "==> installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (2-3 minutes, once)"
  # Not --locked: its lock file pins a dependency version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --quiet
fi

echo "==> building plover-web (release, wasm32)"
cargo build -p plover-web --lib --release --target wasm32-unknown-unknown
wasm-bindgen --target web --out-dir web/pkg --out-name plover_web \
  target/wasm32-unknown-unknown/release/plover_web.wasm
wasm_bytes=$(wc -c < web/pkg/plover_web_bg.wasm)
gzip_bytes=$(gzip -9 -c web/pkg/plover_web_bg.wasm | wc -c)
echo "==> web/pkg/plover_web_bg.wasm: $wasm_bytes bytes, $gzip_bytes gzipped"
