//! End to end on the test bed, AIX path. There is no AIX here: the AIX compute node is a test-bed
//! node whose ssh sessions find small stand-ins for AIX's `niminit`, `bootlist`, `netstat` and
//! `route` first in their PATH. The stand-ins print AIX-shaped output, keep their state in files
//! under /etc/aixemu and record every call in /var/log/aixemu.calls, so the tests check the exact
//! commands baton ran on the node and the files it left. The statelite copy is real: rsync runs
//! on the old service node and pushes over ssh to the new one. Needs root and the daemons of
//! .ci/run: without them each test prints SKIPPED and returns.

mod common;

use common::{baton, journal, step_state};
use testbed::{Bed, Dhcp};

const CALLS: &str = "/var/log/aixemu.calls";

/// AIX-shaped stand-ins. Every value they print comes from their state files.
const STANDINS: &[(&str, &str)] = &[
    (
        "netstat",
        r#"#!/bin/sh
echo "netstat $*" >> /var/log/aixemu.calls
case "$1" in
  -rn)
    echo "Routing tables"
    echo "Destination        Gateway           Flags   Refs     Use  If   Exp  Groups"
    echo
    echo "Route Tree for Protocol Family 2 (Internet):"
    for g in $(cat /etc/aixemu/defaults); do
      printf 'default            %-17s UG        1     2041 en0      -      -\n' "$g"
    done
    echo "127/8              127.0.0.1         U        10    10250 lo0      -      -"
    ;;
  -in)
    echo "Name  Mtu   Network     Address            Ipkts Ierrs    Opkts Oerrs  Coll"
    echo "en0   1500  link#2      2.b7.0.1.0.1        9913     0     5521     0     0"
    printf 'en0   1500  10.0        %-18s  9913     0     5521     0     0\n' "$(cat /etc/aixemu/ip)"
    echo "lo0   16896 127         127.0.0.1            412     0      412     0     0"
    ;;
  *) echo "netstat: unsupported in the emulation: $*" >&2; exit 1 ;;
esac
"#,
    ),
    (
        "route",
        r#"#!/bin/sh
echo "route $*" >> /var/log/aixemu.calls
[ "$1" = change ] && [ "$2" = default ] && [ -n "$3" ] || { echo "route: bad arguments" >&2; exit 1; }
grep -q . /etc/aixemu/defaults || { echo "0821-279 writing to routing socket: The process does not exist." >&2; exit 1; }
echo "$3" > /etc/aixemu/defaults
echo "change net default: gateway $3"
"#,
    ),
    (
        "niminit",
        r#"#!/bin/sh
echo "niminit $*" >> /var/log/aixemu.calls
name=""; master=""
while [ $# -gt 1 ]; do
  case "$2" in name=*) name=${2#name=} ;; master=*) master=${2#master=} ;; esac
  shift 2
done
[ -n "$name" ] && [ -n "$master" ] || { echo "0042-001 niminit: missing attribute" >&2; exit 1; }
[ -f /etc/niminfo ] && { echo "0042-053 niminit: /etc/niminfo already exists" >&2; exit 1; }
[ -f /etc/aixemu/niminit-fails ] && { echo "0042-008 niminit: Request denied - $master is not reachable" >&2; exit 1; }
printf '#------------------ Network Install Manager ---------------\nexport NIM_NAME=%s\nexport NIM_CONFIGURATION=standalone\nexport NIM_MASTER_HOSTNAME=%s\n' "$name" "$master" > /etc/niminfo
"#,
    ),
    (
        "bootlist",
        r#"#!/bin/sh
echo "bootlist $*" >> /var/log/aixemu.calls
[ "$1" = -m ] && [ "$2" = normal ] || { echo "bootlist: only -m normal is emulated" >&2; exit 1; }
shift 2
if [ "$1" = -o ]; then cat /etc/aixemu/bootlist; exit 0; fi
echo "$*" > /etc/aixemu/bootlist
"#,
    ),
];

/// Write a file in a node, creating its directory.
fn put(bed: &Bed, node: &str, path: &str, data: &[u8]) {
    let dir = std::path::Path::new(path)
        .parent()
        .unwrap()
        .to_str()
        .unwrap();
    bed.exec_ok(node, &["mkdir", "-p", dir]).unwrap();
    bed.write_node_file(node, path, data).unwrap();
}

/// Turn `cn` into an emulated AIX node served by `sn`, with a standalone (diskful) NIM image and
/// a statelite row for group compute on `sn`'s node-facing name.
fn make_aix(bed: &Bed, cn: &str, sn: &str) {
    for (name, body) in STANDINS {
        let path = format!("/opt/aixemu/bin/{name}");
        put(bed, cn, &path, body.as_bytes());
        bed.exec_ok(cn, &["chmod", "755", &path]).unwrap();
    }
    let sn_ip = bed.compute_ip(sn).unwrap();
    let cn_ip = bed.compute_ip(cn).unwrap();
    put(
        bed,
        cn,
        "/etc/aixemu/defaults",
        format!("{sn_ip}\n").as_bytes(),
    );
    put(bed, cn, "/etc/aixemu/ip", format!("{cn_ip}\n").as_bytes());
    put(bed, cn, "/etc/aixemu/bootlist", b"hdisk0 blv=hd5\n");
    put(
        bed,
        cn,
        "/etc/xcatinfo",
        format!("XCATSERVER={sn_ip}\nNODE={cn}\n").as_bytes(),
    );
    put(
        bed,
        cn,
        "/etc/niminfo",
        format!("export NIM_NAME={cn}\nexport NIM_MASTER_HOSTNAME={sn}\n").as_bytes(),
    );
    put(
        bed,
        cn,
        "/root/.ssh/environment",
        b"PATH=/opt/aixemu/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
    );
    let csv = |table: &str, text: &str| {
        let path = format!("/var/tmp/{table}.csv");
        put(bed, "mn", &path, text.as_bytes());
        assert_eq!(baton(bed, &["tabrestore", &path]).status.code(), Some(0));
    };
    csv(
        "nimimage",
        "#imagename,nimtype,lpp_source,spot,root,dump,paging,resolv_conf,tmp,home,shared_home,res_group,nimmethod,script,bosinst_data,installp_bundle,mksysb,fb_script,shared_root,otherpkgs,image_data,configdump,comments,disable\n\"aix71std\",\"standalone\",,,,,,,,,,,,,,,,,,,,,,\n",
    );
    csv(
        "statelite",
        &format!("#node,image,statemnt,mntopts,comments,disable\n\"compute\",,\"{sn}-eth1:/var/statelite\",,,\n"),
    );
    let out = baton(bed, &["chdef", cn, "os=AIX", "provmethod=aix71std"]);
    assert_eq!(out.status.code(), Some(0));
    // The node's persistent files, on its service node.
    put(
        bed,
        sn,
        &format!("/var/statelite/{cn}/etc/keep.conf"),
        format!("persistent state of {cn}\n").as_bytes(),
    );
}

fn calls(bed: &Bed, cn: &str) -> Vec<String> {
    bed.read_node_text(cn, CALLS)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn tabdump(bed: &Bed, table: &str) -> String {
    String::from_utf8(baton(bed, &["tabdump", table]).stdout).unwrap()
}

/// The AIX commands a move to `sn` runs on `cn`, in order.
fn expected_calls(bed: &Bed, cn: &str, sn: &str) -> Vec<String> {
    let ip = bed.compute_ip(sn).unwrap();
    let cn_ip = bed.compute_ip(cn).unwrap();
    vec![
        format!("niminit -a name={cn} -a master={sn}"),
        "netstat -rn".into(),
        format!("route change default {ip}"),
        "netstat -rn".into(),
        "netstat -in".into(),
        format!("bootlist -m normal ent0 gateway={ip} bserver={ip} client={cn_ip}"),
        "bootlist -m normal -o".into(),
    ]
}

/// `cn`'s AIX files name `sn`; its default route is via `sn` too unless `site_gw` (a default
/// gateway that is not a service node, which baton leaves alone) is given.
fn assert_aix_node_on(bed: &Bed, cn: &str, sn: &str, site_gw: Option<&str>) {
    let ip = bed.compute_ip(sn).unwrap();
    assert_eq!(
        bed.read_node_text(cn, "/etc/xcatinfo").unwrap(),
        format!("XCATSERVER={ip}\nNODE={cn}\n"),
        "{cn}: /etc/xcatinfo names {sn}, other keys kept"
    );
    let nim = bed.read_node_text(cn, "/etc/niminfo").unwrap();
    assert!(
        nim.contains(&format!("export NIM_MASTER_HOSTNAME={sn}\n")),
        "{cn}: niminfo names {sn}: {nim}"
    );
    assert_eq!(
        bed.read_node_text(cn, "/etc/aixemu/defaults").unwrap(),
        format!(
            "{}\n",
            site_gw.map(str::to_string).unwrap_or(ip.to_string())
        ),
        "{cn}: the default route"
    );
    let cn_ip = bed.compute_ip(cn).unwrap();
    assert_eq!(
        bed.read_node_text(cn, "/etc/aixemu/bootlist").unwrap(),
        format!("ent0 gateway={ip} bserver={ip} client={cn_ip}\n")
    );
}

#[test]
fn e2e_aix_retiring_sn_moves_aix_node_and_statelite_then_rollback() {
    let Some(guard) = common::bed("aaix", 2, 2, Dhcp::Isc) else {
        return;
    };
    let bed: &Bed = &guard;
    // cn1 is served by sn1 (backup sn2); sn1 is being retired, so it is up during the move.
    make_aix(bed, "cn1", "sn1");
    let statelite_before = tabdump(bed, "statelite");
    let sn2 = bed.compute_ip("sn2").unwrap();

    let plan = baton(bed, &["snmove", "-s", "sn1", "--dry-run", "--json"]);
    assert_eq!(plan.status.code(), Some(0));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let kinds: Vec<&str> = plan["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "statelite-sync",
            "consoles",
            "niminit",
            "xcatinfo",
            "route",
            "bootlist",
            "postscripts",
            "cleanup-old-sn"
        ],
        "AIX nodes get no dhcpd or nodeset step: NIM boots them"
    );

    let out = baton(bed, &["snmove", "-s", "sn1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "both service nodes are up");
    assert_eq!(calls(bed, "cn1"), expected_calls(bed, "cn1", "sn2"));
    assert_aix_node_on(bed, "cn1", "sn2", None);
    assert_eq!(
        bed.read_node_text("cn1", "/etc/niminfo.baton-old").unwrap(),
        "export NIM_NAME=cn1\nexport NIM_MASTER_HOSTNAME=sn1\n",
        "the previous niminfo is kept aside"
    );
    // statelite: the node's own row now names the new xcatmaster; the group row is untouched.
    let lite = tabdump(bed, "statelite");
    assert!(
        lite.contains("\"compute\",,\"sn1-eth1:/var/statelite\",,,\n"),
        "{lite}"
    );
    assert!(
        lite.contains(&format!("\"cn1\",,\"{sn2}:/var/statelite\",,,\n")),
        "{lite}"
    );
    // The persistent files were copied by rsync from sn1 to sn2.
    assert_eq!(
        bed.read_node_text("sn2", "/var/statelite/cn1/etc/keep.conf")
            .unwrap(),
        "persistent state of cn1\n"
    );
    let j = journal(bed, 1);
    for kind in ["statelite-sync", "niminit", "xcatinfo", "route", "bootlist"] {
        assert_eq!(step_state(&j, kind), ["done"], "{kind}");
    }

    // A second run resumes nothing and changes nothing on the node.
    let out = baton(bed, &["resume", "1"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(calls(bed, "cn1").len(), 7);

    // Rollback: the statelite table is byte for byte as before, the node points at sn1 again,
    // and its persistent files go back to sn1 (changed meanwhile on sn2).
    put(
        bed,
        "sn2",
        "/var/statelite/cn1/etc/keep.conf",
        b"written on sn2\n",
    );
    bed.exec_ok(
        "cn1",
        &["mv", "/etc/niminfo.baton-old", "/var/tmp/first-niminfo"],
    )
    .unwrap();
    let out = baton(bed, &["rollback", "1", "--yes"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(tabdump(bed, "statelite"), statelite_before);
    assert_aix_node_on(bed, "cn1", "sn1", None);
    let all = calls(bed, "cn1");
    assert_eq!(all[7..], expected_calls(bed, "cn1", "sn1")[..]);
    assert_eq!(
        bed.read_node_text("sn1", "/var/statelite/cn1/etc/keep.conf")
            .unwrap(),
        "written on sn2\n"
    );

    // rnetboot -d on the AIX node: its bootlist names its xcatmaster (no DHCP change: the
    // firmware's bootp goes straight to bserver), then the BMC boots it: a simulator on sn1's
    // loopback, reached through cn1's service node as xCAT dispatches hardware control.
    if common::bmc::skip("e2e_aix_retiring_sn (rnetboot -d part)") {
        return;
    }
    bed.exec_ok("sn1", &["mkdir", "-p", "/var/tmp/bmc"])
        .unwrap();
    let dir = bed.host_path("sn1", "/var/tmp/bmc").unwrap();
    let run = |args: &[&str]| bed.command("sn1", args).unwrap();
    let sim = common::bmc::Sim::start_in(
        &dir,
        std::path::Path::new("/var/tmp/bmc"),
        16623,
        &run,
        "admin",
        "pw-aix",
        false,
    );
    put(
        bed,
        "mn",
        "/var/tmp/ipmi.csv",
        b"#node,bmc,username,password\n\"cn1\",\"127.0.0.1:16623\",\"admin\",\"pw-aix\"\n",
    );
    assert_eq!(
        baton(bed, &["tabrestore", "/var/tmp/ipmi.csv"])
            .status
            .code(),
        Some(0)
    );
    let dhcpd = bed.read_node_text("sn1", "/etc/dhcp/dhcpd.conf").unwrap();
    let out = baton(bed, &["rnetboot", "cn1", "-d"]);
    assert_eq!(out.status.code(), Some(0));
    let sn1 = bed.compute_ip("sn1").unwrap();
    let cn_ip = bed.compute_ip("cn1").unwrap();
    assert_eq!(
        calls(bed, "cn1")[14..],
        [
            "netstat -in".to_string(),
            format!("bootlist -m normal ent0 bserver={sn1} client={cn_ip}"),
            "bootlist -m normal -o".to_string(),
        ]
    );
    assert_eq!(
        bed.read_node_text("sn1", "/etc/dhcp/dhcpd.conf").unwrap(),
        dhcpd,
        "AIX: no dhcpd change"
    );
    assert_eq!(sim.actions_after(2), ["boot pxe", "power 1"]);
}

#[test]
fn e2e_aix_dead_sn_leaves_statelite_pending_until_resume_and_liteonly_moves_nothing() {
    let Some(mut guard) = common::bed("aaixdead", 2, 2, Dhcp::Isc) else {
        return;
    };
    let bed: &mut Bed = &mut guard;
    make_aix(bed, "cn1", "sn1");
    // cn1's default gateway is the site's router, not its SN: the route is left alone. And its
    // niminit fails this time.
    put(bed, "cn1", "/etc/aixemu/defaults", b"192.0.2.1\n");
    put(bed, "cn1", "/etc/aixemu/niminit-fails", b"");
    let niminfo = bed.read_node_text("cn1", "/etc/niminfo").unwrap();
    bed.kill_node("sn1").unwrap();

    let out = baton(bed, &["snmove", "-s", "sn1", "--yes"]);
    assert_eq!(out.status.code(), Some(4), "partial");
    let sn2 = bed.compute_ip("sn2").unwrap();
    let cn_ip = bed.compute_ip("cn1").unwrap();
    assert_eq!(
        calls(bed, "cn1"),
        [
            "niminit -a name=cn1 -a master=sn2".to_string(),
            "netstat -rn".into(),
            "netstat -in".into(),
            format!("bootlist -m normal ent0 gateway={sn2} bserver={sn2} client={cn_ip}"),
            "bootlist -m normal -o".into(),
        ],
        "no route change: sn1 was not the default gateway"
    );
    assert_eq!(
        bed.read_node_text("cn1", "/etc/niminfo").unwrap(),
        niminfo,
        "a failed niminit puts the old niminfo back"
    );
    let j = journal(bed, 1);
    let step = |kind: &str| {
        j["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == kind)
            .unwrap()
            .clone()
    };
    assert_eq!(step_state(&j, "statelite-sync"), ["pending"]);
    let why = step("statelite-sync")["results"]["cn1"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        why.starts_with("unreachable: sn1:") && why.contains("statelite persistent files"),
        "{why}"
    );
    assert_eq!(step("niminit")["state"], "failed");
    let why = step("niminit")["results"]["cn1"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(why.contains("0042-008 niminit: Request denied"), "{why}");
    for kind in ["xcatinfo", "route", "bootlist"] {
        assert_eq!(step_state(&j, kind), ["done"], "{kind}");
    }
    assert!(bed
        .read_node_file("sn2", "/var/statelite/cn1/etc/keep.conf")
        .is_err());

    // sn1 is back and niminit works again: resume copies the files and runs niminit (and
    // cleans sn1 up); nothing else runs again on the node.
    bed.exec_ok("cn1", &["rm", "/etc/aixemu/niminit-fails"])
        .unwrap();
    bed.revive("sn1").unwrap();
    let out = baton(bed, &["resume", "1"]);
    assert_eq!(out.status.code(), Some(0));
    assert_aix_node_on(bed, "cn1", "sn2", Some("192.0.2.1"));
    assert_eq!(
        bed.read_node_text("sn2", "/var/statelite/cn1/etc/keep.conf")
            .unwrap(),
        "persistent state of cn1\n"
    );
    assert_eq!(
        calls(bed, "cn1")[5..],
        ["niminit -a name=cn1 -a master=sn2".to_string()],
        "resume redid only niminit"
    );

    // -l is refused for Linux nodes, and changes nothing.
    let noderes = tabdump(bed, "noderes");
    let out = baton(bed, &["snmove", "cn2", "-l", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("The '-l' option is not supported for Linux nodes."));

    // -l on the AIX node: only the copy (from its current SN sn2 to sn1), nothing moves.
    put(
        bed,
        "sn2",
        "/var/statelite/cn1/etc/keep.conf",
        b"newer on sn2\n",
    );
    let lite = tabdump(bed, "statelite");
    let out = baton(bed, &["snmove", "cn1", "-l", "--yes"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(tabdump(bed, "noderes"), noderes);
    assert_eq!(tabdump(bed, "statelite"), lite);
    assert_eq!(
        bed.read_node_text("sn1", "/var/statelite/cn1/etc/keep.conf")
            .unwrap(),
        "newer on sn2\n"
    );
    assert_eq!(calls(bed, "cn1").len(), 6, "-l does not touch the node");
    let j = journal(bed, 2);
    let kinds: Vec<&str> = j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["statelite-sync"]);
    let out = baton(bed, &["rollback", "2", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "nothing to roll back after -l");
}
