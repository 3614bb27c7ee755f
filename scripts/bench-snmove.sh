#!/bin/sh
# snmove benchmark: `baton snmove -s sn1 -D sn2-eth1 -i` on clusters of 1,000, 10,000 and
# 100,000 nodes (all primary on sn1, in 10 rack groups, conserver and tftpserver set), in the
# embedded SQLite database, next to the floor: the sqlite3 tool applying the same row writes in
# one transaction, measured in the same run.
#
#   scripts/bench-snmove.sh                  # build (release), measure, print a summary
#
# Environment: SIZES="1000 10000 100000", RUNS=5, WARMUP=1, BUILD=0 (reuse the binary),
# CARGO_TARGET_DIR, BENCH_DIR (scratch directory; default a new one under /tmp, removed at exit).
# Needs cargo, hyperfine, sqlite3 and GNU time (apt-get install hyperfine sqlite3 time).
# Every measured run starts from a fresh copy of the database (hyperfine --prepare).
# --offline: the sample's service nodes do not exist, so addresses come from the database.
# The sample's service nodes do not exist: BATON_SSH=false makes their steps fail at once (they
# stay pending and the run exits 4, ignored with -i), after baton has built their input.
# Three last runs with BATON_LOG=takeover=info split the time into plan and commit (the
# target's "planned and committed"; their mean) and report the peak memory right after the
# commit.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZES=${SIZES:-"1000 10000 100000"}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
for tool in cargo hyperfine sqlite3 /usr/bin/time; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench-snmove: $tool is missing" >&2; exit 2; }
done
if [ -z "${BENCH_DIR:-}" ]; then
    BENCH_DIR=$(mktemp -d /tmp/baton-bench-snmove.XXXXXX)
    trap 'rm -rf "$BENCH_DIR"' EXIT INT TERM
fi
mkdir -p "$BENCH_DIR"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
[ "${BUILD:-1}" = 0 ] || (cd "$ROOT" && cargo build --release -p baton)
BATON=$TARGET/release/baton
SUMMARY=$BENCH_DIR/summary.md
export BATON_SSH=false
printf '| nodes | baton snmove, whole run | sqlite3 floor (same writes, one transaction) | ratio | plan | commit | plan + commit | service-node work | peak RSS after commit | peak RSS, whole run |\n|---|---|---|---|---|---|---|---|---|---|\n' >"$SUMMARY"

mean_ms() { # hyperfine JSON export -> mean in ms of command $2
    python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][int(sys.argv[2])]; print('%.0f ± %.0f' % (r['mean']*1000, r['stddev']*1000))" "$1" "$2"
}
mean_raw() {
    python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][int(sys.argv[2])]['mean'])" "$1" "$2"
}

for N in $SIZES; do
    D=$BENCH_DIR/$N; mkdir -p "$D"
    BASE=$D/base.db
    echo "== $N nodes: building the cluster"
    BATON_DB=sqlite:$BASE "$BATON" quickstart --no-demo --nodes "$N" --racks 10 >/dev/null
    # Not a sample any more: on a sample, snmove skips the service-node steps (and their input).
    BATON_DB=sqlite:$BASE "$BATON" chtab -d key=baton-sample site >/dev/null
    for r in 01 02 03 04 05 06 07 08 09 10; do
        BATON_DB=sqlite:$BASE "$BATON" chdef -t group "rack$r" servicenode=sn1,sn2 xcatmaster=sn1-eth1 \
            tftpserver=sn1-eth1 nfsserver=sn1-eth1 monserver=sn1,sn1-eth1 conserver=sn1 >/dev/null
    done
    sqlite3 "$BASE" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
    # The floor: the same rows written by the sqlite3 tool in one transaction.
    BATON_DB=sqlite:$BASE "$BATON" nodels compute >"$D/nodes"
    python3 - "$D/nodes" "$D/floor.sql" <<'PY'
import sys
nodes = open(sys.argv[1]).read().split()
with open(sys.argv[2], "w") as f:
    f.write("PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\nBEGIN IMMEDIATE;\n")
    for n in nodes:
        f.write(f"INSERT INTO noderes (node,servicenode,xcatmaster,tftpserver,nfsserver,monserver) VALUES ('{n}','sn2,sn1','sn2-eth1','sn2-eth1','sn2-eth1','sn2,sn2-eth1');\n")
        f.write(f"INSERT INTO nodehm (node,conserver) VALUES ('{n}','sn2');\n")
    f.write("COMMIT;\n")
PY
    RUN=$D/run.db
    hyperfine --runs "$RUNS" --warmup "$WARMUP" -i --export-json "$D/h.json" \
        --prepare "cp $BASE $RUN; rm -f $RUN-wal $RUN-shm" \
        -n "baton snmove ($N)" "BATON_DB=sqlite:$RUN $BATON snmove -s sn1 -D sn2-eth1 -i --offline --yes" \
        -n "sqlite3 floor ($N)" "sqlite3 $RUN < $D/floor.sql"
    # Three more runs with the phase log: plan and commit times (mean of the three), peak
    # memory after the commit and for the whole run (the largest of the three).
    PLAN_SUM=0; COMMIT_SUM=0; SN_SUM=0; COMMIT_RSS=0; RSS=0
    for _ in 1 2 3; do
        cp "$BASE" "$RUN"; rm -f "$RUN-wal" "$RUN-shm"
        BATON_LOG=takeover=info BATON_DB=sqlite:$RUN /usr/bin/time -o "$D/rss" -f '%M' \
            "$BATON" snmove -s sn1 -D sn2-eth1 -i --offline --yes >/dev/null 2>"$D/log" || true
        field() { # field NAME MESSAGE -> value of NAME= on the log line containing MESSAGE
            grep -F "$2" "$D/log" | head -n 1 | sed -n "s/.* $1=\([0-9]*\).*/\1/p"
        }
        PLAN_SUM=$((PLAN_SUM + $(field ms "planned")))
        COMMIT_SUM=$((COMMIT_SUM + $(field ms "committed")))
        # Every service-node wave: facts read, input built, (failing) ssh, results recorded.
        for ms in $(grep -F "step batches ran side=Sn" "$D/log" | sed -n 's/.* ms=\([0-9]*\).*/\1/p'); do
            SN_SUM=$((SN_SUM + ms))
        done
        R=$(field peak_rss_mib "committed"); [ "$R" -gt "$COMMIT_RSS" ] && COMMIT_RSS=$R
        R=$(tail -n 1 "$D/rss"); [ "$R" -gt "$RSS" ] && RSS=$R
    done
    PLAN_MS=$((PLAN_SUM / 3))
    COMMIT_MS=$((COMMIT_SUM / 3))
    SN_MS=$((SN_SUM / 3))
    MOVED=$(BATON_DB=sqlite:$RUN "$BATON" nodels compute noderes.servicenode | grep -c ': sn2,sn1$' || true)
    [ "$MOVED" = "$N" ] || { echo "bench-snmove: only $MOVED of $N nodes moved" >&2; exit 1; }
    RATIO=$(python3 -c "print('%.1f' % ($(mean_raw "$D/h.json" 0) / $(mean_raw "$D/h.json" 1)))")
    printf '| %s | %s ms | %s ms | %s× | %s ms | %s ms | %s ms | %s ms | %s MB | %s MB |\n' "$N" \
        "$(mean_ms "$D/h.json" 0)" "$(mean_ms "$D/h.json" 1)" "$RATIO" "$PLAN_MS" "$COMMIT_MS" \
        "$((PLAN_MS + COMMIT_MS))" "$SN_MS" "$COMMIT_RSS" "$((RSS / 1024))" >>"$SUMMARY"
done
echo
cat "$SUMMARY"
