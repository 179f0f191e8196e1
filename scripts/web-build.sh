#!/usr/bin/env bash
# Builds plover-web for the browser into web/pkg (ES module, .wasm, TypeScript types,
# package.json) with wasm-pack, installing the target, the pinned wasm-bindgen CLI and wasm-pack
# first if they are missing. wasm-pack runs in `no-install` mode, so it uses that CLI instead of
# downloading its own; wasm-opt is off in the crate's metadata (Debian's binaryen 108 emits wasm
# that fails at start-up in Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130

rustup target add wasm32-unknown-unknown >/dev/null 2>&1
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  echo "==> installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (2-3 minutes, once)"
  # Not --locked: its lock file pins a dependency version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --quiet
fi

if ! command -v wasm-pack >/dev/null 2>&1; then
  echo "==> installing wasm-pack (about 2 minutes, once)"
  # Only the crate installs here (the npm package downloads a binary); --locked builds it.
  cargo install wasm-pack --locked --quiet
fi

echo "==> building plover-web with wasm-pack (release, --target web)"
# wasm-pack's --out-dir is relative to the crate. It asks the network for its newest version
# and warns when it cannot reach it; the build does not depend on the answer.
wasm-pack --quiet build adapters/web --target web --release --mode no-install \
  --out-dir ../../web/pkg --out-name plover_web
wasm_bytes=$(wc -c < web/pkg/plover_web_bg.wasm)
gzip_bytes=$(gzip -9 -c web/pkg/plover_web_bg.wasm | wc -c)
echo "==> web/pkg/plover_web_bg.wasm: $wasm_bytes bytes, $gzip_bytes gzipped"
