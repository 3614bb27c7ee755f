//! `baton rnetboot` against real simulated BMCs: OpenIPMI's `ipmi_sim` (Debian package
//! `openipmi`) on loopback, spoken to by the real `ipmitool`. Each simulated BMC hands its
//! chassis actions to a small control program that records them, so the test sees what the BMC
//! was asked to do: boot device PXE, then power cycle (or on). Without ipmi_sim or ipmitool the
//! tests print SKIPPED and return.

use assert_cmd::Command;
use std::path::Path;

mod common;

use common::bmc::{skip, Sim};

fn baton(db: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::cargo_bin("baton")
        .unwrap()
        .env("BATON_DB", format!("sqlite:{}", db.display()))
        .args(args)
        .output()
        .unwrap();
    common::logged(args, out)
}

fn restore(dir: &Path, db: &Path, table: &str, csv: &str) {
    let f = dir.join(format!("{table}.csv"));
    std::fs::write(&f, csv).unwrap();
    assert!(baton(db, &["tabrestore", f.to_str().unwrap()])
        .status
        .success());
}

#[test]
fn rnetboot_sets_pxe_then_cycles_or_powers_on_through_each_bmc() {
    if skip("rnetboot_sets_pxe_then_cycles_or_powers_on_through_each_bmc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    assert!(baton(&db, &["init"]).status.success());
    let on = Sim::start(&dir.path().join("bmc1"), "admin", "pw-one", true);
    let off = Sim::start(&dir.path().join("bmc2"), "root", "pw-two", false);
    restore(
        dir.path(),
        &db,
        "nodelist",
        "#node,groups\n\"cn1\",\"compute,all\"\n\"cn2\",\"compute,all\"\n\"cn3\",\"compute,all\"\n\"cn4\",\"compute,all\"\n",
    );
    restore(
        dir.path(),
        &db,
        "nodehm",
        "#node,mgt\n\"compute\",\"ipmi\"\n",
    );
    // cn2 has no credentials of its own: the passwd table's ipmi row supplies them. cn3's
    // password is wrong; cn4 has no BMC.
    restore(
        dir.path(),
        &db,
        "ipmi",
        &format!(
            "#node,bmc,username,password\n\"cn1\",\"127.0.0.1:{}\",\"admin\",\"pw-one\"\n\"cn2\",\"127.0.0.1:{}\",,\n\"cn3\",\"127.0.0.1:{}\",\"admin\",\"wrong\"\n",
            on.port, off.port, on.port
        ),
    );
    restore(
        dir.path(),
        &db,
        "passwd",
        "#key,username,password\n\"ipmi\",\"root\",\"pw-two\"\n",
    );

    let out = baton(&db, &["rnetboot", "cn1-cn4", "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(1), "two nodes fail");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("cn1: boot device pxe, power cycle\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cn2: boot device pxe, power on\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cn3: failed: chassis bootdev pxe: "),
        "{stdout}"
    );
    assert!(
        stdout.contains("cn4: failed: no BMC address (ipmi.bmc)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("2 of 4 nodes were not network-booted: cn3-cn4"),
        "{stderr}"
    );
    for pw in ["pw-one", "pw-two", "wrong"] {
        assert!(!stdout.contains(pw) && !stderr.contains(pw), "{pw} leaked");
    }
    // What the simulated BMCs were asked: PXE for the next boot, then the power action.
    assert_eq!(
        on.actions_after(3),
        ["boot pxe", "power 0", "power 1"],
        "cycle"
    );
    assert_eq!(off.actions_after(2), ["boot pxe", "power 1"], "on");

    // All good: exit 0. A bad noderange changes nothing and says why.
    let out = baton(&db, &["rnetboot", "cn1"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(on.actions_after(6).len(), 6);
    let out = baton(&db, &["rnetboot", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(on.actions().len(), 6);
}

/// `-d` on the test bed: cn1 is re-homed to sn2 in the database only; `rnetboot cn1 -d` must
/// make sn2, and only sn2, answer its DHCP request before the BMC (a simulator that only sn2
/// reaches) boots it, through sn2.
#[test]
fn e2e_rnetboot_direct_answers_only_from_the_xcatmaster() {
    if skip("e2e_rnetboot_direct_answers_only_from_the_xcatmaster") {
        return;
    }
    let Some(guard) = common::bed("arnetd", 2, 2, testbed::Dhcp::Isc) else {
        return;
    };
    let bed: &testbed::Bed = &guard;
    let offers = |cn: &str| -> Vec<std::net::Ipv4Addr> {
        bed.probe_dhcp_all(cn, std::time::Duration::from_secs(2))
            .unwrap()
            .into_iter()
            .map(|o| o.server_id.unwrap_or(o.from))
            .collect()
    };
    let (sn1, sn2) = (
        bed.compute_ip("sn1").unwrap(),
        bed.compute_ip("sn2").unwrap(),
    );
    assert_eq!(offers("cn1"), [sn1]);
    // The BMC sits on sn2's own loopback: only sn2 reaches it, so the boot goes through the
    // node's (new) service node, as xCAT dispatches it.
    bed.exec_ok("sn2", &["mkdir", "-p", "/var/tmp/bmc"])
        .unwrap();
    let dir = bed.host_path("sn2", "/var/tmp/bmc").unwrap();
    let run = |args: &[&str]| bed.command("sn2", args).unwrap();
    let sim = Sim::start_in(
        &dir,
        Path::new("/var/tmp/bmc"),
        16623,
        &run,
        "admin",
        "pw-d",
        true,
    );
    let chdef = |args: &[&str]| {
        let mut v = vec!["chdef", "cn1"];
        v.extend_from_slice(args);
        assert_eq!(common::baton(bed, &v).status.code(), Some(0));
    };
    chdef(&[
        "servicenode=sn2,sn1",
        "xcatmaster=sn2-eth1",
        "tftpserver=sn2-eth1",
    ]);
    let csv = "#node,bmc,username,password\n\"cn1\",\"127.0.0.1:16623\",\"admin\",\"pw-d\"\n";
    bed.write_node_file("mn", "/var/tmp/ipmi.csv", csv.as_bytes())
        .unwrap();
    assert_eq!(
        common::baton(bed, &["tabrestore", "/var/tmp/ipmi.csv"])
            .status
            .code(),
        Some(0)
    );

    let out = common::baton(bed, &["rnetboot", "cn1", "-d"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(offers("cn1"), [sn2], "only the xcatmaster answers");
    assert_eq!(sim.actions_after(3), ["boot pxe", "power 0", "power 1"]);

    // A service node of the list that cannot be reached: the direct boot is not guaranteed,
    // so the node is not booted.
    chdef(&["servicenode=sn2,nosuchsn"]);
    let out = common::baton(bed, &["rnetboot", "cn1", "-d"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cn1: failed: direct boot not arranged"));
    assert_eq!(sim.actions().len(), 3, "the BMC was not touched");
}
