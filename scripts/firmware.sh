#!/usr/bin/env bash
# Builds the plover firmware (adapters/embassy/firmware) in release mode, runs it under QEMU's
# lm3s6965evb with a timeout, and checks its semihosting output for the expected result lines.
# Installs what it needs first (idempotent). Exit code: the firmware's (0 pass, 1 fail), or
# non-zero if the build, QEMU or an output check fails. PLOVER_FIRMWARE_FORCE_FAIL=1 builds a
# firmware that fails on purpose, to check that a failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

FIRMWARE_DIR=adapters/embassy/firmware
ELF="$FIRMWARE_DIR/target/thumbv7m-none-eabi/release/plover-firmware"

rustup target add thumbv7m-none-eabi >/dev/null 2>&1 || rustup target add thumbv7m-none-eabi
if ! command -v qemu-system-arm >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends qemu-system-arm
fi

(cd "$FIRMWARE_DIR" && cargo build --release)

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
set +e
timeout 60 qemu-system-arm -cpu cortex-m3 -machine lm3s6965evb -nographic \
    -semihosting-config enable=on,target=native -kernel "$ELF" | tee "$out"
status=${PIPESTATUS[0]}
set -e

if [ "$status" -eq 124 ]; then
    echo "firmware.sh: the firmware did not exit within 60 s" >&2
    exit 124
fi
for line in \
    "^policy block: .* ok$" \
    "^policy drop-oldest: .* ok$" \
    "^policy drop-newest: .* ok$" \
    "^reset: .* ok$" \
    "^stage task: .* ok$" \
    "^RESULT: PASS$"; do
    if ! grep -q "$line" "$out"; then
        echo "firmware.sh: expected a line matching '$line'" >&2
        [ "$status" -eq 0 ] && status=1
    fi
done
exit "$status"
