#!/bin/sh
# Failover benchmark: time from killing sn1 to every one of its compute nodes switched and
# reconfigured (database, DHCP/boot/console on the new SNs, xcatinfo, route, syslog, NTP and
# resolver on each node) on the network-namespace test bed, for 6 and 50 compute nodes (all
# primary on sn1, pool sn1,sn2,sn3), with `baton watch --interval 1 --timeout 3 --threshold 2`
# (the defaults), next to the baseline measured in the same run: the same takeover
# started by hand (`baton snmove -s sn1 --spread sn2,sn3`) right after the kill, i.e. with no
# detection. Every run is then checked with every compute-node probe (not timed).
#
#   scripts/bench-watch.sh            # build (release), measure, print a summary
#
# Environment: SIZES="6 50", RUNS=3, BUILD=0 (reuse the build), PROFILE=debug (the debug
# build instead of release), CARGO_TARGET_DIR, BENCH_AGENT=1 (baton installed on the service
# nodes: the default `--delegate auto` then lets each SN fan out to its own nodes),
# BENCH_SILENT=1 (sn1 goes silent, both its links cut, instead of being killed).
# Needs root and the test-bed packages of .ci/run. Uses beds named wbw<N> and wbs<N>.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZES=${SIZES:-"6 50"}
RUNS=${RUNS:-3}
cd "$ROOT"
REL=--release
[ "${PROFILE:-release}" = release ] || REL=
[ "${BUILD:-1}" = 0 ] || cargo test $REL -p baton --test e2e_watch --no-run >/dev/null
OUT=$(mktemp /tmp/baton-bench-watch.XXXXXX)
trap 'rm -f "$OUT"' EXIT INT TERM
for N in $SIZES; do
    echo "== $N compute nodes, $RUNS runs" >&2
    BENCH_CNS=$N BENCH_RUNS=$RUNS cargo test $REL -q -p baton --test e2e_watch \
        bench_watch_failover -- --ignored --nocapture --test-threads 1 2>/dev/null |
        grep '^BENCH ' | tee -a "$OUT" >&2
done
python3 - "$OUT" <<'PY'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    f = dict(kv.split("=") for kv in line.split()[1:])
    rows.setdefault((int(f["cns"]), f["method"]), []).append((float(f["detect_s"]), float(f["total_s"])))
print("| CNs moved | baton watch: detection | baton watch: kill to served | baseline: snmove by hand right after the kill | watch minus baseline |")
print("|---|---|---|---|---|")
for n in sorted({k[0] for k in rows}):
    w = rows.get((n, "watch"), [])
    s = rows.get((n, "snmove"), [])
    def fmt(v):
        return "%.1f s (%.1f–%.1f)" % (st.mean(v), min(v), max(v)) if v else "-"
    wd = [d for d, _ in w]; wt = [t for _, t in w]; stt = [t for _, t in s]
    diff = "%.1f s" % (st.mean(wt) - st.mean(stt)) if wt and stt else "-"
    print(f"| {n} | {fmt(wd)} | {fmt(wt)} | {fmt(stt)} | {diff} |")
PY
