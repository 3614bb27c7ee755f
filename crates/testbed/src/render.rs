//! Text of every file the bed puts into its nodes: the state an xCAT deployment leaves behind.
//!
//! Pure functions; [`crate::bed`] writes their output into each node's overlay upper dirs before
//! the node starts. Each daemon config is checked by the real daemon's check mode in the tests.

use crate::plan::{NodeInfo, Plan, COMPUTE_MASK, COMPUTE_PREFIX};
use std::net::Ipv4Addr;

/// TCP port of conserver on the service nodes (Debian's default).
pub const CONSERVER_PORT: u16 = 782;
/// Name of the DHCP OMAPI key (xCAT's).
pub const OMAPI_KEY_NAME: &str = "xcat_key";
/// xCAT console method the bed's `nodehm.cons` names; the SNs carry a stand-in for it.
pub const CONS_METHOD: &str = "ipmi";
/// Path of the stand-in console program on the service nodes.
pub const CONS_PROGRAM: &str = "/opt/xcat/share/xcat/cons/ipmi";
/// The osimage-like name written in boot files.
pub const OSIMAGE: &str = "debian12-x86_64-netboot-compute";

/// The compute-facing name of a CN's primary SN as stored in `noderes.xcatmaster` (`sn1-eth1`).
pub fn xcatmaster_of(cn: &NodeInfo) -> String {
    format!("{}-eth1", cn.primary_sn().unwrap_or("sn1"))
}

/// The `/etc/hosts` of every node.
pub fn hosts(plan: &Plan) -> String {
    format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\n# cluster {} (written by baton-testbed, xCAT makehosts style)\n{}",
        plan.name,
        plan.hosts_lines()
    )
}

/// `rsyslog.conf` derived from the host's: `imklog` commented out (one kernel-log reader is
/// enough), and on receivers the `imudp`/`imtcp` lines uncommented the way xCAT's `syslog`
/// postscript does on a service node.
pub fn rsyslog_conf(host_conf: &str, receiver: bool) -> String {
    let mut out = String::new();
    let (mut udp, mut tcp) = (false, false);
    for line in host_conf.lines() {
        let t = line.trim_start();
        if t.starts_with("module(load=\"imklog\")") || t.starts_with("$ModLoad imklog") {
            out.push('#');
            out.push_str(line);
        } else if receiver
            && (t.starts_with("#module(load=\"imudp\")")
                || t.starts_with("#input(type=\"imudp\"")
                || t.starts_with("#module(load=\"imtcp\")")
                || t.starts_with("#input(type=\"imtcp\""))
        {
            udp |= t.contains("imudp");
            tcp |= t.contains("imtcp");
            out.push_str(t.trim_start_matches('#'));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    if host_conf.trim().is_empty() {
        out.push_str("module(load=\"imuxsock\")\n$IncludeConfig /etc/rsyslog.d/*.conf\n*.*;auth,authpriv.none -/var/log/syslog\n");
    }
    if receiver && !udp {
        out.push_str("module(load=\"imudp\")\ninput(type=\"imudp\" port=\"514\")\n");
    }
    if receiver && !tcp {
        out.push_str("module(load=\"imtcp\")\ninput(type=\"imtcp\" port=\"514\")\n");
    }
    out
}

/// The compute node's `/etc/rsyslog.d/remote.conf`, as xCAT's `syslog` postscript writes it.
pub fn rsyslog_remote(master: &str) -> String {
    format!(
        "# xCAT settings START\n# Entries between the START and END lines will be replaced on the next xCAT install or update\n*.* @{master}\n# xCAT settings END\n"
    )
}

/// `chrony.conf` as xCAT's `setupntp` writes it, less `rtcsync` and `leapsectz` (chronyd runs
/// with `-x` here and must never touch the host clock). `servers` empty gives a pure server
/// (`local stratum 10`).
pub fn chrony_conf(servers: &[&str]) -> String {
    let mut s = String::new();
    for srv in servers {
        s.push_str(&format!("server {srv} iburst\n"));
    }
    s.push_str(
        "driftfile /var/lib/chrony/chrony.drift\nmakestep 1.0 3\nallow\nlocal stratum 10\nkeyfile /etc/chrony/chrony.keys\nlogdir /var/log/chrony\n",
    );
    s
}

/// `/etc/resolv.conf` as xCAT's `mkresolvconf` writes it.
pub fn resolv_conf(domain: &str, nameserver: Ipv4Addr) -> String {
    format!("search {domain}\nnameserver {nameserver}\n")
}

/// `/opt/xcat/xcatinfo` as xcatdsklspost leaves it.
pub fn xcatinfo(master: &str, node: &str) -> String {
    format!(
        "XCATSERVER={master}\nHTTPPORT=80\nUSEFLOWCONTROL=NO\nNODE={node}\nINSTALLDIR=/install\n"
    )
}

/// Path of a CN's boot file under the SN's `/tftpboot` (xCAT's xnba layout).
pub fn boot_file_path(cn: &str) -> String {
    format!("xcat/xnba/nodes/{cn}")
}

/// The xnba (iPXE) boot file xCAT's nodeset writes for a netboot node; `server` is the serving
/// SN's compute address, which appears in the kernel command line.
pub fn boot_file(cn: &str, server: Ipv4Addr) -> String {
    format!(
        "#!gpxe\n#netboot {OSIMAGE}\nimgfetch -n kernel http://${{next-server}}:80/tftpboot/xcat/osimage/{OSIMAGE}/kernel\nimgload kernel\nimgargs kernel imgurl=http://{server}:80//install/netboot/debian12/x86_64/compute/rootimg.cpio.gz XCAT={server}:3001 NODE={cn} FC=0 BOOTIF=01-${{netX/mac:hexhyp}}\nimgfetch -n initrd http://${{next-server}}:80/tftpboot/xcat/osimage/{OSIMAGE}/initrd-stateless.gz\nimgexec kernel\n"
    )
}

/// ISC dhcpd.conf of a service node: an xCAT-style header (OMAPI on 7911 with `xcat_key`), the
/// compute subnet with the SN as next-server, router, log, NTP and DNS server, and one static
/// host declaration per compute node the SN serves.
pub fn dhcpd_conf(plan: &Plan, sn: &NodeInfo, omapi_secret: &str) -> String {
    let me = sn.compute_ip.expect("SN has a compute address");
    let net = crate::plan::compute_net(plan.octet);
    let d = &plan.domain;
    let mut s = format!(
        "#xCAT generated dhcp configuration (baton-testbed, for {sn})\n\
option conf-file code 209 = text;\n\
option space gpxe;\n\
option gpxe-encap-opts code 175 = encapsulate gpxe;\n\
option gpxe.bus-id code 177 = string;\n\
option gpxe.no-pxedhcp code 176 = unsigned integer 8;\n\
option user-class-identifier code 77 = string;\n\
option tcode code 101 = text;\n\
option iscsi-initiator-iqn code 203 = string;\n\
option client-architecture code 93 = unsigned integer 16;\n\
option www-server code 114 = ip-address;\n\
ddns-update-style none;\n\
ignore client-updates;\n\
option gpxe.no-pxedhcp 1;\n\
omapi-port 7911;\n\
key {OMAPI_KEY_NAME} {{\n  algorithm hmac-md5;\n  secret \"{omapi_secret}\";\n}};\n\
omapi-key {OMAPI_KEY_NAME};\n\
\n\
shared-network eth1 {{\n\
  subnet {net} netmask {COMPUTE_MASK} {{\n\
    authoritative;\n\
    max-lease-time 43200;\n\
    min-lease-time 43200;\n\
    default-lease-time 43200;\n\
    option routers {me};\n\
    next-server {me};\n\
    option log-servers {me};\n\
    option ntp-servers {me};\n\
    option domain-name \"{d}\";\n\
    option domain-name-servers {me};\n\
    option domain-search \"{d}\";\n\
    if option user-class-identifier = \"xNBA\" {{\n\
      filename = \"http://{me}:80/tftpboot/xcat/xnba/nets/{net}_{COMPUTE_PREFIX}\";\n\
    }} else {{\n\
      filename = \"xcat/xnba.kpxe\";\n\
    }}\n\
  }} # {net}/{COMPUTE_MASK} subnet_end\n\
}} # eth1 nic_end\n",
        sn = sn.name
    );
    for cn in plan.cns_of(&sn.name) {
        let (mac, ip) = (
            cn.compute_mac.as_deref().unwrap_or(""),
            cn.compute_ip.unwrap(),
        );
        let n = &cn.name;
        s.push_str(&format!(
            "#xCAT host declaration for {n} start\n\
host {n} {{\n\
  hardware ethernet {mac};\n\
  fixed-address {ip};\n\
  option host-name \"{n}\";\n\
  next-server {me};\n\
  if option user-class-identifier = \"xNBA\" {{\n\
    filename = \"http://{me}:80/tftpboot/{bf}\";\n\
  }} else {{\n\
    filename = \"xcat/xnba.kpxe\";\n\
  }}\n\
}}\n\
#xCAT host declaration for {n} end\n",
            bf = boot_file_path(n)
        ));
    }
    s
}

/// Path of Kea's control socket inside a service node.
pub const KEA_SOCKET: &str = "/run/kea/kea4-ctrl-socket";

/// Kea `kea-dhcp4.conf` of a service node: the compute subnet (no pool) with one reservation per
/// compute node the SN serves, next-server = the SN, and a control socket for `config-reload`.
pub fn kea_conf(plan: &Plan, sn: &NodeInfo) -> String {
    use serde_json::json;
    let me = sn.compute_ip.expect("SN has a compute address").to_string();
    let net = crate::plan::compute_net(plan.octet);
    let reservations: Vec<_> = plan
        .cns_of(&sn.name)
        .map(|cn| {
            json!({
                "hw-address": cn.compute_mac,
                "ip-address": cn.compute_ip.unwrap().to_string(),
                "hostname": cn.name,
                "next-server": me,
                "boot-file-name": "xcat/xnba.kpxe",
            })
        })
        .collect();
    let v = json!({
        "Dhcp4": {
            "interfaces-config": { "interfaces": ["eth1"] },
            "control-socket": { "socket-type": "unix", "socket-name": KEA_SOCKET },
            "lease-database": { "type": "memfile", "persist": true,
                                "name": "/var/lib/kea/kea-leases4.csv", "lfc-interval": 0 },
            "valid-lifetime": 43200,
            "subnet4": [{
                "id": 1,
                "subnet": format!("{net}/{COMPUTE_PREFIX}"),
                "interface": "eth1",
                "next-server": me,
                "option-data": [
                    { "name": "routers", "data": me },
                    { "name": "domain-name-servers", "data": me },
                    { "name": "ntp-servers", "data": me },
                    { "name": "log-servers", "data": me },
                    { "name": "domain-name", "data": plan.domain },
                ],
                "reservations": reservations,
            }],
            "loggers": [{
                "name": "kea-dhcp4",
                "output_options": [{ "output": "/var/log/kea-dhcp4.log" }],
                "severity": "INFO",
            }],
        }
    });
    serde_json::to_string_pretty(&v).unwrap() + "\n"
}

/// dnsmasq config of a service node: DNS only, for the cluster domain, from the node's
/// `/etc/hosts`; `baton-tb-server.<domain>` TXT names the answering SN.
pub fn dnsmasq_conf(plan: &Plan, sn: &NodeInfo) -> String {
    let d = &plan.domain;
    format!(
        "# baton-testbed: DNS for the cluster domain on {sn} (dnsmasq, DNS only)\n\
port=53\n\
no-resolv\n\
no-poll\n\
domain-needed\n\
bogus-priv\n\
domain={d}\n\
expand-hosts\n\
local=/{d}/\n\
txt-record=baton-tb-server.{d},\"{sn}\"\n\
user=root\n\
pid-file=/run/dnsmasq.pid\n\
log-facility=/var/log/dnsmasq.log\n",
        sn = sn.name
    )
}

/// `/etc/conserver.cf` of a service node in the layout of xCAT's makeconservercf (no SSL): an
/// `access` block, `default *`, and one `console` block per compute node whose
/// `nodehm.conserver` is this SN, exec'ing the stand-in console program.
pub fn conserver_cf(plan: &Plan, sn: &NodeInfo) -> String {
    let mut s = String::from(
        "#generated by xCAT makeconservercf (baton-testbed)\n\
default cyclades { type host; portbase 7000; portinc 1; }\n\
default mrv { type host; portbase 2000; portinc 100; }\n\
#xCAT BEGIN ACCESS\n",
    );
    s.push_str(&format!(
        "access * {{\n  trusted 127.0.0.1;\n  trusted {};\n  trusted {},{};\n}}\n",
        plan.mn().mgmt_ip.unwrap(),
        sn.mgmt_ip.unwrap(),
        sn.compute_ip.unwrap()
    ));
    s.push_str(
        "#xCAT END ACCESS\n#xCAT BEGIN DEFAULTS\ndefault * {\n  logfile /var/log/consoles/&;\n  timestamp 1lab;\n  rw *;\n  master localhost;\n}\n#xCAT END DEFAULTS\n",
    );
    for cn in plan.cns_of(&sn.name) {
        s.push_str(&console_block(&cn.name));
    }
    s
}

/// One xCAT console block.
pub fn console_block(node: &str) -> String {
    format!("#xCAT BEGIN {node} CONS\nconsole {node} {{\n  type exec;\n  exec {CONS_PROGRAM} {node};\n}}\n#xCAT END {node} CONS\n")
}

/// The stand-in console program (what `nodehm.cons=ipmi` runs on the conserver host).
pub fn cons_program() -> &'static str {
    "#!/bin/sh\n# baton-testbed stand-in for an xCAT console method: says who serves the console, then echoes.\necho \"baton-testbed console of $1 served by $(hostname)\"\nexec cat\n"
}

/// `sshd_config` of a node.
pub fn sshd_config(host_key: &str, authorized_keys: &str, extra: &str) -> String {
    format!(
        "# baton-testbed node sshd\n\
ListenAddress 0.0.0.0\n\
HostKey {host_key}\n\
PidFile /run/sshd.pid\n\
AuthorizedKeysFile {authorized_keys}\n\
PermitRootLogin prohibit-password\n\
PermitUserEnvironment PATH\n\
PubkeyAuthentication yes\n\
PasswordAuthentication no\n\
KbdInteractiveAuthentication no\n\
UsePAM no\n\
StrictModes no\n\
UseDNS no\n\
PrintMotd no\n\
PrintLastLog no\n\
MaxStartups 1000:30:2000\n\
MaxSessions 100\n\
LogLevel ERROR\n\
Subsystem sftp /usr/lib/openssh/sftp-server\n\
{extra}"
    )
}

/// Quotes a word for `/bin/sh`.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Standard base64 (for the OMAPI secret).
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn rsyslog_receiver_and_forwarder() {
        let host = "module(load=\"imuxsock\")\nmodule(load=\"imklog\")   # kernel\n#module(load=\"imudp\")\n#input(type=\"imudp\" port=\"514\")\n#module(load=\"imtcp\")\n#input(type=\"imtcp\" port=\"514\")\n";
        let r = rsyslog_conf(host, true);
        assert!(r.contains("\n#module(load=\"imklog\")"));
        assert!(r.contains("\nmodule(load=\"imudp\")\ninput(type=\"imudp\" port=\"514\")\n"));
        assert!(r.contains("\nmodule(load=\"imtcp\")\n"));
        let c = rsyslog_conf(host, false);
        assert!(c.contains("#module(load=\"imudp\")"));
        assert!(rsyslog_remote("sn1-eth1").contains("\n*.* @sn1-eth1\n"));
    }

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("abc"), "abc");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn dhcp_configs_name_the_sn() {
        let p = Plan::new("tb", 120, 2, 4, "cluster.test").unwrap();
        let sn1 = p.node("sn1").unwrap();
        let c = dhcpd_conf(&p, sn1, "c2VjcmV0");
        assert!(c.contains("next-server 10.120.16.11;"));
        assert!(c.contains("host cn1 {"));
        assert!(c.contains("host cn3 {"));
        assert!(!c.contains("host cn2 {"));
        let k = kea_conf(&p, sn1);
        let v: serde_json::Value = serde_json::from_str(&k).unwrap();
        let res = &v["Dhcp4"]["subnet4"][0]["reservations"];
        assert_eq!(res.as_array().unwrap().len(), 2);
        assert_eq!(res[0]["next-server"], "10.120.16.11");
        let cf = conserver_cf(&p, p.node("sn2").unwrap());
        assert!(cf.contains("console cn2 {") && cf.contains("console cn4 {"));
        assert!(!cf.contains("console cn1 {"));
        assert!(
            boot_file("cn1", "10.120.16.11".parse().unwrap()).contains("XCAT=10.120.16.11:3001")
        );
    }
}
