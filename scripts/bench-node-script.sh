#!/bin/sh
# node.sh alone: the compute-node script's own cost per node (what it adds to an ssh session),
# this tree's version next to another revision's, in the same hyperfine run. Runs the ops of
# scripts/bench-cn.sh (xcatinfo, route) 200 times per measured run, in a private mount and
# network namespace (a tmpfs on /opt, loopback only), so nothing on this machine changes.
#
#   sudo scripts/bench-node-script.sh [REV]      # REV defaults to 47fa469 (before the trim)
#
# Needs root (unshare), git, hyperfine, iproute2.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REV=${1:-47fa469}
W=$(mktemp -d /var/tmp/baton-bench-node.XXXXXX)
trap 'rm -rf "$W"' EXIT INT TERM
(cd "$ROOT" && git show "$REV:crates/steps/src/prelude.sh" && git show "$REV:crates/steps/src/node.sh") >"$W/old.sh"
cat "$ROOT/crates/steps/src/prelude.sh" "$ROOT/crates/steps/src/node.sh" >"$W/new.sh"
cat >"$W/loop.sh" <<'LOOP'
#!/bin/sh
s=$(cat "$1"); i=0
while [ $i -lt 200 ]; do sh -c "$s" baton xcatinfo 0 127.0.0.1 route 1 127.0.0.1 >/dev/null; i=$((i+1)); done
LOOP
chmod 755 "$W/loop.sh"
unshare -m -n sh -c '
  mount -t tmpfs bench /opt && ip link set lo up && mkdir -p /opt/xcat &&
  printf "NODE=x\nHTTPPORT=80\n" > /opt/xcat/xcatinfo &&
  hyperfine -N --runs 5 --warmup 1 -n "node.sh at '"$REV"' (x200)" "$1/loop.sh $1/old.sh" \
    -n "node.sh in this tree (x200)" "$1/loop.sh $1/new.sh"' sh "$W"
