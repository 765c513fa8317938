#!/usr/bin/env bash
# AmoSync benchmark: webhook ingest (vs a trivial endpoint), the funnel over
# 1M leads (vs SQLite on the same rows), one full catch-up (vs the bound the
# client's rate limit allows) and the resident memory of `amosync serve` over
# that store, and the event log's bound (store bytes per retained event) with
# the chats index. Builds in release and prints ONE JSON object on stdout
# (progress on stderr); exits 1 when a component fails (e.g. a webhook not
# answered 200), not when a figure misses its target (see "meets_targets").
# Usage: scripts/bench.sh [--quick] [--only ingest,flood,funnel,rss,catchup,retention] [--dir DIR]
#   --quick: 100k leads, 5k-lead catch-up, 3 s of ingest, 2+2 s of flood; about a minute.
# AMOSYNC_BENCH_PROFILE=dev runs the debug build instead (what the test
# command does: it reuses the build the tests made; such figures are a smoke
# check, not the README's numbers, and the JSON says "profile": "dev").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# Cargo's own output goes to stderr; stdout carries only the JSON object.
profile="${AMOSYNC_BENCH_PROFILE:-release}"
case "$profile" in
  release) flag=(--release); dir=release ;;
  dev) flag=(); dir=debug ;;
  *) echo "bench.sh: AMOSYNC_BENCH_PROFILE must be release or dev, not '$profile'" >&2; exit 2 ;;
esac
cargo build "${flag[@]}" --locked -q -p amosync-bench
# The memory figure runs the real `amosync serve`; without that binary the
# bench measures its own serving child process instead and says so.
cargo build "${flag[@]}" --locked -q -p amosync --bin amosync ||
  echo "bench.sh: amosync did not build; serve_rss_mb_1m will come from the bench's own serving child" >&2
exec "${CARGO_TARGET_DIR:-$root/target}/$dir/amosync-bench" "$@"
