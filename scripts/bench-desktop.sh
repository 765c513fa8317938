#!/usr/bin/env bash
# Desktop app benchmark: launch → funnel painted with 100,000 leads in the
# store (offline: the emulator that filled it is stopped), against a 300-lead
# store launched the same way; pipeline switches (the UI's own
# __amosyncMetrics); the app's resident memory; the UI bundle size.
# Prints ONE JSON object on stdout (progress on stderr); exits 1 when a
# component fails, not when a figure misses its target (see "meets_targets").
# Usage: scripts/bench-desktop.sh [--leads N] [--runs R]
# Builds what it needs: the UI (ui/dist) and the debug app with its test
# (AMOSYNC_BENCH_PROFILE=release for the README's figures). Runs under
# xvfb-run when there is no DISPLAY. Needs tauri-driver, WebKitWebDriver and
# dbus-daemon (scripts/setup.sh test installs them).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

leads=100000
runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --leads) leads="${2:?--leads needs a number}"; shift 2 ;;
    --leads=*) leads="${1#--leads=}"; shift ;;
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --runs=*) runs="${1#--runs=}"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench-desktop.sh: unknown argument '$1' (usage: --leads N --runs R)" >&2; exit 2 ;;
  esac
done
case "$leads$runs" in
  *[!0-9]*) echo "bench-desktop.sh: --leads and --runs take whole numbers" >&2; exit 2 ;;
esac

profile="${AMOSYNC_BENCH_PROFILE:-dev}"
case "$profile" in
  release) flag=(--release) ;;
  dev|debug) flag=(); profile=dev ;;
  *) echo "bench-desktop.sh: AMOSYNC_BENCH_PROFILE must be dev or release, not '$profile'" >&2; exit 2 ;;
esac

# Cargo's and npm's output go to stderr; stdout carries only the JSON object.
echo "bench-desktop: building the UI…" >&2
(cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run -s build) 1>&2
echo "bench-desktop: building the app and the benchmark ($profile)…" >&2
cargo test "${flag[@]}" --locked -p amosync-desktop --test bench_window --no-run 1>&2

out="$(mktemp "${TMPDIR:-/tmp}/amosync-bench-desktop.XXXXXX.json")"
trap 'rm -f "$out"' EXIT
run=(cargo test "${flag[@]}" --locked -q -p amosync-desktop --test bench_window
     -- --ignored --exact desktop_figures --nocapture --test-threads 1)
status=0
export AMOSYNC_BENCH_WINDOW=1 AMOSYNC_BENCH_LEADS="$leads" AMOSYNC_BENCH_RUNS="$runs" \
  AMOSYNC_BENCH_JSON="$out" AMOSYNC_VAULT=file
if [ -n "${DISPLAY:-}" ]; then
  "${run[@]}" 1>&2 || status=$?
else
  xvfb-run -a -s "-screen 0 1280x800x24" "${run[@]}" 1>&2 || status=$?
fi
if [ -s "$out" ]; then
  cat "$out"
  echo
else
  echo "bench-desktop.sh: the benchmark wrote no figures" >&2
  status=1
fi
exit "$status"
