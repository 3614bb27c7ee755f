# baton's service-node step runner (prelude.sh comes first). Run as:
#   sh -c "$SCRIPT" baton OP TAG ARGS... [OP TAG ARGS...]
# with the bulk data of every op, in op order, on standard input (each op's argument list says
# how many bytes are its own). Every value arrives as its own argument or as data: nothing is
# evaluated as shell code. Each op writes atomically (temp file + rename), checks the new file
# with the daemon's own check mode before it replaces the old one, reloads the daemon, checks
# the result, and prints "BATON <tag> ok" or "BATON <tag> fail <reason>" (per-node lines use
# the tag "<step>/<node>").

# Work directories of earlier runs killed before their EXIT trap ran: gone once their shell is
# (and they are older than any batch runs), or after a day when they name no shell.
for d in /tmp/baton-sn.*; do
  [ -d "$d" ] && [ -n "$(find "$d" -maxdepth 0 -mmin +30 2>/dev/null)" ] || continue
  p=$(cat "$d/pid" 2>/dev/null) || p=
  case $p in
    '' | *[!0-9]*) [ -n "$(find "$d" -maxdepth 0 -mmin +1440)" ] && rm -rf "$d" ;;
    *) kill -0 "$p" 2>/dev/null || rm -rf "$d" ;;
  esac
done
W=$(mktemp -d /tmp/baton-sn.XXXXXX) || { echo "BATON - fail cannot create a work directory"; exit 2; }
echo $$ > "$W/pid"
trap 'rm -rf "$W"' EXIT
# A signal (the session cut, a kill) still removes the work directory.
trap 'exit 1' HUP INT TERM
# The data stream moves to fd 4: no daemon or tool started below can read it.
exec 4<&0 0</dev/null

# Copy the next N bytes of the data stream to a file (always, so later ops stay aligned).
take() { # file bytes
  if [ "$2" -gt 0 ]; then head -c "$2" <&4 > "$1"; else : > "$1"; fi
  [ "$(wc -c < "$1")" -eq "$2" ]
}

# The lines of a file without xCAT's marked blocks for some nodes.
#   ISC dhcpd: "#xCAT host declaration for X start" ... "#xCAT host declaration for X end"
#   conserver: "#xCAT BEGIN X CONS" ... "#xCAT END X CONS"
strip_marked() { # kind names-file file
  [ -f "$3" ] || return 0
  awk -v kind="$1" -v namesf="$2" '
    BEGIN { while ((getline l < namesf) > 0) { n = split(l, a, /[ \t]+/); for (i = 1; i <= n; i++) if (a[i] != "") del[a[i]] = 1 } }
    kind == "dhcp" && /^#xCAT host declaration for [^ ]+ start$/ && ($5 in del) { skip = $5; next }
    kind == "dhcp" && skip != "" && $0 == "#xCAT host declaration for " skip " end" { skip = ""; next }
    kind == "cons" && /^#xCAT BEGIN [^ ]+ CONS$/ && ($3 in del) { skip = $3; next }
    kind == "cons" && skip != "" && $0 == "#xCAT END " skip " CONS" { skip = ""; next }
    skip == "" { print }' "$3"
}

# Put a new version of a config file in place, keeping the previous one as FILE.baton-old.
replace_conf() { # new conf
  d=$(dirname "$2"); mkdir -p "$d" || return 1
  [ -f "$2" ] && cp -p "$2" "$2.baton-old"
  cp "$1" "$2.baton.$$" && chmod 644 "$2.baton.$$" && mv -f "$2.baton.$$" "$2"
}

tail_of() { tail -n 4 "$1" | tr '\n' ' '; }

# Kea's configuration is JSON (with comments): merged by a small Perl program (Perl and its
# JSON::PP are part of every xCAT service node).
# KEA_PL is kea.pl, set before this file by the management node (steps::sn::SN_SCRIPT).
# shellcheck disable=SC2154
kea_pl() {
  perl -e "$KEA_PL" "$@"
}

# dhcp TAG BACKEND MUST_RUN ISC_CONF KEA_CONF KEYS_LEN ISC_LEN KEA_LEN
#   stdin: KEYS_LEN bytes (line 1: the node names whose entries go; line 2: their MACs and
#   IPs, for Kea), ISC_LEN bytes (host blocks to add), KEA_LEN bytes (a JSON array of Kea
#   reservations to add). BACKEND is isc, kea or auto (what the service node runs).
op_dhcp() {
  tag=$1; be=$2; must=$3; isc=$4; kea=$5
  take "$W/keys" "$6" && take "$W/isc-add" "$7" && take "$W/kea-add" "$8" \
    || { fail "$tag" "short input"; return; }
  if [ "$be" = auto ]; then
    if pgrep -x kea-dhcp4 >/dev/null 2>&1; then be=kea
    elif pgrep -x dhcpd >/dev/null 2>&1; then be=isc
    elif [ -f "$kea" ] && [ ! -f "$isc" ]; then be=kea
    else be=isc; fi
  fi
  head -n 1 "$W/keys" > "$W/names"
  if [ "$be" = kea ]; then
    command -v perl >/dev/null 2>&1 || { fail "$tag" "perl is needed to edit $kea"; return; }
    [ -f "$kea" ] || { fail "$tag" "no Kea configuration $kea"; return; }
    out=$(kea_pl merge "$kea" "$W/keys" "$W/kea-add" "$W/kea.new" 2>&1) || { fail "$tag" "$out"; return; }
    out=$(kea-dhcp4 -t "$W/kea.new" 2>&1) || { fail "$tag" "kea-dhcp4 -t rejects the new $kea: $(printf '%s' "$out" | tail -n 3)"; return; }
    replace_conf "$W/kea.new" "$kea" || { fail "$tag" "cannot write $kea"; return; }
    sock=$(kea_pl socket "$kea" 2>/dev/null)
    if pgrep -x kea-dhcp4 >/dev/null 2>&1; then
      if [ -n "$sock" ] && why=$(kea_pl command "$sock" config-reload 2>&1); then ok "$tag"; return; fi
      why=$(restart kea-dhcp4-server kea-dhcp4 kea-dhcp4) || { fail "$tag" "config-reload and restart of kea-dhcp4 failed: $why"; return; }
      ok "$tag"; return
    fi
    [ "$must" = 1 ] || { ok "$tag"; return; }
    why=$(restart kea-dhcp4-server kea-dhcp4 kea-dhcp4) && ok "$tag" || fail "$tag" "kea-dhcp4 is not running ($kea is written): $why"
    return
  fi
  command -v dhcpd >/dev/null 2>&1 || [ "$must" = 0 ] || { fail "$tag" "dhcpd is not installed"; return; }
  [ -f "$isc" ] || [ "$must" = 1 ] || { ok "$tag"; return; }
  [ -f "$isc" ] || { fail "$tag" "no dhcpd configuration $isc"; return; }
  { strip_marked dhcp "$W/names" "$isc"; cat "$W/isc-add"; } > "$W/dhcpd.new"
  if command -v dhcpd >/dev/null 2>&1; then
    out=$(dhcpd -t -q -cf "$W/dhcpd.new" 2>&1) || { fail "$tag" "dhcpd -t rejects the new $isc: $(printf '%s' "$out" | grep -v '^$' | tail -n 3)"; return; }
  fi
  if ! cmp -s "$W/dhcpd.new" "$isc"; then
    replace_conf "$W/dhcpd.new" "$isc" || { fail "$tag" "cannot write $isc"; return; }
  fi
  if pgrep -x dhcpd >/dev/null 2>&1 || [ "$must" = 1 ]; then
    why=$(restart isc-dhcp-server dhcpd dhcpd) || { fail "$tag" "$why ($isc is written)"; return; }
    # dhcpd reads its files before it detaches: still there a moment later means it took them.
    sleep 0.5
    pgrep -x dhcpd >/dev/null 2>&1 || { fail "$tag" "dhcpd stopped after the restart (see its log)"; return; }
  fi
  # Each added node's block is in the file the daemon reads.
  for n in $(grep '^#xCAT host declaration for [^ ]* start$' "$W/isc-add" | awk '{print $5}'); do
    grep -qx "#xCAT host declaration for $n start" "$isc" || { fail "$tag" "$isc lacks $n"; return; }
  done
  ok "$tag"
}

# Is PID the conserver daemon? Its process name is conserver, and it is not a check run
# (`conserver -S`, which has the same name and lives a moment).
is_conserver_daemon() { # pid
  case "$1" in ''|*[!0-9]*) return 1 ;; esac
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = conserver ] || return 1
  ! tr '\000' '\n' < "/proc/$1/cmdline" 2>/dev/null | grep -qx -- '-[A-Za-z0-9]*S[A-Za-z0-9]*'
}

# The conserver daemon's PID from its pid file (written once it has detached and listens).
conserver_pid_file() {
  if [ -n "${BATON_CONSERVER_PID:-}" ]; then files=$BATON_CONSERVER_PID
  else files="$(conserver -V 2>&1 | sed -n "s/.*default pidfile is .\(.*\)'.*/\1/p") /run/conserver/conserver.pid /var/run/conserver.pid"
  fi
  for f in $files; do
    [ -s "$f" ] || continue
    read -r p < "$f" 2>/dev/null || continue
    is_conserver_daemon "$p" && { echo "$p"; return 0; }
  done
  return 1
}

# The running conserver daemon's PID: from its pid file ($BATON_CONSERVER_PID, else the one
# `conserver -V` says it was built with, else the usual places); without one, the conserver
# process that is neither a check run nor a child of another conserver. Never found by a
# pattern alone, which would also match another run's `conserver -S`.
conserver_pid() {
  conserver_pid_file && return 0
  [ -z "${BATON_CONSERVER_PID:-}" ] || return 1
  for p in $(pgrep -x conserver 2>/dev/null); do
    is_conserver_daemon "$p" || continue
    # This system's own daemon only, not a container's (another PID or mount namespace).
    [ "$(readlink "/proc/$p/ns/pid")" = "$(readlink "/proc/$$/ns/pid")" ] || continue
    [ "$(readlink "/proc/$p/ns/mnt")" = "$(readlink "/proc/$$/ns/mnt")" ] || continue
    pp=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)
    [ "$(cat "/proc/$pp/comm" 2>/dev/null)" = conserver ] && continue
    echo "$p"; return 0
  done
  return 1
}

# cons TAG CONF MUST_RUN KEYS_LEN HEADER_LEN BLOCKS_LEN
#   stdin: the node names whose blocks go, the header of a new file (used when CONF is missing
#   or empty), the console blocks to add.
op_cons() {
  tag=$1; cf=$2; must=$3
  take "$W/cnames" "$4" && take "$W/header" "$5" && take "$W/cons-add" "$6" \
    || { fail "$tag" "short input"; return; }
  if [ -s "$cf" ]; then strip_marked cons "$W/cnames" "$cf" > "$W/cons.new"; else cat "$W/header" > "$W/cons.new"; fi
  cat "$W/cons-add" >> "$W/cons.new"
  consoles=$(grep -c '^[[:space:]]*console[[:space:]]' "$W/cons.new")
  if command -v conserver >/dev/null 2>&1; then
    # conserver looks up each console's master while it checks (no option turns that off):
    # short resolver timeouts keep a dead name server from stretching the check.
    out=$(RES_OPTIONS="timeout:1 attempts:1" conserver -S -C "$W/cons.new" 2>&1)
    if [ $? -ne 0 ]; then
      errs=$(printf '%s\n' "$out" | grep 'ERROR' | grep -v 'no consoles found in configuration file')
      if [ "$consoles" -gt 0 ] || [ -n "$errs" ]; then
        fail "$tag" "conserver -S rejects the new $cf: $(printf '%s' "$out" | grep ERROR | tail -n 3)"; return
      fi
    fi
  elif [ "$must" = 1 ]; then
    fail "$tag" "conserver is not installed"; return
  fi
  if ! cmp -s "$W/cons.new" "$cf"; then
    replace_conf "$W/cons.new" "$cf" || { fail "$tag" "cannot write $cf"; return; }
  fi
  pid=$(conserver_pid)
  if [ -n "$pid" ]; then
    # conserver rereads its configuration on SIGHUP (and exits when no console is left).
    save_cmd conserver "$pid"
    kill -HUP "$pid" || { fail "$tag" "cannot signal conserver ($pid)"; return; }
  elif [ "$consoles" -gt 0 ]; then
    started=1
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && systemctl restart conserver >/dev/null 2>&1; then :
    elif start_saved conserver; then :
    elif [ "$must" = 1 ]; then fail "$tag" "conserver is not running ($cf is written)"; return
    else started=0
    fi
    # Started: wait for the daemon to write its pid file, i.e. to listen (conserver sleeps a
    # moment first), so that the check below talks to it.
    i=0; while [ "$started" = 1 ] && ! conserver_pid_file >/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  fi
  # Verify: conserver runs and lists every added console (when its client can reach it).
  if [ "$consoles" -gt 0 ] && [ -s "$W/cons-add" ] && conserver_pid >/dev/null; then
    want=$(grep '^console ' "$W/cons-add" | awk '{print $2}')
    i=0; missing=$want
    while [ -n "$missing" ] && [ $i -lt 50 ] && command -v console >/dev/null 2>&1; do
      list=$(console -n -M 127.0.0.1 -x 2>/dev/null) || { missing=""; break; }
      missing=""
      for n in $want; do printf '%s\n' "$list" | awk '{print $1}' | grep -qx "$n" || missing="$missing $n"; done
      [ -n "$missing" ] && { sleep 0.1; i=$((i+1)); }
    done
    [ -z "$missing" ] || { fail "$tag" "conserver does not list$missing"; return; }
    conserver_pid >/dev/null || { fail "$tag" "conserver stopped after reading $cf"; return; }
  fi
  ok "$tag"
}

# files TAG DIR LEN
#   stdin: LEN bytes of records, each a line "put TAG PATH BYTES" followed by BYTES of
#   content, or "link TAG PATH TARGET" (symbolic), "hard TAG PATH TARGET" (hard link to
#   DIR/TARGET), "rm TAG PATH". PATHs are relative to DIR. A text many nodes share (their boot
#   files differ by the node's name at most) comes once, "text TAG ID BYTES" and BYTES of it;
#   "puts TAG PATH BYTES ID NODE" writes it with each @@BATON-NODE@@ replaced by NODE, and
#   checks the result has BYTES bytes.
op_files() {
  tag=$1; dir=$2
  take "$W/files" "$3" || { fail "$tag" "short input"; return; }
  exec 3< "$W/files"
  while read -r kind t p a <&3; do
    f="$dir/$p"
    case $kind in
      put)
        mkdir -p "$(dirname "$f")" || { head -c "$a" <&3 >/dev/null; fail "$t" "cannot create $(dirname "$f")"; continue; }
        head -c "$a" <&3 > "$f.baton.$$" && chmod 644 "$f.baton.$$" && mv -f "$f.baton.$$" "$f" \
          && [ "$(wc -c < "$f")" -eq "$a" ] && ok "$t" || { rm -f "$f.baton.$$"; fail "$t" "cannot write $f"; } ;;
      text)
        head -c "$a" <&3 > "$W/text.$p" && [ "$(wc -c < "$W/text.$p")" -eq "$a" ] \
          || fail "$t" "cannot keep a shared text" ;;
      puts)
        rest=${a#* }; id=${rest%% *}; node=${rest#* }; a=${a%% *}
        mkdir -p "$(dirname "$f")" && sed "s/@@BATON-NODE@@/$node/g" "$W/text.$id" > "$f.baton.$$" \
          && chmod 644 "$f.baton.$$" && mv -f "$f.baton.$$" "$f" \
          && [ "$(wc -c < "$f")" -eq "$a" ] && ok "$t" || { rm -f "$f.baton.$$"; fail "$t" "cannot write $f"; } ;;
      link)
        mkdir -p "$(dirname "$f")" && ln -sfn "$a" "$f.baton.$$" && mv -fT "$f.baton.$$" "$f" \
          && [ "$(readlink "$f")" = "$a" ] && ok "$t" || fail "$t" "cannot link $f to $a" ;;
      hard)
        mkdir -p "$(dirname "$f")" && ln -f "$dir/$a" "$f.baton.$$" && mv -fT "$f.baton.$$" "$f" \
          && [ "$f" -ef "$dir/$a" ] && ok "$t" || fail "$t" "cannot link $f to $dir/$a" ;;
      rm)
        rm -f "$f"; [ -e "$f" ] || [ -L "$f" ] && fail "$t" "cannot remove $f" || ok "$t" ;;
      *) fail "$tag" "bad record $kind" ;;
    esac
  done
  exec 3<&-
  ok "$tag"
}

# AIX statelite (xCAT's snmove S2): copy a node's persistent directory DIR/NODE from here (the
# old service node) to the same DIR on the new one, with xCAT's rsync flags.
op_lite() { # tag dir node target
  src="${2%/}/$3"
  [ -d "$src" ] || { fail "$1" "no directory $src on $(hostname)"; return; }
  out=$(rsync -arlHpEAogDz "$src" "$4:$2" 2>&1) \
    && ok "$1" || fail "$1" "rsync $src to $4:$2 failed: $(printf '%s' "$out" | tail -n 2)"
}

# --- Addresses (--adopt-address). A compute address is held as an extra /32 on the interface
# that reaches it; $BATON_STATE/adopted.ADDR (this host adopted it) and yielded.ADDR (this host
# took its own address down for another holder) say which ones are baton's to undo.

# iproute2's ip is there (not on AIX); else the op fails saying so.
need_ip() { # tag
  command -v ip >/dev/null 2>&1 && return 0
  fail "$1" "$(hostname) has no ip command (iproute2): --adopt-address needs Linux service nodes"; return 1
}

# The interface ADDR is on-link through here ("" when it is reached through a gateway).
link_of() { # addr
  ip -o -4 route get "$1" 2>/dev/null | awk '/ via /{exit} {for (i = 1; i < NF; i++) if ($i == "dev") { print $(i+1); exit }}'
}

# The interface holding ADDR here, and ADDR with its prefix ("" when not held).
held() { # addr
  ip -o -4 addr show 2>/dev/null | awk -v a="$1" '{split($4, p, "/"); if (p[1] == a) { print $2, $4; exit }}'
}

# Does another host answer ARP for ADDR on DEV? Prints who ("10.0.0.1 [aa:bb:...]"); exit 0
# when one does, 1 when none does (1 s of silence), 2 when it cannot tell.
answered() { # dev addr
  command -v arping >/dev/null 2>&1 || { echo "arping is not installed on $(hostname) (iputils-arping)"; return 2; }
  out=$(arping -D -c 1 -w 1 -I "$1" "$2" 2>&1)
  who=$(printf '%s\n' "$out" | sed -n 's/^Unicast reply from \([^ ]* \[[^]]*\]\).*/\1/p' | head -n 1)
  [ -n "$who" ] && { echo "$who"; return 0; }
  printf '%s\n' "$out" | grep -q '^Received 0 response' && return 1
  printf '%s' "$out" | tail -n 2 | tr '\n' ' '; return 2
}

# dad TAG ADDR: is ADDR free on the network that reaches it from here? ok, or who holds it.
op_dad() {
  need_ip "$1" || return
  dev=$(link_of "$2")
  [ -n "$dev" ] || { fail "$1" "no interface of $(hostname) is on the network of $2"; return; }
  who=$(answered "$dev" "$2"); rc=$?
  case $rc in
    1) ok "$1" ;;
    0) fail "$1" "answered by $who" ;;
    *) fail "$1" "cannot check: $who" ;;
  esac
}

# Tell the neighbours ADDR is here now (gratuitous ARP, three times over two seconds, in the
# background: service does not wait for it).
announce() { # dev addr
  (arping -q -U -c 3 -I "$1" -s "$2" "$2" >/dev/null 2>&1 &)
}

# Do the services the nodes use answer on ADDR? Each port that has a listener here must have
# one on the wildcard or on ADDR (syslog 514, NTP 123, DNS 53, TFTP 69 over UDP; syslog 514 and
# HTTP 80 over TCP, for boot images). Prints the ports that do not, as udp/53 or tcp/80.
deaf_ports() { # addr
  { ss -lnu 2>/dev/null | sed 's/^/udp /'; ss -lnt 2>/dev/null | sed 's/^/tcp /'; } | awk -v a="$1" '
    $2 == "State" || $2 == "Netid" { next }
    { n = split($5, p, ":"); port = p[n]; host = substr($5, 1, length($5) - length(port) - 1)
      key = $1 "/" port
      if (key != "udp/514" && key != "udp/123" && key != "udp/53" && key != "udp/69" && key != "tcp/514" && key != "tcp/80") next
      seen[key] = 1
      if (host == "0.0.0.0" || host == "*" || host == "[::]" || host == a) ok[key] = 1 }
    END { sep = ""; for (k in seen) if (!(k in ok)) { printf "%s%s", sep, k; sep = " " } }'
}

# adopt TAG ADDR MODE: hold ADDR here. MODE check: only when no other host answers ARP for it
# (checked first); fenced: its owner was powered off and confirmed: held at once, checked just
# after, and let go again if another host answers after all. A failed adoption holds nothing.
op_adopt() {
  need_ip "$1" || return
  tag=$1; a=$2; mode=$3
  h=$(held "$a")
  if [ -n "$h" ]; then announce "${h%% *}" "$a"; ok "$tag"; return; fi
  dev=$(link_of "$a")
  [ -n "$dev" ] || { fail "$tag" "no interface of $(hostname) is on the network of $a"; return; }
  if [ "$mode" != fenced ]; then
    who=$(answered "$dev" "$a"); rc=$?
    [ $rc -eq 1 ] || { fail "$tag" "not adopted: $a $( [ $rc -eq 0 ] && echo "is answered by $who (its owner may still be up)" || echo "cannot be checked: $who")"; return; }
  fi
  mkdir -p "$BATON_STATE" && echo "$dev" > "$BATON_STATE/adopted.$a" || { fail "$tag" "cannot write $BATON_STATE"; return; }
  out=$(ip addr add "$a/32" dev "$dev" 2>&1) || { rm -f "$BATON_STATE/adopted.$a"; fail "$tag" "ip addr add $a/32 dev $dev: $out"; return; }
  announce "$dev" "$a"
  if [ "$mode" = fenced ]; then
    who=$(answered "$dev" "$a"); rc=$?
    if [ $rc -eq 0 ]; then
      ip addr del "$a/32" dev "$dev" 2>/dev/null && rm -f "$BATON_STATE/adopted.$a"
      fail "$tag" "let go again: $a is also answered by $who (the fence did not take its owner down)"; return
    fi
  fi
  # A DNS server with a socket per address (BIND) picks the new one up by itself (9.16+, at
  # once) or on `rndc scan` (older): asked, then given a second.
  deaf=$(deaf_ports "$a")
  case " $deaf " in *" udp/53 "*) command -v rndc >/dev/null 2>&1 && rndc scan >/dev/null 2>&1 ;; esac
  i=0
  while [ -n "$deaf" ] && [ $i -lt 10 ]; do sleep 0.1; deaf=$(deaf_ports "$a"); i=$((i+1)); done
  # Half a service is not an adoption: let go, so that a failed adoption never holds it.
  if [ -n "$deaf" ]; then
    ip addr del "$a/32" dev "$dev" 2>/dev/null && rm -f "$BATON_STATE/adopted.$a"
    fail "$tag" "not adopted: $deaf listen only on other addresses here, so they would not answer on $a (restart or rebind them, then baton resume)"; return
  fi
  ok "$tag"
}

# release TAG ADDR: let go of an address this host adopted (and only such an address).
op_release() {
  need_ip "$1" || return
  tag=$1; a=$2
  h=$(held "$a")
  if [ -z "$h" ]; then rm -f "$BATON_STATE/adopted.$a"; ok "$tag"; return; fi
  dev=${h%% *}; cidr=${h#* }
  [ -f "$BATON_STATE/adopted.$a" ] || { fail "$tag" "$cidr on $dev was not adopted by baton here: left alone"; return; }
  out=$(ip addr del "$cidr" dev "$dev" 2>&1) || { fail "$tag" "ip addr del $cidr dev $dev: $out"; return; }
  rm -f "$BATON_STATE/adopted.$a"; ok "$tag"
}

# reclaim TAG ADDR HOLDER: on the address's owner, back: while another host answers ARP for it,
# it is taken down here (remembered in yielded.ADDR); once none does, an address taken down
# that way is brought back and announced.
op_reclaim() {
  need_ip "$1" || return
  tag=$1; a=$2; holder=$3
  h=$(held "$a")
  if [ -n "$h" ]; then
    dev=${h%% *}; cidr=${h#* }
    who=$(answered "$dev" "$a"); rc=$?
    case $rc in
      1) rm -f "$BATON_STATE/yielded.$a"; ok "$tag"; return ;;
      2) fail "$tag" "cannot tell whether $holder still holds $a: $who"; return ;;
    esac
    mkdir -p "$BATON_STATE" && echo "$dev $cidr" > "$BATON_STATE/yielded.$a" || { fail "$tag" "cannot write $BATON_STATE"; return; }
    ip addr del "$cidr" dev "$dev" 2>/dev/null
    fail "$tag" "$a is still held by $holder ($who): taken down here until it lets go (baton resume brings it back)"; return
  fi
  [ -f "$BATON_STATE/yielded.$a" ] || { ok "$tag"; return; }
  read -r dev cidr < "$BATON_STATE/yielded.$a"
  who=$(answered "$dev" "$a"); rc=$?
  [ $rc -eq 1 ] || { fail "$tag" "$a is still answered by $who: kept down here"; return; }
  out=$(ip addr add "$cidr" dev "$dev" 2>&1) || { fail "$tag" "ip addr add $cidr dev $dev: $out"; return; }
  announce "$dev" "$a"; rm -f "$BATON_STATE/yielded.$a"; ok "$tag"
}

# When each op starts (and the end), for the management node's debug log; a `date` without
# %N prints something else, which the management node ignores.
stamp() { echo "BATON-TIME $1 $2 $(date +%s%N 2>/dev/null)"; }
while [ $# -gt 0 ]; do
  stamp "$1" "$2"
  case $1 in
    lite) op_lite "$2" "$3" "$4" "$5"; shift 5 ;;
    dhcp) op_dhcp "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9"; shift 9 ;;
    cons) op_cons "$2" "$3" "$4" "$5" "$6" "$7"; shift 7 ;;
    files) op_files "$2" "$3" "$4"; shift 4 ;;
    dad) op_dad "$2" "$3"; shift 3 ;;
    adopt) op_adopt "$2" "$3" "$4"; shift 4 ;;
    release) op_release "$2" "$3"; shift 3 ;;
    reclaim) op_reclaim "$2" "$3" "$4"; shift 4 ;;
    *) echo "BATON - fail unknown operation $1"; exit 2 ;;
  esac
done
stamp end -
echo "BATON end"
