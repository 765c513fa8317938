#!/usr/bin/env bash
# Benchmark: how long `amo-emulator --leads N` takes from spawn to serving
# (its `token:` line printed), against a baseline of `--leads 0` measured in
# the same run. Prints one JSON object per configuration (median of 5 runs).
# Usage: scripts/bench-emulator-start.sh [LEADS ...]   (default: 5000 20000)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo build -q -p amo-emulator --bin amo-emulator
bin="${CARGO_TARGET_DIR:-$root/target}/debug/amo-emulator"
python3 - "$bin" "${@:-5000 20000}" <<'PY'
import json, signal, statistics, subprocess, sys, time

binary, sizes = sys.argv[1], [int(x) for x in " ".join(sys.argv[2:]).split()]

def start_once(leads):
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "--leads", str(leads), "--seed", "7"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = t0 + 30
        while time.perf_counter() < deadline:
            line = p.stdout.readline()
            if not line:
                raise SystemExit(f"amo-emulator --leads {leads} exited before serving")
            if line.startswith("token:"):
                return (time.perf_counter() - t0) * 1000
        raise SystemExit(f"amo-emulator --leads {leads} did not serve within 30 s")
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()

def median(leads, runs=5):
    return statistics.median(start_once(leads) for _ in range(runs))

baseline = median(0)
for n in sizes:
    ms = median(n)
    print(json.dumps({"bench": "emulator_start", "leads": n, "median_ms": round(ms, 1),
                      "baseline_leads0_ms": round(baseline, 1), "ratio": round(ms / baseline, 2),
                      "build": "debug"}))
PY
