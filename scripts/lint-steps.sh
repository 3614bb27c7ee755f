#!/usr/bin/env bash
# The scripts baton sends to service and compute nodes are checked like any other code: `sh -n`,
# then ShellCheck as POSIX sh, and `perl -c` on the Kea merge program (kea.pl) that sn.sh runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts=(crates/steps/src/prelude.sh crates/steps/src/node.sh crates/steps/src/sn.sh)
for f in "${scripts[@]}"; do
  sh -n "$f"
done
if command -v shellcheck >/dev/null; then
  # SC3013 (`-ef`): dash and busybox sh, the shells of the nodes, both have it.
  shellcheck -S warning -s sh -e SC3013 "${scripts[@]}"
else
  echo "SKIPPED: shellcheck is not installed (scripts/install-deps.sh installs it)"
fi
# It travels single-quoted inside the script: a single quote would end it.
if grep -q "'" crates/steps/src/kea.pl; then
  echo "lint-steps: crates/steps/src/kea.pl holds a single quote" >&2
  exit 1
fi
perl -c crates/steps/src/kea.pl
