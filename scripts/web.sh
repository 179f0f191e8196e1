#!/usr/bin/env bash
# Builds the browser package and serves the demo page on http://127.0.0.1:${PORT:-8080}/.
# Ctrl-C stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/web-build.sh
port="${PORT:-8080}"
echo "==> serving web/ on http://127.0.0.1:$port/ (Ctrl-C to stop)"
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory web
