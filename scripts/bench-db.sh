#!/bin/sh
# Cluster-database benchmark: baton on a 100,000-node cluster with 500 rack groups, next to the
# sqlite3 command-line tool doing the equivalent raw work on the same file, in the same run.
#
#   scripts/bench-db.sh                 # build (release), create the cluster, measure, summarize
#
# Environment:
#   NODES=100000 RACKS=500   size of the sample cluster (baton quickstart --nodes --racks)
#   RUNS=10 WARMUP=2         hyperfine runs and warm-up runs per command
#   BUILD=0                  use the baton binary already built
#   CARGO_TARGET_DIR         where cargo builds (default: target/ in the repository)
#   BENCH_DIR                scratch directory (default: a new one under /tmp, removed at exit)
#
# Needs: cargo, hyperfine, sqlite3, GNU time (/usr/bin/time):
#   apt-get install hyperfine sqlite3 time
# Prints hyperfine's tables, then one summary table (Markdown) as in BENCHMARKS.md: wall time
# (mean ± σ), CPU time (user + system, mean), peak RSS (GNU time, one run). Wall time depends on
# what else the machine runs: the load average is printed before and after.
# It measures and reports; it never fails on a missed target.

set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODES=${NODES:-100000}
RACKS=${RACKS:-500}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
TARGET_MS=1000
TARGET_KB=$((200 * 1024))

for tool in cargo hyperfine sqlite3 /usr/bin/time; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "bench-db: $tool is missing (apt-get install hyperfine sqlite3 time)" >&2
        exit 2
    }
done

if [ -z "${BENCH_DIR:-}" ]; then
    BENCH_DIR=$(mktemp -d /tmp/baton-bench.XXXXXX)
    trap 'rm -rf "$BENCH_DIR"' EXIT INT TERM
fi
mkdir -p "$BENCH_DIR"

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
if [ "${BUILD:-1}" != 0 ]; then
    echo "== building baton (release)"
    (cd "$ROOT" && cargo build --release -p baton)
fi
BATON=$TARGET/release/baton
[ -x "$BATON" ] || { echo "bench-db: no binary at $BATON" >&2; exit 2; }

DB=$BENCH_DIR/cluster.db
RESTORE_DB=$BENCH_DIR/restore.db
BASE_DB=$BENCH_DIR/restore-sqlite3.db
QS_DB=$BENCH_DIR/quickstart.db
CSV=$BENCH_DIR/nodelist.csv
SUMMARY=$BENCH_DIR/summary.md
: >"$SUMMARY"

# Node names and groups as SampleSpec makes them (cn + at least 4 digits, rack + at least 2).
width() { w=${#1}; [ "$w" -lt "$2" ] && w=$2; echo "$w"; }
NW=$(width "$NODES" 4)
RW=$(width "$RACKS" 2)
node() { printf "cn%0${NW}d" "$1"; }
RACK=$(printf "rack%0${RW}d" $((42 > RACKS ? RACKS : 42)))
HALF=$((NODES / 2))
RANGE="$(node 1)-$(node "$HALF")"
LS_FIRST=$((NODES / 10 + 1))
LS_LAST=$((NODES / 10 + NODES / 10))
LSDEF_RANGE="$(node "$LS_FIRST")-$(node "$LS_LAST")"
# Names ending in 0: a tenth of the nodes.
REGEX="^cn[0-9]{$((NW - 1))}0\$"

echo "== machine: $(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -r)"
echo "== sqlite3 $(sqlite3 --version | cut -d' ' -f1), $(hyperfine --version)"
echo "== load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== creating the cluster: baton quickstart --no-demo --nodes $NODES --racks $RACKS"
/usr/bin/time -f "quickstart: %e s elapsed, %M KB peak RSS" \
    "$BATON" --db "sqlite:$DB" quickstart --no-demo --nodes "$NODES" --racks "$RACKS" >/dev/null
"$BATON" --db "sqlite:$DB" tabdump nodelist >"$CSV"
cp "$DB" "$RESTORE_DB"
cp "$DB" "$BASE_DB"
echo "   $(($(wc -l <"$CSV") - 1)) nodelist rows in $CSV"

# The lsdef baseline reads the rows of every table with a node column (what lsdef's attribute
# tables are keyed by) for the nodes and for every group: the raw reads, without inheritance.
LSDEF_SQL=$BENCH_DIR/lsdef.sql
{
    echo "CREATE TEMP TABLE k AS SELECT groupname AS key FROM nodegroup UNION SELECT 'all';"
    sqlite3 "$DB" "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p
        WHERE m.type = 'table' AND p.name = 'node' ORDER BY m.name" |
        while read -r t; do
            echo "SELECT * FROM $t WHERE node BETWEEN '$(node "$LS_FIRST")' AND '$(node "$LS_LAST")' OR node IN (SELECT key FROM k);"
        done
} >"$LSDEF_SQL"

# peak RSS (KB) of one run of a command
peak_kb() {
    /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1
}

# bench NAME BATON-COMMAND BASELINE-COMMAND BASELINE-DESCRIPTION
# Both commands are strings run by hyperfine without a shell (-N).
bench() {
    name=$1 cmd=$2 base=$3 basedesc=$4
    md=$BENCH_DIR/$name.md
    json=$BENCH_DIR/$name.json
    echo
    echo "== $name"
    hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-markdown "$md" \
        --export-json "$json" -n "baton" "$cmd" -n "sqlite3" "$base"
    # shellcheck disable=SC2086 # the command is split into words on purpose
    kb=$(peak_kb $cmd)
    # hyperfine's Markdown rows: | name | mean ± σ | min | max | relative |  (unit in the header)
    unit=$(sed -n 's/^| Command | Mean \[\([a-z]*\)\].*/\1/p' "$md")
    row() { awk -F'|' -v n="\`$1\`" '$2 ~ n { gsub(/^ +| +$/, "", $3); print $3 }' "$md"; }
    bmean=$(row baton)
    smean=$(row sqlite3)
    # CPU time (user + system, mean) of baton then of sqlite3, from hyperfine's JSON
    cpu=$(awk -F'[:,]' '/"user":/ { u = $2 } /"system":/ { printf "%d ", (u + $2) * 1000 }' "$json")
    ms=$(echo "$bmean" | awk -v u="$unit" '{ v = $1; if (u == "s") v *= 1000; printf "%d", v }')
    verdict=met
    [ "$ms" -lt "$TARGET_MS" ] || verdict="MISSED (time)"
    [ "$kb" -lt "$TARGET_KB" ] || verdict="MISSED (memory)"
    printf '| %s | `%s` | %s %s | %s ms | %d MB | %s %s | %s ms | %s | %s |\n' "$name" \
        "$(echo "$cmd" | sed "s|$BATON|baton|; s|--db sqlite:[^ ]* ||; s|$BENCH_DIR/||")" \
        "$bmean" "$unit" "${cpu%% *}" $(((kb + 512) / 1024)) "$smean" "$unit" \
        "$(echo "$cpu" | cut -d' ' -f2)" "$basedesc" "$verdict" >>"$SUMMARY"
}

B="$BATON --db sqlite:$DB"
S="sqlite3 $DB"
set -f # the commands are split into words below, never globbed

bench "nodels all" "$B nodels all" \
    "$S \"SELECT node FROM nodelist ORDER BY node\"" "SELECT node ... ORDER BY node"
bench "nodels group" "$B nodels $RACK" \
    "$S \"SELECT node FROM nodelist WHERE ','||groups||',' LIKE '%,$RACK,%' ORDER BY node\"" \
    "LIKE on groups"
bench "nodels range" "$B nodels $RANGE" \
    "$S \"SELECT node FROM nodelist WHERE node BETWEEN '$(node 1)' AND '$(node "$HALF")' ORDER BY node\"" \
    "BETWEEN"
bench "nodels regex" "$B nodels /$REGEX" \
    "$S \"SELECT node FROM nodelist WHERE node REGEXP '$REGEX' ORDER BY node\"" "REGEXP"
bench "tabrestore" "$BATON --db sqlite:$RESTORE_DB tabrestore $CSV" \
    "sqlite3 $BASE_DB BEGIN \"DELETE FROM nodelist\" \".import --csv --skip 1 $CSV nodelist\" COMMIT" \
    "DELETE + .import"
bench "lsdef" "$B lsdef $LSDEF_RANGE" \
    "$S \".read $LSDEF_SQL\"" "the rows of every node table, no inheritance"

echo
echo "== quickstart (replacing the $NODES-node sample)"
hyperfine -N --warmup 1 --runs 3 \
    "$BATON --db sqlite:$QS_DB quickstart --no-demo --nodes $NODES --racks $RACKS"
echo "   peak RSS: $(peak_kb "$BATON" --db "sqlite:$QS_DB" quickstart --no-demo --nodes "$NODES" --racks "$RACKS") KB"

echo
echo "== load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== summary: $NODES nodes, $RACKS groups; target: under 1 s and under 200 MB each"
echo
echo "| case | command | baton mean ± σ | baton CPU | baton peak RSS | sqlite3 mean ± σ | sqlite3 CPU | sqlite3 does | target |"
echo "|---|---|---|---|---|---|---|---|---|"
cat "$SUMMARY"
