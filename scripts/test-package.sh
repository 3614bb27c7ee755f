#!/usr/bin/env bash
# CI step: build the packages from the debug build, install the .deb with dpkg, check what an
# administrator would use (both commands, the man pages, the completions, the systemd unit),
# check the RPM's file list and binaries, then remove the package again. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

if dpkg -s baton >/dev/null 2>&1; then
  echo "test-package.sh: a baton package is already installed; not touching it" >&2
  exit 1
fi
mapfile -t built < <(PROFILE=debug scripts/package.sh)
deb=${built[0]}
rpm=${built[1]:-}
trap 'dpkg -P baton >/dev/null 2>&1 || true' EXIT

dpkg -i "$deb" >/dev/null
/usr/bin/baton --version
# Whole outputs first: grep -q closes the pipe early, and pipefail would count that.
help=$(/usr/bin/snmove -h)
grep -q -- '--dest' <<<"$help"
page=$(MANPAGER=cat MANWIDTH=100 man snmove)
grep -q 'EXAMPLES' <<<"$page"
page=$(MANPAGER=cat MANWIDTH=100 man baton-watch)
grep -q 'EXAMPLES' <<<"$page"
test -s /usr/share/bash-completion/completions/baton
# xCAT's names run baton's commands: lsdef through the link answers as lsdef does.
v=$(/usr/lib/baton/xcat-bin/lsdef -v)
grep -q '^lsdef: Version' <<<"$v"
test -s /usr/share/zsh/vendor-completions/_snmove
test -s /usr/share/fish/vendor_completions.d/baton.fish
test "$(stat -c %a /etc/baton/watch.conf)" = 600
bash -n /usr/share/bash-completion/completions/baton
if command -v systemd-analyze >/dev/null; then
  # The unit's EnvironmentFile and ExecStart must exist for verify: both come with the package.
  systemd-analyze verify /lib/systemd/system/baton-watch.service
fi
# Shipped disabled: nothing links the unit into a target.
if ls /etc/systemd/system/*.wants/baton-watch.service 2>/dev/null; then
  echo "test-package.sh: baton-watch is enabled after install" >&2
  exit 1
fi
echo "deb: installed and checked"

if [ -n "$rpm" ]; then
  rpm -qpl "$rpm" 2>/dev/null | grep -qx /usr/bin/snmove
  rpm -qpl "$rpm" 2>/dev/null | grep -qx /lib/systemd/system/baton-watch.service
  x=$(mktemp -d)
  (cd "$x" && rpm2cpio "$rpm" | cpio -idm --quiet)
  "$x/usr/bin/baton" --version >/dev/null
  rm -rf "$x"
  echo "rpm: file list and binaries checked"
fi
