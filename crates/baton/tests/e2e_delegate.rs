//! Delegated fan-out end to end on the test bed: the management node hands sn2 the work for
//! its compute nodes; sn2's own baton (`baton agent run-cn-steps`, the test's binary, which the
//! bed binds into every node) fans out to them and streams the results back. The management
//! node's ssh goes through a wrapper that logs every connection, so the tests see who
//! connected where. Needs root and the daemons of .ci/run: without them each test prints
//! SKIPPED and returns.

mod common;

use common::{assert_served_by, baton_with, cns_of, journal, step_state};
use testbed::{Bed, Dhcp};

const CN_STEPS: [&str; 3] = ["xcatinfo", "route", "postscripts"];

/// A BATON_SSH for the management node that logs each ssh command line (one line each) to
/// `<state>/<name>.log` and then runs the bed's ssh.
fn logging_ssh(bed: &Bed, name: &str) -> (String, std::path::PathBuf) {
    let dir = bed.state_dir();
    let log = dir.join(format!("{name}.log"));
    let wrapper = dir.join(format!("{name}.sh"));
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nline=$(printf '%s' \"$*\" | tr '\\n' ' ')\nprintf '%s\\n' \"$line\" >> '{}'\nexec ssh -F '{}' \"$@\"\n",
            log.display(),
            bed.ssh_config_path().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    (wrapper.display().to_string(), log)
}

/// The host of each logged ssh command line (the word after `--`), and whether it used -J.
fn connections(log: &std::path::Path) -> Vec<(String, bool, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            match words.iter().position(|w| *w == "--") {
                Some(at) => (
                    words[at + 1].to_string(),
                    words[..at].contains(&"-J"),
                    l.to_string(),
                ),
                None => ("?".into(), false, l.to_string()),
            }
        })
        .collect()
}

fn results_of(j: &serde_json::Value, kind: &str) -> serde_json::Value {
    j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == kind)
        .unwrap()["results"]
        .clone()
}

/// Every compute-node step of journal entry `id` is pending, each node's result naming sn2 and
/// `why`.
fn assert_pending_because(bed: &Bed, id: u32, nodes: &[String], why: &str) {
    let j = journal(bed, id);
    for kind in CN_STEPS {
        assert_eq!(step_state(&j, kind), ["pending"], "{kind}");
        let r = results_of(&j, kind);
        for cn in nodes {
            let got = r[cn].as_str().unwrap();
            assert!(
                got.starts_with("unreachable: delegated to sn2") && got.contains(why),
                "{kind} {cn}: {got}"
            );
        }
    }
}

#[test]
fn e2e_delegate_always_moves_running_nodes_through_the_sn_agent() {
    let Some(mut guard) = common::bed("fdeleg", 2, 4, Dhcp::Isc) else {
        return;
    };
    let bed: &mut Bed = &mut guard;
    let moved = cns_of(bed, "sn1");
    assert!(moved.len() >= 2);
    bed.kill_node("sn1").unwrap();
    let (ssh, log) = logging_ssh(bed, "mn-ssh");
    let agent = assert_cmd::cargo::cargo_bin("baton");
    let out = baton_with(
        bed,
        &["snmove", "-s", "sn1", "--delegate", "always", "--yes"],
        &[
            ("BATON_SSH", &ssh),
            ("BATON_AGENT", agent.to_str().unwrap()),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "partial: dead sn1's cleanup waits"
    );
    let j = journal(bed, 1);
    for kind in CN_STEPS {
        assert_eq!(step_state(&j, kind), ["done"], "{kind}");
        let r = results_of(&j, kind);
        for cn in &moved {
            assert_eq!(r[cn], "done", "{kind} {cn}: journaled as a direct run is");
        }
    }
    for cn in &moved {
        assert_served_by(bed, cn, "sn2");
    }
    // The management node never connected to a compute node: it probed sn2 once and ran
    // one agent session on it; the rest are the service-node steps (sn2, and the dead sn1).
    let conns = connections(&log);
    for (host, jump, line) in &conns {
        assert!(
            host == "sn1" || host == "sn2",
            "only SN connections: {line}"
        );
        assert!(!jump, "no jump through an SN: {line}");
    }
    let agent_runs: Vec<_> = conns
        .iter()
        .filter(|(_, _, l)| l.contains("agent run-cn-steps"))
        .collect();
    assert_eq!(agent_runs.len(), 1, "{conns:?}");
    assert_eq!(agent_runs[0].0, "sn2");
    assert_eq!(
        conns
            .iter()
            .filter(|(_, _, l)| l.contains("agent probe"))
            .count(),
        1,
        "one probe per SN: {conns:?}"
    );
}

#[test]
fn e2e_delegate_failures_leave_nodes_pending_and_resume_finishes() {
    let Some(mut guard) = common::bed("fdelfail", 2, 4, Dhcp::Isc) else {
        return;
    };
    let bed: &mut Bed = &mut guard;
    let moved = cns_of(bed, "sn1");
    let agent = assert_cmd::cargo::cargo_bin("baton");
    let agent = agent.to_str().unwrap();
    let before = bed.read_node_text(&moved[0], "/opt/xcat/xcatinfo").unwrap();

    // 1. The service node lacks baton and delegation is required: the database moves, the
    // nodes are untouched and pending, each with the reason.
    let out = baton_with(
        bed,
        &["snmove", "-s", "sn1", "--delegate", "always", "--yes"],
        &[("BATON_AGENT", "/nonexistent/baton")],
    );
    assert_eq!(out.status.code(), Some(4));
    assert_pending_because(bed, 1, &moved, "not installed");
    assert_eq!(
        bed.read_node_text(&moved[0], "/opt/xcat/xcatinfo").unwrap(),
        before,
        "untouched"
    );
    // resume with baton on the SN finishes them, delegated.
    let out = baton_with(
        bed,
        &["resume", "1", "--delegate", "always"],
        &[("BATON_AGENT", agent)],
    );
    assert_eq!(out.status.code(), Some(0), "every step done now");
    for cn in &moved {
        assert_served_by(bed, cn, "sn2");
    }

    // 2. auto without baton on the SN: says so, and the management node reaches the nodes
    // itself (through the SN).
    let (ssh, log) = logging_ssh(bed, "auto-ssh");
    let out = baton_with(
        bed,
        &["snmove", &moved.join(","), "-d", "sn1", "--yes"],
        &[("BATON_SSH", &ssh), ("BATON_AGENT", "/nonexistent/baton")],
    );
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sn1: baton is not installed there")
            && stderr.contains("the management node reaches its"),
        "{stderr}"
    );
    for cn in &moved {
        assert_served_by(bed, cn, "sn1");
        assert!(
            connections(&log)
                .iter()
                .any(|(h, jump, _)| h == cn && *jump),
            "{cn} reached from the management node through sn1"
        );
    }

    // 3. The new service node is dead (planned offline): its nodes are pending with the
    // reason; once it is back, resume finishes them through its agent.
    bed.kill_node("sn2").unwrap();
    let out = baton_with(
        bed,
        &[
            "snmove",
            "-s",
            "sn1",
            "--offline",
            "--delegate",
            "always",
            "--yes",
        ],
        &[("BATON_AGENT", agent)],
    );
    assert_eq!(out.status.code(), Some(4));
    assert_pending_because(bed, 3, &moved, "unreachable over ssh");
    bed.revive("sn2").unwrap();
    let out = baton_with(
        bed,
        &["resume", "3", "--delegate", "always"],
        &[("BATON_AGENT", agent)],
    );
    assert_eq!(out.status.code(), Some(0));
    for cn in &moved {
        assert_served_by(bed, cn, "sn2");
    }
}
