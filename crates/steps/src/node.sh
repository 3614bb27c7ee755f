# baton's compute-node step runner. Run as: sh -c "$SCRIPT" baton OP TAG ARGS... [OP TAG ARGS...]
# Every value arrives as its own argument: nothing here is evaluated as shell code.
# Each op prints one line: "BATON <tag> ok" or "BATON <tag> fail <reason>". Each op is
# idempotent and checks its own result.
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
ok() { echo "BATON $1 ok"; }
fail() { t=$1; shift; echo "BATON $t fail $*"; }

# Replace a file's content atomically (same directory, then rename).
install_file() { # path content
  d=$(dirname "$1"); mkdir -p "$d" || return 1
  tmp="$1.baton.$$"
  printf '%s' "$2" > "$tmp" && mv -f "$tmp" "$1"
}

# Restart a daemon: systemd when it runs; otherwise stop the running process and start it
# again with its own command line (pid file and signal).
restart() { # unit process
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl restart "$1" >/dev/null 2>&1 && return 0
    systemctl restart "$2" >/dev/null 2>&1 && return 0
    echo "systemctl restart $1 failed"; return 1
  fi
  pid=$(pgrep -o -x "$2" 2>/dev/null) || { echo "$2 is not running"; return 1; }
  cmdfile="/tmp/.baton-cmdline.$$"
  cp "/proc/$pid/cmdline" "$cmdfile" || { echo "cannot read the command line of $2"; return 1; }
  kill "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  (cd / && xargs -0 setsid -f < "$cmdfile" >/dev/null 2>&1)
  rm -f "$cmdfile"
  i=0
  while ! pgrep -x "$2" >/dev/null 2>&1 && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  pgrep -x "$2" >/dev/null 2>&1 || { echo "$2 did not start again"; return 1; }
}

# Remove xCAT's "# xCAT settings START" ... "END" block from a file, if it is there.
strip_block() { # path
  [ -f "$1" ] || return 0
  awk '/^# xCAT settings START/{s=1;next} /^# xCAT settings END/{s=0;next} !s{print}' "$1"
}

op_xcatinfo() { # tag value
  f=/opt/xcat/xcatinfo
  mkdir -p /opt/xcat || { fail "$1" "cannot create /opt/xcat"; return; }
  cur=""; [ -f $f ] && cur=$(cat $f)
  new=$(printf '%s\n' "$cur" | awk -v v="$2" 'BEGIN{d=0} /^$/{next} /^XCATSERVER=/{print "XCATSERVER=" v; d=1; next} {print} END{if(!d) print "XCATSERVER=" v}')
  install_file $f "$new
" || { fail "$1" "cannot write $f"; return; }
  grep -qx "XCATSERVER=$2" $f && ok "$1" || fail "$1" "$f does not name $2"
}

op_route() { # tag gateway
  out=$(ip route replace default via "$2" 2>&1) || { fail "$1" "ip route replace default via $2: $out"; return; }
  ip route show default | grep -q "via $2 " && ok "$1" || fail "$1" "the default route is not via $2"
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
  grep -qxF "*.* @$2" $f && ok "$1" || fail "$1" "$f does not forward to $2"
}

op_ntp() { # tag server-lines
  f=/etc/chrony/chrony.conf; [ -f $f ] || f=/etc/chrony.conf
  [ -f $f ] || { fail "$1" "no chrony configuration (/etc/chrony/chrony.conf)"; return; }
  rest=$(grep -Ev '^[[:space:]]*(server|pool|peer)[[:space:]]' $f)
  install_file $f "$2$rest
" || { fail "$1" "cannot write $f"; return; }
  why=$(restart chrony chronyd) || { fail "$1" "$why"; return; }
  first=$(printf '%s' "$2" | head -n 1)
  grep -qxF "$first" $f && ok "$1" || fail "$1" "$f lacks '$first'"
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
    route) op_route "$2" "$3"; shift 3 ;;
    syslog) op_syslog "$2" "$3" "$4"; shift 4 ;;
    ntp) op_ntp "$2" "$3"; shift 3 ;;
    resolv) op_resolv "$2" "$3"; shift 3 ;;
    script) op_script "$2" "$3" "$4"; shift 4 ;;
    *) echo "BATON - fail unknown operation $op"; exit 2 ;;
  esac
done
