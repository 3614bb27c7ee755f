//! One actor per node, on the test bed (real sshd, rsyslog, chronyd, dhcpd, conserver): a run
//! holds its entry and nodes while its steps run, so a second resume, a rollback or a new
//! snmove of those nodes is refused (exit 3) and changes nothing; resume and rollback leave
//! nodes a later entry moved alone. Every check of a node is made from outside baton (its
//! xcatinfo, where its syslog lines arrive, which chrony server answers it).
//! Needs root and the daemons of .ci/run: without them each test prints SKIPPED and returns.

mod common;

use common::{baton, baton_command, journal};
use std::net::Ipv4Addr;
use testbed::{Bed, Dhcp};

/// The node's primary service node as the database says it.
fn primary(bed: &Bed, cn: &str) -> String {
    let out = baton(bed, &["nodels", cn, "noderes.servicenode"]);
    let s = String::from_utf8(out.stdout).unwrap();
    let list = s.trim().split_once(": ").unwrap().1.to_string();
    list.split(',').next().unwrap().to_string()
}

/// The service nodes the node itself is configured for: its xcatinfo's XCATSERVER, the SN
/// that receives its syslog lines, the SN whose chrony answers its configured server.
fn configured_for(bed: &Bed, cn: &str) -> Vec<(&'static str, String)> {
    let info = bed.read_node_text(cn, "/opt/xcat/xcatinfo").unwrap();
    let xcatinfo = info
        .lines()
        .find_map(|l| l.strip_prefix("XCATSERVER="))
        .and_then(|v| v.parse::<Ipv4Addr>().ok().or_else(|| bed.resolve(v).ok()))
        .and_then(|ip| bed.owner_of(ip))
        .unwrap_or_else(|| format!("? ({info})"));
    let syslog = bed
        .syslog_receivers(cn, std::time::Duration::from_secs(3))
        .unwrap()
        .join(",");
    let ntp = bed
        .probe_ntp(cn)
        .ok()
        .and_then(|r| bed.owner_of(r.server))
        .unwrap_or_else(|| "?".into());
    vec![("xcatinfo", xcatinfo), ("syslog", syslog), ("chrony", ntp)]
}

/// Nodes configured for a service node the database does not name, with what says so.
fn misconfigured(bed: &Bed, cns: &[String]) -> Vec<String> {
    let mut bad = Vec::new();
    for cn in cns {
        let want = primary(bed, cn);
        for (what, sn) in configured_for(bed, cn) {
            if sn != want {
                bad.push(format!("{cn}: database {want}, {what} {sn}"));
            }
        }
    }
    bad
}

/// A -P script that waits on the node until the test lets it go (or a minute passes): while
/// it waits, the run that started it is inside its node steps.
fn install_gate(bed: &Bed) {
    bed.sh(
        "mn",
        "mkdir -p /install/postscripts && printf '#!/bin/sh\\ni=0\\nwhile [ ! -e /var/tmp/baton-go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\\nrm -f /var/tmp/baton-go\\n' > /install/postscripts/gate && chmod 755 /install/postscripts/gate",
    )
    .unwrap();
}

fn open_gate(bed: &Bed, cn: &str) {
    bed.sh(cn, "touch /var/tmp/baton-go").unwrap();
}

/// Wait until some run holds a lease (its row is in baton_lease).
fn wait_for_lease(bed: &Bed) {
    for _ in 0..600 {
        let out = baton(bed, &["tabdump", "baton_lease"]);
        if String::from_utf8_lossy(&out.stdout).lines().count() > 1 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no run took a lease");
}

fn code(o: &std::process::Output) -> Option<i32> {
    o.status.code()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Start `baton ARGS` in the background on the management node.
fn spawn(bed: &Bed, args: &[&str]) -> std::process::Child {
    baton_command(bed, args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// While a run waits inside its node steps, `second` is refused with exit 3, naming the entry,
/// the holder and the nodes; then the first ends normally.
fn refused_while_running(bed: &Bed, cn: &str, first: &[&str], second: &[&str], entry: &str) {
    let a = spawn(bed, first);
    let pid = a.id();
    wait_for_lease(bed);
    let b = baton(bed, second);
    assert_eq!(
        code(&b),
        Some(3),
        "{second:?} beside {first:?}: {}",
        stderr(&b)
    );
    let msg = stderr(&b);
    // The holder is baton inside the bed's `exec` wrapper: its PID is a child of `pid`.
    assert!(
        msg.contains("are in use by another run")
            && msg.contains(&format!("journal entry {entry}"))
            && msg.contains(cn)
            && msg.contains(", PID "),
        "{msg} (first run's wrapper PID {pid})"
    );
    open_gate(bed, cn);
    let a = a.wait_with_output().unwrap();
    assert_eq!(code(&a), Some(0), "{first:?}: {}", stderr(&a));
    let leases = baton(bed, &["tabdump", "baton_lease"]);
    assert_eq!(
        String::from_utf8_lossy(&leases.stdout).lines().count(),
        1,
        "released"
    );
}

#[test]
fn e2e_a_second_actor_on_nodes_whose_steps_run_is_refused() {
    let Some(mut guard) = common::bed("lease", 2, 2, Dhcp::Isc) else {
        return;
    };
    let bed: &mut Bed = &mut guard;
    install_gate(bed);
    let cn = common::cns_of(bed, "sn1").remove(0);
    let cns = bed.cns();

    // A second snmove of the same node while the first's node steps run.
    refused_while_running(
        bed,
        &cn,
        &["snmove", &cn, "-d", "sn2", "-P", "gate", "--yes"],
        &["snmove", &cn, "-d", "sn1", "--yes"],
        "1",
    );
    assert_eq!(primary(bed, &cn), "sn2");
    assert_eq!(misconfigured(bed, &cns), Vec::<String>::new());

    // Entry 2: the node is down, its steps wait: partial.
    bed.kill_node(&cn).unwrap();
    let out = baton(bed, &["snmove", &cn, "-d", "sn1", "-P", "gate", "--yes"]);
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    bed.revive(&cn).unwrap();
    // resume 2 beside resume 2, and beside rollback 2: one refuses each time.
    refused_while_running(bed, &cn, &["resume", "2"], &["resume", "2"], "2");
    assert_eq!(journal(bed, 2)["entry"]["state"], "done");
    assert_eq!(misconfigured(bed, &cns), Vec::<String>::new());
    bed.kill_node(&cn).unwrap();
    let out = baton(bed, &["snmove", &cn, "-d", "sn2", "-P", "gate", "--yes"]);
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    bed.revive(&cn).unwrap();
    refused_while_running(bed, &cn, &["resume", "3"], &["rollback", "3", "--yes"], "3");
    assert_eq!(journal(bed, 3)["entry"]["state"], "done", "not rolled back");
    assert_eq!(primary(bed, &cn), "sn2");
    assert_eq!(misconfigured(bed, &cns), Vec::<String>::new());

    // --wait: the second run waits until the first ends, then goes on.
    let a = spawn(bed, &["snmove", &cn, "-d", "sn1", "-P", "gate", "--yes"]);
    wait_for_lease(bed);
    let mut b = spawn(bed, &["snmove", &cn, "-d", "sn2", "--yes", "--wait"]);
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(b.stderr.take().unwrap()));
    let waiting = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with("Waiting: "))
        .expect("the second run says it waits");
    assert!(
        waiting.contains("journal entry 4") && waiting.contains(&cn),
        "{waiting}"
    );
    open_gate(bed, &cn);
    assert_eq!(code(&a.wait_with_output().unwrap()), Some(0));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(b.wait().unwrap().code(), Some(0), "{rest:?}");
    assert_eq!(primary(bed, &cn), "sn2");
    assert_eq!(misconfigured(bed, &cns), Vec::<String>::new());
}

/// Entry 1 moves the node to sn2 and is partial (the node was down); entry 2 moves it back to
/// sn1. `resume 1` used to re-point the node at sn2 while the database named sn1.
#[test]
fn e2e_resume_leaves_a_node_moved_since_by_a_later_entry_alone() {
    let Some(mut guard) = common::bed("stale", 2, 2, Dhcp::Isc) else {
        return;
    };
    let bed: &mut Bed = &mut guard;
    let cn = common::cns_of(bed, "sn1").remove(0);
    bed.kill_node(&cn).unwrap();
    let out = baton(bed, &["snmove", &cn, "-d", "sn2", "--yes"]);
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    bed.revive(&cn).unwrap();
    let out = baton(bed, &["snmove", &cn, "-d", "sn1", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let list = baton(bed, &["journal"]);
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        list.contains(&format!("superseded: {cn} by entry 2")),
        "{list}"
    );

    let out = baton(bed, &["resume", "1"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("skipped {cn}: moved since by journal entry 2")),
        "{}",
        stderr(&out)
    );
    assert_eq!(primary(bed, &cn), "sn1");
    assert_eq!(misconfigured(bed, &bed.cns()), Vec::<String>::new());
    assert_eq!(journal(bed, 1)["entry"]["state"], "superseded");

    // --force acts on it anyway: the node follows entry 1, the database still says sn1.
    let out = baton(bed, &["resume", "1", "--force"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let bad = misconfigured(bed, std::slice::from_ref(&cn));
    assert!(!bad.is_empty(), "--force re-pointed the node at sn2");
}

/// The race sweep: pairs of resume, rollback and snmove on the same nodes, started at once,
/// round after round. Whatever the interleaving, afterwards no node is configured (xcatinfo,
/// syslog, chrony, checked on the node) for a service node the database does not name, and an
/// entry reads rolled-back exactly when a rollback of it succeeded. Quick setting: one round
/// per kind of pair; BATON_RACE_ROUNDS=N for more.
#[test]
fn e2e_race_sweep_leaves_no_node_configured_for_an_sn_the_database_does_not_name() {
    let Some(mut guard) = common::bed("race", 2, 4, Dhcp::Isc) else {
        return;
    };
    let bed: &mut Bed = &mut guard;
    let rounds: usize = std::env::var("BATON_RACE_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let nodes = common::cns_of(bed, "sn1");
    let range = nodes.join(",");
    let all = bed.cns();
    let (mut here, mut there) = ("sn1".to_string(), "sn2".to_string());
    let (mut refused, mut entry) = (0, 0u32);
    let mut codes_seen = std::collections::BTreeMap::new();
    for round in 0..rounds {
        // A partial entry: one node is down while the nodes move.
        let late = &nodes[round % nodes.len()];
        bed.kill_node(late).unwrap();
        let out = baton(bed, &["snmove", &range, "-d", &there, "--yes"]);
        assert_eq!(code(&out), Some(4), "{}", stderr(&out));
        entry += 1;
        let e = entry.to_string();
        bed.revive(late).unwrap();
        let pair: [Vec<&str>; 2] = match round % 5 {
            0 => [vec!["resume", &e], vec!["rollback", &e, "--yes"]],
            1 => [vec!["resume", &e], vec!["resume", &e]],
            2 => [
                vec!["resume", &e],
                vec!["snmove", &range, "-d", &here, "--yes"],
            ],
            3 => [
                vec!["rollback", &e, "--yes"],
                vec!["snmove", &range, "-d", &here, "--yes"],
            ],
            _ => [
                vec!["snmove", &range, "-d", &here, "--yes"],
                vec!["snmove", &range, "-d", &here, "--yes"],
            ],
        };
        let children: Vec<_> = pair.iter().map(|args| spawn(bed, args)).collect();
        let outs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let mut rolled_back = false;
        for (args, out) in pair.iter().zip(&outs) {
            let c = code(out).unwrap_or(-1);
            eprintln!("round {round}: {args:?} -> {c}: {}", stderr(out));
            *codes_seen.entry(c).or_insert(0) += 1;
            // Done, or refused / nothing to do with nothing changed; never partial with every
            // node up, never a crash.
            assert!([0, 1, 2, 3].contains(&c), "{args:?}: {c}: {}", stderr(out));
            refused += usize::from(c == 3);
            rolled_back |= args[0] == "rollback" && c == 0;
            // Each run's own entries are finished: the steps of whoever ran are done.
        }
        // Every entry a successful run created or resumed is complete: count the runs.
        entry += outs
            .iter()
            .zip(&pair)
            .filter(|(o, a)| code(o) == Some(0) && a[0] != "resume")
            .count() as u32;
        let state = journal(bed, e.parse().unwrap())["entry"]["state"].clone();
        assert_eq!(
            state == "rolled-back",
            rolled_back,
            "round {round}: entry {e} is {state}"
        );
        let bad = misconfigured(bed, &all);
        assert_eq!(bad, Vec::<String>::new(), "round {round}");
        // The nodes are wherever the winner left them; the next round moves them on.
        let now = primary(bed, &nodes[0]);
        if now != here {
            std::mem::swap(&mut here, &mut there);
        }
    }
    eprintln!(
        "race sweep: {rounds} rounds, {refused} runs refused, exit codes {codes_seen:?}, 0 nodes misconfigured"
    );
}
