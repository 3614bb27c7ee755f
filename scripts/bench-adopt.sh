#!/bin/sh
# Failover with --adopt-address: from the moment `baton watch --adopt-address` fenced sn1 (a
# fence program that notes the time; the bed powers sn1 off first) to each of sn1's compute
# nodes getting NTP and DNS answered at sn1's compute address, probed from inside every node
# (testbed::probes::first_answers), and, beside it in the same run, when the watcher's takeover
# (the re-pointing of every node, which is when a node is served again without the adoption)
# ended. The test is e2e_adopt's watcher test; figures are printed, never asserted.
#
#   scripts/bench-adopt.sh                 # 50 nodes on sn1 (3 SNs, 150 CNs) and 500 (2 SNs, 1000 CNs)
#
# Environment: BEDS="3:150 2:1000" (SNs:CNs per run; sn1 gets CNs/SNs of them), RUNS=1.
# A bed's namespaces share the kernel's one ARP table, whose default limit (gc_thresh3 1024
# entries in all) a 1000-node bed overflows ("neighbor table overflow"), which no real node
# would; the limits are raised for the run and put back after. Needs root and the test-bed
# packages of .ci/run. Uses the bed named adoptw.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BEDS=${BEDS:-"3:150 2:1000"}
RUNS=${RUNS:-1}
cd "$ROOT"
old=$(sysctl -n net.ipv4.neigh.default.gc_thresh1 net.ipv4.neigh.default.gc_thresh2 net.ipv4.neigh.default.gc_thresh3 | tr '\n' ' ')
restore() {
    # shellcheck disable=SC2086 # three numbers, split on purpose
    set -- $old
    sysctl -q -w net.ipv4.neigh.default.gc_thresh1="$1" net.ipv4.neigh.default.gc_thresh2="$2" net.ipv4.neigh.default.gc_thresh3="$3"
}
trap restore EXIT INT TERM
sysctl -q -w net.ipv4.neigh.default.gc_thresh1=8192 net.ipv4.neigh.default.gc_thresh2=32768 net.ipv4.neigh.default.gc_thresh3=65536
cargo test -q -p baton --test e2e_adopt --no-run >/dev/null 2>&1
for bed in $BEDS; do
    sns=${bed%%:*}
    cns=${bed#*:}
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        echo "== $sns SNs, $cns CNs ($((cns / sns)) on sn1), run $((i + 1))"
        BATON_ADOPT_SNS=$sns BATON_ADOPT_CNS=$cns cargo test -q -p baton --test e2e_adopt \
            e2e_watch -- --nocapture 2>/dev/null | grep -E '^adopt-address:|^resume' || echo "run failed"
        i=$((i + 1))
    done
done
