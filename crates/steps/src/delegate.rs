//! Delegated fan-out: the management node hands each service node the work for its compute
//! nodes (one ssh session per service node, the batch as JSON on standard input); the service
//! node's own baton (`baton agent run-cn-steps`) fans out to its nodes with the same code and
//! streams one JSON line per node back as each finishes. The management node turns those lines
//! into the same per-node results a direct run produces, so the journal cannot tell them apart.

use crate::cn::NodeWork;
use remote::fanout::{FanOut, HostResult, Job};
use remote::Ssh;
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

/// Bumped when the batch or result format changes; both sides must speak the same.
pub const AGENT_PROTOCOL: u32 = 1;

/// When to delegate (`--delegate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The management node reaches every compute node itself.
    #[default]
    Never,
    /// Delegate to each service node whose baton answers the probe; the others are reached
    /// directly.
    Auto,
    /// Delegate always; a service node without a working baton leaves its nodes pending.
    Always,
}

/// What a batch for one service node says.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Batch {
    pub protocol: u32,
    /// Nodes worked on at once by the service node.
    pub fanout: usize,
    pub node_timeout_secs: u64,
    pub connect_timeout_secs: u64,
    pub nodes: Vec<NodeWork>,
}

/// One line of the agent's output.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ResultLine {
    pub node: String,
    pub result: HostResult,
}

/// The agent's answer to `baton agent probe`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub version: String,
}

pub fn hello() -> Hello {
    Hello {
        protocol: AGENT_PROTOCOL,
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// The agent's side: run the batch read from `input` over `ssh`, and write one [`ResultLine`]
/// per node to `out` as soon as that node finishes. Returns the number of nodes.
pub fn serve(input: &mut dyn Read, out: &mut dyn Write, ssh: Ssh) -> Result<usize, String> {
    let batch: Batch =
        serde_json::from_reader(input).map_err(|e| format!("cannot read the batch: {e}"))?;
    if batch.protocol != AGENT_PROTOCOL {
        return Err(format!(
            "the batch is in agent protocol {}, this baton ({}) speaks {AGENT_PROTOCOL}",
            batch.protocol,
            env!("CARGO_PKG_VERSION")
        ));
    }
    let mut ssh = ssh;
    ssh.connect_timeout = Duration::from_secs(batch.connect_timeout_secs.max(1));
    let mut fanout = FanOut::new(ssh);
    fanout.fanout = batch.fanout.max(1);
    fanout.command_timeout = Duration::from_secs(batch.node_timeout_secs.max(1));
    // The service node is on its nodes' network: connect directly, even when the ssh
    // configuration (often copied from the management node) names a jump host for them.
    let jobs: Vec<Job> = batch
        .nodes
        .iter()
        .map(|w| w.job(Some("none".into())))
        .collect();
    let n = jobs.len();
    let mut broken = None;
    fanout.run_each(jobs, &mut |node, result, _, _| {
        if broken.is_some() {
            return;
        }
        let line = ResultLine {
            node: node.to_string(),
            result,
        };
        let written = serde_json::to_writer(&mut *out, &line)
            .map_err(|e| e.to_string())
            .and_then(|()| writeln!(out).map_err(|e| e.to_string()))
            .and_then(|()| out.flush().map_err(|e| e.to_string()));
        if let Err(e) = written {
            broken = Some(e);
        }
    });
    match broken {
        Some(e) => Err(format!("cannot write results: {e}")),
        None => Ok(n),
    }
}

/// Whether a service node's agent will be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Use,
    /// Not usable (the reason); reach its nodes from the management node.
    Direct(String),
    /// Not usable (the reason), and delegation was required: its nodes stay pending.
    Refuse(String),
}

/// The management node's side.
#[derive(Debug, Default)]
pub struct Delegation {
    pub mode: Mode,
    /// The baton program on the service nodes (`BATON_AGENT`; default `baton` from PATH).
    pub agent: String,
    /// Probe results, once per service node and process.
    probed: Mutex<HashMap<String, Check>>,
}

impl Delegation {
    pub fn new(mode: Mode, agent: &str) -> Self {
        Delegation {
            mode,
            agent: agent.to_string(),
            probed: Mutex::new(HashMap::new()),
        }
    }

    pub fn wants(&self, _sn: &str) -> bool {
        self.mode != Mode::Never
    }

    /// Whether `sn`'s agent answers, in a protocol this baton speaks (one ssh per SN).
    pub fn check(&self, fanout: &FanOut, sn: &str) -> Check {
        if let Some(c) = self.probed.lock().ok().and_then(|p| p.get(sn).cloned()) {
            return c;
        }
        let job = Job {
            host: sn.to_string(),
            jump: None,
            args: vec![self.agent.clone(), "agent".into(), "probe".into()],
            stdin: Vec::new(),
        };
        let why = match fanout.run(vec![job], &|_, _| {}).remove(sn) {
            Some(HostResult::Ok { stdout }) => match serde_json::from_str::<Hello>(stdout.trim()) {
                Ok(h) if h.protocol == AGENT_PROTOCOL => None,
                Ok(h) => Some(format!(
                    "its baton {} speaks agent protocol {}, this one {AGENT_PROTOCOL}",
                    h.version, h.protocol
                )),
                Err(_) => Some(format!(
                    "`{} agent probe` gave no answer baton understands",
                    self.agent
                )),
            },
            Some(HostResult::Failed { code: 127, .. }) => Some(format!(
                "baton is not installed there (`{}` not found)",
                self.agent
            )),
            Some(HostResult::Failed { code, stderr, .. }) => Some(format!(
                "`{} agent probe` failed (exit {code}): {stderr}",
                self.agent
            )),
            Some(HostResult::Unreachable { reason }) => {
                Some(format!("unreachable over ssh: {reason}"))
            }
            None => Some("no answer to the probe".into()),
        };
        let c = match (why, self.mode) {
            (None, _) => Check::Use,
            (Some(w), Mode::Always) => Check::Refuse(w),
            (Some(w), _) => Check::Direct(w),
        };
        if let Ok(mut p) = self.probed.lock() {
            p.insert(sn.to_string(), c.clone());
        }
        c
    }

    /// Run `work` through `sn`'s agent; `each(node, result)` as each node's line arrives. A
    /// node the agent gave no result for (the service node died, the session broke) is
    /// unreachable, with the reason, so it stays pending.
    pub fn run(
        &self,
        fanout: &FanOut,
        sn: &str,
        work: Vec<NodeWork>,
        each: &mut dyn FnMut(&str, HostResult),
    ) {
        let mut left: BTreeSet<String> = work.iter().map(|w| w.node.clone()).collect();
        let batch = Batch {
            protocol: AGENT_PROTOCOL,
            fanout: fanout.fanout,
            node_timeout_secs: fanout.command_timeout.as_secs(),
            connect_timeout_secs: fanout.ssh.connect_timeout.as_secs(),
            nodes: work,
        };
        let why = match self.stream(fanout, sn, &batch, &mut |line: ResultLine| {
            if left.remove(&line.node) {
                each(&line.node, line.result);
            }
        }) {
            Ok(()) => format!("the agent on {sn} ended without a result for this node"),
            Err(e) => e,
        };
        for node in left {
            each(
                &node,
                HostResult::Unreachable {
                    reason: format!("delegated to {sn}: {why}"),
                },
            );
        }
    }

    /// One ssh session to `sn`: the batch on its standard input, result lines read as they
    /// come. Err when the session failed (with what ssh or the agent said).
    fn stream(
        &self,
        fanout: &FanOut,
        sn: &str,
        batch: &Batch,
        each: &mut dyn FnMut(ResultLine),
    ) -> Result<(), String> {
        let input = serde_json::to_vec(batch).map_err(|e| e.to_string())?;
        let argv = fanout
            .ssh
            .command_line(sn, &[&self.agent, "agent", "run-cn-steps"])
            .map_err(|e| e.to_string())?;
        let mut child = remote::child_of_baton(Command::new(&argv[0]).args(&argv[1..]))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
        let feeder = child.stdin.take().map(|mut w| {
            std::thread::spawn(move || {
                let _ = w.write_all(&input);
            })
        });
        let errs = child.stderr.take().map(|mut r| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = r.read_to_string(&mut s);
                s.trim().to_string()
            })
        });
        let (tx, rx) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        // Results come as nodes finish; one node takes at most the node timeout, so a longer
        // silence means the service node or the session hangs.
        let idle = fanout.command_timeout + fanout.ssh.connect_timeout + Duration::from_secs(30);
        let mut hung = false;
        loop {
            match rx.recv_timeout(idle) {
                Ok(line) => {
                    if let Ok(r) = serde_json::from_str::<ResultLine>(&line) {
                        each(r);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    hung = true;
                    // SAFETY: kill(2) on the process group we created; no memory is involved.
                    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                    break;
                }
            }
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        if let Some(f) = feeder {
            let _ = f.join();
        }
        let stderr = errs.and_then(|e| e.join().ok()).unwrap_or_default();
        if hung {
            return Err(format!(
                "no result from the agent on {sn} for {} s",
                idle.as_secs()
            ));
        }
        match status.code() {
            Some(0) => Ok(()),
            Some(255) | None => Err(format!("{sn} is unreachable over ssh: {stderr}")),
            Some(127) => Err(format!(
                "baton is not installed on {sn} (`{}` not found)",
                self.agent
            )),
            Some(code) => Err(format!("the agent on {sn} failed (exit {code}): {stderr}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A stand-in for ssh that runs the remote command locally with `sh -c`.
    const LOCAL_SSH: &str =
        "sh -c 'while [ \"$1\" != -- ]; do shift; done; shift 2; exec sh -c \"$1\"' ssh";

    fn work(node: &str) -> NodeWork {
        NodeWork {
            node: node.into(),
            // `env` sets a variable and reports nothing: harmless on this machine.
            ops: vec!["env".into(), "A".into(), "b c".into()],
            stdin: Vec::new(),
        }
    }

    fn batch(nodes: Vec<NodeWork>) -> Vec<u8> {
        serde_json::to_vec(&Batch {
            protocol: AGENT_PROTOCOL,
            fanout: 2,
            node_timeout_secs: 30,
            connect_timeout_secs: 5,
            nodes,
        })
        .unwrap()
    }

    #[test]
    fn the_agent_streams_one_line_per_node() {
        let input = batch(vec![work("n1"), work("n2"), work("bad;name")]);
        let mut out = Vec::new();
        let n = serve(&mut &input[..], &mut out, Ssh::new(LOCAL_SSH).unwrap()).unwrap();
        assert_eq!(n, 3);
        let lines: Vec<ResultLine> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        for l in &lines {
            match l.node.as_str() {
                "n1" | "n2" => assert!(matches!(l.result, HostResult::Ok { .. }), "{l:?}"),
                _ => assert!(
                    matches!(&l.result, HostResult::Unreachable { reason } if reason.contains("not a valid host")),
                    "{l:?}"
                ),
            }
        }
    }

    #[test]
    fn the_agent_refuses_another_protocol_and_bad_input() {
        let mut b: serde_json::Value = serde_json::from_slice(&batch(vec![work("n1")])).unwrap();
        b["protocol"] = (AGENT_PROTOCOL + 1).into();
        let input = serde_json::to_vec(&b).unwrap();
        let mut out = Vec::new();
        let e = serve(&mut &input[..], &mut out, Ssh::new(LOCAL_SSH).unwrap()).unwrap_err();
        assert!(e.contains("protocol"), "{e}");
        assert!(out.is_empty(), "nothing ran");
        let e = serve(&mut &b"{"[..], &mut out, Ssh::new(LOCAL_SSH).unwrap()).unwrap_err();
        assert!(e.contains("cannot read the batch"), "{e}");
    }

    fn run_with(ssh: &str, agent: &str, nodes: &[&str]) -> BTreeMap<String, HostResult> {
        let f = FanOut::new(Ssh::new(ssh).unwrap());
        let d = Delegation::new(Mode::Always, agent);
        let mut got = BTreeMap::new();
        d.run(
            &f,
            "sn2",
            nodes.iter().map(|n| work(n)).collect(),
            &mut |n, r| {
                assert!(
                    got.insert(n.to_string(), r).is_none(),
                    "one result per node"
                );
            },
        );
        got
    }

    #[test]
    fn nodes_the_agent_did_not_answer_for_are_unreachable() {
        let dir = tempfile::tempdir().unwrap();
        let agent = dir.path().join("agent");
        // Answers for n1 only (plus a line for a node it was not given, and noise), then ends.
        std::fs::write(
            &agent,
            "#!/bin/sh\ncat >/dev/null\necho noise\n\
             printf '%s\\n' '{\"node\":\"n1\",\"result\":{\"ok\":{\"stdout\":\"BATON 0 ok\\n\"}}}'\n\
             printf '%s\\n' '{\"node\":\"zz\",\"result\":{\"ok\":{\"stdout\":\"\"}}}'\n",
        )
        .unwrap();
        std::fs::set_permissions(&agent, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let got = run_with(LOCAL_SSH, agent.to_str().unwrap(), &["n1", "n2"]);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got["n1"],
            HostResult::Ok {
                stdout: "BATON 0 ok\n".into()
            }
        );
        assert!(
            matches!(&got["n2"], HostResult::Unreachable { reason } if reason.contains("sn2") && reason.contains("without a result")),
            "{:?}",
            got["n2"]
        );
    }

    #[test]
    fn a_dead_service_node_or_a_missing_agent_leaves_every_node_unreachable() {
        let got = run_with(
            "sh -c 'echo Connection refused >&2; exit 255' ssh",
            "baton",
            &["n1", "n2"],
        );
        for r in got.values() {
            assert!(
                matches!(r, HostResult::Unreachable { reason } if reason.contains("sn2 is unreachable") && reason.contains("Connection refused")),
                "{r:?}"
            );
        }
        let got = run_with(LOCAL_SSH, "/nonexistent/baton", &["n1"]);
        assert!(
            matches!(&got["n1"], HostResult::Unreachable { reason } if reason.contains("not installed on sn2")),
            "{:?}",
            got["n1"]
        );
    }

    #[test]
    fn the_probe_decides_once_per_service_node() {
        let f = FanOut::new(Ssh::new(LOCAL_SSH).unwrap());
        let d = Delegation::new(Mode::Auto, "/nonexistent/baton");
        assert!(matches!(d.check(&f, "sn2"), Check::Direct(w) if w.contains("not installed")));
        let d = Delegation::new(Mode::Always, "/nonexistent/baton");
        assert!(matches!(d.check(&f, "sn2"), Check::Refuse(w) if w.contains("not installed")));
        // An agent that answers in this protocol is used; the answer is kept.
        let d = Delegation::new(Mode::Auto, "echo");
        let f_hello = FanOut::new(
            Ssh::new(&format!(
                "sh -c 'echo {}' ssh",
                serde_json::to_string(&hello())
                    .unwrap()
                    .replace('"', "\\\"")
            ))
            .unwrap(),
        );
        assert_eq!(d.check(&f_hello, "sn3"), Check::Use);
        assert_eq!(
            d.check(&FanOut::new(Ssh::new("false").unwrap()), "sn3"),
            Check::Use
        );
    }
}
