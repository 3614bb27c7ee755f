#!/bin/sh
# xCAT database commands on a 100,000-node cluster (issue 19): the read commands a runbook
# calls (nodels, lsdef of a group, lsdef -w, tabdump -w, gettab), each next to the sqlite3
# command-line tool doing the equivalent raw work on the same file, in the same run.
#
#   scripts/bench-dbcmds.sh             # build (release), create the cluster, measure, summarize
#
# Environment:
#   NODES=100000 RACKS=500   size of the sample cluster (baton quickstart --nodes --racks)
#   RUNS=10 WARMUP=2         hyperfine runs and warm-up runs per command
#   BUILD=0                  use the baton binary already built
#   CARGO_TARGET_DIR         where cargo builds (default: target/ in the repository)
#   BENCH_DIR                scratch directory (default: a new one under /tmp, removed at exit)
#
# Needs: cargo, hyperfine, sqlite3, GNU time (/usr/bin/time).
# The commands run under their xCAT names (links to the baton binary), as a runbook calls them.
# Prints hyperfine's tables, then a Markdown summary as in BENCHMARKS.md. It measures and
# reports; it never fails on a missed target.

set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODES=${NODES:-100000}
RACKS=${RACKS:-500}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
TARGET_MS=1000

for tool in cargo hyperfine sqlite3 /usr/bin/time; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "bench-dbcmds: $tool is missing (apt-get install hyperfine sqlite3 time)" >&2
        exit 2
    }
done

if [ -z "${BENCH_DIR:-}" ]; then
    BENCH_DIR=$(mktemp -d /tmp/baton-bench.XXXXXX)
    trap 'rm -rf "$BENCH_DIR"' EXIT INT TERM
fi
mkdir -p "$BENCH_DIR/bin"

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
if [ "${BUILD:-1}" != 0 ]; then
    echo "== building baton (release)"
    (cd "$ROOT" && cargo build --release -p baton)
fi
BATON=$TARGET/release/baton
[ -x "$BATON" ] || { echo "bench-dbcmds: no binary at $BATON" >&2; exit 2; }
for name in nodels lsdef tabdump gettab; do
    ln -sf "$BATON" "$BENCH_DIR/bin/$name"
done
BIN=$BENCH_DIR/bin

DB=$BENCH_DIR/cluster.db
SUMMARY=$BENCH_DIR/summary.md
: >"$SUMMARY"
export BATON_DB="sqlite:$DB"

width() { w=${#1}; [ "$w" -lt "$2" ] && w=$2; echo "$w"; }
NW=$(width "$NODES" 4)
RW=$(width "$RACKS" 2)
node() { printf "cn%0${NW}d" "$1"; }
RACK=$(printf "rack%0${RW}d" $((42 > RACKS ? RACKS : 42)))
MID=$(node $((NODES / 2)))

echo "== machine: $(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -r)"
echo "== sqlite3 $(sqlite3 --version | cut -d' ' -f1), $(hyperfine --version)"
echo "== load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== creating the cluster: baton quickstart --no-demo --nodes $NODES --racks $RACKS"
"$BATON" quickstart --no-demo --nodes "$NODES" --racks "$RACKS" >/dev/null

peak_kb() {
    /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1
}

# bench NAME COMMAND BASELINE BASELINE-DESCRIPTION (strings run by hyperfine without a shell)
bench() {
    name=$1 cmd=$2 base=$3 basedesc=$4
    md=$BENCH_DIR/bench.md
    json=$BENCH_DIR/bench.json
    echo
    echo "== $name"
    hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-markdown "$md" \
        --export-json "$json" -n "baton" "$cmd" -n "sqlite3" "$base"
    # shellcheck disable=SC2086 # the command is split into words on purpose
    kb=$(peak_kb $cmd)
    unit=$(sed -n 's/^| Command | Mean \[\([a-z]*\)\].*/\1/p' "$md")
    row() { awk -F'|' -v n="\`$1\`" '$2 ~ n { gsub(/^ +| +$/, "", $3); print $3 }' "$md"; }
    bmean=$(row baton)
    smean=$(row sqlite3)
    cpu=$(awk -F'[:,]' '/"user":/ { u = $2 } /"system":/ { printf "%d ", (u + $2) * 1000 }' "$json")
    ms=$(echo "$bmean" | awk -v u="$unit" '{ v = $1; if (u == "s") v *= 1000; printf "%d", v }')
    verdict=met
    [ "$ms" -lt "$TARGET_MS" ] || verdict="MISSED"
    printf '| %s | `%s` | %s %s | %s ms | %d MB | %s %s | %s | %s |\n' "$name" \
        "$(echo "$cmd" | sed "s|$BIN/||")" "$bmean" "$unit" "${cpu%% *}" \
        $(((kb + 512) / 1024)) "$smean" "$unit" "$basedesc" "$verdict" >>"$SUMMARY"
}

S="sqlite3 $DB"
set -f

bench "nodels all" "$BIN/nodels all" \
    "$S \"SELECT node FROM nodelist ORDER BY node\"" "SELECT node ORDER BY node"
bench "nodels group, one attribute" "$BIN/nodels $RACK noderes.servicenode" \
    "$S \"SELECT n.node, r.servicenode FROM nodelist n LEFT JOIN noderes r ON r.node = n.node WHERE ','||n.groups||',' LIKE '%,$RACK,%' ORDER BY n.node\"" \
    "LIKE on groups, join noderes (no inheritance)"
bench "lsdef of a group" "$BIN/lsdef $RACK" \
    "$S \"SELECT * FROM nodelist WHERE ','||groups||',' LIKE '%,$RACK,%'\"" \
    "the group's nodelist rows only"
bench "lsdef -w over every node" "$BIN/lsdef -t node -w mgt==ipmi -w servicenode=~sn2 -s" \
    "$S \"SELECT node FROM nodehm WHERE mgt = 'ipmi'\"" "one table, no inheritance"
bench "tabdump -w" "$BIN/tabdump -w groups=~$RACK,% -w node>=$MID nodelist" \
    "$S -csv \"SELECT * FROM nodelist WHERE groups LIKE '$RACK,%' AND node >= '$MID'\"" \
    "the same WHERE in SQL"
bench "gettab" "$BIN/gettab node=$MID nodelist.groups" \
    "$S \"SELECT groups FROM nodelist WHERE node = '$MID'\"" "one row by key"

echo
echo "== load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== summary: $NODES nodes, $RACKS groups; target: under 1 s each"
echo
echo "| case | command | baton mean ± σ | baton CPU | baton peak RSS | sqlite3 mean ± σ | sqlite3 does | target |"
echo "|---|---|---|---|---|---|---|---|"
cat "$SUMMARY"
