#!/usr/bin/env bash
# The scripts baton sends to service and compute nodes are checked like any other code: `sh -n`,
# then ShellCheck as POSIX sh, and `perl -c` on the Kea merge program that sn.sh carries.
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
# The Perl program is the text between `perl -e '` and the line that closes it (`' "$@"`).
kea_pl=$(mktemp)
trap 'rm -f "$kea_pl"' EXIT
awk '/^  perl -e .$/ {on = 1; next} /^. "\$@"$/ {on = 0} on' crates/steps/src/sn.sh >"$kea_pl"
[ -s "$kea_pl" ] || { echo "lint-steps: no Perl program found in sn.sh" >&2; exit 1; }
perl -c "$kea_pl"
