#!/usr/bin/env bash
# One command for a newcomer: builds plover (release) and runs `plover demo`, passing on any
# flags (try --overflow drop-oldest, or --data-dir DIR, kill it, and run it again). Needs only
# cargo; it installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "demo.sh: cargo is not installed; install Rust with rustup first" >&2
  exit 1
fi
exec cargo run --release -p plover-std --bin plover -- demo "$@"
