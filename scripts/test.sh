#!/usr/bin/env bash
# Runs every check AmoSync has, installing what is missing first:
# formatting, lints, UI type check/lint/unit tests, all Rust tests (core against
# the real emulator over loopback HTTP), the desktop window end-to-end under
# Xvfb through WebDriver, the decoder's fuzz smoke run, the emulator
# start-up benchmark, a quick run of the AmoSync benchmark and of the desktop
# window benchmark.
# Exits non-zero on the first failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}" RUST_BACKTRACE=1
# Tests keep secrets in encrypted files with a throwaway key: never in the
# user's keychain or config folder.
export AMOSYNC_VAULT=file AMOSYNC_KEY_FILE="${TMPDIR:-/tmp}/amosync-test-vault-$$.key"
artifacts="$root/test-artifacts"
mkdir -p "$artifacts"

passed=0
stage() { printf '\n\033[1;36m== %s\033[0m\n' "$*"; }
ok() { passed=$((passed + 1)); }
trap 'echo; echo "stages: $passed passed, 1 failed"' ERR

stage "setup"
scripts/setup.sh test; ok

stage "format (cargo fmt)"
cargo fmt --all -- --check; ok

stage "UI: type check, lint, unit tests, build"
(cd ui && npm run -s check && npm run -s lint && npm run -s test && npm run -s build); ok

stage "clippy (all crates, all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings; ok

stage "Rust tests (core, emulator, client, decoder, desktop unit tests)"
cargo nextest run --workspace --locked --no-fail-fast; ok
cargo test --workspace --exclude amosync-desktop --doc --locked -q; ok

stage "desktop window end to end (Xvfb + tauri-driver + WebKitWebDriver)"
AMOSYNC_ARTIFACTS="$artifacts" xvfb-run -a -s "-screen 0 1280x800x24" \
  cargo nextest run -p amosync-desktop --locked --run-ignored only; ok

stage "decoder fuzz smoke run"
scripts/fuzz-smoke.sh 20; ok

stage "benchmark: emulator start-up"
scripts/bench-emulator-start.sh | tee "$artifacts/bench-emulator-start.json"; ok

stage "benchmark: AmoSync quick run (ingest, funnel vs SQLite, catch-up, memory; debug build, a smoke check)"
AMOSYNC_BENCH_PROFILE=dev scripts/bench.sh --quick | tee "$artifacts/bench-amosync-quick.json"; ok

stage "benchmark: desktop window quick run (5,000 leads; debug build, a smoke check)"
scripts/bench-desktop.sh --leads 5000 --runs 1 | tee "$artifacts/bench-desktop-quick.json"; ok

trap - ERR
echo
echo "stages: $passed passed, 0 failed"
