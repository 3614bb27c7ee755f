#!/bin/sh
# Compute-node steps benchmark: reconfigure N loopback ssh endpoints of the test bed's scale
# mode with baton's compute-node steps (node.sh: XCATSERVER in xcatinfo and the default route,
# each checked on the node), next to, in the same run:
#   floor  `ssh <node> true` for every endpoint at the same concurrency (xargs -P)
#   pdsh   the same node.sh with the same arguments, `pdsh -R ssh -f FANOUT`
#   baton  `baton agent run-cn-steps`: the fan-out a service node runs for a delegated
#          takeover (the management node's direct fan-out is the same code), one JSON
#          result line per node
#
#   sudo scripts/bench-cn.sh            # build (release), bring the bed up, measure, summary
#
# Environment: ENDPOINTS=1000, FANOUT=64, ROUNDS=3, WARMUP=1, BUILD=0 (reuse the binaries),
# BED=fbench (the scale bed's name), CARGO_TARGET_DIR.
# Needs root (namespaces), cargo, pdsh, python3, openssh-server and -client
# (apt-get install pdsh python3 openssh-server openssh-client).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${ENDPOINTS:-1000}
FANOUT=${FANOUT:-64}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-1}
BED=${BED:-fbench}
for tool in cargo pdsh python3 sshd; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
        { echo "bench-cn: $tool is missing" >&2; exit 2; }
done
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
[ "${BUILD:-1}" = 0 ] || (cd "$ROOT" && cargo build --release -p baton -p testbed)
BATON=$TARGET/release/baton
TB=$TARGET/release/baton-testbed

# The bed's nodes see the host's files except /tmp, /run and /root: the work dir is bound in.
WORK=$(mktemp -d /var/tmp/baton-bench-cn.XXXXXX)
cleanup() { "$TB" down --name "$BED" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
BATON_BIN=$BATON BATON_TESTBED_BINDS=$WORK "$TB" scale --name "$BED" --endpoints "$N"
CFG=$("$TB" status --name "$BED" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["ssh_config"])')
in_bed() { "$TB" exec --name "$BED" scale -- "$@"; }

# The work: node.sh (prelude + ops, as baton sends it) with the same arguments for every
# endpoint: XCATSERVER and the default route re-pointed at "the new SN". (resolv.conf is left
# out: it is rewritten in place, and the endpoints share one file, so concurrent writers would
# race as separate nodes never do. syslog and setupntp restart daemons the scale bed has not.)
cat "$ROOT/crates/steps/src/prelude.sh" "$ROOT/crates/steps/src/node.sh" >"$WORK/node.sh"
python3 - "$CFG" "$N" "$FANOUT" "$WORK" <<'PY'
import json, re, shlex, sys
cfg, n, fanout, work = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
nodes = re.findall(r"^Host (ep\d+)$", open(cfg).read(), re.M)[:n]
assert len(nodes) == n, f"{len(nodes)} endpoints in {cfg}"
open(f"{work}/nodes", "w").write("\n".join(nodes) + "\n")
sn = "127.0.0.1"
ops = ["xcatinfo", "0", sn, "route", "1", sn]
batch = {"protocol": 1, "fanout": fanout, "node_timeout_secs": 120,
         "connect_timeout_secs": 10,
         "nodes": [{"node": h, "ops": ops} for h in nodes]}
json.dump(batch, open(f"{work}/batch.json", "w"))
script = open(f"{work}/node.sh").read()
cmd = " ".join(shlex.quote(a) for a in ["sh", "-c", script, "baton"] + ops)
open(f"{work}/pdsh-cmd", "w").write(cmd)
PY

# One check before measuring: every endpoint reports each op done, for baton and for pdsh.
in_bed env BATON_SSH="ssh -F $CFG" "$BATON" agent run-cn-steps <"$WORK/batch.json" >"$WORK/baton.out"
OK=$(grep -c '"ok"' "$WORK/baton.out" || true)
DONE=$(grep -o 'BATON [0-9] ok' "$WORK/baton.out" | wc -l)
[ "$OK" = "$N" ] && [ "$DONE" = "$((2 * N))" ] ||
    { echo "bench-cn: baton: $OK of $N endpoints ok, $DONE of $((2 * N)) steps done" >&2; grep -v '"stdout":"BATON 0 ok\\nBATON 1 ok\\n"' "$WORK/baton.out" | head -n 3 >&2; exit 1; }
cat >"$WORK/pdsh.sh" <<EOF
#!/bin/sh
exec env PDSH_SSH_ARGS="-F $CFG -x -l%u %h" pdsh -R ssh -f $FANOUT -w ^$WORK/nodes "\$(cat $WORK/pdsh-cmd)"
EOF
chmod 755 "$WORK/pdsh.sh"
in_bed "$WORK/pdsh.sh" >"$WORK/pdsh.out" 2>&1 || true
DONE=$(grep -c ': BATON [0-9] ok$' "$WORK/pdsh.out" || true)
[ "$DONE" = "$((2 * N))" ] || { echo "bench-cn: pdsh: $DONE of $((2 * N)) steps done" >&2; grep -v ': BATON [0-9] ok$' "$WORK/pdsh.out" | head -n 3 >&2; exit 1; }
echo "check: baton and pdsh reconfigured all $N endpoints (every op reported ok)"

# Measure: ROUNDS rounds, each running the three commands one after the other, starting with
# a different one each round (after WARMUP unrecorded rounds). hyperfine would run each command's runs back to back; on a shared machine
# whose load drifts over minutes, interleaving keeps the comparison fair. Besides wall time,
# CPU time: the client's (the command and its children) and the server's (the bed's sshd,
# its per-connection processes and the remote shells, all reaped into its cumulative times).
PID1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"]["scale"]["pid1"])' "$(dirname "$CFG")/state.json")
python3 - "$TB" "$BED" "$PID1" "$ROUNDS" "$WARMUP" "$N" "$FANOUT" "$CFG" "$BATON" "$WORK" <<'PY'
import os, resource, statistics, subprocess, sys, time
tb, bed, pid1, rounds, warmup, n, fanout, cfg, baton, work = sys.argv[1:]
rounds, warmup, n = int(rounds), int(warmup), int(n)
cmds = [
    (f"floor: ssh true x{n} (xargs -P {fanout})",
     f"xargs -P {fanout} -I{{}} ssh -F {cfg} {{}} true < {work}/nodes"),
    (f"baton agent run-cn-steps (fanout {fanout})",
     f"BATON_SSH='ssh -F {cfg}' {baton} agent run-cn-steps < {work}/batch.json > /dev/null"),
    (f"pdsh -R ssh -f {fanout}, same node.sh",
     f"{work}/pdsh.sh > /dev/null 2>&1"),
]
hz = os.sysconf("SC_CLK_TCK")
def server_cpu():
    f = open(f"/proc/{pid1}/stat").read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in f[11:15]) / hz
def client_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
res = {name: [] for name, _ in cmds}
for r in range(warmup + rounds):
    # Each round starts with another command, so none always runs first (or last).
    for name, cmd in cmds[r % 3:] + cmds[:r % 3]:
        s0, c0, t0 = server_cpu(), client_cpu(), time.monotonic()
        subprocess.run([tb, "exec", "--name", bed, "scale", "--", "sh", "-c", cmd], check=True)
        wall, c, s = time.monotonic() - t0, client_cpu() - c0, server_cpu() - s0
        tag = "warm-up" if r < warmup else f"round {r - warmup + 1}"
        print(f"{tag}: {name}: {wall:.1f} s wall, client CPU {c:.1f} s, server CPU {s:.1f} s", flush=True)
        if r >= warmup:
            res[name].append((wall, c, s))
floor = res[cmds[0][0]]
print(f"\n{n} endpoints, fanout {fanout}, {rounds} rounds (mean ± σ; ratio = mean of the per-round ratios)\n")
print("| command | wall | wall vs. floor | CPU client + server | CPU vs. floor | CPU per endpoint |")
print("|---|---|---|---|---|---|")
sd = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0
for name, _ in cmds:
    xs = res[name]
    walls = [x[0] for x in xs]
    cpus = [x[1] + x[2] for x in xs]
    wr = statistics.mean(x[0] / f[0] for x, f in zip(xs, floor))
    cr = statistics.mean((x[1] + x[2]) / (f[1] + f[2]) for x, f in zip(xs, floor))
    print(f"| {name} | {statistics.mean(walls):.1f} ± {sd(walls):.1f} s | {wr:.2f}× "
          f"| {statistics.mean(cpus):.1f} ± {sd(cpus):.1f} s | {cr:.2f}× | {statistics.mean(cpus) / n * 1000:.0f} ms |")
PY
