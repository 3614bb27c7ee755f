#!/usr/bin/env bash
# The whole test suite: build once, run every test (in parallel where safe), fuzz each target
# briefly. Tests that need root or a missing daemon say SKIPPED loudly; run as root with the
# packages of .ci/run installed and nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# Gates first: formatting, lints, and the shell scripts (warnings and errors).
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
if command -v shellcheck >/dev/null; then
  shellcheck -S warning .ci/run scripts/*.sh
else
  echo "SKIPPED: shellcheck is not installed (scripts/install-deps.sh installs it)"
fi

cargo build --workspace --all-targets --locked
# The test bed loads its cluster database with the real baton binary.
export BATON_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/baton"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
cargo test --workspace --doc --locked

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  scripts/fuzz.sh 20
fi
