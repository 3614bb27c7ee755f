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
    /// Each SN's compute-facing addresses, for the compute-side checks (none: no such check).
    fn set_compute(&mut self, _compute: BTreeMap<String, Vec<String>>) {}
}

/// Run on each SN after `ss`: the state of its own compute interfaces (the addresses before
/// `--`) and a ping of each peer's compute address (after it), all at once; for a peer marked
/// `+` (the management node could not reach it last round) also a TCP connection to its sshd
/// there. Without `ping` it says so and gives no verdict on its peers.
pub const COMPUTE_SCRIPT: &str = r#"ss -H -l -n -t -u
ip -o -4 addr show 2>/dev/null | awk '{ split($4, a, "/"); print "BATON-ADDR", a[1] }'
own=1
command -v ping >/dev/null 2>&1 || echo "BATON-NOPING"
for a in "$@"; do
  if [ "$a" = -- ]; then own=0; continue; fi
  sshd=0
  case $a in +*) a=${a#+}; sshd=1 ;; esac
  if [ "$own" = 1 ]; then
    ifc=$(ip -o addr show to "$a" 2>/dev/null | awk '{print $2; exit}')
    [ -n "$ifc" ] && echo "BATON-LINK $a $(cat "/sys/class/net/$ifc/operstate" 2>/dev/null || echo unknown)"
  elif command -v ping >/dev/null 2>&1; then
    ( if ping -c1 -W1 "$a" >/dev/null 2>&1; then echo "BATON-PING $a ok"; else echo "BATON-PING $a fail"; fi
      if [ "$sshd" = 1 ] && command -v bash >/dev/null 2>&1; then
        if timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/22"' "$a" 2>/dev/null; then
          echo "BATON-SSHD $a ok"; else echo "BATON-SSHD $a fail"; fi
      fi ) &
  fi
done
wait
"#;

/// The compute-side lines of a probe's output into `o`.
fn compute_lines(stdout: &str, o: &mut Observation) {
    for l in stdout.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        match f.as_slice() {
            ["BATON-LINK", a, state] => {
                o.links.insert(a.to_string(), state.to_string());
            }
            ["BATON-PING", a, r] => {
                o.pings.insert(a.to_string(), *r == "ok");
            }
            ["BATON-SSHD", a, r] => {
                o.answers.insert(a.to_string(), *r == "ok");
            }
            ["BATON-ADDR", a] => {
                o.addrs.insert(a.to_string());
            }
            _ => {}
        }
    }
}

/// A link that carries nothing (operstate down, lowerlayerdown, notpresent, dormant).
fn link_down(state: &str) -> bool {
    matches!(state, "down" | "lowerlayerdown" | "notpresent" | "dormant")
}

/// A peer that can testify: its name, its pings and its sshd checks (address → answered).
type Witness = (String, BTreeMap<String, bool>, BTreeMap<String, bool>);

/// The compute side's word on each SN, added to its observation. An SN whose own compute
/// interface is down fails (`compute`), even though ssh works. Its peers whose own compute link
/// is up ping its compute addresses: when all of them that tried failed, it fails. An SN the
/// management node cannot reach counts as up only when a peer reaches its sshd on its compute
/// address (its userspace is alive and its nodes can reach it: only the management path is
/// cut); a ping alone never clears a failure (a kernel answers ping with every daemon dead).
pub fn second_opinion(
    obs: &mut BTreeMap<String, Observation>,
    compute: &BTreeMap<String, Vec<String>>,
) {
    let own_down = |o: &Observation| o.links.values().any(|s| link_down(s));
    // A witness: answered ssh, its own compute link is not down.
    let witnesses: Vec<Witness> = obs
        .iter()
        .filter(|(_, o)| o.checks.get("ssh") == Some(&true) && !own_down(o))
        .map(|(sn, o)| (sn.clone(), o.pings.clone(), o.answers.clone()))
        .collect();
    for (sn, addrs) in compute {
        let Some(o) = obs.get_mut(sn) else { continue };
        if own_down(o) {
            let down: Vec<String> = o
                .links
                .iter()
                .filter(|(_, s)| link_down(s))
                .map(|(a, s)| format!("{a} ({s})"))
                .collect();
            o.checks.insert("compute".into(), false);
            o.error = Some(format!(
                "its compute interface is down: {}",
                down.join(", ")
            ));
            continue;
        }
        let alive_behind = witnesses
            .iter()
            .filter(|(w, _, _)| w != sn)
            .any(|(_, _, answers)| addrs.iter().any(|a| answers.get(a) == Some(&true)));
        if o.checks.get("ssh") == Some(&false) && alive_behind {
            o.checks = [("compute-sshd-via-peers".to_string(), true)].into();
            o.error = None;
            continue;
        }
        let verdicts: Vec<bool> = witnesses
            .iter()
            .filter(|(w, _, _)| w != sn)
            .filter_map(|(_, pings, _)| {
                let seen: Vec<bool> = addrs.iter().filter_map(|a| pings.get(a).copied()).collect();
                (!seen.is_empty()).then(|| seen.contains(&true))
            })
            .collect();
        if verdicts.is_empty() {
            continue;
        }
        let reached = verdicts.contains(&true);
        o.checks.insert("compute".into(), reached);
        if !reached && o.error.is_none() {
            o.error = Some(format!(
                "its compute address {} answers none of its peers (ping)",
                addrs.join(", ")
            ));
        }
    }
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
            compute_lines(stdout, &mut o);
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
    /// Each SN's compute-facing addresses (see [`second_opinion`]).
    pub compute: BTreeMap<String, Vec<String>>,
    /// SNs the management node could not reach last round: their peers also try their sshd
    /// on the compute network (only for them: a connection per SN pair every round would load
    /// every sshd).
    pub suspects: std::collections::BTreeSet<String>,
    /// The addresses each SN held when it last answered: only those of its candidate compute
    /// addresses are its own (a node's xcatmaster may name another SN).
    pub known: BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl SshProber {
    /// Each SN's compute addresses that it was seen to hold (none before it first answered).
    fn confirmed(&self) -> BTreeMap<String, Vec<String>> {
        self.compute
            .iter()
            .map(|(sn, addrs)| {
                let held = self.known.get(sn);
                let mine = addrs
                    .iter()
                    .filter(|a| held.is_some_and(|h| h.contains(*a)));
                (sn.clone(), mine.cloned().collect())
            })
            .collect()
    }

    /// The command for `sn`: `ss` alone, or with the compute-side checks.
    fn args(&self, sn: &str, compute: &BTreeMap<String, Vec<String>>) -> Vec<String> {
        if self.compute.is_empty() {
            return SS_ARGS.iter().map(|s| s.to_string()).collect();
        }
        let mut a: Vec<String> = ["sh", "-c", COMPUTE_SCRIPT, "sh"].map(String::from).into();
        a.extend(self.compute.get(sn).into_iter().flatten().cloned());
        a.push("--".into());
        for (peer, addrs) in compute {
            if peer != sn {
                let mark = if self.suspects.contains(peer) {
                    "+"
                } else {
                    ""
                };
                a.extend(addrs.iter().map(|x| format!("{mark}{x}")));
            }
        }
        a
    }
}

impl Prober for SshProber {
    fn probe(&mut self, sns: &[String]) -> BTreeMap<String, Observation> {
        let compute = self.confirmed();
        let jobs = sns
            .iter()
            .map(|sn| Job {
                host: sn.clone(),
                jump: None,
                args: self.args(sn, &compute),
                stdin: Vec::new(),
            })
            .collect();
        let mut obs: BTreeMap<String, Observation> = self
            .fanout
            .run(jobs, &|_, _| {})
            .into_iter()
            .map(|(sn, r)| {
                let o = observe(&r, &self.services);
                (sn, o)
            })
            .collect();
        self.suspects = obs
            .iter()
            .filter(|(_, o)| o.checks.get("ssh") == Some(&false))
            .map(|(sn, _)| sn.clone())
            .collect();
        for (sn, o) in obs.iter().filter(|(_, o)| !o.addrs.is_empty()) {
            self.known.insert(sn.clone(), o.addrs.clone());
        }
        second_opinion(&mut obs, &compute);
        obs
    }

    fn set_compute(&mut self, compute: BTreeMap<String, Vec<String>>) {
        // Only addresses reach the script.
        self.compute = compute
            .into_iter()
            .map(|(sn, a)| {
                (
                    sn,
                    a.into_iter()
                        .filter(|x| x.parse::<std::net::IpAddr>().is_ok())
                        .collect(),
                )
            })
            .collect();
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

    fn seen(ssh: bool, links: &[(&str, &str)], pings: &[(&str, bool)]) -> Observation {
        let mut o = if ssh {
            observe(&HostResult::Ok { stdout: SS.into() }, &Service::ALL)
        } else {
            observe(
                &HostResult::Unreachable {
                    reason: "timeout".into(),
                },
                &Service::ALL,
            )
        };
        o.links = links
            .iter()
            .map(|(a, s)| (a.to_string(), s.to_string()))
            .collect();
        o.pings = pings.iter().map(|(a, r)| (a.to_string(), *r)).collect();
        o
    }

    fn compute() -> BTreeMap<String, Vec<String>> {
        [
            ("sn1", "10.0.0.1"),
            ("sn2", "10.0.0.2"),
            ("sn3", "10.0.0.3"),
        ]
        .into_iter()
        .map(|(s, a)| (s.to_string(), vec![a.to_string()]))
        .collect()
    }

    #[test]
    fn a_dead_compute_side_fails_the_sn_though_ssh_works() {
        // sn2's own compute link is down; its failed pings of the others do not count.
        let mut obs: BTreeMap<String, Observation> = [
            (
                "sn1".into(),
                seen(
                    true,
                    &[("10.0.0.1", "up")],
                    &[("10.0.0.2", false), ("10.0.0.3", true)],
                ),
            ),
            (
                "sn2".into(),
                seen(
                    true,
                    &[("10.0.0.2", "lowerlayerdown")],
                    &[("10.0.0.1", false), ("10.0.0.3", false)],
                ),
            ),
            (
                "sn3".into(),
                seen(
                    true,
                    &[("10.0.0.3", "up")],
                    &[("10.0.0.1", true), ("10.0.0.2", false)],
                ),
            ),
        ]
        .into();
        second_opinion(&mut obs, &compute());
        assert!(!obs["sn2"].ok(), "{:?}", obs["sn2"]);
        assert!(obs["sn2"]
            .error
            .as_deref()
            .unwrap()
            .contains("compute interface is down"));
        assert!(obs["sn1"].ok() && obs["sn3"].ok(), "{obs:?}");
        // Its link looks up, but no peer reaches it.
        obs.get_mut("sn2").unwrap().links = [("10.0.0.2".into(), "up".into())].into();
        obs.get_mut("sn2").unwrap().error = None;
        obs.get_mut("sn2").unwrap().checks.remove("compute");
        second_opinion(&mut obs, &compute());
        assert!(obs["sn2"]
            .error
            .as_deref()
            .unwrap()
            .contains("answers none of its peers"));
    }

    #[test]
    fn a_ping_never_clears_a_failure() {
        // Its address answers a ping (a kernel does, with every daemon dead): still failing.
        let mut obs: BTreeMap<String, Observation> = [
            (
                "sn1".into(),
                seen(true, &[("10.0.0.1", "up")], &[("10.0.0.2", true)]),
            ),
            ("sn2".into(), seen(false, &[], &[])),
        ]
        .into();
        second_opinion(&mut obs, &compute());
        assert!(!obs["sn2"].ok(), "{:?}", obs["sn2"]);
        // Without a witness (no peer answered ssh, or none could ping), nothing changes.
        let mut obs: BTreeMap<String, Observation> = [
            ("sn1".into(), seen(false, &[], &[])),
            ("sn2".into(), seen(false, &[], &[])),
        ]
        .into();
        second_opinion(&mut obs, &compute());
        assert!(!obs["sn1"].ok() && !obs["sn2"].ok());
    }

    #[test]
    fn an_sn_only_the_management_node_cannot_reach_counts_as_up_when_its_sshd_answers_a_peer() {
        let mut obs: BTreeMap<String, Observation> = [
            (
                "sn1".into(),
                seen(true, &[("10.0.0.1", "up")], &[("10.0.0.2", true)]),
            ),
            ("sn2".into(), seen(false, &[], &[])),
        ]
        .into();
        obs.get_mut("sn1").unwrap().answers = [("10.0.0.2".to_string(), true)].into();
        second_opinion(&mut obs, &compute());
        assert!(obs["sn2"].ok(), "{:?}", obs["sn2"]);
        // Its sshd does not answer (refused: its daemons are dead): still failing.
        let mut obs: BTreeMap<String, Observation> = [
            (
                "sn1".into(),
                seen(true, &[("10.0.0.1", "up")], &[("10.0.0.2", true)]),
            ),
            ("sn2".into(), seen(false, &[], &[])),
        ]
        .into();
        obs.get_mut("sn1").unwrap().answers = [("10.0.0.2".to_string(), false)].into();
        second_opinion(&mut obs, &compute());
        assert!(!obs["sn2"].ok(), "{:?}", obs["sn2"]);
    }

    #[test]
    fn an_sn_is_judged_only_on_the_addresses_it_was_seen_to_hold() {
        // sn1's nodes name sn2's address too (their xcatmaster): not sn1's.
        let mut p = SshProber {
            fanout: FanOut::new(remote::Ssh::new("ssh").unwrap()),
            services: Vec::new(),
            compute: [(
                "sn1".to_string(),
                vec!["10.0.0.1".to_string(), "10.0.0.2".to_string()],
            )]
            .into(),
            suspects: Default::default(),
            known: Default::default(),
        };
        assert!(p.confirmed()["sn1"].is_empty(), "not seen yet: no opinion");
        p.known.insert(
            "sn1".into(),
            ["10.0.0.1".to_string(), "10.9.0.1".to_string()].into(),
        );
        assert_eq!(p.confirmed()["sn1"], ["10.0.0.1"]);
    }

    #[test]
    fn the_probe_reports_links_and_pings() {
        let mut o = Observation::default();
        compute_lines(
            "BATON-LINK 10.0.0.2 up\nBATON-PING 10.0.0.1 ok\nBATON-PING 10.0.0.3 fail\nBATON-SSHD 10.0.0.1 ok\nBATON-ADDR 10.0.0.2\nnoise\n",
            &mut o,
        );
        assert_eq!(o.links["10.0.0.2"], "up");
        assert!(o.pings["10.0.0.1"] && !o.pings["10.0.0.3"]);
        assert!(o.answers["10.0.0.1"]);
        assert!(o.addrs.contains("10.0.0.2"));
    }
}
