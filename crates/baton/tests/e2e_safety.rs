//! Safe when a takeover goes wrong, on the test bed with the real daemons: the old service node
//! keeps its nodes until the new one has their entries (make before break: a new SN whose boot
//! files fail, a dead destination with --offline); an interrupt ends the run after the running
//! steps with the resume hint; and a crash at every journal point resumes to the state of an
//! uninterrupted run and rolls back to the state before it, on the service nodes and the nodes
//! themselves as well as in the database (ISC dhcpd and Kea). Every check reads the nodes'
//! own files and daemons, from outside baton.
//! Needs root and the daemons of .ci/run: without them each test prints SKIPPED and returns.

mod common;

use common::{baton, baton_command, baton_with, bed, cns_of, journal, step_state};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;
use testbed::{Bed, Dhcp};

/// The servers that offer `cn` an address within two seconds.
fn dhcp_servers(bed: &Bed, cn: &str) -> Vec<Ipv4Addr> {
    bed.probe_dhcp_all(cn, Duration::from_secs(2))
        .unwrap()
        .into_iter()
        .map(|o| o.server_id.unwrap_or(o.from))
        .collect()
}

/// `sn` still answers for `cn`: it offers an address and serves the boot file.
fn still_served_by(bed: &Bed, cn: &str, sn: &str) -> bool {
    let ip = bed.compute_ip(sn).unwrap();
    dhcp_servers(bed, cn).contains(&ip) && bed.tftp_get(cn, sn, &bed.boot_file(cn)).is_ok()
}

fn code(o: &std::process::Output) -> Option<i32> {
    o.status.code()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn e2e_the_old_sn_keeps_its_nodes_while_the_new_sns_boot_files_fail() {
    let Some(guard) = bed("safembb", 2, 4, Dhcp::Isc) else {
        return;
    };
    let bed: &Bed = &guard;
    let moved = cns_of(bed, "sn1");
    // sn2 cannot write its boot files: /tftpboot read-only in its mount namespace.
    bed.exec_ok("sn2", &["mount", "-o", "remount,bind,ro", "/tftpboot"])
        .unwrap();
    let out = baton(bed, &["snmove", "-s", "sn1", "-d", "sn2", "--yes"]);
    assert_eq!(code(&out), Some(4), "{}", text(&out.stderr));
    let j = journal(bed, 1);
    assert_eq!(step_state(&j, "bootfiles"), ["failed"]);
    assert_eq!(step_state(&j, "cleanup-old-sn"), ["pending"]);
    for cn in &moved {
        assert!(
            still_served_by(bed, cn, "sn1"),
            "{cn}: sn1 must keep serving it while sn2 has no boot file for it"
        );
    }
    // Once sn2 can write, resume finishes the move and only then cleans sn1.
    bed.exec_ok("sn2", &["mount", "-o", "remount,bind,rw", "/tftpboot"])
        .unwrap();
    let out = baton(bed, &["resume", "1"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let sn1 = bed.compute_ip("sn1").unwrap();
    for cn in &moved {
        assert!(still_served_by(bed, cn, "sn2"), "{cn}: sn2 serves it");
        assert!(!dhcp_servers(bed, cn).contains(&sn1), "{cn}: sn1 let it go");
    }
}

#[test]
fn e2e_offline_move_to_a_dead_sn_leaves_the_live_old_sn_serving() {
    let Some(mut guard) = bed("safeoff", 2, 2, Dhcp::Isc) else {
        return;
    };
    let bed: &mut Bed = &mut guard;
    let cn = cns_of(bed, "sn2").remove(0);
    bed.kill_node("sn1").unwrap();
    let out = baton(bed, &["snmove", &cn, "-d", "sn1", "--offline", "--yes"]);
    assert_eq!(code(&out), Some(4), "{}", text(&out.stderr));
    let j = journal(bed, 1);
    assert_eq!(step_state(&j, "cleanup-old-sn"), ["pending"]);
    assert!(
        still_served_by(bed, &cn, "sn2"),
        "{cn}: sn2 is the only SN that can answer it and must keep doing so"
    );
}

/// The pid of the run holding a lease, once one does (from its lease row).
fn lease_holder(bed: &Bed) -> String {
    for _ in 0..600 {
        let out = baton(bed, &["tabdump", "baton_lease"]);
        let dump = text(&out.stdout);
        let mut lines = dump.lines();
        let header = lines.next().unwrap_or_default().trim_start_matches('#');
        if let Some(row) = lines.next() {
            let cols: Vec<&str> = header.split(',').collect();
            let vals: Vec<&str> = row.split(',').collect();
            let at = cols.iter().position(|c| *c == "pid").unwrap();
            return vals[at].trim_matches('"').to_string();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no run took a lease");
}

#[test]
fn e2e_an_interrupt_ends_the_run_after_the_running_steps_and_resume_finishes_it() {
    let Some(guard) = bed("safeint", 2, 2, Dhcp::Isc) else {
        return;
    };
    let bed: &Bed = &guard;
    let cn = cns_of(bed, "sn1").remove(0);
    // A -P script that waits on the node until the test lets it go: the run is inside its
    // first wave (the new SN's entries and the node steps) when the interrupt comes.
    bed.sh(
        "mn",
        "mkdir -p /install/postscripts && printf '#!/bin/sh\\ni=0\\nwhile [ ! -e /var/tmp/baton-go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\\n' > /install/postscripts/gate && chmod 755 /install/postscripts/gate",
    )
    .unwrap();
    let run = baton_command(bed, &["snmove", &cn, "-d", "sn2", "-P", "gate", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = lease_holder(bed);
    bed.exec_ok("mn", &["kill", "-INT", &pid]).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    bed.sh(&cn, "touch /var/tmp/baton-go").unwrap();
    let out = run.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(code(&out), Some(4), "{err}");
    assert!(
        err.contains("Stopping") && err.contains("`baton resume 1`"),
        "{err}"
    );
    let j = journal(bed, 1);
    assert_eq!(
        step_state(&j, "postscripts"),
        ["done"],
        "the running wave finished"
    );
    assert_eq!(
        step_state(&j, "cleanup-old-sn"),
        ["pending"],
        "never started"
    );
    assert!(still_served_by(bed, &cn, "sn1"), "sn1 still has it");
    let out = baton(bed, &["resume", "1"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    assert!(!dhcp_servers(bed, &cn).contains(&bed.compute_ip("sn1").unwrap()));

    // SIGKILL: nothing baton started outlives it (its ssh sessions die with it).
    bed.sh(&cn, "rm -f /var/tmp/baton-go").unwrap();
    let run = baton_command(bed, &["snmove", &cn, "-d", "sn1", "-P", "gate", "--yes"])
        .spawn()
        .unwrap();
    let pid = lease_holder(bed);
    let config = bed.ssh_config_path().display().to_string();
    let ssh_running = || {
        bed.exec("mn", &["pgrep", "-f", &config])
            .unwrap()
            .status
            .success()
    };
    assert!(ssh_running(), "the run is inside its node steps, over ssh");
    bed.exec_ok("mn", &["kill", "-KILL", &pid]).unwrap();
    drop(run.wait_with_output());
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !ssh_running(),
        "an ssh session of the killed run is still running"
    );
    bed.sh(&cn, "touch /var/tmp/baton-go").unwrap();
    let out = baton(bed, &["resume", "2"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    assert!(still_served_by(bed, &cn, "sn1"), "moved back and served");
}

/// What the cluster says about where each node is served, read from the nodes' own files:
/// the database's servicenode and xcatmaster; per SN, the nodes in its DHCP configuration, its
/// boot files (and the server they name) and its conserver.cf; the MN's console masters; per
/// compute node, its xcatinfo, default route, syslog forwarding, chrony servers and resolver.
fn world(bed: &Bed, dhcp: Dhcp) -> BTreeSet<String> {
    let mut w = BTreeSet::new();
    let db = baton(
        bed,
        &["nodels", "all", "noderes.servicenode", "noderes.xcatmaster"],
    );
    w.extend(text(&db.stdout).lines().map(|l| format!("db {l}")));
    let cns = bed.cns();
    for sn in bed.sns() {
        let conf = match dhcp {
            // Without blanks: the bed's and baton's JSON are spaced differently.
            Dhcp::Kea => bed
                .read_node_text(&sn, "/etc/kea/kea-dhcp4.conf")
                .unwrap_or_default()
                .split_whitespace()
                .collect::<String>(),
            _ => bed
                .read_node_text(&sn, "/etc/dhcp/dhcpd.conf")
                .unwrap_or_default(),
        };
        for cn in &cns {
            let isc = format!("#xCAT host declaration for {cn} start");
            let kea = format!("\"hostname\":\"{cn}\"");
            if conf.contains(&isc) || conf.contains(&kea) {
                w.insert(format!("{sn} dhcp {cn}"));
            }
            let path = format!("/tftpboot/{}", bed.boot_file(cn));
            if let Ok(boot) = bed.read_node_text(&sn, &path) {
                let server = boot.split_whitespace().find(|t| t.starts_with("XCAT="));
                w.insert(format!("{sn} boot {cn} {}", server.unwrap_or("?")));
            }
        }
        let cf = bed
            .read_node_text(&sn, "/etc/conserver.cf")
            .unwrap_or_default();
        w.extend(
            cf.lines()
                .filter(|l| l.starts_with("console "))
                .map(|l| format!("{sn} {l}")),
        );
    }
    let mn = bed
        .read_node_text("mn", "/etc/conserver.cf")
        .unwrap_or_default();
    for cn in &cns {
        let begin = format!("#xCAT BEGIN {cn} CONS");
        let block = mn.split(&begin).nth(1).unwrap_or_default();
        let block = block.split("#xCAT END").next().unwrap_or_default();
        let master = block.lines().find(|l| l.contains("master "));
        w.insert(format!("mn {cn} {}", master.unwrap_or("no console").trim()));
    }
    for cn in &cns {
        let read = |p: &str| bed.read_node_text(cn, p).unwrap_or_default();
        let lines = |p: &str, start: &str| -> Vec<String> {
            read(p)
                .lines()
                .filter(|l| l.starts_with(start))
                .map(str::to_string)
                .collect()
        };
        // XCATSERVER names the SN or one of its addresses: the SN it is.
        for l in lines("/opt/xcat/xcatinfo", "XCATSERVER=") {
            let v = &l["XCATSERVER=".len()..];
            let ip = v.parse::<Ipv4Addr>().ok().or_else(|| bed.resolve(v).ok());
            let sn = ip.and_then(|ip| bed.owner_of(ip));
            w.insert(format!("{cn} xcatinfo {}", sn.unwrap_or_else(|| v.into())));
        }
        for l in lines("/etc/chrony/chrony.conf", "server ")
            .into_iter()
            .chain(lines("/etc/resolv.conf", "nameserver "))
            .chain(
                read("/etc/rsyslog.d/remote.conf")
                    .lines()
                    .map(str::to_string),
            )
        {
            w.insert(format!("{cn} {l}"));
        }
        let route = bed
            .exec_ok(cn, &["ip", "route", "show", "default"])
            .unwrap_or_default();
        w.insert(format!("{cn} route {}", route.trim()));
    }
    w
}

fn diff(a: &BTreeSet<String>, b: &BTreeSet<String>) -> String {
    let only = |x: &BTreeSet<String>, y: &BTreeSet<String>| -> Vec<String> {
        x.difference(y).cloned().collect()
    };
    format!("missing: {:?}\nextra: {:?}", only(a, b), only(b, a))
}

/// The journal points of a move of sn1's nodes to sn2: the commit, and before and after each
/// wave of steps (the new SN's entries with the node steps, then the old SN's cleanup).
const POINTS: [&str; 5] = [
    "after-commit",
    "wave-started:1",
    "wave-done:1",
    "wave-started:2",
    "wave-done:2",
];

/// After a crash of entry `entry`'s run at `point`: `resume` gives the state of an
/// uninterrupted run (`states[1]`), `rollback` the state before it (`states[0]`).
fn resume_then_rollback(
    bed: &Bed,
    dhcp: Dhcp,
    entry: u32,
    point: &str,
    states: [&BTreeSet<String>; 2],
) {
    let id = entry.to_string();
    for (i, (args, want)) in [
        (vec!["resume", &id], states[1]),
        (vec!["rollback", &id, "--yes"], states[0]),
    ]
    .into_iter()
    .enumerate()
    {
        let out = baton(bed, &args);
        assert_eq!(
            code(&out),
            Some(0),
            "{point}: {args:?}: {}",
            text(&out.stderr)
        );
        let now = world(bed, dhcp);
        assert_eq!(
            &now,
            want,
            "{point}: after {args:?} ({i})\n{}",
            diff(want, &now)
        );
    }
}

fn crash_sweep(name: &str, dhcp: Dhcp) {
    let Some(guard) = bed(name, 2, 4, dhcp) else {
        return;
    };
    let bed: &Bed = &guard;
    let mv = ["snmove", "-s", "sn1", "-d", "sn2", "--yes"];
    let before = world(bed, dhcp);
    assert_eq!(code(&baton(bed, &mv)), Some(0));
    let after = world(bed, dhcp);
    assert_ne!(before, after);
    assert_eq!(code(&baton(bed, &["rollback", "1", "--yes"])), Some(0));
    // The bed starts with no console entries on the MN; baton's rollback writes sn1's nodes'
    // `master sn1`. Everything else is as the bed began.
    let rolled = world(bed, dhcp);
    let but_mn = |w: &BTreeSet<String>| -> BTreeSet<String> {
        w.iter()
            .filter(|l| !l.starts_with("mn "))
            .cloned()
            .collect()
    };
    assert_eq!(
        but_mn(&rolled),
        but_mn(&before),
        "{}",
        diff(&before, &rolled)
    );
    let before = rolled;
    let mut entry: u32 = 3;
    for point in POINTS {
        let out = baton_with(bed, &mv, &[("BATON_FAULT", point)]);
        assert_eq!(code(&out), None, "{point}: the run was aborted there");
        resume_then_rollback(bed, dhcp, entry, point, [&before, &after]);
        entry += 2;
    }
    // SIGKILL at moments spread over the run (inside the SN and node sessions too):
    // BATON_CRASH_ROUNDS of them (3 by default; more by hand).
    let rounds: u64 = std::env::var("BATON_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    for round in 0..rounds {
        let run = baton_command(bed, &mv).spawn().unwrap();
        let pid = lease_holder(bed);
        std::thread::sleep(Duration::from_millis(round * 397 % 1500));
        let _ = bed.exec("mn", &["kill", "-KILL", &pid]);
        drop(run.wait_with_output());
        let point = format!("SIGKILL round {round}");
        resume_then_rollback(bed, dhcp, entry, &point, [&before, &after]);
        entry += 2;
    }
    // The daemons themselves follow the files: sn1 answers its nodes again, sn2 does not.
    let (sn1, sn2) = (
        bed.compute_ip("sn1").unwrap(),
        bed.compute_ip("sn2").unwrap(),
    );
    for cn in cns_of(bed, "sn1") {
        let servers = dhcp_servers(bed, &cn);
        assert!(
            servers.contains(&sn1) && !servers.contains(&sn2),
            "{cn}: {servers:?}"
        );
    }
}

#[test]
fn e2e_crash_at_every_journal_point_resumes_and_rolls_back_with_isc_dhcpd() {
    crash_sweep("safecisc", Dhcp::Isc);
}

#[test]
fn e2e_crash_at_every_journal_point_resumes_and_rolls_back_with_kea() {
    crash_sweep("safeckea", Dhcp::Kea);
}
