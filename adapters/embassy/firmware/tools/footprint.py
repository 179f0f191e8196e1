#!/usr/bin/env python3
"""Sums the code (.text) of a firmware ELF by owner, from `llvm-nm -S --size-sort --demangle`.

Owners are guessed from each function's demangled path. LTO inlines across crates, so a
function is counted where it was emitted: e.g. `open_queue` in the firmware holds the inlined
log recovery. Usage: footprint.py <elf>
"""
import subprocess
import sys
from collections import defaultdict

OWNERS = [
    ("plover-embassy FlashStorage", ["plover_embassy..flash_storage",
                                     "plover_embassy::flash_storage", "plover_embassy::layout"]),
    ("plover-embassy MockFlash", ["plover_embassy..mock_flash", "plover_embassy::mock_flash"]),
    ("plover-core (pipeline, log, durable queue)", ["plover_core"]),
    ("firmware scenario (sensor, stages, uplink, runs)", ["plover_firmware"]),
    ("embassy executor + sync + futures", ["embassy_"]),
    ("postcard + serde", ["postcard", "serde"]),
    ("crc", ["crc::"]),
    ("core::fmt (semihosting prints)", ["core::fmt", "core..fmt", "Display", "Debug"]),
    ("compiler builtins (mem*, 64-bit division)", ["compiler_builtins", "__aeabi"]),
    ("cortex-m, cortex-m-rt, semihosting", ["cortex_m", "Reset", "HardFault", "DefaultHandler",
                                            "__pre_init", "main"]),
]

def owner(name):
    for label, keys in OWNERS:
        if any(k in name for k in keys):
            return label
    return "other"

def main():
    out = subprocess.run(["llvm-nm", "-S", "--size-sort", "--demangle", "--radix=d", sys.argv[1]],
                         capture_output=True, text=True, check=True).stdout
    sums = defaultdict(int)
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[2] in ("t", "T"):
            sums[owner(parts[3])] += int(parts[1])
    total = sum(sums.values())
    for label, size in sorted(sums.items(), key=lambda kv: -kv[1]):
        print(f"{size:7d}  {label}")
    print(f"{total:7d}  total of sized functions")

main()
