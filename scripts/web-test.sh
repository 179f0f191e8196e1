#!/usr/bin/env bash
# Browser tests of plover-web: the log conformance suite on IndexedDB (wasm-bindgen-test in
# headless Chromium) and the demo page's end-to-end test (playwright-core, Debian's Chromium).
# Installs what it needs first, idempotently; exits non-zero if anything fails.
# Screenshots land in out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  say "installing Chromium and ChromeDriver (apt, ~40 s, once)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# Builds web/pkg; installs the wasm32 target and wasm-bindgen-cli 0.2.130 if missing.
say "building the browser package"
bash scripts/web-build.sh

say "log conformance suite on IndexedDB (headless Chromium)"
CHROMEDRIVER=/usr/bin/chromedriver \
  WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/adapters/web/webdriver.json" \
  WASM_BINDGEN_TEST_TIMEOUT=120 \
  cargo test -p plover-web --target wasm32-unknown-unknown

say "end-to-end test of the demo page (playwright-core)"
if [ ! -d web/e2e/node_modules/playwright-core ]; then
  # playwright-core only: it downloads no browser. Never `npx playwright install`.
  (cd web/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
node web/e2e/e2e.mjs
