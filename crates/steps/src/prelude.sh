# The common part of baton's remote scripts (node.sh, sn.sh): result lines, atomic writes,
# daemon restarts. Every value arrives as its own argument or on standard input: nothing here
# is evaluated as shell code.
set -u
# The session's own PATH first (a site's commands, AIX's), then the system directories.
PATH=$PATH:/usr/sbin:/usr/bin:/sbin:/bin
umask 022
ok() { echo "BATON $1 ok"; }
fail() { t=$1; shift; printf 'BATON %s fail %s\n' "$t" "$(printf '%s' "$*" | tr '\n' ' ')"; }

# Replace a file's content atomically (same directory, then rename). Shell built-ins where
# they do: every program started costs a node about a millisecond, times thousands of nodes.
install_file() { # path content
  d=${1%/*}; [ -n "$d" ] || d=/
  [ -d "$d" ] || mkdir -p "$d" || return 1
  tmp="$1.baton.$$"
  printf '%s' "$2" > "$tmp" && mv -f "$tmp" "$1"
}

# Does the file have a line that is exactly the given text? (grep -qxF, without a process)
has_line() { # path text
  [ -f "$1" ] || return 1
  while IFS= read -r l || [ -n "$l" ]; do [ "$l" = "$2" ] && return 0; done < "$1"
  return 1
}

# Daemons baton restarted keep their command line (and environment) here, so that one that
# stopped (conserver exits when its last console goes) can be started again the same way.
BATON_STATE=${BATON_STATE:-/var/lib/baton}

save_cmd() { # process pid
  mkdir -p "$BATON_STATE" || return 1
  f="$BATON_STATE/cmd.$1"
  { printf 'env\000-i\000PATH=/usr/sbin:/usr/bin:/sbin:/bin\000'; cat "/proc/$2/environ"; cat "/proc/$2/cmdline"; } > "$f.$$" 2>/dev/null \
    && mv -f "$f.$$" "$f"
}

start_saved() { # process
  f="$BATON_STATE/cmd.$1"
  [ -s "$f" ] || return 1
  (cd / && xargs -0 setsid -f < "$f" >/dev/null 2>&1)
  # Seen twice in a row: under load one pgrep can miss a daemon that is there (measured: seen,
  # then not seen by the next pgrep, then running), so a single miss is not a failure.
  i=0
  while [ $i -lt 50 ]; do
    pgrep -x "$1" >/dev/null 2>&1 && pgrep -x "$1" >/dev/null 2>&1 && return 0
    sleep 0.1; i=$((i+1))
  done
  return 1
}

# Restart a daemon: systemd when it runs; otherwise stop the running process and start it
# again with its own command line and environment.
restart() { # unit process [unit2]
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl restart "$1" >/dev/null 2>&1 && return 0
    [ $# -gt 2 ] && systemctl restart "$3" >/dev/null 2>&1 && return 0
    systemctl restart "$2" >/dev/null 2>&1 && return 0
    echo "systemctl restart $1 failed"; return 1
  fi
  pid=$(pgrep -o -x "$2" 2>/dev/null) || {
    start_saved "$2" && return 0
    echo "$2 is not running"; return 1
  }
  save_cmd "$2" "$pid" || { echo "cannot read the command line of $2"; return 1; }
  kill "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  start_saved "$2" || { echo "$2 did not start again"; return 1; }
}
