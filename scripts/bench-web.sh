#!/usr/bin/env bash
# Browser benchmark of plover-web: builds the package (size, gzip), then runs web/bench.html in
# headless Chromium (playwright-core): events per second through three stages, in memory and
# with the IndexedDB log, each beside a plain-JS baseline. Figures go to
# docs/benchmarks-web.md by hand. Needs what scripts/web-test.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/web-build.sh
echo "==> web/pkg/plover_web.js: $(gzip -9 -c web/pkg/plover_web.js | wc -c) bytes gzipped"
if [ ! -d web/e2e/node_modules/playwright-core ]; then
  (cd web/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "==> three-stage benchmark in Chromium ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
node web/e2e/bench.mjs
