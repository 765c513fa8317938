#!/usr/bin/env bash
# Builds the webhook decoder's fuzz target and runs it for N seconds
# (default 20): a smoke test that the decoder survives arbitrary bytes.
#
#   scripts/fuzz-smoke.sh [SECONDS]
#
# Needs the nightly toolchain; installs cargo-fuzz (from crates.io) only if
# it is missing. Seeds the corpus with tests/golden/webhooks/*.form when
# present. Exits non-zero if the build fails or the fuzzer finds a crash
# (the crashing input is left under fuzz/artifacts/decode_body/).
set -euo pipefail

seconds="${1:-20}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

cd "$root/fuzz"
corpus="corpus/decode_body"
mkdir -p "$corpus"
if compgen -G "$root/tests/golden/webhooks/*.form" >/dev/null; then
  cp "$root"/tests/golden/webhooks/*.form "$corpus"/
fi
# A fixed seed keeps the CI run reproducible; FUZZ_SEED=0 picks a random one
# (libFuzzer's meaning of 0) for exploratory runs.
run_args=(-max_total_time="$seconds" -max_len=16384 -seed="${FUZZ_SEED:-1}" -print_final_stats=1)

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  # No nightly (and no network to fetch one): build the same target with the
  # stable toolchain. libFuzzer still mutates inputs, without coverage feedback.
  # Without coverage feedback libFuzzer would shrink the corpus to nothing, so
  # this is a replay, not fuzzing: every seed body goes through the target once.
  echo "fuzz-smoke: no nightly toolchain here, so NOT fuzzing: replaying the seed corpus through the target (stable build)" >&2
  cargo build --release --bin decode_body
  exec "${CARGO_TARGET_DIR:-target}/release/decode_body" -runs=0 "$corpus"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: installing cargo-fuzz" >&2
  start=$(date +%s)
  cargo install cargo-fuzz --locked
  echo "fuzz-smoke: cargo-fuzz installed in $(( $(date +%s) - start ))s" >&2
fi

cargo +nightly fuzz build decode_body
cargo +nightly fuzz run decode_body "$corpus" -- "${run_args[@]}"
