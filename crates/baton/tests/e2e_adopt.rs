//! `--adopt-address` on the test bed with the real daemons: a destination holds a dead service
//! node's compute address, so its nodes are served (syslog, NTP, DNS, their default route) before
//! they are re-pointed; the address is let go once they are; a returning old SN keeps its
//! address down while it is held elsewhere; a live old SN's address is never taken. Holders are
//! counted from a compute node with `arping`, from outside baton.
//! Needs root and the daemons of .ci/run: without them each test prints SKIPPED and returns.

mod common;

use common::{assert_served_by, baton, baton_with, bed, cns_of, journal, step_state};
use std::net::Ipv4Addr;
use testbed::{Bed, Dhcp};

/// sn1's nodes to sn2 with the adoption, planned without asking the service nodes.
const OFFLINE_ADOPT: [&str; 8] = [
    "snmove",
    "-s",
    "sn1",
    "-d",
    "sn2",
    "--adopt-address",
    "--offline",
    "--yes",
];

fn code(o: &std::process::Output) -> Option<i32> {
    o.status.code()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Does `sn` hold `a` (any prefix) on one of its interfaces?
fn holds(bed: &Bed, sn: &str, a: Ipv4Addr) -> bool {
    let out = bed
        .exec_ok(sn, &["ip", "-o", "-4", "addr", "show"])
        .unwrap();
    out.split_whitespace()
        .any(|w| w.split('/').next() == Some(&a.to_string()))
}

/// The hosts answering ARP for `a`, as MACs, seen from compute node `cn`.
fn holders(bed: &Bed, cn: &str, a: Ipv4Addr) -> Vec<String> {
    bed.arp_holders(cn, "eth0", a).unwrap()
}

/// What `baton status --json` says is adopted: (address, owner, holder).
fn adopted(bed: &Bed) -> Vec<(String, String, String)> {
    let path = bed
        .state_dir()
        .join("no-watcher.json")
        .display()
        .to_string();
    let args = ["status", "--json", "--timeout", "2", "--state-file", &path];
    let out = baton(bed, &args);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v["status"]["adopted"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    list.iter()
        .map(|a| {
            let f = |k: &str| a[k].as_str().unwrap().to_string();
            (f("address"), f("owner"), f("holder"))
        })
        .collect()
}

/// `cn` is served at `a` by `sn` (and by nothing else): NTP and DNS answer there, a logger line
/// sent to `a` reaches `sn`'s rsyslog, and `a` answers ping from `sn`'s MAC.
fn served_at(bed: &Bed, cn: &str, a: Ipv4Addr, sn: &str) {
    bed.probe_ntp_server(cn, a)
        .unwrap_or_else(|e| panic!("{cn}: NTP at {a}: {e}"));
    bed.dns_query(cn, a, &format!("{cn}.cluster.test"))
        .unwrap_or_else(|e| panic!("{cn}: DNS at {a}: {e}"));
    assert!(
        bed.probe_syslog(cn, sn).unwrap(),
        "{cn}: its syslog, still sent to {a}, reaches {sn}"
    );
    let ping = bed
        .exec(cn, &["ping", "-c", "1", "-W", "2", &a.to_string()])
        .unwrap();
    assert!(ping.status.success(), "{cn}: {a} answers ping");
    assert_eq!(
        holders(bed, cn, a),
        [bed.mac_of(sn, "eth1").unwrap()],
        "{cn}: only {sn} answers for {a}"
    );
}

/// `cn` has not been touched: its own files still name its old service node.
fn untouched(bed: &Bed, cn: &str, old_xm: &str) {
    let chrony = bed.read_node_text(cn, "/etc/chrony/chrony.conf").unwrap();
    assert!(
        chrony.contains(&format!("server {old_xm}")),
        "{cn}: {chrony}"
    );
}

#[test]
fn e2e_adopt_serves_a_dead_sns_nodes_at_once_releases_after_and_hands_back() {
    let Some(mut guard) = bed("adopt", 2, 4, Dhcp::Isc) else {
        return;
    };
    let moved = cns_of(&guard, "sn1");
    let a = guard.compute_ip("sn1").unwrap();
    guard.power_off("sn1").unwrap();
    let bed: &Bed = &guard;
    assert!(
        bed.probe_ntp_server(&moved[0], a).is_err(),
        "nothing answers at {a} once sn1 is off"
    );

    // Stopped right after the adoption: the nodes are served by sn2 and were not touched.
    let mv = [
        "snmove",
        "-s",
        "sn1",
        "-d",
        "sn2",
        "--adopt-address",
        "--yes",
    ];
    let out = baton_with(bed, &mv, &[("BATON_FAULT", "wave-done:1")]);
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(step_state(&journal(bed, 1), "adopt-address"), ["done"]);
    assert!(holds(bed, "sn2", a));
    for cn in &moved {
        untouched(bed, cn, "sn1-eth1");
        served_at(bed, cn, a, "sn2");
    }

    // Stopped again as the release starts: it reads unknown, sn2 still holds the address.
    let out = baton_with(bed, &["resume", "1"], &[("BATON_FAULT", "wave-started:2")]);
    assert!(!out.status.success(), "{}", text(&out));
    let j = journal(bed, 1);
    assert_eq!(step_state(&j, "release-address"), ["unknown"], "{j}");
    assert!(holds(bed, "sn2", a));

    // The resume lets it go; sn1 is still off, so its cleanup waits.
    let out = baton(bed, &["resume", "1"]);
    assert_eq!(code(&out), Some(4), "{}", text(&out));
    let j = journal(bed, 1);
    assert_eq!(step_state(&j, "release-address"), ["done"], "{j}");
    assert!(!holds(bed, "sn2", a), "sn2 let go of {a}");
    for cn in &moved {
        assert_served_by(bed, cn, "sn2");
        assert!(
            holders(bed, cn, a).is_empty(),
            "{cn}: nothing answers for {a}"
        );
    }

    // sn1 comes back with its address: the one holder, and its cleanup finishes.
    guard.revive("sn1").unwrap();
    let bed: &Bed = &guard;
    bed.wait_ready("sn1", std::time::Duration::from_secs(30))
        .unwrap();
    let out = baton(bed, &["resume", "1"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    assert_eq!(step_state(&journal(bed, 1), "reclaim-address"), ["done"]);
    let sn1_mac = bed.mac_of("sn1", "eth1").unwrap();
    assert_eq!(holders(bed, &moved[0], a), std::slice::from_ref(&sn1_mac));

    // A rollback hands the address back (nothing is adopted now): still one holder, sn1.
    let out = baton(bed, &["rollback", "1", "--yes"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    assert_eq!(holders(bed, &moved[0], a), [sn1_mac]);
    assert!(!holds(bed, "sn2", a));
    for cn in &moved {
        assert_served_by(bed, cn, "sn1");
    }
}

#[test]
fn e2e_adopt_never_takes_the_address_of_an_sn_that_answers_arp() {
    let Some(guard) = bed("adoptno", 2, 2, Dhcp::Isc) else {
        return;
    };
    let bed: &Bed = &guard;
    let a = bed.compute_ip("sn1").unwrap();
    let cn = cns_of(bed, "sn1").remove(0);
    // Cut off from the management node only: sn1 still serves its nodes.
    bed.cut_mgmt_link("sn1").unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let mut mv = vec![
            "snmove",
            "-s",
            "sn1",
            "-d",
            "sn2",
            "--adopt-address",
            "--yes",
        ];
        mv.extend_from_slice(extra);
        let out = baton(bed, &mv);
        assert_eq!(code(&out), Some(3), "{}", text(&out));
        assert!(text(&out).contains("is answered by"), "{}", text(&out));
    }
    let out = baton(bed, &["journal", "--json"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[]",
        "nothing recorded"
    );
    let out = baton(bed, &["nodels", &cn, "noderes.servicenode"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sn1"),
        "nothing moved"
    );
    assert!(!holds(bed, "sn2", a));

    // Planned without asking the SNs (--offline): the adoption checks, and refuses.
    let out = baton(bed, &OFFLINE_ADOPT);
    assert_eq!(code(&out), Some(4), "{}", text(&out));
    let j = journal(bed, 1);
    assert_eq!(step_state(&j, "adopt-address"), ["failed"], "{j}");
    assert!(j.to_string().contains("not adopted"), "{j}");
    assert!(!holds(bed, "sn2", a));
    assert_eq!(holders(bed, &cn, a), [bed.mac_of("sn1", "eth1").unwrap()]);
}

#[test]
fn e2e_adopt_survives_a_lost_destination_and_a_returning_old_sn() {
    let Some(mut guard) = bed("adoptret", 2, 4, Dhcp::Isc) else {
        return;
    };
    let moved = cns_of(&guard, "sn1");
    let a = guard.compute_ip("sn1").unwrap();
    guard.power_off("sn1").unwrap();
    let bed: &Bed = &guard;
    let (late, probe) = (&moved[0], &moved[1]);

    // The destination is lost during the adoption: nothing holds the address.
    bed.cut_mgmt_link("sn2").unwrap();
    let out = baton(bed, &OFFLINE_ADOPT);
    assert_eq!(code(&out), Some(4), "{}", text(&out));
    let j = journal(bed, 1);
    assert_eq!(step_state(&j, "adopt-address"), ["pending"], "{j}");
    assert!(j.to_string().contains("unreachable: sn2"), "{j}");
    assert!(holders(bed, probe, a).is_empty());
    bed.restore_link("sn2").unwrap();

    // One node cannot be re-pointed: sn2 keeps the address for it.
    bed.cut_link(late).unwrap();
    let out = baton(bed, &["resume", "1"]);
    assert_eq!(code(&out), Some(4), "{}", text(&out));
    let j = journal(bed, 1);
    assert_eq!(step_state(&j, "adopt-address"), ["done"], "{j}");
    assert_eq!(step_state(&j, "release-address"), ["pending"], "{j}");
    let sn2_mac = bed.mac_of("sn2", "eth1").unwrap();
    assert_eq!(adopted(bed), [(a.to_string(), "sn1".into(), "sn2".into())]);
    assert_eq!(holders(bed, probe, a), std::slice::from_ref(&sn2_mac));

    // sn1 comes back with its address while sn2 holds it: its cleanup takes it down there.
    guard.revive("sn1").unwrap();
    let bed: &Bed = &guard;
    bed.wait_ready("sn1", std::time::Duration::from_secs(30))
        .unwrap();
    let out = baton(bed, &["resume", "1"]);
    assert_eq!(code(&out), Some(4), "{}", text(&out));
    assert!(text(&out).contains("still held by sn2"), "{}", text(&out));
    assert!(!holds(bed, "sn1", a));
    assert_eq!(holders(bed, probe, a), [sn2_mac]);

    // The last node is back: re-pointed, the address let go, and sn1 takes it back.
    bed.restore_link(late).unwrap();
    let out = baton(bed, &["resume", "1"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out));
    assert!(!holds(bed, "sn2", a));
    assert!(holds(bed, "sn1", a));
    assert_eq!(holders(bed, probe, a), [bed.mac_of("sn1", "eth1").unwrap()]);
    assert!(adopted(bed).is_empty(), "baton status: nothing adopted");
    for cn in &moved {
        assert_served_by(bed, cn, "sn2");
    }
}

/// `baton watch --adopt-address` on the management node, with a fence program that confirms
/// at once and notes when (µs since the epoch, in `fenced_at`); its log in `dir/watch.log`.
struct AdoptingWatcher {
    dir: std::path::PathBuf,
    fenced_at: std::path::PathBuf,
    state: std::path::PathBuf,
    child: std::process::Child,
}

impl AdoptingWatcher {
    fn start(bed: &Bed) -> Self {
        let dir = bed.state_dir().to_path_buf();
        let (fence, fenced_at) = (dir.join("fence.sh"), dir.join("fenced-at"));
        let script = format!(
            "#!/bin/sh\nd=$(date +%s%N); echo \"${{d%???}}\" > {}\n",
            fenced_at.display()
        );
        std::fs::write(&fence, script).unwrap();
        let exec = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&fence, exec).unwrap();
        let state = dir.join("watch.json");
        let (fence_s, state_s) = (fence.display().to_string(), state.display().to_string());
        let args = [
            "watch",
            "--interval",
            "0.5",
            "--timeout",
            "3",
            "--threshold",
            "2",
            "--metrics",
            "off",
            "--state-file",
            &state_s,
            "--fence",
            &fence_s,
            "--adopt-address",
        ];
        let child = common::baton_command(bed, &args)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("watch.log")).unwrap())
            .spawn()
            .unwrap();
        AdoptingWatcher {
            dir,
            fenced_at,
            state,
            child,
        }
    }
}

/// The watcher's log so far (its standard error, in `dir/watch.log`).
fn watch_log(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("watch.log")).unwrap_or_default()
}

/// Waits (at most `secs`) for the watcher's log to say its takeover was applied.
fn wait_for_takeover(dir: &std::path::Path, secs: u64) {
    let t0 = std::time::Instant::now();
    while !watch_log(dir).contains("took over its") {
        assert!(
            t0.elapsed().as_secs() < secs,
            "no takeover: {}",
            watch_log(dir)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Stops the watcher by its own PID (in the management node's PID namespace, from its state).
fn stop_watcher(bed: &Bed, state: &std::path::Path, child: &mut std::process::Child) {
    let status: serde_json::Value = serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
    let pid = status["pid"].as_u64().unwrap().to_string();
    bed.exec_ok("mn", &["kill", &pid]).unwrap();
    let _ = child.wait();
}

/// The watcher with `--adopt-address`: from the moment its fence confirmed sn1 off, every node of
/// sn1 gets NTP and DNS answered at sn1's address (probed from inside the nodes every 20 ms); then the
/// nodes are re-pointed and the address let go. `BATON_ADOPT_CNS=50` for the figure of
/// BENCHMARKS.md (printed, never asserted).
#[test]
fn e2e_watch_adopt_address_serves_the_nodes_right_after_the_fence() {
    let cns: usize = std::env::var("BATON_ADOPT_CNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let sns: usize = std::env::var("BATON_ADOPT_SNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let Some(mut guard) = bed("adoptw", sns, cns, Dhcp::Isc) else {
        return;
    };
    let moved = cns_of(&guard, "sn1");
    let a = guard.compute_ip("sn1").unwrap();
    let w = AdoptingWatcher::start(&guard);
    let (dir, fenced_at, state, mut watcher) = (w.dir, w.fenced_at, w.state, w.child);
    std::thread::sleep(std::time::Duration::from_secs(3));
    guard.power_off("sn1").unwrap();
    let bed: &Bed = &guard;
    let probed: Vec<(String, String)> = moved
        .iter()
        .map(|cn| {
            (
                bed.node(cn).unwrap().netns.clone(),
                format!("{cn}.cluster.test"),
            )
        })
        .collect();
    // Every 20 ms, or less often for hundreds of nodes (their servers are on these 2 cores too:
    // 500 nodes every 100 ms is 10,000 queries a second).
    let period = std::time::Duration::from_millis((moved.len() as u64 / 5).max(20));
    let limit = std::time::Duration::from_secs(60);
    let served: Vec<Option<u128>> = testbed::probes::first_answers(&probed, a, period, limit)
        .unwrap()
        .into_iter()
        .map(|t| t.map(|t| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_micros()))
        .collect();
    let log = || watch_log(&dir);
    let fenced: u128 = std::fs::read_to_string(&fenced_at)
        .unwrap_or_else(|_| panic!("the fence ran: {}", log()))
        .trim()
        .parse()
        .unwrap();
    let mut after: Vec<f64> = served
        .iter()
        .zip(&moved)
        .map(|(t, cn)| {
            let t = t.unwrap_or_else(|| panic!("{cn}: never served at {a}: {}", log()));
            (t.saturating_sub(fenced)) as f64 / 1000.0
        })
        .collect();
    after.sort_by(f64::total_cmp);
    println!(
        "adopt-address: {} nodes served at {a} after the fence: first {:.0} ms, median {:.0} ms, last {:.0} ms",
        after.len(),
        after[0],
        after[after.len() / 2],
        after[after.len() - 1]
    );
    // How the time after the fence went (with BATON_LOG=takeover=info).
    for l in log().lines().filter(|l| {
        l.contains("fenced")
            || l.contains("step batches")
            || l.contains("plan")
            || l.contains("commit")
    }) {
        println!("{l}");
    }
    // Behind it, the nodes are re-pointed and the address let go: by the watcher's takeover, or
    // (nodes it could not reach in time, with hundreds on these 2 cores) by a resume after it.
    wait_for_takeover(&dir, 600);
    // Without the adoption a node is served again only once re-pointed: the takeover's end.
    let ended = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    println!(
        "adopt-address: the watcher's takeover (re-pointing behind the adopted address) ended {:.1} s after the fence",
        (ended.as_micros().saturating_sub(fenced)) as f64 / 1e6
    );
    stop_watcher(bed, &state, &mut watcher);
    for _ in 0..3 {
        if !holds(bed, "sn2", a) {
            break;
        }
        let out = baton(bed, &["resume", "1"]);
        println!("resume 1: exit {:?}", out.status.code());
    }
    assert!(!holds(bed, "sn2", a), "sn2 let go of {a}: {}", log());
    let j = journal(bed, 1);
    assert_eq!(step_state(&j, "adopt-address"), ["done"], "{j}");
    assert_eq!(step_state(&j, "release-address"), ["done"], "{j}");
    for cn in moved.iter().take(3) {
        assert_served_by(bed, cn, "sn2");
    }
}

/// A fence that said "off" while the SN's kernel still answers (every process killed, the links
/// up): the new SN takes the address, hears the old one answer for it, and lets go again. One
/// holder before and after, and the step says why.
#[test]
fn e2e_watch_adopt_address_lets_go_when_the_fenced_sn_still_answers() {
    let Some(mut guard) = bed("adoptlie", 3, 6, Dhcp::Isc) else {
        return;
    };
    let cn = cns_of(&guard, "sn1").remove(0);
    let a = guard.compute_ip("sn1").unwrap();
    let sn1_mac = guard.mac_of("sn1", "eth1").unwrap();
    let mut w = AdoptingWatcher::start(&guard);
    std::thread::sleep(std::time::Duration::from_secs(3));
    guard.kill_node("sn1").unwrap();
    let bed: &Bed = &guard;
    wait_for_takeover(&w.dir, 120);
    stop_watcher(bed, &w.state, &mut w.child);
    assert!(w.fenced_at.exists(), "the fence ran");
    let j = journal(bed, 1);
    assert_eq!(step_state(&j, "adopt-address"), ["failed"], "{j}");
    assert!(j.to_string().contains("let go again"), "{j}");
    assert!(!holds(bed, "sn2", a) && !holds(bed, "sn3", a));
    assert_eq!(holders(bed, &cn, a), [sn1_mac]);
}

/// The destination dies in the middle of the adoption (its `arping` hangs, then it is powered
/// off): the step is not done, nothing holds the address, and once the destination is back a
/// resume adopts it, re-points the nodes and lets it go.
#[test]
fn e2e_adopt_the_destination_dies_during_the_adoption() {
    let Some(mut guard) = bed("adoptdie", 2, 4, Dhcp::Isc) else {
        return;
    };
    let moved = cns_of(&guard, "sn1");
    let a = guard.compute_ip("sn1").unwrap();
    guard.power_off("sn1").unwrap();
    let hang = guard.state_dir().join("hanging-arping");
    std::fs::write(&hang, "#!/bin/sh\nsleep 300\n").unwrap();
    let exec = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&hang, exec).unwrap();
    let arping = "/usr/bin/arping";
    guard
        .exec_ok(
            "sn2",
            &["mount", "--bind", &hang.display().to_string(), arping],
        )
        .unwrap();
    let run = common::baton_command(&guard, &OFFLINE_ADOPT)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The adoption is under way on sn2 (its check hangs there) when sn2 dies.
    let t0 = std::time::Instant::now();
    while !guard
        .exec_ok("sn2", &["pgrep", "-f", "sleep 300"])
        .is_ok_and(|o| !o.trim().is_empty())
    {
        assert!(
            t0.elapsed().as_secs() < 60,
            "the adoption never started on sn2"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    guard.power_off("sn2").unwrap();
    let out = run.wait_with_output().unwrap();
    assert_eq!(code(&out), Some(4), "{}", text(&out));
    let bed: &Bed = &guard;
    let j = journal(bed, 1);
    let adopt = step_state(&j, "adopt-address");
    assert_ne!(adopt, ["done"], "{j}");
    assert!(holders(bed, &moved[0], a).is_empty(), "nothing holds {a}");

    guard.revive("sn2").unwrap();
    let bed: &Bed = &guard;
    bed.wait_ready("sn2", std::time::Duration::from_secs(30))
        .unwrap();
    let out = baton(bed, &["resume", "1"]);
    assert_eq!(code(&out), Some(4), "sn1's cleanup waits: {}", text(&out));
    let j = journal(bed, 1);
    assert_eq!(step_state(&j, "adopt-address"), ["done"], "{j}");
    assert_eq!(step_state(&j, "release-address"), ["done"], "{j}");
    assert!(!holds(bed, "sn2", a));
    for cn in &moved {
        assert_served_by(bed, cn, "sn2");
    }
}

/// A service the nodes use that listens on other addresses only (UDP 123 bound to sn2's own
/// compute address): it would not answer on the adopted one, so the adoption fails naming it and lets
/// the address go.
#[test]
fn e2e_adopt_refuses_half_a_service_and_lets_the_address_go() {
    let Some(mut guard) = bed("adopthalf", 2, 2, Dhcp::Isc) else {
        return;
    };
    let cn = cns_of(&guard, "sn1").remove(0);
    let a = guard.compute_ip("sn1").unwrap();
    let own = guard.compute_ip("sn2").unwrap();
    guard.power_off("sn1").unwrap();
    let bed: &Bed = &guard;
    // sn2's own chronyd, by its pid file (the node's PID namespace): nothing else is touched.
    let out = bed
        .sh("sn2", "kill $(cat /run/chrony/chronyd.pid)")
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // Something on UDP 123 bound to sn2's own address only (a dnsmasq told to listen there).
    let listen = format!("--listen-address={own}");
    let args = [
        "dnsmasq",
        "--port=123",
        &listen,
        "--bind-interfaces",
        "--no-resolv",
        "--conf-file=/dev/null",
        "--pid-file=/run/baton-test-dnsmasq.pid",
    ];
    bed.exec_ok("sn2", &args).unwrap();
    let out = baton(
        bed,
        &[
            "snmove",
            "-s",
            "sn1",
            "-d",
            "sn2",
            "--adopt-address",
            "--yes",
        ],
    );
    assert_eq!(code(&out), Some(4), "{}", text(&out));
    let j = journal(bed, 1);
    assert_eq!(step_state(&j, "adopt-address"), ["failed"], "{j}");
    assert!(
        j.to_string()
            .contains("udp/123 listen only on other addresses"),
        "{j}"
    );
    assert!(!holds(bed, "sn2", a), "a failed adoption holds nothing");
    assert!(holders(bed, &cn, a).is_empty());
}
