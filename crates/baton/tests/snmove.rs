//! snmove as xCAT defines it (the worked examples T1-T18 of the reference), plus baton's
//! journal, resume, rollback, pre-flight checks and concurrency guarantees. The real binaries
//! run against a real SQLite file; a small script stands in for ssh (BATON_SSH), printing the
//! `ip -o addr` output of each service node, or failing like ssh for an unreachable one.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;

struct Cluster {
    dir: tempfile::TempDir,
}

const FAKE_SSH: &str = r#"#!/bin/sh
while [ "$1" != "--" ]; do shift; done
shift
f="$FAKE_SSH_DIR/$1"
if [ ! -f "$f" ]; then echo "ssh: connect to host $1 port 22: No route to host" >&2; exit 255; fi
cat "$f"
"#;

impl Cluster {
    /// The T-vector world: networks 10.1.0.0/16; sn1-eth1 = 10.1.0.1, sn2-eth1 = 10.1.0.2,
    /// sn3-eth1 = 10.1.0.3; cn1 (10.1.1.1) starts with servicenode=sn1,sn2, xcatmaster and
    /// tftpserver sn1-eth1, nfsserver 10.1.0.1, monserver sn1,sn1-eth1, conserver sn1.
    fn new() -> Self {
        let c = Cluster {
            dir: tempfile::tempdir().unwrap(),
        };
        let ssh = c.path("fake-ssh");
        std::fs::write(&ssh, FAKE_SSH).unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&ssh)
            .status()
            .unwrap();
        std::fs::create_dir(c.path("ssh")).unwrap();
        c.ok(&["init"]);
        for (sn, ip) in [
            ("sn1", "10.1.0.1"),
            ("sn2", "10.1.0.2"),
            ("sn3", "10.1.0.3"),
        ] {
            c.sn_reports(sn, &["10.0.0.9", ip, "192.168.7.1"]);
            let _ = ip;
        }
        c.restore(
            "site",
            "#key,value\n\"master\",\"10.0.0.254\"\n\"domain\",\"cluster\"\n",
        );
        c.restore("networks", "#netname,net,mask,gateway\n\"mgmt\",\"10.0.0.0\",\"255.255.255.0\",\"10.0.0.254\"\n\"cnet\",\"10.1.0.0\",\"255.255.0.0\",\"<xcatmaster>\"\n");
        c.restore(
            "nodelist",
            "#node,groups,status\n\"sn1\",\"service,all\",\n\"sn2\",\"service,all\",\n\"sn3\",\"service,all\",\n\"cn1\",\"compute,all\",\"booted\"\n",
        );
        c.restore(
            "servicenode",
            "#node,dhcpserver,tftpserver,conserver\n\"service\",\"1\",\"1\",\"1\"\n",
        );
        c.restore(
            "hosts",
            "#node,ip,otherinterfaces\n\"sn1\",\"10.0.0.1\",\"-eth1:10.1.0.1\"\n\"sn2\",\"10.0.0.2\",\"-eth1:10.1.0.2\"\n\"sn3\",\"10.0.0.3\",\"-eth1:10.1.0.3\"\n\"cn1\",\"10.1.1.1\",\n",
        );
        c.restore(
            "noderes",
            "#node,servicenode,xcatmaster,tftpserver,nfsserver,monserver\n\"cn1\",\"sn1,sn2\",\"sn1-eth1\",\"sn1-eth1\",\"10.1.0.1\",\"sn1,sn1-eth1\"\n",
        );
        c.restore("nodehm", "#node,conserver,mgt\n\"cn1\",\"sn1\",\"ipmi\"\n");
        c.restore(
            "nodetype",
            "#node,os,arch,provmethod\n\"compute\",\"rhels9\",\"x86_64\",\"netboot\"\n",
        );
        c.restore("postscripts", "#node,postscripts,postbootscripts\n\"xcatdefaults\",\"syslog,remoteshell,syncfiles\",\"otherpkgs\"\n");
        c
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// What `ssh SN ip -o addr` prints.
    fn sn_reports(&self, sn: &str, ips: &[&str]) {
        let text: String = ips
            .iter()
            .enumerate()
            .map(|(i, ip)| {
                format!(
                    "{}: eth{i}    inet {ip}/16 brd 10.1.255.255 scope global eth{i}\n",
                    i + 2
                )
            })
            .collect();
        std::fs::write(
            self.path("ssh").join(sn),
            format!("1: lo    inet 127.0.0.1/8 scope host lo\n{text}"),
        )
        .unwrap();
    }

    fn sn_down(&self, sn: &str) {
        std::fs::remove_file(self.path("ssh").join(sn)).unwrap();
    }

    fn cmd(&self, bin: &str) -> Command {
        let mut c = Command::cargo_bin(bin).unwrap();
        c.env(
            "BATON_DB",
            format!("sqlite:{}", self.path("c.db").display()),
        )
        .env("BATON_SSH", self.path("fake-ssh"))
        .env("FAKE_SSH_DIR", self.path("ssh"))
        .env_remove("BATON_FAULT");
        c
    }

    fn baton(&self, args: &[&str]) -> std::process::Output {
        self.cmd("baton").args(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.baton(args);
        assert!(
            o.status.success(),
            "baton {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    fn restore(&self, table: &str, csv: &str) {
        let f = self.path(&format!("{table}.csv"));
        std::fs::write(&f, csv).unwrap();
        self.ok(&["tabrestore", f.to_str().unwrap()]);
    }

    /// snmove through `baton snmove`; returns (exit code, stdout, stderr).
    fn snmove(&self, args: &[&str]) -> (i32, String, String) {
        let mut v = vec!["snmove"];
        v.extend_from_slice(args);
        let o = self.baton(&v);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8(o.stdout).unwrap(),
            String::from_utf8(o.stderr).unwrap(),
        )
    }

    fn attr(&self, node: &str, tc: &str) -> String {
        let out = self.ok(&["nodels", node, tc]);
        out.trim_end()
            .split_once(": ")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default()
    }

    /// cn1's six snmove attributes.
    fn cn1(&self) -> [String; 6] {
        [
            "noderes.servicenode",
            "noderes.xcatmaster",
            "noderes.tftpserver",
            "noderes.nfsserver",
            "noderes.monserver",
            "nodehm.conserver",
        ]
        .map(|a| self.attr("cn1", a))
    }

    fn dump(&self, tables: &[&str]) -> Vec<String> {
        tables.iter().map(|t| self.ok(&["tabdump", t])).collect()
    }

    fn plan(&self, args: &[&str]) -> serde_json::Value {
        let mut v = vec!["snmove", "--dry-run", "--json"];
        v.extend_from_slice(args);
        serde_json::from_str(&self.ok(&v)).unwrap()
    }
}

const PARTIAL: i32 = 4;
const TABLES: [&str; 4] = ["noderes", "nodehm", "nodelist", "hosts"];

fn steps(plan: &serde_json::Value) -> Vec<String> {
    plan["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn t1_explicit_destination_names() {
    let c = Cluster::new();
    let (code, out, err) = c.snmove(&["cn1", "-D", "sn2-eth1"]);
    // The database moved; the steps the stand-in ssh cannot run stay pending.
    assert_eq!(code, PARTIAL, "{out}{err}");
    assert!(
        out.starts_with("Moving nodes to their backup service nodes.\n"),
        "{out}"
    );
    assert_eq!(
        c.cn1(),
        [
            "sn2,sn1",
            "sn2-eth1",
            "sn2-eth1",
            "sn2-eth1",
            "sn2,sn2-eth1",
            "sn2"
        ]
    );
    let journal = c.ok(&["journal", "1"]);
    // cn1 has no console method and no MAC here: no console entry or reservation to write.
    assert!(
        journal.contains("[done] sn2: console server entries for 1 node\n"),
        "{journal}"
    );
    assert!(
        journal.contains("[done] sn2: DHCP reservations for 1 node\n"),
        "{journal}"
    );
    assert!(
        journal.contains("[pending] sn2: boot files for 1 node (netboot)"),
        "{journal}"
    );
    assert!(journal.contains("rerun syslog"), "{journal}");
    assert_eq!(
        journal.matches("[done]").count(),
        2,
        "nothing else is reported done: {journal}"
    );
}

#[test]
fn t2_derived_xcatmaster_is_the_new_sns_address_on_the_nodes_network() {
    let c = Cluster::new();
    assert_eq!(c.snmove(&["cn1"]).0, PARTIAL);
    assert_eq!(
        c.cn1(),
        [
            "sn2,sn1",
            "10.1.0.2",
            "10.1.0.2",
            "10.1.0.2",
            "sn2,10.1.0.2",
            "sn2"
        ]
    );
}

#[test]
fn t3_third_service_node_grows_the_list() {
    let c = Cluster::new();
    assert_eq!(c.snmove(&["cn1", "-d", "sn3", "-D", "sn3-eth1"]).0, PARTIAL);
    assert_eq!(
        c.cn1(),
        [
            "sn3,sn1,sn2",
            "sn3-eth1",
            "sn3-eth1",
            "sn3-eth1",
            "sn3,sn3-eth1",
            "sn3"
        ]
    );
}

#[test]
fn t4_a_second_move_toggles_back() {
    let c = Cluster::new();
    c.snmove(&["cn1", "-D", "sn2-eth1"]);
    assert_eq!(c.snmove(&["cn1"]).0, PARTIAL);
    let v = c.cn1();
    assert_eq!(v[0], "sn1,sn2");
    assert_eq!(v[1], "10.1.0.1");
    // With -D again, xcatmaster stays sn2-eth1 while servicenode points at sn1: allowed.
    let c = Cluster::new();
    c.snmove(&["cn1", "-D", "sn2-eth1"]);
    assert_eq!(c.snmove(&["cn1", "-D", "sn2-eth1"]).0, PARTIAL);
    assert_eq!(
        c.cn1()[..2],
        ["sn1,sn2".to_string(), "sn2-eth1".to_string()]
    );
}

#[test]
fn t5_no_backup_service_node() {
    let c = Cluster::new();
    c.ok(&["chdef", "cn1", "servicenode=sn1"]);
    let before = c.dump(&TABLES);
    let (code, _, err) = c.snmove(&["cn1"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "Error: Could not determine a backup service node for node cn1.\n"
    );
    assert_eq!(c.dump(&TABLES), before);
    assert!(c.ok(&["journal"]).lines().count() == 1, "no journal entry");
}

#[test]
fn t6_invalid_monserver_is_kept_and_reported() {
    let c = Cluster::new();
    c.ok(&["chdef", "cn1", "monserver=sn1"]);
    let (code, _, err) = c.snmove(&["cn1", "-D", "sn2-eth1"]);
    assert_eq!(code, PARTIAL);
    assert!(
        err.contains(
            "cn1: The current value of the monserver attribute is not valid. It will not be reset."
        ),
        "{err}"
    );
    let v = c.cn1();
    assert_eq!(v[4], "sn1");
    assert_eq!(v[0], "sn2,sn1");
}

#[test]
fn t7_tftpserver_unset_or_elsewhere_is_untouched() {
    let c = Cluster::new();
    c.ok(&["chdef", "cn1", "tftpserver=mn", "nfsserver="]);
    c.snmove(&["cn1", "-D", "sn2-eth1"]);
    let v = c.cn1();
    assert_eq!((v[2].as_str(), v[3].as_str()), ("mn", ""));
}

#[test]
fn t8_source_n_overrides_the_old_xcatmaster() {
    let c = Cluster::new();
    c.ok(&["chdef", "cn1", "tftpserver=other-name"]);
    c.restore(
        "hosts",
        &(c.ok(&["tabdump", "hosts"]) + "\"other-name\",\"10.1.0.1\",\n"),
    );
    c.snmove(&["cn1", "-S", "other-name", "-D", "sn2-eth1"]);
    let v = c.cn1();
    // tftpserver matched other-name; nfsserver 10.1.0.1 matched other-name's address.
    assert_eq!((v[2].as_str(), v[3].as_str()), ("sn2-eth1", "sn2-eth1"));
    let c = Cluster::new();
    c.restore(
        "hosts",
        &(c.ok(&["tabdump", "hosts"]) + "\"other-name\",\"10.1.9.9\",\n"),
    );
    c.snmove(&["cn1", "-S", "other-name", "-D", "sn2-eth1"]);
    let v = c.cn1();
    // sn1-eth1 is no longer "the old master": nothing follows.
    assert_eq!((v[2].as_str(), v[3].as_str()), ("sn1-eth1", "10.1.0.1"));
}

#[test]
fn t9_source_selects_nodes_whose_primary_is_exactly_it() {
    let c = Cluster::new();
    let mut nodelist = c.ok(&["tabdump", "nodelist"]);
    let mut hosts = c.ok(&["tabdump", "hosts"]);
    let mut noderes = c.ok(&["tabdump", "noderes"]);
    for (n, sns, ip) in [
        ("cn2", "sn1", "10.1.1.2"),
        ("cn3", "sn10,sn2", "10.1.1.3"),
        ("cn4", "sn2,sn1", "10.1.1.4"),
        ("cn5", "sn1,sn3", "10.1.1.5"),
    ] {
        nodelist += &format!("\"{n}\",\"compute,all\",\n");
        hosts += &format!("\"{n}\",\"{ip}\",\n");
        noderes += &format!("\"{n}\",\"{sns}\",,,,,,,,,,,\"sn1-eth1\",,,,,,,,,\n");
    }
    c.restore("nodelist", &nodelist);
    c.restore("hosts", &hosts);
    c.restore("noderes", &noderes);
    c.ok(&["chdef", "cn2", "servicenode=sn1,sn3"]);
    let plan = c.plan(&["-s", "sn1"]);
    let nodes: Vec<&str> = plan["plan"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node"].as_str().unwrap())
        .collect();
    assert_eq!(nodes, ["cn1", "cn2", "cn5"]);
}

#[test]
fn t10_source_with_no_nodes() {
    let c = Cluster::new();
    let (code, _, err) = c.snmove(&["-s", "snX"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("Error: Could not get xCAT object definitions."),
        "{err}"
    );
}

#[test]
fn t11_ignorenodes_moves_the_database_and_the_service_node_side_only() {
    let c = Cluster::new();
    let plan = c.plan(&["cn1", "-i"]);
    assert_eq!(
        steps(&plan),
        ["consoles", "dhcp", "bootfiles", "cleanup-old-sn"]
    );
    assert_eq!(c.snmove(&["cn1", "-i"]).0, PARTIAL);
    assert_eq!(c.cn1()[0], "sn2,sn1");
    let plan = c.plan(&["cn1"]);
    assert!(steps(&plan).contains(&"xcatinfo".to_string()));
}

#[test]
fn t12_to_t15_validation_errors_change_nothing() {
    let c = Cluster::new();
    let before = c.dump(&TABLES);
    for (args, code, msg) in [
        (
            vec!["cn1", "-i", "-P", "foo"],
            2,
            "-P and -i flags cannot be specified at the same time.",
        ),
        (vec!["a", "b"], 2, "Too many parameters"),
        (
            vec![],
            2,
            "A node range or the source service node must be specified.",
        ),
        (
            vec!["cn1", "-l"],
            2,
            "The '-l' option is not supported for Linux nodes.",
        ),
        (
            vec!["nosuch,cn1"],
            2,
            "Invalid nodes and/or groups in noderange: nosuch",
        ),
    ] {
        let (got, _, err) = c.snmove(&args);
        assert_eq!(got, code, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    assert_eq!(c.dump(&TABLES), before);
}

#[test]
fn t16_to_t18_postscript_selection() {
    let c = Cluster::new();
    let scripts = |args: &[&str]| -> Vec<String> {
        let plan = c.plan(args);
        plan["plan"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["kind"] == "postscripts")
            .map(|s| {
                s["scripts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    };
    assert_eq!(scripts(&["cn1", "-P", "test1"]), ["syslog,test1"]);
    assert_eq!(scripts(&["cn1"]), ["syslog"]);
    assert_eq!(
        scripts(&["cn1", "-P", "all"]),
        ["syslog,remoteshell,syncfiles,otherpkgs"]
    );
    c.ok(&["chdef", "-t", "site", "x=y"]);
    c.restore(
        "postscripts",
        "#node,postscripts\n\"xcatdefaults\",\"remoteshell\"\n",
    );
    assert!(
        scripts(&["cn1"]).is_empty(),
        "none of the defaults: no postscripts step"
    );
    // xcatinfo is still updated on every moved node (deviation from xCAT).
    assert!(steps(&c.plan(&["cn1"])).contains(&"xcatinfo".to_string()));
}

#[test]
fn values_inherited_from_groups_are_written_on_the_nodes_row() {
    let c = Cluster::new();
    c.restore(
        "noderes",
        "#node,servicenode,xcatmaster,tftpserver,nfsserver,monserver\n\"compute\",\"sn1,sn2\",\"sn1-eth1\",\"sn1-eth1\",\"10.1.0.1\",\"sn1,sn1-eth1\"\n",
    );
    c.restore("nodehm", "#node,conserver\n\"compute\",\"sn1\"\n");
    c.snmove(&["compute", "-D", "sn2-eth1"]);
    assert_eq!(
        c.cn1(),
        [
            "sn2,sn1",
            "sn2-eth1",
            "sn2-eth1",
            "sn2-eth1",
            "sn2,sn2-eth1",
            "sn2"
        ]
    );
    let noderes = c.ok(&["tabdump", "noderes"]);
    assert!(
        noderes.contains("\"compute\",\"sn1,sn2\""),
        "group row untouched: {noderes}"
    );
    assert!(
        noderes.contains("\"cn1\",\"sn2,sn1\""),
        "node row written: {noderes}"
    );
}

#[test]
fn a_disabled_own_row_of_a_moved_node_is_refused_before_any_change() {
    let c = Cluster::new();
    c.restore(
        "noderes",
        "#node,servicenode,xcatmaster,tftpserver,nfsserver,monserver,disable\n\"compute\",\"sn1,sn2\",\"sn1-eth1\",,,,\n\"cn1\",\"sn9\",,,,,\"1\"\n",
    );
    let before = c.dump(&TABLES);
    for args in [
        &["compute", "-D", "sn2-eth1"][..],
        &["compute", "-D", "sn2-eth1", "--dry-run"],
    ] {
        let (code, _, err) = c.snmove(args);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("cn1: its own noderes row is disabled (disable=1)"),
            "{err}"
        );
        assert!(!err.contains("UNIQUE"), "{err}");
    }
    assert_eq!(c.dump(&TABLES), before, "nothing changed");
    assert!(
        c.ok(&["journal"])
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
            <= 1
    );
    // Enabled again (disable=0): the move writes the node's row.
    c.restore(
        "noderes",
        "#node,servicenode,xcatmaster,tftpserver,nfsserver,monserver,disable\n\"compute\",\"sn1,sn2\",\"sn1-eth1\",,,,\n\"cn1\",\"sn1,sn2\",,,,,\"0\"\n",
    );
    let (code, _, err) = c.snmove(&["compute", "-D", "sn2-eth1"]);
    assert_ne!(code, 2, "{err}");
    assert_eq!(c.attr("cn1", "noderes.servicenode"), "sn2,sn1");
}

#[test]
fn preflight_checks_stop_before_any_change() {
    let c = Cluster::new();
    let before = c.dump(&TABLES);
    // Unreachable destination.
    c.sn_down("sn2");
    let (code, _, err) = c.snmove(&["cn1"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("Could not get IP addresses from service node sn2")
            && err.contains("No route to host"),
        "{err}"
    );
    // Not a service node; same as the source.
    let (code, _, err) = c.snmove(&["cn1", "-d", "cn1", "-D", "sn2-eth1", "--offline"]);
    assert_eq!(code, 3);
    assert!(err.contains("cn1 is not a defined service node"), "{err}");
    let (code, _, err) = c.snmove(&["cn1", "-d", "sn1", "-D", "sn1-eth1", "--offline"]);
    assert_eq!(code, 3);
    assert!(
        err.contains("cn1: the destination sn1 is already its service node"),
        "{err}"
    );
    // -D not on the node's network.
    let (code, _, err) = c.snmove(&["cn1", "-D", "10.0.0.2", "--offline"]);
    assert_eq!(code, 3);
    assert!(err.contains("is not on the node's network cnet"), "{err}");
    assert_eq!(c.dump(&TABLES), before);
    // --offline plans from the database's addresses; --force goes past a failed check.
    assert_eq!(c.snmove(&["cn1", "--offline"]).0, PARTIAL);
    assert_eq!(c.cn1()[1], "10.1.0.2");
    let (code, _, err) = c.snmove(&["cn1", "-D", "10.0.0.1", "--force", "--offline"]);
    assert_eq!(code, PARTIAL, "{err}");
    assert!(
        err.contains("forced past a failed pre-flight check"),
        "{err}"
    );
}

#[test]
fn source_mode_over_pools_of_three_service_nodes() {
    let c = Cluster::new();
    let mut nodelist = c.ok(&["tabdump", "nodelist"]);
    let mut hosts = c.ok(&["tabdump", "hosts"]);
    let mut noderes = String::from("#node,servicenode\n");
    for i in 1..=30 {
        let pool = ["sn1,sn2,sn3", "sn1,sn3,sn2", "sn2,sn3,sn1"][i % 3];
        if i > 1 {
            nodelist += &format!("\"n{i}\",\"compute,all\",\n");
        }
        let name = if i == 1 {
            "cn1".to_string()
        } else {
            format!("n{i}")
        };
        if i > 1 {
            hosts += &format!("\"{name}\",\"10.1.2.{i}\",\n");
        }
        noderes += &format!("\"{name}\",\"{pool}\"\n");
    }
    c.restore("nodelist", &nodelist);
    c.restore("hosts", &hosts);
    c.restore("noderes", &noderes);
    let plan = c.plan(&["-s", "sn1"]);
    let nodes = plan["plan"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 20);
    let to = |sn: &str| nodes.iter().filter(|n| n["new_sn"] == sn).count();
    assert_eq!((to("sn2"), to("sn3")), (10, 10));
    assert_eq!(c.snmove(&["-s", "sn1"]).0, PARTIAL);
    assert_eq!(c.attr("n3", "noderes.servicenode"), "sn2,sn1,sn3");
    assert_eq!(c.attr("n4", "noderes.servicenode"), "sn3,sn1,sn2");
    assert_eq!(c.attr("n5", "noderes.servicenode"), "sn2,sn3,sn1");
    assert_eq!(c.attr("n4", "noderes.xcatmaster"), "10.1.0.3");
}

#[test]
fn a_thousand_nodes_across_several_networks() {
    let c = Cluster::new();
    let mut nodelist = String::from("#node,groups\n\"sn1\",\"service\"\n\"sn2\",\"service\"\n");
    let mut hosts = String::from(
        "#node,ip,otherinterfaces\n\"sn1\",\"10.0.0.1\",\"-ib0:10.10.0.1,-ib1:10.11.0.1,-ib2:10.12.0.1,-ib3:10.13.0.1\"\n\"sn2\",\"10.0.0.2\",\"-ib0:10.10.0.2,-ib1:10.11.0.2,-ib2:10.12.0.2,-ib3:10.13.0.2\"\n",
    );
    let mut networks = String::from("#netname,net,mask,gateway\n");
    for k in 0..4 {
        networks += &format!("\"net{k}\",\"10.1{k}.0.0\",\"255.255.0.0\",\"<xcatmaster>\"\n");
    }
    for i in 0..1000 {
        nodelist += &format!("\"c{i:04}\",\"compute\"\n");
        hosts += &format!(
            "\"c{i:04}\",\"10.1{}.{}.{}\",\n",
            i % 4,
            i / 200 + 1,
            i % 200 + 1
        );
    }
    c.restore("nodelist", &nodelist);
    c.restore("hosts", &hosts);
    c.restore("networks", &networks);
    c.restore(
        "noderes",
        "#node,servicenode,xcatmaster\n\"compute\",\"sn1,sn2\",\"sn1-ib0\"\n",
    );
    c.restore("nodehm", "#node,conserver\n\"compute\",\"sn1\"\n");
    assert_eq!(c.snmove(&["-s", "sn1", "--offline"]).0, PARTIAL);
    let out = c.ok(&["nodels", "compute", "noderes.xcatmaster"]);
    assert_eq!(out.lines().count(), 1000);
    for line in out.lines() {
        let (node, xm) = line.split_once(": ").unwrap();
        let i: usize = node[1..].parse().unwrap();
        assert_eq!(xm, format!("10.1{}.0.2", i % 4), "{node}");
    }
    let journal = c.ok(&["journal", "1"]);
    assert!(
        journal.contains("default route via the new service node"),
        "{journal}"
    );
}

#[test]
fn concurrent_snmoves_on_overlapping_nodes_one_wins() {
    let c = Cluster::new();
    let mut nodelist = c.ok(&["tabdump", "nodelist"]);
    let mut hosts = c.ok(&["tabdump", "hosts"]);
    for i in 0..300 {
        nodelist += &format!("\"x{i:03}\",\"compute,all\",\n");
        hosts += &format!("\"x{i:03}\",\"10.1.3.{}\",\n", i % 250 + 1);
    }
    c.restore("nodelist", &nodelist);
    c.restore("hosts", &hosts);
    c.restore(
        "noderes",
        "#node,servicenode,xcatmaster\n\"compute\",\"sn1,sn2\",\"sn1-eth1\"\n",
    );
    let spawn = |range: &str, dest: &str| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("baton"));
        cmd.env("BATON_DB", format!("sqlite:{}", c.path("c.db").display()))
            .env("BATON_SSH", c.path("fake-ssh"))
            .env("FAKE_SSH_DIR", c.path("ssh"))
            .args(["snmove", range, "-d", dest, "-i", "--offline"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let a = spawn("compute", "sn2");
    let b = spawn("x000-x149", "sn3");
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = [a.status.code().unwrap(), b.status.code().unwrap()];
    let won: Vec<bool> = codes.iter().map(|c| *c == PARTIAL).collect();
    assert!(
        codes.iter().all(|c| [PARTIAL, 1, 3].contains(c)),
        "{codes:?}"
    );
    assert!(won.iter().any(|w| *w), "{codes:?}");
    let journal = c.ok(&["journal"]);
    let runs = journal.lines().count() - 1;
    // Either both ran one after the other (the second saw the first's result), or the loser
    // stopped on the concurrent edit and changed nothing.
    if won == [true, true] {
        assert_eq!(runs, 4);
    } else {
        assert_eq!(runs, 2, "{journal}");
        let loser = if won[0] { &b } else { &a };
        let err = String::from_utf8_lossy(&loser.stderr);
        // Planned before the winner's commit: a concurrent edit; after it, while the winner's
        // steps run: its lease on the nodes.
        assert!(
            err.contains("changed since the plan was made")
                || err.contains("already its service node")
                || err.contains("are in use by another run"),
            "{err}"
        );
        let want = if won[0] { "sn2,sn1" } else { "sn3,sn1,sn2" };
        assert_eq!(c.attr("x000", "noderes.servicenode"), want);
    }
}

#[test]
fn an_error_after_the_commit_exits_4_naming_the_entry_to_resume() {
    let c = Cluster::new();
    let o = c
        .cmd("baton")
        .env("BATON_FAULT", "error-after-commit")
        .args(["snmove", "cn1", "-D", "sn2-eth1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(PARTIAL), "{err}");
    assert!(
        err.contains("Journal entry 1 is committed") && err.contains("`baton resume 1`"),
        "{err}"
    );
    assert_eq!(c.cn1()[0], "sn2,sn1", "the commit happened");
}

#[test]
fn killed_after_the_commit_then_resumed() {
    let c = Cluster::new();
    let o = c
        .cmd("baton")
        .env("BATON_FAULT", "after-commit")
        .args(["snmove", "cn1", "-D", "sn2-eth1"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert_eq!(c.cn1()[0], "sn2,sn1", "the commit happened");
    let j = c.ok(&["journal", "1", "--json"]);
    let j: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(j["entry"]["state"], "committed");
    assert!(j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["state"] == "pending" && s["updated"].is_null()));
    // The aborted run's lease (its process is gone) is broken, with a note.
    assert!(
        c.ok(&["tabdump", "baton_lease"]).contains("\"1\",\"cn1\""),
        "the aborted run still holds its lease"
    );
    let o = c.baton(&["resume", "1"]);
    assert_eq!(o.status.code(), Some(PARTIAL));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("broke the lease of `snmove cn1 -D sn2-eth1` (journal entry 1")
            && err.contains("is gone"),
        "{err}"
    );
    let j: serde_json::Value = serde_json::from_str(&c.ok(&["journal", "1", "--json"])).unwrap();
    assert_eq!(j["entry"]["state"], "partial");
    assert!(
        j["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| !s["updated"].is_null()),
        "every step was run again"
    );
    assert!(c.baton(&["resume", "99"]).status.code() == Some(2));
}

#[test]
fn rollback_restores_tabdumps_byte_for_byte() {
    let c = Cluster::new();
    // A mix: cn1 has its own rows, cn2 inherits everything from its group.
    c.restore(
        "nodelist",
        &(c.ok(&["tabdump", "nodelist"]) + "\"cn2\",\"compute,all\",\n"),
    );
    c.restore(
        "hosts",
        &(c.ok(&["tabdump", "hosts"]) + "\"cn2\",\"10.1.1.2\",\n"),
    );
    c.restore(
        "noderes",
        &(c.ok(&["tabdump", "noderes"])
            + "\"compute\",\"sn1,sn2\",,,,,,,,,,,\"sn1-eth1\",,,,,,,,,\n"),
    );
    let all: Vec<String> = c
        .ok(&["tabdump"])
        .lines()
        .filter(|t| *t != "auditlog")
        .map(str::to_string)
        .collect();
    let tables: Vec<&str> = all.iter().map(String::as_str).collect();
    let before = c.dump(&tables);
    assert_eq!(c.snmove(&["cn1,cn2"]).0, PARTIAL);
    assert_ne!(c.dump(&tables), before);
    let o = c.baton(&["rollback", "1"]);
    assert_eq!(
        o.status.code(),
        Some(PARTIAL),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let after = c.dump(&tables);
    for (i, t) in tables.iter().enumerate() {
        assert_eq!(after[i], before[i], "{t}");
    }
    let j = c.ok(&["journal"]);
    assert!(j.contains("rolled-back"), "{j}");
    assert_eq!(
        c.baton(&["rollback", "1"]).status.code(),
        Some(2),
        "twice is refused"
    );
    // The rollback is itself a journal entry, which can be rolled back: the move again.
    assert_eq!(c.baton(&["rollback", "2"]).status.code(), Some(PARTIAL));
    assert_eq!(c.cn1()[0], "sn2,sn1");
}

#[test]
fn rollback_refuses_when_values_changed_since() {
    let c = Cluster::new();
    c.snmove(&["cn1", "-D", "sn2-eth1"]);
    c.ok(&["chdef", "cn1", "xcatmaster=elsewhere"]);
    let before = c.dump(&TABLES);
    let o = c.baton(&["rollback", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cn1: xcatmaster is now elsewhere"));
    assert_eq!(c.dump(&TABLES), before);
}

#[test]
fn journal_and_auditlog_record_the_run() {
    let c = Cluster::new();
    c.snmove(&["cn1", "-D", "sn2-eth1"]);
    let audit = c.ok(&["tabdump", "auditlog"]);
    let row = audit.lines().nth(1).unwrap();
    assert!(
        row.contains("\"cli\",\"snmove\",\"cn1\",\"cn1 -D sn2-eth1\",\"Allowed\""),
        "{row}"
    );
    let list = c.ok(&["journal"]);
    assert!(
        list.contains("snmove cn1 -D sn2-eth1") && list.contains("1 node: 1 to sn2"),
        "{list}"
    );
}

#[test]
fn snmove_binary_accepts_xcats_option_forms() {
    let c = Cluster::new();
    // Bundled flags, attached values, options after the noderange, long forms.
    let o = c
        .cmd("snmove")
        .args(["-Vi", "-dsn3", "cn1", "--destn", "sn3-eth1"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(PARTIAL),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(c.cn1()[0], "sn3,sn1,sn2");
    let o = c.cmd("snmove").args(["-v"]).output().unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("snmove"));
    c.cmd("snmove").args(["--bogus"]).assert().code(2);
    c.cmd("snmove")
        .args(["-h"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--destn"));
    // An empty value is refused (xCAT takes it as not given: `-d "$EMPTY"` would move the
    // nodes to their backup SNs instead).
    let (code, _, err) = c.snmove(&["cn1", "-d", "", "-D", "sn2-eth1", "--dry-run"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("empty service node name"), "{err}");
}

#[test]
fn hostile_names_never_reach_a_shell() {
    let c = Cluster::new();
    c.ok(&["chdef", "cn1", "servicenode=sn1,$(touch /tmp/pwned)"]);
    let (code, _, err) = c.snmove(&["cn1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not a valid host name"), "{err}");
    let (code, _, err) = c.snmove(&["cn1", "-D", "a;b"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn dry_run_text_groups_by_destination() {
    let c = Cluster::new();
    let out = c.ok(&["snmove", "cn1", "--dry-run"]);
    assert!(out.contains("Plan: move 1 node to 1 service node"), "{out}");
    assert!(out.contains("To sn2: 1 node"), "{out}");
    assert!(out.contains("servicenode  sn1,sn2       sn2,sn1"), "{out}");
    assert!(out.contains("[cleanup-old-sn] sn1"), "{out}");
    assert_eq!(
        c.ok(&["journal"]).lines().count(),
        1,
        "dry-run records nothing"
    );
}

#[test]
fn a_node_whose_hosts_ip_is_not_an_address_is_named_without_asking_dns() {
    let c = Cluster::new();
    c.ok(&["chdef", "cn1", "ip=10.1.999.1"]);
    let (code, _, err) = c.snmove(&["cn1", "-D", "sn2-eth1"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "Error: Could not resolve node 'cn1'. (its hosts.ip '10.1.999.1' is not an address)\n"
    );
}

/// cn1 as an AIX standalone node with a statelite row on `statemnt`.
fn aix_cluster(statemnt: &str) -> Cluster {
    let c = Cluster::new();
    c.restore(
        "nodetype",
        "#node,os,arch,provmethod\n\"cn1\",\"AIX\",\"ppc64\",\"aix71\"\n",
    );
    c.restore("nimimage", "#imagename,nimtype\n\"aix71\",\"standalone\"\n");
    c.restore(
        "statelite",
        &format!("#node,image,statemnt,mntopts,comments,disable\n\"compute\",,\"{statemnt}\",\"soft\",,\n"),
    );
    c
}

#[test]
fn aix_plan_runs_the_aix_steps_and_moves_the_statelite_row() {
    let c = aix_cluster("sn1-eth1:/statelite");
    let p = c.plan(&["cn1", "-D", "sn2-eth1"]);
    assert_eq!(
        steps(&p),
        [
            "statelite-sync",
            "consoles",
            "niminit",
            "xcatinfo",
            "route",
            "bootlist",
            "postscripts",
            "cleanup-old-sn"
        ]
    );
    let s = &p["plan"]["steps"];
    assert_eq!(s[0]["sn"], "sn1", "the copy runs on the old SN");
    assert_eq!(s[3]["aix"], true);
    let n = &p["plan"]["nodes"][0];
    assert_eq!(n["statelite"], serde_json::json!(["/statelite"]));
    assert_eq!(n["nimtype"], "standalone");
    let lite: Vec<&serde_json::Value> = n["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["table"] == "statelite")
        .collect();
    assert_eq!(lite.len(), 1);
    assert_eq!(lite[0]["old"], "sn1-eth1:/statelite");
    assert_eq!(lite[0]["new"], "sn2-eth1:/statelite");
    // The old SN's address names it too; a diskless image gets no niminit.
    let c = aix_cluster("10.1.0.1:/statelite");
    c.restore("nimimage", "#imagename,nimtype\n\"aix71\",\"diskless\"\n");
    let p = c.plan(&["cn1", "-D", "sn2-eth1"]);
    assert!(!steps(&p).contains(&"niminit".to_string()));
    assert_eq!(
        p["plan"]["nodes"][0]["statelite"],
        serde_json::json!(["/statelite"])
    );
    // Applied, the row is the node's own and the group's row stays.
    let (code, _, _) = c.snmove(&["cn1", "-D", "sn2-eth1", "-i", "--yes"]);
    assert_eq!(code, PARTIAL, "the fake ssh runs no step");
    let dump = c.ok(&["tabdump", "statelite"]);
    assert!(
        dump.contains("\"compute\",,\"10.1.0.1:/statelite\",\"soft\",,\n"),
        "{dump}"
    );
    assert!(
        dump.contains("\"cn1\",,\"sn2-eth1:/statelite\",,,\n"),
        "{dump}"
    );
    assert_eq!(
        c.attr("cn1", "statelite.mntopts"),
        "soft",
        "still inherited"
    );
}

#[test]
fn external_servers_are_left_alone_and_said_so() {
    let c = aix_cluster("nfs1:/statelite");
    c.ok(&["chdef", "cn1", "nfsserver=nfs1"]);
    let p = c.plan(&["cn1", "-D", "sn2-eth1"]);
    assert!(!steps(&p).contains(&"statelite-sync".to_string()));
    let n = &p["plan"]["nodes"][0];
    assert!(n["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["table"] != "statelite" && c["attr"] != "nfsserver"));
    let notes = p["plan"]["notes"].to_string();
    assert!(
        notes.contains("cn1: statelite server nfs1 is not the old service node"),
        "{notes}"
    );
    assert!(
        notes.contains("cn1 keeps the external NFS server nfs1")
            && notes.contains("does not reboot"),
        "{notes}"
    );
    let text = c.ok(&["snmove", "cn1", "-D", "sn2-eth1", "--dry-run"]);
    assert!(
        text.contains("Note: cn1 keeps the external NFS server nfs1"),
        "{text}"
    );
}

#[test]
fn liteonly_plans_only_the_copy_and_bad_statelite_rows_are_named() {
    let c = aix_cluster("sn1-eth1:/statelite");
    let p = c.plan(&["cn1", "-l", "-D", "sn2-eth1"]);
    assert_eq!(steps(&p), ["statelite-sync"]);
    assert_eq!(p["plan"]["nodes"][0]["changes"], serde_json::json!([]));
    let before = c.dump(&["noderes", "nodehm", "statelite"]);
    let (code, _, _) = c.snmove(&["cn1", "-l", "-D", "sn2-eth1", "--yes"]);
    assert_eq!(code, PARTIAL, "the fake ssh copies nothing: pending");
    assert_eq!(
        c.dump(&["noderes", "nodehm", "statelite"]),
        before,
        "-l moves nothing"
    );
    let o = c.baton(&["rollback", "1", "--yes"]);
    assert_eq!(o.status.code(), Some(2));
    // sharedinstall=sns refuses -l (V17).
    c.ok(&["chdef", "-t", "site", "sharedinstall=sns"]);
    let (code, _, err) = c.snmove(&["cn1", "-l", "-D", "sn2-eth1"]);
    assert_eq!(code, 2);
    assert!(err.contains("The liteonly option is not valid"), "{err}");
    // Any other value than no: refused too (xCAT would do a full move).
    c.ok(&["chdef", "-t", "site", "sharedinstall=all"]);
    let (code, _, err) = c.snmove(&["cn1", "-l", "-D", "sn2-eth1", "--yes"]);
    assert_eq!(code, 2);
    assert!(err.contains("needs site.sharedinstall=no"), "{err}");
    assert_eq!(c.dump(&["noderes", "nodehm", "statelite"]), before);
    // A statemnt baton cannot follow is an error naming the node, before anything changes.
    for bad in ["sn1-eth1:/lite/$node", "sn1-eth1:relative", "nocolon"] {
        let c = aix_cluster(bad);
        let before = c.dump(&["noderes", "statelite"]);
        let (code, _, err) = c.snmove(&["cn1", "-D", "sn2-eth1", "--yes"]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("cn1: statelite.statemnt"), "{err}");
        assert_eq!(c.dump(&["noderes", "statelite"]), before);
    }
}

#[test]
fn spread_shares_the_nodes_out_evenly_and_refuses_bad_input() {
    let c = Cluster::new();
    let mut nodelist = c.ok(&["tabdump", "nodelist"]);
    let mut hosts = c.ok(&["tabdump", "hosts"]);
    let mut noderes = String::from("#node,servicenode,xcatmaster\n");
    // cn1 and n2..n6 on sn1; n7, n8 already on sn3.
    for i in 1..=8 {
        let name = if i == 1 {
            "cn1".to_string()
        } else {
            format!("n{i}")
        };
        if i > 1 {
            nodelist += &format!("\"{name}\",\"compute,all\",\n");
            hosts += &format!("\"{name}\",\"10.1.2.{i}\",\n");
        }
        let pool = if i <= 6 { "sn1,sn2" } else { "sn3,sn2" };
        noderes += &format!("\"{name}\",\"{pool}\",\"{}-eth1\"\n", &pool[..3]);
    }
    c.restore("nodelist", &nodelist);
    c.restore("hosts", &hosts);
    c.restore("noderes", &noderes);

    let plan = c.plan(&["-s", "sn1", "--spread", "sn2,sn3"]);
    let nodes = plan["plan"]["nodes"].as_array().unwrap();
    let to = |sn: &str| nodes.iter().filter(|n| n["new_sn"] == sn).count();
    // sn3 starts with 2: the six go 4 to sn2 and 2 to sn3, 4 and 4 in the end.
    assert_eq!((to("sn2"), to("sn3")), (4, 2));
    assert_eq!(
        plan["plan"]["request"]["spread"],
        serde_json::json!(["sn2", "sn3"])
    );
    let text = c.ok(&["snmove", "-s", "sn1", "--spread", "sn2,sn3", "--dry-run"]);
    assert!(
        text.contains("To sn2: 4 nodes") && text.contains("To sn3: 2 nodes"),
        "{text}"
    );
    // sn3 may serve 3: it gets one node, sn2 the rest.
    let plan = c.plan(&["-s", "sn1", "--spread", "sn2,sn3", "--capacity", "sn3=3"]);
    let n = plan["plan"]["nodes"].as_array().unwrap();
    assert_eq!(n.iter().filter(|x| x["new_sn"] == "sn3").count(), 1);

    let before = c.dump(&TABLES);
    for (args, want) in [
        (
            vec!["-s", "sn1", "--spread", "sn2", "-d", "sn3"],
            "cannot be used with",
        ),
        (
            vec!["-s", "sn1", "--spread", "sn2", "-D", "x"],
            "cannot be used with",
        ),
        (
            vec!["-s", "sn1", "--spread", "sn2", "--capacity", "sn2=lots"],
            "not a whole number",
        ),
        (
            vec!["-s", "sn1", "--spread", "sn2;reboot"],
            "not a valid service node name",
        ),
        (
            vec!["-s", "sn1", "--spread", "sn1"],
            "Could not determine a backup service node for node cn1",
        ),
    ] {
        let (code, out, err) = c.snmove(&args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert_eq!(c.dump(&TABLES), before, "nothing changed");

    // Applied: the database follows the plan.
    assert_eq!(c.snmove(&["-s", "sn1", "--spread", "sn2,sn3"]).0, PARTIAL);
    let out = c.ok(&["nodels", "compute", "noderes.servicenode"]);
    let on = |sn: &str| {
        out.lines()
            .filter(|l| l.contains(&format!(": {sn},")))
            .count()
    };
    assert_eq!((on("sn2"), on("sn3")), (4, 4), "{out}");
}

#[test]
fn the_backup_mode_line_is_printed_only_in_backup_mode_and_after_validation() {
    let c = Cluster::new();
    // An explicit destination is not backup mode.
    let (_, out, err) = c.snmove(&["cn1", "-d", "sn2", "--dry-run"]);
    assert!(!out.contains("backup service nodes"), "{out}{err}");
    // An invalid request prints only its error: first the cause (the undefined destination),
    // not the xcatmaster failure that follows from it.
    let (code, out, err) = c.snmove(&["cn1", "-d", "sn9", "--offline", "--dry-run"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(!out.contains("backup service nodes"), "{out}");
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.contains("sn9 is not a defined service node"),
        "first error: {first}\n{err}"
    );
    // Backup mode, valid: the line is there.
    let (_, out, err) = c.snmove(&["cn1", "--dry-run"]);
    assert!(
        out.starts_with("Moving nodes to their backup service nodes.\n"),
        "{out}{err}"
    );
}

/// With a stand-in for ssh (this file's BATON_SSH), the service-node steps touch no real host;
/// nor does the management node's console step touch this host's /etc/conserver.cf: it is
/// left alone, and said so, unless BATON_CONSERVER_CF names the file to edit.
#[test]
fn a_stand_in_ssh_leaves_this_hosts_conserver_cf_alone() {
    let c = Cluster::new();
    let o = c.baton(&["snmove", "cn1", "-D", "sn2-eth1"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not ssh: this host's /etc/conserver.cf is left alone"),
        "{err}"
    );
    let cf = c.path("mn-conserver.cf");
    let o = c
        .cmd("baton")
        .env("BATON_CONSERVER_CF", &cf)
        .args(["snmove", "cn1", "-d", "sn1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("conserver.cf is left alone"), "{err}");
}

/// `-V`: the move's phases with their times on standard error; without it, none of them.
#[test]
fn verbose_prints_the_phases_of_the_move() {
    let c = Cluster::new();
    let mut quiet = c.cmd("baton");
    quiet
        .env_remove("BATON_LOG")
        .args(["snmove", "cn1", "-D", "sn2-eth1", "--dry-run"]);
    let err = String::from_utf8(quiet.output().unwrap().stderr).unwrap();
    assert!(!err.contains("planned"), "{err}");
    let mut verbose = c.cmd("baton");
    verbose
        .env_remove("BATON_LOG")
        .args(["snmove", "cn1", "-D", "sn2-eth1", "-V"]);
    let o = verbose.output().unwrap();
    let err = String::from_utf8(o.stderr).unwrap();
    for phase in ["planned nodes=1", "committed", "step batches ran"] {
        assert!(err.contains(phase), "{phase}: {err}");
    }
}
