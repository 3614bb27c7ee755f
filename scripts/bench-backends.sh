#!/usr/bin/env bash
# Backend benchmark: `baton snmove -s sn1 -D sn2-eth1 -i` on clusters of 10,000 and 100,000
# nodes on every backend, side by side in one run: embedded SQLite (the reference), xCAT's
# SQLite directory, PostgreSQL and MariaDB. Also times `baton migrate` from the embedded file
# into each backend (a site moving to a server).
#
#   scripts/bench-backends.sh                # build (release), start servers, measure, summary
#
# Environment: SIZES="10000 100000", RUNS=3, BUILD=0 (reuse the binary), CARGO_TARGET_DIR,
# BACKENDS="sqlite xcat-sqlite postgres mysql", BENCH_DIR (scratch; default a new directory
# under /tmp, removed at exit).
# Needs cargo, hyperfine, and Debian's postgresql and mariadb-server packages (throw-away
# servers are started here: temp data dirs, free loopback ports, stopped at exit; settings are
# the packages' defaults, durability included, max_allowed_packet too: the journal entry of a
# 100,000-node move is a few megabytes since nodes moved alike are stored once). Run as root
# (postgres then runs as the `postgres` user) or as a user who may run both servers.
#
# The sample cluster: `baton quickstart --nodes N --racks 10`, then every rack group made
# primary on sn1 (servicenode=sn1,sn2, xcatmaster, tftpserver, nfsserver, monserver,
# conserver), so the move takes every compute node. Every measured run starts from the same
# data: a copy of the file (SQLite) or `baton migrate --force` from it (the other backends),
# in hyperfine's --prepare, outside the measured time. --offline plans from the addresses in
# the database; BATON_SSH=false makes the service-node steps fail at once (they are not what
# is measured here), so the runs exit 4 and hyperfine ignores the status (-i).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZES=${SIZES:-"10000 100000"}
RUNS=${RUNS:-3}
BACKENDS=${BACKENDS:-"sqlite xcat-sqlite postgres mysql"}
for tool in cargo hyperfine; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench-backends: $tool is missing" >&2; exit 2; }
done
if [ -z "${BENCH_DIR:-}" ]; then
    BENCH_DIR=$(mktemp -d /tmp/baton-bench-backends.XXXXXX)
    REMOVE_DIR=1
fi
mkdir -p "$BENCH_DIR"
chmod 755 "$BENCH_DIR"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
[ "${BUILD:-1}" = 0 ] || (cd "$ROOT" && cargo build --release -p baton)
BATON=$TARGET/release/baton
PW=bench-$$-pw

PG_DATA= ; PG_CTL= ; MY_PID=
cleanup() {
    if [ -n "$PG_CTL" ]; then as_pg "$PG_CTL" -D "$PG_DATA" -m fast stop >/dev/null 2>&1 || true; fi
    if [ -n "$MY_PID" ]; then kill "$MY_PID" 2>/dev/null || true; wait "$MY_PID" 2>/dev/null || true; fi
    if [ -n "${REMOVE_DIR:-}" ]; then rm -rf "$BENCH_DIR"; fi
}
trap cleanup EXIT INT TERM

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
}

want() { case " $BACKENDS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if want postgres; then
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -x "$PGBIN/initdb" ] || { echo "bench-backends: apt-get install postgresql" >&2; exit 2; }
    D=$BENCH_DIR/pg; mkdir -p "$D"; echo "$PW" >"$D/pw"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$D"
    PG_DATA=$D/data; PG_CTL=$PGBIN/pg_ctl
    as_pg "$PGBIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --pwfile="$D/pw" -E UTF8 --locale=C >/dev/null
    PG_PORT=$(free_port)
    as_pg "$PG_CTL" -D "$PG_DATA" -l "$D/log" -w \
        -o "-p $PG_PORT -k $D -c listen_addresses=127.0.0.1 -c shared_buffers=256MB" start >/dev/null
    as_pg "$PGBIN/psql" -h "$D" -p "$PG_PORT" -U postgres -qc 'CREATE DATABASE xcatdb' >/dev/null
    PG_URL="postgres://postgres:$PW@127.0.0.1:$PG_PORT/xcatdb"
fi

if want mysql; then
    command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] \
        || { echo "bench-backends: apt-get install mariadb-server" >&2; exit 2; }
    D=$BENCH_DIR/my; mkdir -p "$D"
    USER_OPT=(); [ "$(id -u)" = 0 ] && USER_OPT=(--user=root)
    mariadb-install-db --no-defaults --datadir="$D/data" "${USER_OPT[@]}" \
        --auth-root-authentication-method=normal --skip-test-db >/dev/null 2>&1
    MY_PORT=$(free_port)
    /usr/sbin/mariadbd --no-defaults --datadir="$D/data" --port="$MY_PORT" --bind-address=127.0.0.1 \
        --socket="$D/sock" --pid-file="$D/pid" --log-error="$D/err" "${USER_OPT[@]}" \
        --skip-log-bin --innodb-buffer-pool-size=512M &
    MY_PID=$!
    for _ in $(seq 300); do
        mariadb --socket="$D/sock" -u root -e 'SELECT 1' >/dev/null 2>&1 && break
        sleep 0.2
    done
    mariadb --socket="$D/sock" -u root -e "CREATE USER 'baton'@'%' IDENTIFIED BY '$PW';
        GRANT ALL PRIVILEGES ON *.* TO 'baton'@'%'; CREATE DATABASE xcatdb;"
    MY_URL="mysql://baton:$PW@127.0.0.1:$MY_PORT/xcatdb"
fi

url_of() {
    case $1 in
        sqlite) echo "sqlite:$RUN_DB" ;;
        xcat-sqlite) echo "xcat-sqlite:$BENCH_DIR/xcat" ;;
        postgres) echo "$PG_URL" ;;
        mysql) echo "$MY_URL" ;;
    esac
}

SUMMARY=$BENCH_DIR/summary.md
{
    printf '| nodes | backend | snmove -s sn1 -D sn2-eth1 -i | vs. embedded SQLite | migrate from SQLite |\n'
    printf '|---|---|---|---|---|\n'
} >"$SUMMARY"

# mean ± stddev in ms, and the raw mean in s, from a hyperfine CSV export (first data row).
ms() { awk -F, 'NR==2 { printf "%.0f ± %.0f ms", $2*1000, $3*1000 }' "$1"; }
mean() { awk -F, 'NR==2 { print $2 }' "$1"; }

export BATON_SSH=false
for N in $SIZES; do
    D=$BENCH_DIR/$N; mkdir -p "$D"
    BASE=$D/base.db
    RUN_DB=$D/run.db
    echo "== $N nodes: building the cluster"
    BATON_DB=sqlite:$BASE "$BATON" quickstart --no-demo --nodes "$N" --racks 10 >/dev/null
    for r in 01 02 03 04 05 06 07 08 09 10; do
        BATON_DB=sqlite:$BASE "$BATON" chdef -t group "rack$r" servicenode=sn1,sn2 xcatmaster=sn1-eth1 \
            tftpserver=sn1-eth1 nfsserver=sn1-eth1 monserver=sn1,sn1-eth1 conserver=sn1 >/dev/null
    done
    REF=
    for B in $BACKENDS; do
        URL=$(url_of "$B")
        if [ "$B" = sqlite ]; then
            PREP="rm -f '$RUN_DB'* && cp '$BASE' '$RUN_DB' && if [ -f '$BASE-wal' ]; then cp '$BASE-wal' '$RUN_DB-wal'; fi"
            MIG="-"
        else
            PREP="'$BATON' migrate --from 'sqlite:$BASE' --to '$URL' --force >/dev/null"
            hyperfine -N --runs 1 --export-csv "$D/migrate-$B.csv" \
                "$BATON migrate --from sqlite:$BASE --to $URL --force" >/dev/null
            MIG=$(ms "$D/migrate-$B.csv")
        fi
        echo "-- $N nodes, $B"
        hyperfine -i --runs "$RUNS" --prepare "$PREP" --export-csv "$D/snmove-$B.csv" \
            --command-name "snmove ($B)" \
            "BATON_DB='$URL' '$BATON' snmove -s sn1 -D sn2-eth1 -i --offline --yes >/dev/null 2>&1" \
            | sed -e "s/$PW/***/g"
        # hyperfine ignores the exit status (the SN steps fail on purpose): check that the last
        # run really moved every node (a journal row over max_allowed_packet would not).
        MOVED=$(BATON_DB=$URL "$BATON" nodels compute noderes.servicenode | grep -c ': sn2,sn1$' || true)
        [ "$MOVED" = "$N" ] || { echo "bench-backends: $B: only $MOVED of $N nodes moved" >&2; exit 1; }
        M=$(mean "$D/snmove-$B.csv")
        [ "$B" = sqlite ] && REF=$M
        RATIO=$(awk -v a="$M" -v b="${REF:-$M}" 'BEGIN { printf "%.1f×", a / b }')
        printf '| %s | %s | %s | %s | %s |\n' "$N" "$B" "$(ms "$D/snmove-$B.csv")" "$RATIO" "$MIG" >>"$SUMMARY"
    done
done
echo
cat "$SUMMARY"
