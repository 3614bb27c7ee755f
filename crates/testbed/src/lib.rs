//! # testbed: a cluster in a box
//!
//! A multi-host xCAT-like cluster built from Linux namespaces on one machine, with real service
//! daemons, for baton's end-to-end tests, benchmarks and demos. It is a separate crate and
//! binary (`baton-testbed`); nothing of it is in the product binary's path.
//!
//! ## Topology
//!
//! ```text
//! ns bt-<bed>-sw : bridges br-mgmt and br-cn (the root namespace gets no link or address)
//! ns bt-<bed>-mn : eth0 10.B.0.1/24                              (management net only)
//! ns bt-<bed>-snK: eth0 10.B.0.(10+K)/24, eth1 10.B.16.(10+K)/20  (ip_forward=1)
//! ns bt-<bed>-cnI: eth0 10.B.(17+(I-1)/250).((I-1)%250+1)/20, default via its primary SN
//! ```
//!
//! `B` is derived from the bed name (or set with `--octet`); beds never share a link, so two
//! beds never collide even with equal `B`. Each node is also in its own mount, UTS and PID
//! namespace: overlay `/etc /opt /var` (upper dirs in `<state>/nodes/<node>/{etc,opt,var}.up`,
//! readable from the host), private tmpfs `/run /tmp /root /dev`, its own sysfs, and the state dir
//! bound back in. SNs also get a private `/tftpboot` (bound from `<state>/nodes/snK/tftpboot`).
//! Every node's PID 1 is its own sshd (key auth only). The state dir
//! (`/run/baton-testbed/<bed>`, or `$BATON_TESTBED_ROOT/<bed>`) is a tmpfs that `up` mounts and
//! `down` unmounts.
//!
//! Service nodes run rsyslogd (UDP+TCP 514 receiver), chronyd (server, `-x`), ISC dhcpd or Kea
//! (reservations for the CNs whose primary SN they are, next-server = their compute address,
//! OMAPI on 7911 / Kea control socket), tftpd-hpa (`/tftpboot` with an xnba boot file per CN),
//! conserver (a console per CN, exec of a stand-in console program) and dnsmasq (DNS for the
//! cluster domain). Compute nodes run rsyslogd (forwarding `*.* @snA-eth1`) and chronyd
//! (`server snA-eth1`), and carry `resolv.conf`, `/opt/xcat/xcatinfo` and a default route via
//! their SN: the state an xCAT deployment leaves. See [`Bed::daemons`] for the exact command
//! lines and pid files.
//!
//! ## How the product reaches the nodes
//!
//! Nothing is reachable from the root namespace. The product runs **inside mn**:
//! `baton-testbed exec mn -- baton --db sqlite:<state>/baton.db snmove ...` (or
//! [`Bed::command`]`("mn", ...)`). There it uses `ssh -F <state>/ssh_config NODE ...`: SNs
//! directly on the management net, CNs with `ProxyJump <primary SN>` (mn is not on the compute
//! net); after a takeover, `ssh -J sn2 cn1` (a command-line `-J` overrides the config). Host-key
//! checking is on (`StrictHostKeyChecking yes`, `<state>/ssh/known_hosts` lists every node under
//! its name, FQDN, addresses and, for SNs, the `snK-eth1` alias). The same config is root's
//! `~/.ssh/config` inside every node, so a plain `ssh sn2` (what baton runs by default) works
//! too. `/etc/hosts` in every node resolves all names. Host paths other than the state dir are visible in nodes unless they are
//! under `/tmp`, `/run` or `/root`; bind those in with [`Config::binds`] or
//! `BATON_TESTBED_BINDS`.
//!
//! ## Cluster DB
//!
//! `up` writes tabrestore CSVs to `<state>/db/` ([`db`] documents every row) and, with a baton
//! binary ([`Config::baton_bin`], env `BATON_BIN`, CLI `--baton`), loads them into
//! `sqlite:<state>/baton.db` ([`Bed::db_url`]).
//!
//! ## Library use
//!
//! ```no_run
//! use testbed::{Bed, Config, Dhcp};
//! if let Err(why) = testbed::require_root_and_daemons() {
//!     eprintln!("SKIPPED: {why}");
//!     return;
//! }
//! let mut bed = Bed::up_guarded(Config::new("mytest", 2, 4).dhcp(Dhcp::Isc)).unwrap();
//! assert!(bed.probe_syslog("cn1", "sn1").unwrap());
//! let offer = bed.probe_dhcp("cn1").unwrap();
//! assert_eq!(offer.next_server, bed.compute_ip("sn1").unwrap());
//! bed.kill_node("sn1").unwrap();
//! assert!(bed.probe_ntp("cn1").is_err());
//! bed.revive("sn1").unwrap();
//! // dropped: torn down
//! ```
//!
//! Probes that speak a protocol (DHCP, TFTP, DNS, NTP) run on a thread that has entered the
//! node's network namespace with `setns(2)`: plain library calls, no helper binary.
//!
//! ## Teardown
//!
//! [`Bed::down`] / [`cleanup`] kill only processes living in the bed's network namespaces (named
//! `bt-<bed>-*`, or recorded by inode in the state file), delete the namespaces and the state
//! dir. It works on the leftovers of a crashed run whose state file is missing or partial.

#![warn(missing_docs)]

pub mod bed;
pub mod db;
pub mod plan;
pub mod probes;
pub mod render;
pub mod sys;

pub use bed::{
    cleanup, cleanup_in, list_beds, state_root, Bed, BedGuard, Config, Daemon, DownReport, Kind,
    State,
};
pub use plan::{Dhcp, NodeInfo, Plan, Role};
pub use probes::{DhcpOffer, DnsAnswer, NtpReply};

use std::path::Path;

/// Programs the bed needs, with the Debian package that ships each.
pub const REQUIRED_PROGRAMS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("unshare", "util-linux"),
    ("nsenter", "util-linux"),
    ("logger", "bsdutils"),
    ("sshd", "openssh-server"),
    ("ssh", "openssh-client"),
    ("ssh-keygen", "openssh-client"),
    ("rsyslogd", "rsyslog"),
    ("chronyd", "chrony"),
    ("chronyc", "chrony"),
    ("in.tftpd", "tftpd-hpa"),
    ("conserver", "conserver-server"),
    ("console", "conserver-client"),
    ("dnsmasq", "dnsmasq-base"),
];

fn find_program(name: &str) -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .any(|d| Path::new(d).join(name).is_file());
    found
}

fn have_caps() -> Result<(), String> {
    if unsafe { libc::geteuid() } != 0 {
        return Err("not root (the test bed needs root: network, mount and PID namespaces)".into());
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    // CAP_NET_ADMIN (12), CAP_SYS_ADMIN (21)
    if eff & (1 << 12) == 0 || eff & (1 << 21) == 0 {
        return Err(
            "root but without CAP_NET_ADMIN/CAP_SYS_ADMIN (unprivileged container?)".into(),
        );
    }
    Ok(())
}

/// Checks that this process can build a bed: root with CAP_SYS_ADMIN and CAP_NET_ADMIN, and
/// every daemon installed (both ISC dhcpd and Kea). Tests call it first and, on `Err(reason)`,
/// print `SKIPPED: <reason>` to stderr and return.
pub fn require_root_and_daemons() -> Result<(), String> {
    require_for(&[Dhcp::Isc, Dhcp::Kea])
}

/// Like [`require_root_and_daemons`] for beds using only the given DHCP servers.
pub fn require_for(dhcp: &[Dhcp]) -> Result<(), String> {
    have_caps()?;
    let mut missing: Vec<String> = vec![];
    let mut progs: Vec<(&str, &str)> = REQUIRED_PROGRAMS.to_vec();
    for d in dhcp {
        progs.push(match d {
            Dhcp::Isc => ("dhcpd", "isc-dhcp-server"),
            Dhcp::Kea => ("kea-dhcp4", "kea-dhcp4-server"),
        });
    }
    for (p, pkg) in progs {
        if !find_program(p) {
            missing.push(format!("{p} (package {pkg})"));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("missing programs: {}", missing.join(", ")))
    }
}

/// Reports a skipped test loudly: `*** SKIPPED: <test>: <reason> ***` written straight to the
/// process's stderr, so that the test harness's output capture does not hide it.
pub fn report_skip(test: &str, reason: &str) {
    use std::io::Write;
    let msg = format!("\n*** SKIPPED: {test}: {reason} ***\n");
    let _ = std::io::stderr().lock().write_all(msg.as_bytes());
}

/// For tests: returns from the calling function, after reporting `SKIPPED: <test>: <reason>`
/// ([`report_skip`]), unless [`require_root_and_daemons`] passes.
#[macro_export]
macro_rules! require_or_skip {
    () => {
        if let Err(why) = $crate::require_root_and_daemons() {
            fn here() {}
            let name = ::std::any::type_name_of_val(&here);
            $crate::report_skip(name.strip_suffix("::here").unwrap_or(name), &why);
            return;
        }
    };
}

/// Writes the bed's cluster DB as tabrestore CSV files into `dir` (one `<table>.csv` per table);
/// returns the files. `up` already does this into `<state>/db`.
pub fn write_db_csv(bed: &Bed, dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let st = bed.state();
    let tables = match st.kind {
        Kind::Cluster => db::tables(&st.plan, &st.omapi_secret),
        Kind::Scale => db::scale_tables(&st.endpoints),
    };
    db::write_tables(&tables, dir)
}
