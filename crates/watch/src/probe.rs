//! Probing service nodes: one ssh session per SN per round runs `ss`, which lists the sockets
//! the SN listens on; each service is checked by its port. The session proves sshd answers and
//! the SN runs commands; the sockets prove the daemons are there. Cheap (one short command) and
//! real (the same ssh path the takeover uses).

use crate::health::Observation;
use remote::fanout::{FanOut, HostResult, Job};
use std::collections::BTreeMap;

/// A service the watcher checks, by the socket its daemon listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// ISC dhcpd or Kea: UDP 67.
    Dhcp,
    /// tftpd: UDP 69.
    Tftp,
    /// chronyd or ntpd: UDP 123.
    Ntp,
    /// rsyslog receiving: UDP or TCP 514.
    Syslog,
}

impl Service {
    pub const ALL: [Service; 4] = [Service::Dhcp, Service::Tftp, Service::Ntp, Service::Syslog];

    pub fn name(self) -> &'static str {
        match self {
            Service::Dhcp => "dhcp",
            Service::Tftp => "tftp",
            Service::Ntp => "ntp",
            Service::Syslog => "syslog",
        }
    }

    pub fn parse(s: &str) -> Result<Service, String> {
        Service::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| format!("unknown service '{s}' (known: dhcp, tftp, ntp, syslog)"))
    }

    /// (protocol, port) pairs any one of which proves the service listens.
    fn sockets(self) -> &'static [(&'static str, u16)] {
        match self {
            Service::Dhcp => &[("udp", 67)],
            Service::Tftp => &[("udp", 69)],
            Service::Ntp => &[("udp", 123)],
            Service::Syslog => &[("udp", 514), ("tcp", 514)],
        }
    }
}

/// The probe of every SN in one round.
pub trait Prober {
    fn probe(&mut self, sns: &[String]) -> BTreeMap<String, Observation>;
}

/// The command run on each SN: listening TCP and UDP sockets, numeric, no header.
pub const SS_ARGS: [&str; 6] = ["ss", "-H", "-l", "-n", "-t", "-u"];

/// (protocol, port) of every listening socket in `ss -H -l -n -t -u` output.
pub fn listening(ss: &str) -> Vec<(String, u16)> {
    ss.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let proto = f.first()?;
            let local = f.get(4)?;
            let port = local.rsplit_once(':')?.1.parse().ok()?;
            Some((proto.to_string(), port))
        })
        .collect()
}

/// The observation for one SN from its ssh result.
pub fn observe(result: &HostResult, services: &[Service]) -> Observation {
    let mut o = Observation::default();
    match result {
        HostResult::Ok { stdout } => {
            o.checks.insert("ssh".into(), true);
            let socks = listening(stdout);
            let mut down = Vec::new();
            for s in services {
                let up = s
                    .sockets()
                    .iter()
                    .any(|(p, port)| socks.iter().any(|(q, n)| q == p && n == port));
                o.checks.insert(s.name().into(), up);
                if !up {
                    down.push(s.name());
                }
            }
            if !down.is_empty() {
                o.error = Some(format!("not listening: {}", down.join(", ")));
            }
        }
        HostResult::Failed { code, stderr, .. } => {
            o.checks.insert("ssh".into(), true);
            o.error = Some(format!("`ss` failed (exit {code}): {}", stderr.trim()));
        }
        HostResult::Unreachable { reason } => {
            o.checks.insert("ssh".into(), false);
            o.error = Some(format!("ssh: {}", reason.trim()));
        }
    }
    o
}

/// Probes over the system ssh client (`BATON_SSH`), all SNs at once.
pub struct SshProber {
    pub fanout: FanOut,
    pub services: Vec<Service>,
}

impl Prober for SshProber {
    fn probe(&mut self, sns: &[String]) -> BTreeMap<String, Observation> {
        let jobs = sns
            .iter()
            .map(|sn| Job {
                host: sn.clone(),
                jump: None,
                args: SS_ARGS.iter().map(|s| s.to_string()).collect(),
                stdin: Vec::new(),
            })
            .collect();
        self.fanout
            .run(jobs, &|_, _| {})
            .into_iter()
            .map(|(sn, r)| {
                let o = observe(&r, &self.services);
                (sn, o)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SS: &str = "\
udp   UNCONN 0      0            0.0.0.0:67         0.0.0.0:*
udp   UNCONN 0      0            0.0.0.0:69         0.0.0.0:*
udp   UNCONN 0      0            0.0.0.0:123        0.0.0.0:*
udp   UNCONN 0      0               [::]:514           [::]:*
tcp   LISTEN 0      128          0.0.0.0:22         0.0.0.0:*
";

    #[test]
    fn ss_output_gives_the_listening_ports() {
        let l = listening(SS);
        assert!(l.contains(&("udp".into(), 514)));
        assert!(l.contains(&("tcp".into(), 22)));
        assert_eq!(l.len(), 5);
        assert!(listening("garbage\n\n").is_empty());
    }

    #[test]
    fn every_service_is_checked_by_its_socket() {
        let ok = observe(&HostResult::Ok { stdout: SS.into() }, &Service::ALL);
        assert!(ok.ok(), "{ok:?}");
        let no_tftp = SS.replace(":69 ", ":6900 ");
        let o = observe(&HostResult::Ok { stdout: no_tftp }, &Service::ALL);
        assert!(!o.ok());
        assert!(!o.checks["tftp"]);
        assert_eq!(o.error.as_deref(), Some("not listening: tftp"));
        let o = observe(
            &HostResult::Unreachable {
                reason: "Connection refused".into(),
            },
            &Service::ALL,
        );
        assert!(!o.checks["ssh"]);
        assert!(!o.ok());
        // Only ssh asked for: the SN answering is enough.
        let o = observe(
            &HostResult::Ok {
                stdout: String::new(),
            },
            &[],
        );
        assert!(o.ok());
    }

    #[test]
    fn service_names() {
        assert_eq!(Service::parse("ntp"), Ok(Service::Ntp));
        assert!(Service::parse("nfs")
            .unwrap_err()
            .contains("unknown service 'nfs'"));
    }
}
