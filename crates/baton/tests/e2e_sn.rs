//! End to end on the network-namespace test bed, service-node side: sn1 dies, `baton snmove -s
//! sn1` runs on the management node, and then the real daemons prove that sn2 answers for the
//! moved compute nodes: a DHCPDISCOVER from each is answered by sn2 with next-server = sn2, the
//! node's boot file read over TFTP from sn2 names sn2, sn2's conserver lists the node's console
//! and the management node's conserver.cf says `master sn2`. When sn1 returns, `baton resume`
//! removes the nodes from it: sn1 no longer answers for them. Both ISC dhcpd and Kea. Needs root
//! and the daemons of .ci/run: without them each test prints SKIPPED and returns.

mod common;

use common::{baton, bed, cns_of, journal, step_state};
use std::net::Ipv4Addr;
use std::time::Duration;
use testbed::{Bed, Dhcp};

/// The DHCP offers a node gets within two seconds, by answering server.
fn offers_from(bed: &Bed, cn: &str) -> Vec<(Ipv4Addr, Ipv4Addr, Ipv4Addr)> {
    bed.probe_dhcp_all(cn, Duration::from_secs(2))
        .unwrap()
        .into_iter()
        .map(|o| (o.server_id.unwrap_or(o.from), o.next_server, o.yiaddr))
        .collect()
}

/// The console block of `cn` in a conserver.cf.
fn console_block(cf: &str, cn: &str) -> String {
    let begin = format!("#xCAT BEGIN {cn} CONS\n");
    let end = format!("#xCAT END {cn} CONS\n");
    let Some(a) = cf.find(&begin) else {
        return String::new();
    };
    let b = cf[a..].find(&end).map(|b| a + b).unwrap_or(cf.len());
    cf[a..b].to_string()
}

/// Every check the issue names, for one compute node now served by `sn` (the other SN is `old`).
fn assert_sn_serves(bed: &Bed, cn: &str, sn: &str, old_alive: Option<&str>) {
    let ip = bed.compute_ip(sn).unwrap();
    let offers = offers_from(bed, cn);
    let cn_ip = bed.compute_ip(cn).unwrap();
    assert!(
        offers.contains(&(ip, ip, cn_ip)),
        "{cn}: {sn} offers it its address with next-server {sn}: {offers:?}"
    );
    if let Some(old) = old_alive {
        let old_ip = bed.compute_ip(old).unwrap();
        assert!(
            offers.iter().all(|o| o.0 != old_ip),
            "{cn}: {old} no longer answers for it: {offers:?}"
        );
    }
    let boot = String::from_utf8(bed.tftp_get(cn, sn, &bed.boot_file(cn)).unwrap()).unwrap();
    assert!(
        boot.contains(&format!("XCAT={ip}:3001")),
        "{cn}: its boot file on {sn} names {sn}: {boot}"
    );
    assert!(
        boot.contains(&format!("imgurl=http://{ip}:80/")),
        "{cn}: the root image comes from {sn}: {boot}"
    );
    let consoles = bed.conserver_consoles(sn).unwrap();
    assert!(
        consoles.contains(&cn.to_string()),
        "{cn}: {sn}'s conserver lists it: {consoles:?}"
    );
    let mn = bed.read_node_text("mn", "/etc/conserver.cf").unwrap();
    assert!(
        console_block(&mn, cn).contains(&format!("  master {sn};\n")),
        "{cn}: the MN's conserver.cf says master {sn}:\n{mn}"
    );
}

/// `old` does not answer for `cn` any more: no DHCP offer, no boot file, no console.
fn assert_gone_from(bed: &Bed, cn: &str, old: &str) {
    let old_ip = bed.compute_ip(old).unwrap();
    let offers = offers_from(bed, cn);
    assert!(
        offers.iter().all(|o| o.0 != old_ip),
        "{cn}: {old} does not answer: {offers:?}"
    );
    assert!(
        bed.tftp_get(cn, old, &bed.boot_file(cn)).is_err(),
        "{cn}: no boot file on {old}"
    );
    // conserver exits when its last console goes: then nothing lists the node either.
    if let Ok(list) = bed.conserver_consoles(old) {
        assert!(
            !list.contains(&cn.to_string()),
            "{cn}: {old}'s conserver does not list it: {list:?}"
        );
    }
}

fn dead_sn_then_resume(name: &str, dhcp: Dhcp) {
    let Some(mut guard) = bed(name, 2, 4, dhcp) else {
        return;
    };
    let bed: &mut Bed = &mut guard;
    let moved = cns_of(bed, "sn1");
    assert!(!moved.is_empty());
    bed.kill_node("sn1").unwrap();
    let kea_pid = "/run/kea/kea-dhcp4.kea-dhcp4.pid";
    let pid_before = bed.exec_ok("sn2", &["cat", kea_pid]).ok();
    assert_eq!(pid_before.is_some(), dhcp == Dhcp::Kea);

    let out = baton(bed, &["snmove", "-s", "sn1", "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "partial: sn1's cleanup waits until it is back"
    );
    if dhcp == Dhcp::Kea {
        // Kea took the new reservations with config-reload over its control socket: same process.
        assert_eq!(
            bed.exec_ok("sn2", &["cat", kea_pid]).ok(),
            pid_before,
            "Kea was reloaded, not restarted"
        );
    }
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
    for cn in &moved {
        assert_sn_serves(bed, cn, "sn2", None);
    }

    // sn1 comes back with its old configuration: it answers for the moved nodes too...
    bed.revive("sn1").unwrap();
    let sn1 = bed.compute_ip("sn1").unwrap();
    assert!(
        offers_from(bed, &moved[0]).iter().any(|o| o.0 == sn1),
        "sn1 is back with stale entries"
    );
    // ...until resume runs its cleanup.
    let out = baton(bed, &["resume", "1"]);
    assert_eq!(out.status.code(), Some(0), "every step is done now");
    let j = journal(bed, 1);
    assert_eq!(step_state(&j, "cleanup-old-sn"), ["done"]);
    assert_eq!(j["entry"]["state"], "done");
    for cn in &moved {
        assert_gone_from(bed, cn, "sn1");
        assert_sn_serves(bed, cn, "sn2", Some("sn1"));
    }
    // The nodes sn1 still serves are untouched.
    for cn in cns_of(bed, "sn2") {
        let offers = offers_from(bed, &cn);
        assert!(
            offers.iter().any(|o| o.0 == bed.compute_ip("sn2").unwrap()),
            "{cn}: {offers:?}"
        );
    }
}

#[test]
fn e2e_sn_side_takeover_with_isc_dhcpd() {
    dead_sn_then_resume("e2esnisc", Dhcp::Isc);
}

#[test]
fn e2e_sn_side_takeover_with_kea() {
    dead_sn_then_resume("e2esnkea", Dhcp::Kea);
}

/// makedhcp, nodeset and makeconservercf redo one part alone, on the nodes' current service node.
#[test]
fn e2e_makedhcp_nodeset_makeconservercf() {
    let Some(guard) = bed("e2esvc", 2, 2, Dhcp::Isc) else {
        return;
    };
    let bed: &Bed = &guard;
    let cn = cns_of(bed, "sn1").remove(0);
    let sn1 = bed.compute_ip("sn1").unwrap();
    let cn_ip = bed.compute_ip(&cn).unwrap();
    let boot = |bed: &Bed| {
        bed.tftp_get(&cn, "sn1", &bed.boot_file(&cn))
            .map(|b| String::from_utf8(b).unwrap())
    };

    // DHCP: delete, then write again.
    assert_eq!(baton(bed, &["makedhcp", &cn, "-d"]).status.code(), Some(0));
    assert!(
        offers_from(bed, &cn).is_empty(),
        "no server answers for {cn} any more"
    );
    assert_eq!(baton(bed, &["makedhcp", &cn]).status.code(), Some(0));
    assert_eq!(offers_from(bed, &cn), [(sn1, sn1, cn_ip)]);

    // Boot files: local boot, back to its image, then none.
    assert_eq!(baton(bed, &["nodeset", &cn, "boot"]).status.code(), Some(0));
    assert_eq!(boot(bed).unwrap(), "#!gpxe\n#boot\nexit\n");
    assert_eq!(
        baton(bed, &["nodeset", &cn, "osimage"]).status.code(),
        Some(0)
    );
    assert!(boot(bed)
        .unwrap()
        .contains(&format!("XCAT={sn1}:3001 NODE={cn} ")));
    assert_eq!(
        baton(bed, &["nodeset", &cn, "offline"]).status.code(),
        Some(0)
    );
    assert!(boot(bed).is_err());
    assert_eq!(
        baton(bed, &["nodeset", &cn, "osimage"]).status.code(),
        Some(0)
    );
    assert!(boot(bed).is_ok());

    // Consoles: removed (sn1's conserver stops with its last console), then back (started again
    // with the command line it had).
    assert_eq!(
        baton(bed, &["makeconservercf", &cn, "-d"]).status.code(),
        Some(0)
    );
    assert!(bed
        .conserver_consoles("sn1")
        .map(|l| !l.contains(&cn))
        .unwrap_or(true));
    assert_eq!(
        console_block(
            &bed.read_node_text("mn", "/etc/conserver.cf")
                .unwrap_or_default(),
            &cn
        ),
        ""
    );
    assert_eq!(baton(bed, &["makeconservercf", &cn]).status.code(), Some(0));
    assert!(bed.conserver_consoles("sn1").unwrap().contains(&cn));
    let mn = bed.read_node_text("mn", "/etc/conserver.cf").unwrap();
    assert!(console_block(&mn, &cn).contains("  master sn1;\n"), "{mn}");

    // xCAT flags baton does not take, and bad states, change nothing and exit 2.
    assert_eq!(baton(bed, &["makedhcp", "-n"]).status.code(), Some(2));
    assert_eq!(
        baton(bed, &["nodeset", &cn, "shell"]).status.code(),
        Some(2)
    );
    assert_eq!(offers_from(bed, &cn), [(sn1, sn1, cn_ip)]);
}
