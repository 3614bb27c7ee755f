# baton's compute-node step runner. Run as: sh -c "$SCRIPT" baton OP TAG ARGS... [OP TAG ARGS...]
# Every value arrives as its own argument: nothing here is evaluated as shell code.
# (prelude.sh comes first: ok, fail, install_file, restart.)
# Each op prints one line: "BATON <tag> ok" or "BATON <tag> fail <reason>". Each op is
# idempotent and checks its own result.
# Remove xCAT's "# xCAT settings START" ... "END" block from a file, if it is there.
strip_block() { # path
  [ -f "$1" ] || return 0
  awk '/^# xCAT settings START/{s=1;next} /^# xCAT settings END/{s=0;next} !s{print}' "$1"
}

op_xcatinfo() { # tag value [file]
  f=${3:-/opt/xcat/xcatinfo}
  [ -d "${f%/*}" ] || mkdir -p "${f%/*}" || { fail "$1" "cannot create ${f%/*}"; return; }
  new="XCATSERVER=$2"
  [ -f "$f" ] && new=$(awk -v v="$2" 'BEGIN{d=0} /^$/{next} /^XCATSERVER=/{print "XCATSERVER=" v; d=1; next} {print} END{if(!d) print "XCATSERVER=" v}' "$f")
  install_file $f "$new
" || { fail "$1" "cannot write $f"; return; }
  has_line $f "XCATSERVER=$2" && ok "$1" || fail "$1" "$f does not name $2"
}

op_route() { # tag gateway
  out=$(ip route replace default via "$2" 2>&1) || { fail "$1" "ip route replace default via $2: $out"; return; }
  case " $(ip route show default) " in
    *" via $2 "*) ok "$1" ;;
    *) fail "$1" "the default route is not via $2" ;;
  esac
}

# AIX (§5.2). netstat, route, niminit and bootlist are AIX's own commands, found in PATH.

# Default gateways in `netstat -rn`: the Gateway column of the "default" rows.
aix_defaults() {
  netstat -rn 2>/dev/null | awk '$1 == "default" { print $2 }'
}

op_aixroute() { # tag old-gateway new-gateway
  defs=$(aix_defaults) || { fail "$1" "netstat -rn failed"; return; }
  if printf '%s\n' "$defs" | grep -qxF "$3"; then ok "$1"; return; fi
  # Only when the old service node is the only default gateway: any other is the site's.
  if [ -z "$2" ] || [ "$defs" != "$2" ]; then ok "$1"; return; fi
  out=$(route change default "$3" 2>&1) || { fail "$1" "route change default $3: $out"; return; }
  aix_defaults | grep -qxF "$3" && ok "$1" || fail "$1" "netstat -rn shows no default route via $3"
}

op_niminit() { # tag node master
  f=/etc/niminfo
  if [ -f $f ] && grep -q "NIM_MASTER_HOSTNAME=$3\$" $f; then ok "$1"; return; fi
  # niminit registers anew only without an old niminfo; keep it to put back on failure.
  [ -f $f ] && { mv -f $f $f.baton-old || { fail "$1" "cannot move $f aside"; return; }; }
  out=$(niminit -a "name=$2" -a "master=$3" 2>&1) || {
    [ -f $f.baton-old ] && mv -f $f.baton-old $f
    fail "$1" "niminit -a name=$2 -a master=$3: $(printf '%s' "$out" | tail -n 2)"; return
  }
  grep -q "NIM_MASTER_HOSTNAME=$3\$" $f 2>/dev/null && ok "$1" || fail "$1" "$f does not name $3 after niminit"
}

op_bootlist() { # tag node-ip gateway bserver
  # The interface carrying the node's address (column 4 of netstat -in), as its boot device.
  ifc=$(netstat -in 2>/dev/null | awk -v ip="$2" '$4 == ip { print $1; exit }')
  [ -n "$ifc" ] || { fail "$1" "no interface with address $2 in netstat -in"; return; }
  case $ifc in
    hf*) dev=hfi${ifc#hf} ;;
    en*) dev=ent${ifc#en} ;;
    et*) dev=ent${ifc#et} ;;
    *) fail "$1" "cannot map interface $ifc to a boot device"; return ;;
  esac
  if [ -n "$3" ]; then
    out=$(bootlist -m normal "$dev" "gateway=$3" "bserver=$4" "client=$2" 2>&1)
  else
    out=$(bootlist -m normal "$dev" "bserver=$4" "client=$2" 2>&1)
  fi || { fail "$1" "bootlist -m normal $dev: $out"; return; }
  bootlist -m normal -o 2>/dev/null | head -n 1 | grep -q "^$dev.*bserver=$4" && ok "$1" \
    || fail "$1" "bootlist -m normal -o does not start with $dev bserver=$4"
}

op_syslog() { # tag master block
  f=/etc/rsyslog.d/remote.conf
  [ -d /etc/rsyslog.d ] || { fail "$1" "no /etc/rsyslog.d (rsyslog is not installed)"; return; }
  if [ -f /etc/rsyslog.conf ] && grep -q '^# xCAT settings START' /etc/rsyslog.conf; then
    install_file /etc/rsyslog.conf "$(strip_block /etc/rsyslog.conf)
" || { fail "$1" "cannot write /etc/rsyslog.conf"; return; }
  fi
  rest=$(strip_block $f)
  if [ -n "$rest" ]; then content="$rest
$3"; else content="$3"; fi
  install_file $f "$content" || { fail "$1" "cannot write $f"; return; }
  why=$(restart rsyslog rsyslogd) || { fail "$1" "$why"; return; }
  has_line $f "*.* @$2" && ok "$1" || fail "$1" "$f does not forward to $2"
}

op_ntp() { # tag server-lines
  f=/etc/chrony/chrony.conf; [ -f $f ] || f=/etc/chrony.conf
  [ -f $f ] || { fail "$1" "no chrony configuration (/etc/chrony/chrony.conf)"; return; }
  rest=$(grep -Ev '^[[:space:]]*(server|pool|peer)[[:space:]]' $f)
  install_file $f "$2$rest
" || { fail "$1" "cannot write $f"; return; }
  why=$(restart chrony chronyd) || { fail "$1" "$why"; return; }
  first=$(printf '%s' "$2" | head -n 1)
  has_line $f "$first" && ok "$1" || fail "$1" "$f lacks '$first'"
}

op_resolv() { # tag content
  # Truncate and write, as mkresolvconf does: works on a bind-mounted resolv.conf too.
  printf '%s' "$2" > /etc/resolv.conf || { fail "$1" "cannot write /etc/resolv.conf"; return; }
  [ "$(cat /etc/resolv.conf)
" = "$2" ] && ok "$1" || fail "$1" "/etc/resolv.conf was not written"
}

op_script() { # tag name length; the script's bytes come next on standard input
  mkdir -p /xcatpost || { fail "$1" "cannot create /xcatpost"; return; }
  head -c "$3" > "/xcatpost/$2" && chmod 755 "/xcatpost/$2" || { fail "$1" "cannot write /xcatpost/$2"; return; }
  out=$(cd /xcatpost && "./$2" 2>&1) && ok "$1" || fail "$1" "$2 exited $?: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
}

while [ $# -gt 0 ]; do
  op=$1
  case $op in
    env) export "$2=$3"; shift 3 ;;
    xcatinfo) op_xcatinfo "$2" "$3"; shift 3 ;;
    aixinfo) op_xcatinfo "$2" "$3" /etc/xcatinfo; shift 3 ;;
    aixroute) op_aixroute "$2" "$3" "$4"; shift 4 ;;
    niminit) op_niminit "$2" "$3" "$4"; shift 4 ;;
    bootlist) op_bootlist "$2" "$3" "$4" "$5"; shift 5 ;;
    route) op_route "$2" "$3"; shift 3 ;;
    syslog) op_syslog "$2" "$3" "$4"; shift 4 ;;
    ntp) op_ntp "$2" "$3"; shift 3 ;;
    resolv) op_resolv "$2" "$3"; shift 3 ;;
    script) op_script "$2" "$3" "$4"; shift 4 ;;
    *) echo "BATON - fail unknown operation $op"; exit 2 ;;
  esac
done
