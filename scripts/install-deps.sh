#!/usr/bin/env bash
# Install the Debian packages the tests and benchmarks need (run as root on Debian 12).
# Daemons are kept from starting at install: the test bed starts its own, inside its
# namespaces. Nothing already running on the machine is touched.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
packages=(
  # building: rusqlite's bundled SQLite and libFuzzer are C/C++
  build-essential pkg-config
  # test bed: nodes, ssh, and the real service daemons
  iproute2 procps psmisc util-linux openssh-server openssh-client
  rsyslog chrony isc-dhcp-server kea-dhcp4-server tftpd-hpa tftp-hpa
  conserver-server conserver-client dnsmasq bind9-dnsutils
  # packet loss on test-bed links (no netem qdisc on this kernel); baton watch's compute-side
  # check pings a service node's compute address from its peers
  nftables iputils-ping
  # --adopt-address: duplicate address detection and gratuitous ARP on the service nodes
  iputils-arping
  # the service-node script edits Kea's JSON with perl's JSON::PP; scripts are linted
  perl shellcheck
  # AIX statelite copies (rsync between service nodes); rnetboot: ipmitool against OpenIPMI's
  # BMC simulator (ipmi_sim)
  rsync ipmitool openipmi
  # benchmarks (scripts/bench-*.sh)
  hyperfine sqlite3 time pdsh
  # database backends: throw-away PostgreSQL and MariaDB servers for the tests and benchmarks
  postgresql mariadb-server
  # packaging: the .deb (dpkg-deb) and the RPM (rpmbuild), checked with man, rpm2cpio, cpio
  dpkg-dev man-db rpm cpio
)

# invoke-rc.d asks policy-rc.d before starting a service; 101 means "not now". Only a file this
# script wrote is removed again.
policy=/usr/sbin/policy-rc.d
wrote_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  wrote_policy=1
fi
cleanup() { if [ "$wrote_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
