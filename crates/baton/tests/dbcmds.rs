//! The xCAT database commands (issue 19): each defect found against xCAT's behaviour, and the
//! table commands, run as a user runs them (real binary, real SQLite file, xCAT command names).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

struct Db {
    dir: tempfile::TempDir,
}

/// What a command printed and how it exited.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Db {
    fn new() -> Self {
        let db = Db {
            dir: tempfile::tempdir().unwrap(),
        };
        // A database named by BATON_DB must exist: create it as a user would.
        let out = Command::new(assert_cmd::cargo::cargo_bin("baton"))
            .env("BATON_DB", format!("sqlite:{}", db.path().display()))
            .arg("init")
            .output()
            .unwrap();
        assert!(out.status.success());
        db
    }
    fn path(&self) -> PathBuf {
        self.dir.path().join("cluster.db")
    }
    /// `name args...`, through the baton binary's xCAT command name (busybox style).
    fn cmd(&self, args: &[&str]) -> Out {
        let bin = assert_cmd::cargo::cargo_bin("baton");
        let link = self.dir.path().join(args[0]);
        if !link.exists() {
            std::os::unix::fs::symlink(&bin, &link).unwrap();
        }
        let out = Command::new(&link)
            .args(&args[1..])
            .env("BATON_DB", format!("sqlite:{}", self.path().display()))
            .env_remove("XCAT_NODE_PREFIX")
            .env_remove("XCAT_NODE_SUFFIX")
            .env_remove("XCAT_SKIPTABLES")
            .output()
            .unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }
    /// Run a command that must succeed; its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.cmd(args);
        assert_eq!(o.code, 0, "{args:?}: {}{}", o.stdout, o.stderr);
        o.stdout
    }
    fn dir(&self) -> &Path {
        self.dir.path()
    }
}

#[test]
fn chdef_creates_a_missing_node_and_group_with_xcats_messages() {
    let db = Db::new();
    let out = db.ok(&["chdef", "-t", "node", "-o", "testnode", "groups=all,aix"]);
    assert_eq!(
        out,
        "1 object definitions have been created or modified.\n\
         New object definitions 'testnode' have been created.\n"
    );
    assert_eq!(db.ok(&["nodels", "all"]), "testnode\n");
    // Changing it again creates nothing.
    let out = db.ok(&["chdef", "testnode", "groups=linux"]);
    assert_eq!(out, "1 object definitions have been created or modified.\n");
    // A group too; members= is a noderange.
    db.ok(&["mkdef", "-t", "node", "-o", "cn[01-04]", "groups=compute"]);
    let out = db.ok(&[
        "chdef",
        "-t",
        "group",
        "-o",
        "sn1nodes",
        "members=cn[01-03]",
    ]);
    assert!(out.contains("New object definitions 'sn1nodes'"), "{out}");
    assert_eq!(db.ok(&["nodels", "sn1nodes"]), "cn01\ncn02\ncn03\n");
    // -p / -m on the members.
    db.ok(&[
        "chdef",
        "-t",
        "group",
        "-o",
        "sn1nodes",
        "-m",
        "members=cn01",
    ]);
    db.ok(&[
        "chdef",
        "-t",
        "group",
        "-o",
        "sn1nodes",
        "-p",
        "members=cn04",
    ]);
    assert_eq!(db.ok(&["nodels", "sn1nodes"]), "cn02\ncn03\ncn04\n");
}

#[test]
fn a_dynamic_group_needs_criteria_and_a_refused_one_keeps_the_old_group() {
    let db = Db::new();
    db.ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "n1,n2",
        "groups=all",
        "mgt=ipmi",
    ]);
    db.ok(&["mkdef", "-t", "node", "-o", "n3", "groups=all", "mgt=hmc"]);
    db.ok(&["mkdef", "-t", "group", "-o", "g", "members=n1"]);
    let o = db.cmd(&["mkdef", "-f", "-t", "group", "-o", "g", "grouptype=dynamic"]);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr
            .contains("The 'where' attributes and values were not provided for dynamic group 'g'."),
        "{}",
        o.stderr
    );
    assert_eq!(db.ok(&["nodels", "g"]), "n1\n", "the old group is kept");
    // With criteria it is accepted, and selects by them.
    db.ok(&[
        "mkdef",
        "-t",
        "group",
        "-o",
        "ipmis",
        "-d",
        "-w",
        "mgt==ipmi",
    ]);
    assert_eq!(db.ok(&["nodels", "ipmis"]), "n1\nn2\n");
    db.ok(&[
        "chdef",
        "-t",
        "group",
        "-o",
        "ipmis",
        "-d",
        "-p",
        "-w",
        "groups=~all",
    ]);
    let g = db.ok(&["lsdef", "-t", "group", "ipmis", "-i", "wherevals"]);
    assert!(g.contains("wherevals=mgt==ipmi::groups=~all"), "{g}");
    let o = db.cmd(&[
        "mkdef",
        "-t",
        "group",
        "-o",
        "bad",
        "-d",
        "-w",
        "mgt==ipmi",
        "members=n1",
    ]);
    assert!(o
        .stderr
        .contains("Cannot use a list of members together with the '-w' option."));
}

#[test]
fn undefined_objects_and_bad_types_get_xcats_messages() {
    let db = Db::new();
    db.ok(&["mkdef", "-t", "node", "-o", "n1", "groups=all"]);
    let o = db.cmd(&["lsdef", "testnode"]);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.stderr,
        "Error: Could not find an object named 'testnode' of type 'node'.\n"
    );
    let o = db.cmd(&["lsdef", "-t", "node", "n1,testnode"]);
    assert_eq!(o.code, 1);
    assert!(o.stdout.contains("Object name: n1"), "{}", o.stdout);
    let o = db.cmd(&["rmdef", "X"]);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.stderr,
        "Error: Could not find an object named 'X' of type 'node'.\n\
         Error: No objects have been removed from the xCAT database.\n"
    );
    for cmd in ["lsdef", "chdef", "mkdef", "rmdef"] {
        let o = db.cmd(&[cmd, "-t", "wrongtype", "-o", "x", "a=b"]);
        let o = if cmd == "lsdef" || cmd == "rmdef" {
            db.cmd(&[cmd, "-t", "wrongtype", "-o", "x"])
        } else {
            o
        };
        assert_ne!(o.code, 0, "{cmd}");
        assert!(
            o.stderr
                .contains("Type 'wrongtype' is not a valid xCAT object type."),
            "{cmd}: {}",
            o.stderr
        );
    }
    let o = db.cmd(&["rmdef"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("Usage: rmdef"), "{}", o.stderr);
    assert_eq!(db.ok(&["nodels"]), "n1\n", "nothing removed");
}

#[test]
fn nodels_labels_as_xcat_does() {
    let db = Db::new();
    db.ok(&["mkdef", "-t", "node", "-o", "n1", "groups=all", "mgt=ipmi"]);
    db.ok(&["mkdef", "-t", "node", "-o", "n2", "groups=all", "mgt=hmc"]);
    // A filter counts toward the two arguments that turn the label on.
    assert_eq!(
        db.ok(&["nodels", "all", "nodehm.mgt==ipmi", "nodelist.groups"]),
        "n1: nodelist.groups: all\n"
    );
    assert_eq!(
        db.ok(&["nodels", "all", "nodelist.groups"]),
        "n1: all\nn2: all\n"
    );
    // A whole table prints every column, the key first.
    let t = db.ok(&["nodels", "n1", "nodehm"]);
    assert!(
        t.starts_with("n1: nodehm.node: n1\nn1: nodehm.power: \n"),
        "{t}"
    );
    assert!(t.contains("n1: nodehm.mgt: ipmi\n"), "{t}");
}

#[test]
fn bmc_needs_mgt_from_the_command_the_node_or_its_groups() {
    let db = Db::new();
    // Inherited: the group says mgt=openbmc.
    db.ok(&["chtab", "node=openbmcgrp", "nodehm.mgt=openbmc"]);
    db.ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "cn1",
        "groups=openbmcgrp",
        "bmc=10.0.0.1",
    ]);
    assert_eq!(db.ok(&["nodels", "cn1", "openbmc.bmc"]), "cn1: 10.0.0.1\n");
    // A group with mgt in the same command (xCAT issue 2582).
    db.ok(&[
        "mkdef",
        "-t",
        "group",
        "-o",
        "doubletrouble",
        "bmc=|\\z|-imm|",
        "mgt=ipmi",
    ]);
    db.ok(&["mkdef", "mgt02", "groups=doubletrouble"]);
    assert_eq!(
        db.ok(&["lsdef", "mgt02", "-i", "bmc", "-c"]),
        "mgt02: bmc=mgt02-imm\n"
    );
    // Without any mgt: refused, and nothing is created.
    let o = db.cmd(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "lone",
        "groups=test",
        "bmc=10.0.0.9",
    ]);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr
            .contains("Cannot set the attr='bmc' attribute unless mgt value is"),
        "{}",
        o.stderr
    );
    assert_ne!(db.cmd(&["lsdef", "lone"]).code, 0);
    let o = db.cmd(&[
        "mkdef",
        "-t",
        "group",
        "-o",
        "badgrp",
        "members=cn1",
        "bmc=10.0.0.1",
    ]);
    assert_ne!(o.code, 0);
    assert!(!db.ok(&["nodels", "cn1", "groups"]).contains("badgrp"));
}

#[test]
fn lsdef_hides_hidden_nodes_unless_asked() {
    let db = Db::new();
    db.ok(&["mkdef", "-t", "node", "-o", "n1", "groups=all"]);
    db.ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "fsp1",
        "groups=all",
        "hidden=1",
    ]);
    assert_eq!(db.ok(&["lsdef"]), "n1  (node)\n");
    assert_eq!(db.ok(&["lsdef", "-S"]), "fsp1  (node)\nn1  (node)\n");
    assert_eq!(db.ok(&["lsdef", "-s", "all"]), "n1  (node)\n");
}

#[test]
fn nics_attributes_print_one_line_per_interface() {
    let db = Db::new();
    db.ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "cn1",
        "groups=all",
        "nicips.ib0=10.41.0.101",
    ]);
    db.ok(&["chdef", "cn1", "nicips.eth0=1.1.1.1"]);
    let out = db.ok(&["lsdef", "cn1", "-i", "nicips"]);
    assert_eq!(
        out,
        "Object name: cn1\n    nicips.ib0=10.41.0.101\n    nicips.eth0=1.1.1.1\n"
    );
    assert_eq!(
        db.ok(&["nodels", "cn1", "nics.nicips"]),
        "cn1: ib0!10.41.0.101,eth0!1.1.1.1\n"
    );
    // A group's per-interface expression is evaluated for each node.
    db.ok(&["mkdef", "-t", "group", "-o", "rg"]);
    db.ok(&[
        "chdef",
        "-t",
        "group",
        "-o",
        "rg",
        "nicips.eth1=|\\D+(\\d+)|172.20.254.($1%100)|",
    ]);
    db.ok(&["mkdef", "sn07", "groups=rg"]);
    assert_eq!(
        db.ok(&["lsdef", "sn07", "-c", "--nics"]),
        "sn07: nicips.eth1=172.20.254.7\n"
    );
}

#[test]
fn stanzas_round_trip_through_lsdef_and_mkdef() {
    let db = Db::new();
    db.ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "orignode",
        "mgt=hmc",
        "cons=hmc",
        "groups=lpar,all",
    ]);
    let st = db.ok(&["lsdef", "-l", "orignode", "-z"]);
    assert!(
        st.starts_with("# <xCAT data object stanza file>\n\norignode:\n    objtype=node\n"),
        "{st}"
    );
    let file = db.dir().join("n.stanza");
    std::fs::write(&file, st.replace("orignode", "testnode")).unwrap();
    db.ok(&["mkdef", "-z", file.to_str().unwrap()]);
    assert_eq!(
        db.ok(&["lsdef", "-l", "testnode", "-z"]),
        st.replace("orignode", "testnode")
    );
    // One bad object of a file is refused; the good ones are written; exit 1.
    let f2 = db.dir().join("two.stanza");
    std::fs::write(&f2, "good:\n  objtype=node\n  groups=t\n  mgt=openbmc\n  bmc=10.0.0.1\n\nbad:\n  groups=t\n  bmc=10.0.0.2\n").unwrap();
    assert_ne!(db.cmd(&["mkdef", "-z", f2.to_str().unwrap()]).code, 0);
    assert_eq!(db.ok(&["nodels", "t"]), "good\n");
}

#[test]
fn network_objects() {
    let db = Db::new();
    let o = db.cmd(&["mkdef", "-t", "network", "-o", "net1", "mtu=1500"]);
    assert!(o
        .stderr
        .contains("Net or mask value should not be empty for xCAT network object 'net1'."));
    db.ok(&[
        "mkdef",
        "-t",
        "network",
        "-o",
        "net1",
        "net=10.0.0.0",
        "mask=255.0.0.0",
        "gateway=10.0.0.1",
    ]);
    let o = db.cmd(&[
        "chdef",
        "-t",
        "network",
        "net2",
        "net=10.0.0.0",
        "mask=255.0.0.0",
    ]);
    assert!(
        o.stderr
            .contains("A network definition called 'net1' already exists"),
        "{}",
        o.stderr
    );
    assert_eq!(
        db.cmd(&[
            "mkdef",
            "-t",
            "network",
            "-o",
            "net1",
            "net=1.0.0.0",
            "mask=255.0.0.0"
        ])
        .code,
        1
    );
    db.ok(&["chdef", "-t", "network", "-o", "net1", "gateway=10.0.0.254"]);
    assert_eq!(
        db.ok(&["lsdef", "-t", "network", "-l", "net1"]),
        "Object name: net1\n    gateway=10.0.0.254\n    mask=255.0.0.0\n    net=10.0.0.0\n"
    );
    assert_eq!(db.ok(&["lsdef", "-t", "network"]), "net1  (network)\n");
    db.ok(&["rmdef", "-t", "network", "-o", "net1"]);
    assert!(db
        .cmd(&["lsdef", "-t", "network", "net1"])
        .stderr
        .contains("Could not find an object named 'net1' of type 'network'."));
}

#[test]
fn chdef_renames_a_node_everywhere() {
    let db = Db::new();
    db.ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "testnode1",
        "mgt=hmc",
        "groups=all,systemp",
    ]);
    db.ok(&["chdef", "testnode1", "-n", "testnode2"]);
    assert_eq!(db.cmd(&["lsdef", "testnode1"]).code, 1);
    assert_eq!(
        db.ok(&["nodels", "testnode2", "nodehm.mgt"]),
        "testnode2: hmc\n"
    );
    assert!(!db.ok(&["tabdump", "nodehm"]).contains("testnode1"));
}

#[test]
fn lsdef_where_and_listing_styles() {
    let db = Db::new();
    db.ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "t11,t21",
        "cons=hmc",
        "groups=all",
    ]);
    db.ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "t31,t41",
        "cons=ipmi",
        "groups=linux",
    ]);
    assert_eq!(
        db.ok(&["lsdef", "-t", "node", "-w", "cons==ipmi"]),
        "t31  (node)\nt41  (node)\n"
    );
    assert_eq!(
        db.ok(&["lsdef", "-w", "cons==ipmi", "-w", "groups==linux", "-s"]),
        "t31  (node)\nt41  (node)\n"
    );
    assert_eq!(
        db.ok(&["lsdef", "-w", "cons!~hmc"]),
        "t31  (node)\nt41  (node)\n"
    );
    assert_eq!(db.ok(&["lsdef", "-s", "t11"]), "t11  (node)\n");
    // -i shows an attribute even when it is not set.
    assert_eq!(
        db.ok(&["lsdef", "t11", "-i", "os,cons"]),
        "Object name: t11\n    cons=hmc\n    os=\n"
    );
    let all = db.ok(&["lsdef", "-a"]);
    assert!(
        all.contains("t11  (node)") && all.contains("linux  (group)"),
        "{all}"
    );
}

#[test]
fn chtab_gettab_nodech_edit_rows_as_xcat() {
    let db = Db::new();
    db.ok(&[
        "chtab",
        "key=rsh_test",
        "site.value=/opt/xcat/bin/scp",
        "site.comments=the rcp command",
    ]);
    db.ok(&["chtab", "key=rsh_test", "site.value+=/opt/xcat/bin/rcp"]);
    assert_eq!(
        db.ok(&["gettab", "key=rsh_test", "site.value"]),
        "/opt/xcat/bin/scp,/opt/xcat/bin/rcp\n"
    );
    assert_eq!(
        db.ok(&[
            "gettab",
            "-H",
            "key=rsh_test",
            "site.value",
            "site.comments"
        ]),
        "site.value: /opt/xcat/bin/scp,/opt/xcat/bin/rcp\nsite.comments: the rcp command\n"
    );
    db.ok(&["chtab", "-d", "key=rsh_test", "site"]);
    assert_eq!(db.ok(&["gettab", "key=rsh_test", "site.value"]), "");
    let o = db.cmd(&["chtab", "error=error", "site.comment=error"]);
    assert!(
        o.stderr
            .contains("no such column \"error\" in table \"site\""),
        "{}",
        o.stderr
    );
    let o = db.cmd(&[
        "tabch",
        "-d",
        "key=abc",
        "nonexist_table1",
        "nonexist_table2",
    ]);
    assert!(
        o.stderr.contains("Table nonexist_table1 does not exist.")
            && o.stderr.contains("Table nonexist_table2 does not exist.")
    );

    db.ok(&[
        "nodeadd",
        "n[1-2]",
        "groups=all,rhels5.5",
        "nodetype.os=rhels5.5",
    ]);
    db.ok(&["nodech", "n1", "groups,=rhels5.6", "nodehm.mgt=hmc"]);
    db.ok(&[
        "nodech",
        "n2",
        "groups^=rhels5.5",
        "groups,=rhels5.4",
        "nodetype.os=@=x",
    ]);
    assert_eq!(
        db.ok(&["nodels", "n1,n2", "groups"]),
        "n1: rhels5.6,all,rhels5.5\nn2: rhels5.4,all\n"
    );
    assert_eq!(db.ok(&["nodels", "n2", "nodetype.os"]), "n2: =x\n");
    // A filter chooses the nodes.
    db.ok(&["nodech", "all", "nodehm.mgt==hmc", "nodehm.cons=hmc"]);
    assert_eq!(db.ok(&["nodels", "all", "nodehm.cons"]), "n1: hmc\nn2: \n");
    db.ok(&["nodech", "-d", "n1", "nodehm"]);
    assert!(!db.ok(&["tabdump", "nodehm"]).contains("\"n1\""));
    assert_eq!(db.ok(&["tabgrep", "n2"]), "nodelist\nnodetype\n");
    let o = db.cmd(&["noderm", "n9"]);
    assert!(
        o.stderr
            .contains("Invalid nodes and/or groups in noderange: n9"),
        "{}",
        o.stderr
    );
    db.ok(&["noderm", "n1,n2"]);
    assert_eq!(db.ok(&["nodels"]), "");
}

#[test]
fn tabdump_where_clauses_and() {
    let db = Db::new();
    db.ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "a1",
        "groups=all,aix",
        "statustime=2011-04-19",
    ]);
    db.ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "a2",
        "groups=aix",
        "statustime=2011-04-18",
    ]);
    db.ok(&["mkdef", "-t", "node", "-o", "a3", "groups=linux"]);
    let names = |args: &[&str]| -> Vec<String> {
        let mut v = vec!["tabdump"];
        v.extend_from_slice(args);
        v.push("nodelist");
        db.ok(&v)
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().trim_matches('"').to_string())
            .collect()
    };
    assert_eq!(names(&["-w", "groups=~all%"]), ["a1"]);
    assert_eq!(names(&["-w", "groups==aix"]), ["a2"]);
    assert_eq!(names(&["-w", "groups!=linux"]), ["a1", "a2"]);
    assert_eq!(names(&["-w", "groups!~%aix%"]), ["a3"]);
    assert_eq!(names(&["-w", "statustime>2011-04-18"]), ["a1"]);
    assert_eq!(names(&["-w", "statustime>=2011-04-18"]), ["a1", "a2"]);
    assert_eq!(names(&["-w", "statustime<2011-04-19"]), ["a2"]);
    assert_eq!(
        names(&["-w", "statustime<=2011-04-19", "-w", "groups=~%all%"]),
        ["a1"]
    );
    let o = db.cmd(&["tabdump", "-w", "nosuch==1", "nodelist"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("nodelist.nosuch"), "{}", o.stderr);
}

#[test]
fn restorexcatdb_restores_every_table_in_one_transaction() {
    let db = Db::new();
    db.ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "n1,n2",
        "groups=all",
        "mgt=ipmi",
    ]);
    db.ok(&["chtab", "key=domain", "site.value=a.example"]);
    let backup = db.dir().join("backup");
    let out = db.ok(&["dumpxCATdb", "-p", backup.to_str().unwrap(), "-V"]);
    assert!(
        out.contains("Dumping site")
            && out.contains("Skipping auditlog")
            && out.ends_with("Backup Complete.\n"),
        "{out}"
    );
    assert!(backup.join("nodelist.csv").exists() && !backup.join("eventlog.csv").exists());
    // Change things, then break one file of the backup: nothing at all is restored.
    db.ok(&["noderm", "n2"]);
    db.ok(&["chtab", "key=domain", "site.value=b.example"]);
    let before = (db.ok(&["tabdump", "nodelist"]), db.ok(&["tabdump", "site"]));
    std::fs::write(backup.join("zvm.csv"), "#node,nosuchcolumn\n\"x\",\"y\"\n").unwrap();
    let o = db.cmd(&["restorexCATdb", "-p", backup.to_str().unwrap()]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("zvm.csv"), "{}", o.stderr);
    assert_eq!(
        before,
        (db.ok(&["tabdump", "nodelist"]), db.ok(&["tabdump", "site"]))
    );
    // Repaired, everything comes back.
    std::fs::remove_file(backup.join("zvm.csv")).unwrap();
    let out = db.ok(&["restorexCATdb", "-p", backup.to_str().unwrap()]);
    assert!(out.ends_with("Restore of Database Complete.\n"), "{out}");
    assert_eq!(db.ok(&["nodels"]), "n1\nn2\n");
    assert_eq!(
        db.ok(&["gettab", "key=domain", "site.value"]),
        "a.example\n"
    );
    // site.skiptables leaves tables out of both.
    db.ok(&["chtab", "key=skiptables", "site.value=hosts,passwd"]);
    let b2 = db.dir().join("b2");
    db.ok(&["dumpxCATdb", "-p", b2.to_str().unwrap()]);
    assert!(!b2.join("hosts.csv").exists() && b2.join("site.csv").exists());
    assert_ne!(
        db.cmd(&[
            "restorexCATdb",
            "-p",
            db.dir().join("nope").to_str().unwrap()
        ])
        .code,
        0
    );
}

#[test]
fn xcat_names_answer_version_and_help() {
    let db = Db::new();
    for name in [
        "nodels",
        "chtab",
        "tabdump",
        "nodech",
        "tabprune",
        "dumpxCATdb",
    ] {
        let o = db.cmd(&[name, "-v"]);
        assert_eq!(
            o.stdout,
            format!("{name}: Version {} (baton)\n", env!("CARGO_PKG_VERSION"))
        );
        let o = db.cmd(&[name, "-?"]);
        assert!(o.stdout.contains("Usage:"), "{name}: {}", o.stdout);
    }
    let t = db.ok(&["lsdef", "--template"]);
    assert!(t.contains("switch-template  (node)"), "{t}");
    let o = db.ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "sw1",
        "--template",
        "switch-template",
        "ip=10.0.0.9",
    ]);
    assert!(o.contains("1 object definitions have been created or modified."));
    let def = db.ok(&["lsdef", "sw1", "-i", "groups,ip,switchtype,nodetype"]);
    assert_eq!(def, "Object name: sw1\n    groups=switch\n    ip=10.0.0.9\n    nodetype=switch\n    switchtype=\n");
    let o = db.cmd(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "c1",
        "--template",
        "cec-template",
        "serial=1",
    ]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("must be specified!"), "{}", o.stderr);
}

#[test]
fn passwd_attributes_use_rows_keyed_by_node_and_user() {
    let db = Db::new();
    db.ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "fsp1",
        "mgt=fsp",
        "groups=fsp",
        "passwd.HMC=a",
        "passwd.admin=b",
    ]);
    db.ok(&["chdef", "fsp1", "passwd.HMC=c"]);
    assert_eq!(
        db.ok(&["tabdump", "ppcdirect"]),
        "#hcp,username,password,comments,disable\n\"fsp1\",\"HMC\",\"c\",,\n\"fsp1\",\"admin\",\"b\",,\n"
    );
    assert_eq!(
        db.ok(&["lsdef", "fsp1", "-i", "passwd.HMC,passwd.admin", "-c"]),
        "fsp1: passwd.HMC=c\nfsp1: passwd.admin=b\n"
    );
    let o = db.cmd(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "n1",
        "groups=all",
        "passwd.HMC=x",
    ]);
    assert!(o
        .stderr
        .contains("Cannot set the attr='passwd.HMC' attribute unless mgt value is bpa or fsp."));
    db.ok(&["rmdef", "fsp1"]);
    assert_eq!(
        db.ok(&["tabdump", "ppcdirect"]),
        "#hcp,username,password,comments,disable\n"
    );
}

#[test]
fn a_stored_dynamic_group_without_criteria_never_selects_every_node() {
    let db = Db::new();
    db.ok(&["mkdef", "-t", "node", "-o", "n1,n2", "groups=all"]);
    // A row written by another tool, or by an older baton.
    let csv = db.dir().join("nodegroup.csv");
    std::fs::write(
        &csv,
        "#groupname,grouptype,members,membergroups,wherevals,comments,disable\n\"g\",\"dynamic\",,,,,\n",
    )
    .unwrap();
    db.ok(&["tabrestore", csv.to_str().unwrap()]);
    let o = db.cmd(&["nodels", "g"]);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr.contains("without selection criteria"),
        "{}",
        o.stderr
    );
    assert_eq!(o.stdout, "");
}

#[test]
fn nodels_blame_names_the_group_a_value_comes_from() {
    let db = Db::new();
    db.ok(&["mkdef", "-t", "node", "-o", "n1,n2", "groups=rack1,all"]);
    db.ok(&["chdef", "-t", "group", "rack1", "servicenode=sn1"]);
    db.ok(&["chdef", "n2", "servicenode=sn2"]);
    assert_eq!(
        db.ok(&["nodels", "n1,n2", "-b", "noderes.servicenode"]),
        "n1: sn1 (inherited from group rack1)\nn2: sn2\n"
    );
}
