#!/usr/bin/env bash
# Browser benchmark of plover-web: builds the package (size, gzip), then runs web/bench.html in
# headless Chromium (playwright-core): events per second through three stages, in memory and
# with the IndexedDB log, each beside a plain-JS baseline. `scripts/bench.sh` runs it for
# docs/benchmarks.md; `--json` prints the figures as one JSON line at the end, for it. Needs
# Chromium (scripts/web-test.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

# Progress goes to stderr, so that with --json the figures are all of stdout.
bash scripts/web-build.sh >&2
echo "==> web/pkg/plover_web.js: $(gzip -9 -c web/pkg/plover_web.js | wc -c) bytes gzipped" >&2
if [ ! -d web/e2e/node_modules/playwright-core ]; then
  (cd web/e2e && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
load=$(cut -d' ' -f1 /proc/loadavg)
echo "==> three-stage benchmark in Chromium ($(nproc) cores, load $load)" >&2
node web/e2e/bench.mjs "$@"
