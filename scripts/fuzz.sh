#!/usr/bin/env bash
# Run every cargo-fuzz target for N seconds (default 20). Longer runs:
#   scripts/fuzz.sh 3600            # an hour per target
#   cargo fuzz run noderange        # one target, until stopped (from the repo root)
# cargo-fuzz needs nightly rustc features; without a nightly toolchain the stable one is used
# with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --quiet
fi
toolchain=()
if rustup run nightly rustc --version >/dev/null 2>&1; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi
for target in $(cargo "${toolchain[@]}" fuzz list); do
  echo "fuzzing $target for ${secs}s"
  mkdir -p "fuzz/corpus/$target"
  cargo "${toolchain[@]}" fuzz run "$target" "fuzz/corpus/$target" fuzz/seeds/"$target" -- \
    -max_total_time="$secs" -max_len=4096 -print_final_stats=1 2>&1 | tail -n 12
done
