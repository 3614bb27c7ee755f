//! End to end on the network-namespace test bed: real sshd on every node, real rsyslog,
//! chronyd, dnsmasq and DHCP daemons. sn1 dies; `baton snmove -s sn1` runs on the management
//! node; then the running compute nodes must really use sn2. Needs root and the daemons of
//! .ci/run: without them each test prints SKIPPED and returns.

mod common;

use common::{assert_served_by, baton, cns_of, journal, step_state};
use testbed::{Bed, Dhcp};

#[test]
fn e2e_dead_sn_takeover_repoints_running_compute_nodes() {
    let Some(mut guard) = common::bed("e2ecn", 2, 4, Dhcp::Isc) else {
        return;
    };
    let bed: &mut Bed = &mut guard;
    let moved = cns_of(bed, "sn1");
    assert!(!moved.is_empty());
    // cn of sn1 that will be down during the move, and come back later.
    let late = moved.last().unwrap().clone();
    bed.kill_node("sn1").unwrap();
    bed.kill_node(&late).unwrap();

    let out = baton(bed, &["snmove", "-s", "sn1", "--yes"]);
    // One compute node is down, and so is sn1 (its cleanup waits): a partial run.
    assert_eq!(out.status.code(), Some(4));
    let j = journal(bed, 1);
    for kind in ["xcatinfo", "route", "postscripts"] {
        assert_eq!(
            step_state(&j, kind),
            ["pending"],
            "{kind}: pending for the node that is down"
        );
    }
    for cn in moved.iter().filter(|c| **c != late) {
        assert_served_by(bed, cn, "sn2");
    }
    let results = &j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "xcatinfo")
        .unwrap()["results"];
    assert!(
        results[&late].as_str().unwrap().starts_with("unreachable"),
        "{results}"
    );

    // The node comes back: resume finishes it, and only it.
    bed.revive(&late).unwrap();
    let out = baton(bed, &["resume", "1"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "still partial: sn1 is down, its cleanup waits"
    );
    let j = journal(bed, 1);
    for kind in [
        "consoles",
        "dhcp",
        "bootfiles",
        "xcatinfo",
        "route",
        "postscripts",
    ] {
        assert_eq!(step_state(&j, kind), ["done"], "{kind}");
    }
    assert_eq!(step_state(&j, "cleanup-old-sn"), ["pending"]);
    assert_served_by(bed, &late, "sn2");

    // sn1 returns; rollback re-points the nodes to it, and every step of the rollback is done.
    bed.revive("sn1").unwrap();
    let out = baton(bed, &["rollback", "1", "--yes"]);
    assert_eq!(out.status.code(), Some(0));
    for cn in &moved {
        assert_served_by(bed, cn, "sn1");
    }
}

#[test]
fn e2e_postscripts_run_site_scripts_and_ignorenodes_leaves_nodes_alone() {
    let Some(guard) = common::bed("e2eopt", 2, 2, Dhcp::Isc) else {
        return;
    };
    let bed: &Bed = &guard;
    let cn = cns_of(bed, "sn1").remove(0);

    // A site script that leaves a mark, run with xCAT's environment.
    bed.sh("mn", "mkdir -p /install/postscripts && printf '#!/bin/sh\\necho \"$NODE $MASTER $MASTER_IP\" > /var/tmp/baton-mark\\n' > /install/postscripts/leavemark && chmod 755 /install/postscripts/leavemark").unwrap();
    let out = baton(
        bed,
        &["snmove", &cn, "-d", "sn2", "-P", "leavemark", "--yes"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "both service nodes are up: every step is done"
    );
    let ip = bed.compute_ip("sn2").unwrap();
    assert_eq!(
        bed.read_node_text(&cn, "/var/tmp/baton-mark").unwrap(),
        format!("{cn} {ip} {ip}\n")
    );
    assert_served_by(bed, &cn, "sn2");

    // -i: the database moves back to sn1, the node is not touched.
    let before = bed
        .read_node_text(&cn, "/etc/rsyslog.d/remote.conf")
        .unwrap();
    let out = baton(bed, &["snmove", &cn, "-i", "--yes"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        bed.read_node_text(&cn, "/etc/rsyslog.d/remote.conf")
            .unwrap(),
        before,
        "-i: untouched"
    );
    assert_served_by(bed, &cn, "sn2");

    // A script that does not exist fails its step, and says which.
    let out = baton(
        bed,
        &["snmove", &cn, "-d", "sn2", "-P", "nosuchscript", "--yes"],
    );
    assert_eq!(out.status.code(), Some(4));
    let j = journal(bed, 3);
    let ps = j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "postscripts")
        .unwrap();
    assert_eq!(ps["state"], "failed");
    assert!(
        ps["detail"].as_str().unwrap().contains("nosuchscript"),
        "{ps}"
    );
}
