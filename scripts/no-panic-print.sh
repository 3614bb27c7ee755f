#!/usr/bin/env bash
# Rewrites println!/print!/eprintln! in the baton binary crate to the pipe-safe macros of
# crates/baton/src/out.rs (outln!/out!/errln!). Run after adding code that prints.
set -euo pipefail
cd "$(dirname "$0")/.."
find crates/baton/src -name '*.rs' ! -name out.rs -print0 |
  xargs -0 sed -i -E 's/\beprintln!/errln!/g; s/\beprint!/err!/g; s/\bprintln!/outln!/g; s/\bprint!/out!/g'
