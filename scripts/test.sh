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
scripts/lint-steps.sh
# The CLI prints through crates/baton/src/out.rs (a closed pipe must not panic it).
if grep -rnE '\b(eprintln|println|print|eprint)!' crates/baton/src --include='*.rs' | grep -v 'src/out.rs'; then
  echo "print macros above panic on a closed pipe: run scripts/no-panic-print.sh" >&2
  exit 1
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
