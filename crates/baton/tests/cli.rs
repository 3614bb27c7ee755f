//! The `baton` command as a user runs it: real binary, real SQLite file.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

struct Db {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Db {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.db");
        let db = Db { _dir: dir, path };
        // A database named by --db or BATON_DB must exist: create it as a user would.
        db.run(&["init"]);
        db
    }
    fn url(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }
    fn baton(&self) -> Command {
        let mut c = Command::cargo_bin("baton").unwrap();
        c.env("BATON_DB", self.url())
            .env_remove("XCAT_NODE_PREFIX")
            .env_remove("XCAT_NODE_SUFFIX");
        c
    }
    fn run(&self, args: &[&str]) -> String {
        let out = self.baton().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "baton {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
    fn dir(&self) -> &Path {
        self.path.parent().unwrap()
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
    fn sample(&self, nodes: usize) {
        self.run(&["quickstart", "--no-demo", "--nodes", &nodes.to_string()]);
    }
}

#[test]
fn quickstart_builds_a_cluster_that_nodels_and_lsdef_read() {
    let db = Db::new();
    let out = db.run(&["quickstart", "--no-demo"]);
    assert!(out.contains("Try next"), "{out}");
    assert!(!out.contains("Plan:"), "--no-demo shows no plan: {out}");
    let nodes = db.run(&["nodels", "compute"]);
    assert_eq!(nodes.lines().count(), 300);
    let rack1 = db.run(&["nodels", "rack01"]);
    assert_eq!(rack1.lines().next(), Some("cn0001"));
    assert_eq!(rack1.lines().count(), 30);
    // Inherited from the rack01 row, evaluated from the compute row's expressions.
    let def = db.run(&[
        "lsdef",
        "cn0001",
        "-i",
        "servicenode,xcatmaster,conserver,ip,bmc,groups",
    ]);
    assert_eq!(
        def,
        "Object name: cn0001\n    bmc=cn0001-bmc\n    conserver=sn1\n    groups=rack01,compute,all\n    \
         ip=10.64.0.1\n    servicenode=sn1,sn2\n    xcatmaster=sn1-eth1\n"
    );
    // Running it again replaces the sample instead of failing.
    db.run(&["quickstart", "--nodes", "20", "--no-demo"]);
    assert_eq!(db.run(&["nodels", "compute"]).lines().count(), 20);
}

#[test]
fn quickstart_shows_a_plan_and_changes_nothing_but_the_sample() {
    let db = Db::new();
    let out = db.run(&["quickstart"]);
    assert!(
        out.contains(
            "$ baton snmove -s sn1 --offline --dry-run\nPlan: move 120 nodes to 1 service node"
        ),
        "{out}"
    );
    assert!(
        out.contains("cn0001-cn0030,cn0091-cn0120,cn0181-cn0210,cn0271-cn0300 (120 nodes)"),
        "{out}"
    );
    // No takeover behind the user's back: no journal entry, nodes where the sample put them.
    assert_eq!(db.run(&["journal"]).lines().count(), 1, "only the header");
    assert_eq!(
        db.run(&["nodels", "cn0001,cn0031", "noderes.servicenode"]),
        "cn0001: sn1,sn2\ncn0031: sn2,sn3\n"
    );
    // The walk-through it suggests is README's (tests/readme.rs runs README's).
    assert!(
        out.contains("  baton snmove -s sn1 --offline --yes\n"),
        "{out}"
    );
}

#[test]
fn a_move_on_the_sample_skips_its_steps_and_rolls_back() {
    let db = Db::new();
    db.run(&["quickstart", "--no-demo"]);
    let out = db.run(&["snmove", "-s", "sn1", "--offline", "--yes"]);
    assert!(
        out.contains("Journal entry 1: 120 nodes switched in the database."),
        "{out}"
    );
    assert!(
        out.contains("[skipped] sn2: DHCP reservations for 120 nodes: skipped (sample cluster"),
        "{out}"
    );
    assert_eq!(
        db.run(&["nodels", "cn0001", "noderes.servicenode"]),
        "cn0001: sn2,sn1\n"
    );
    db.run(&["rollback", "1", "--yes"]);
    assert_eq!(
        db.run(&["nodels", "cn0001", "noderes.servicenode"]),
        "cn0001: sn1,sn2\n"
    );
    // The rollback's own entry names the entry it undoes; the moves' own entry does not.
    let back: serde_json::Value =
        serde_json::from_str(&db.run(&["journal", "2", "--json"])).unwrap();
    assert_eq!(back["plan"]["undoes"], 1, "{back}");
    assert!(back["entry"]["summary"]
        .as_str()
        .unwrap()
        .starts_with("rollback of entry 1: 120 nodes"));
    assert!(db
        .run(&["journal", "2"])
        .contains("undoes:   journal entry 1"));
    let first: serde_json::Value =
        serde_json::from_str(&db.run(&["journal", "1", "--json"])).unwrap();
    assert!(first["plan"].get("undoes").is_none(), "{first}");
}

#[test]
fn quickstart_refuses_to_overwrite_a_real_cluster() {
    let db = Db::new();
    db.run(&["mkdef", "-t", "node", "-o", "real1", "groups=all"]);
    db.baton()
        .args(["quickstart"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a baton sample"));
    assert_eq!(db.run(&["nodels"]), "real1\n");
}

#[test]
fn nodels_prints_attributes_and_filters() {
    let db = Db::new();
    db.sample(60);
    // 60 nodes in 10 racks: cn0007 is the first node of rack02, served by sn2,sn3.
    let out = db.run(&["nodels", "cn0001,cn0007", "noderes.servicenode"]);
    assert_eq!(out, "cn0001: sn1,sn2\ncn0007: sn2,sn3\n");
    let out = db.run(&["nodels", "cn0001", "noderes.servicenode", "groups"]);
    assert_eq!(
        out,
        "cn0001: noderes.servicenode: sn1,sn2\ncn0001: nodelist.groups: rack01,compute,all\n"
    );
    let out = db.run(&["nodels", "compute", "noderes.servicenode==sn2,sn3"]);
    // racks 02, 05 and 08
    assert_eq!(out.lines().count(), 18, "{out}");
    assert!(out.starts_with("cn0007\n"));
    db.baton()
        .args(["nodels", "all", "noderes.nosuch"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "noderes.nosuch not a valid table.column description",
        ));
}

#[test]
fn unknown_names_fail_with_xcats_message() {
    let db = Db::new();
    db.sample(20);
    db.baton()
        .args(["nodels", "cn0001,nosuch,cn9999,nosuch"])
        .assert()
        .code(2)
        .stdout("")
        .stderr("Error: Invalid nodes and/or groups in noderange: nosuch,cn9999,nosuch\n");
    db.baton()
        .args(["nodels", "(cn0001"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "Unbalanced parentheses in noderange",
        ));
}

#[test]
fn noderange_prefix_and_suffix_come_from_the_environment() {
    let db = Db::new();
    db.sample(20);
    let out = db
        .baton()
        .env("XCAT_NODE_PREFIX", "cn00")
        .args(["nodels", "10-12"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "cn0010\ncn0011\ncn0012\n"
    );
}

#[test]
fn tabdump_tabrestore_round_trip_is_byte_identical() {
    let db = Db::new();
    db.sample(50);
    let text = "#node,ip,hostnames,otherinterfaces,comments,disable\n\
                \"compute\",\"|node(\\d+)|10.0.0.($1+0)|\",,,,\n\
                \"node1\",\"10.0.0.1\",\"n1,n1-alias\",,\"say \"\"hi\"\"\",\n\
                \"node2\",\"10.0.0.2\",,,\"two\nlines\",\n\
                \"node3\",\"10.0.0.3\",,,,\"1\"\n";
    let f = db.write("hosts.csv", text);
    db.run(&["tabrestore", f.to_str().unwrap()]);
    assert_eq!(db.run(&["tabdump", "hosts"]), text);
    for table in ["nodelist", "noderes", "site", "networks", "postscripts"] {
        let before = db.run(&["tabdump", table]);
        let f = db.write(&format!("{table}.csv.bak"), &before);
        db.run(&["tabrestore", f.to_str().unwrap()]);
        assert_eq!(db.run(&["tabdump", table]), before, "{table}");
    }
}

#[test]
fn tabrestore_add_rows_and_subset_of_columns() {
    let db = Db::new();
    db.sample(20);
    let f = db.write(
        "nodelist.extra.csv",
        "#groups,node\n\"gpu,all\",\"gpu01\"\n",
    );
    db.run(&["tabrestore", "-a", f.to_str().unwrap()]);
    assert_eq!(db.run(&["nodels", "gpu"]), "gpu01\n");
    assert_eq!(db.run(&["nodels", "compute"]).lines().count(), 20);
    // The same record again is a no-op, not a duplicate.
    db.run(&["tabrestore", "-a", f.to_str().unwrap()]);
    assert_eq!(db.run(&["nodels", "all"]).lines().count(), 20 + 1 + 3 + 1);
}

#[test]
fn bad_csv_reports_every_error_and_changes_nothing() {
    let db = Db::new();
    db.sample(20);
    let before = db.run(&["tabdump", "nodelist"]);
    let cases: &[(&str, &str, &str)] = &[
        (
            "nodelist.csv",
            "\"n1\",\"all\"\n",
            "Data missing header line starting with #",
        ),
        (
            "nodelist.csv",
            "#node,bogus\n\"n1\",\"x\"\n",
            "column 'bogus' should exist, which is not defined in the schema for 'nodelist'",
        ),
        (
            "nodelist.csv",
            "#node,groups\n\"n1\",\"all\n",
            "CSV unmatched \"",
        ),
        (
            "nodelist.csv",
            "#node,groups\n\"n1\",\"all\",\"extra\"\n",
            "Too many fields",
        ),
        (
            "nodelist.csv",
            "#node,groups\n\"n1\"x,\"all\"\n",
            "CSV unescaped \"",
        ),
        (
            "nodelist.csv",
            "#node,groups\nn\"1,\"all\"\n",
            "CSV missing opening \"",
        ),
        (
            "nodelist.csv",
            "#node,groups\n\"n1\",\"all\"\n\"n1\",\"dup\"\n",
            "UNIQUE",
        ),
        (
            "nosuchtable.csv",
            "#node\n\"n1\"\n",
            "there is no table 'nosuchtable'",
        ),
    ];
    for (name, text, msg) in cases {
        let f = db.write(name, text);
        db.baton()
            .args(["tabrestore", f.to_str().unwrap()])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*msg));
        assert_eq!(db.run(&["tabdump", "nodelist"]), before, "after {text:?}");
    }
    let f = db.write(
        "nodelist.csv",
        "#node,groups\n\"a\",\"x\"y\n\"b\",\"all\"\n\"c\n",
    );
    let out = db
        .baton()
        .args(["tabrestore", f.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err.lines().count(),
        2,
        "both bad records are reported: {err}"
    );
}

#[test]
fn tabdump_lists_tables_and_rejects_unknown_ones() {
    let db = Db::new();
    let out = db.run(&["tabdump"]);
    assert!(out.lines().any(|l| l == "noderes"));
    assert_eq!(out.lines().count(), 73);
    db.baton()
        .args(["tabdump", "nosuch"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nosuch"));
    assert_eq!(db.run(&["tabdump", "noderes"]).lines().count(), 1);
}

#[test]
fn chdef_writes_the_nodes_own_row_and_keeps_group_rows() {
    let db = Db::new();
    db.sample(60);
    let group_before = db.run(&["tabdump", "noderes"]);
    db.run(&[
        "chdef",
        "cn0001",
        "servicenode=sn2,sn1",
        "xcatmaster=sn2-eth1",
    ]);
    assert_eq!(
        db.run(&["nodels", "cn0001,cn0002", "noderes.servicenode"]),
        "cn0001: sn2,sn1\ncn0002: sn1,sn2\n"
    );
    let after = db.run(&["tabdump", "noderes"]);
    assert!(after.starts_with(&group_before), "group rows untouched");
    assert!(
        after.ends_with("\"cn0001\",\"sn2,sn1\",,,,,,,,,,,\"sn2-eth1\",,,,,,,,,\n"),
        "{after}"
    );
    // -p / -m edit lists, starting from the inherited value.
    db.run(&["chdef", "-p", "cn0002", "groups=gpu"]);
    assert_eq!(db.run(&["nodels", "gpu"]), "cn0002\n");
    db.run(&["chdef", "-m", "cn0002", "groups=gpu"]);
    db.baton().args(["nodels", "gpu"]).assert().code(2);
    // only_if: bmc goes to ipmi because mgt=ipmi.
    db.run(&["chdef", "cn0003", "bmc=10.9.9.9"]);
    assert_eq!(
        db.run(&["nodels", "cn0003", "ipmi.bmc"]),
        "cn0003: 10.9.9.9\n"
    );
}

#[test]
fn chdef_bad_input_changes_nothing() {
    let db = Db::new();
    db.sample(20);
    let before: Vec<String> = ["noderes", "nodelist", "nodehm"]
        .iter()
        .map(|t| db.run(&["tabdump", t]))
        .collect();
    // Bad input exits 2; an object that exists already is xCAT's failure, 1.
    for (args, code) in [
        (vec!["chdef", "cn0001", "nosuchattr=1"], 2),
        (
            vec!["chdef", "cn0001", "servicenode=sn2", "notanassignment"],
            2,
        ),
        (vec!["chdef", "cn0001,nosuch", "servicenode=sn2"], 2),
        (vec!["chdef", "newnode", "servicenode=sn2"], 2),
        (vec!["chdef", "-t", "bogus", "x", "a=b"], 2),
        (vec!["mkdef", "-t", "node", "-o", "cn0001", "groups=all"], 1),
        (
            vec!["mkdef", "-t", "node", "-o", "fresh", "servicenode=sn1"],
            2,
        ),
    ] {
        let out = db.baton().args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("Error: "),
            "{args:?}"
        );
    }
    let after: Vec<String> = ["noderes", "nodelist", "nodehm"]
        .iter()
        .map(|t| db.run(&["tabdump", t]))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn mkdef_and_rmdef_nodes_and_groups() {
    let db = Db::new();
    db.run(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "n[1-3]",
        "groups=compute,all",
        "mgt=ipmi",
    ]);
    assert_eq!(db.run(&["nodels", "compute"]), "n1\nn2\nn3\n");
    db.run(&["mkdef", "-t", "group", "-o", "gpu", "members=n1,n3"]);
    assert_eq!(db.run(&["nodels", "gpu"]), "n1\nn3\n");
    db.run(&[
        "chdef",
        "-t",
        "group",
        "gpu",
        "servicenode=sn9",
        "members=n2",
    ]);
    assert_eq!(db.run(&["nodels", "gpu"]), "n2\n");
    assert_eq!(
        db.run(&["nodels", "n2", "noderes.servicenode"]),
        "n2: sn9\n"
    );
    let g = db.run(&["lsdef", "-t", "group", "gpu"]);
    assert_eq!(
        g,
        "Object name: gpu\n    grouptype=static\n    members=n2\n    servicenode=sn9\n"
    );
    db.run(&["rmdef", "-t", "group", "gpu"]);
    assert_eq!(db.run(&["nodels", "n2", "groups"]), "n2: compute,all\n");
    db.run(&["rmdef", "n1"]);
    assert_eq!(db.run(&["nodels"]), "n2\nn3\n");
    assert!(!db.run(&["tabdump", "nodehm"]).contains("\"n1\""));
}

#[test]
fn lsdef_site_network_json_and_compact() {
    let db = Db::new();
    db.sample(20);
    let site = db.run(&["lsdef", "-t", "site", "-i", "domain,master"]);
    assert_eq!(
        site,
        "Object name: clustersite\n    domain=cluster.example\n    master=10.0.0.254\n"
    );
    let nets = db.run(&["lsdef", "-t", "network"]);
    assert_eq!(nets, "computenet  (network)\nmgmtnet  (network)\n");
    let net = db.run(&["lsdef", "-t", "network", "computenet", "-i", "gateway"]);
    assert_eq!(net, "Object name: computenet\n    gateway=<xcatmaster>\n");
    let json: serde_json::Value =
        serde_json::from_str(&db.run(&["lsdef", "cn0001,cn0002", "-i", "servicenode", "--json"]))
            .unwrap();
    assert_eq!(json["cn0002"]["servicenode"], "sn1,sn2");
    assert_eq!(
        db.run(&["lsdef", "cn0001", "-c", "-i", "os"]),
        "cn0001: os=rhels9.4\n"
    );
    db.run(&["chdef", "-t", "site", "domain="]);
    assert_eq!(
        db.run(&["lsdef", "-t", "site", "-i", "domain"]),
        "Object name: clustersite\n"
    );
}

#[test]
fn db_url_errors_are_clear() {
    let mut c = Command::cargo_bin("baton").unwrap();
    c.args(["--db", "bogus:/x", "nodels"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown database URL"));
    let mut c = Command::cargo_bin("baton").unwrap();
    c.args(["--db", "postgres://u:secret@127.0.0.1:1/x", "nodels"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("cannot connect")
                .and(predicate::str::contains("secret").not()),
        );
}

#[test]
fn man_pages_and_completions_are_generated_from_the_help() {
    let db = Db::new();
    let dir = db.dir().join("man");
    let out = db.run(&["man", dir.to_str().unwrap()]);
    assert!(out.lines().count() >= 10, "{out}");
    let snmove = std::fs::read_to_string(dir.join("snmove.1")).unwrap();
    assert!(
        snmove.starts_with(".ie") || snmove.contains(".TH snmove"),
        "{snmove}"
    );
    for flag in [
        "\\-\\-destn",
        "\\-\\-sourcen",
        "\\-\\-ignorenodes",
        "\\-\\-postscripts",
        "\\-\\-dry\\-run",
    ] {
        assert!(snmove.contains(flag), "snmove.1 documents {flag}");
    }
    assert!(std::fs::read_to_string(dir.join("baton-snmove.1"))
        .unwrap()
        .contains("SELECTING NODES"));
    let bash = db.run(&["completions", "bash"]);
    assert!(bash.contains("snmove") && bash.contains("tabrestore"));
    let zsh = db.run(&["completions", "zsh", "--snmove"]);
    assert!(zsh.contains("--destn"));
}

#[test]
fn delegation_flags_and_the_agent_commands() {
    let db = Db::new();
    db.run(&["quickstart", "--no-demo", "--nodes", "20", "--racks", "2"]);
    // Contradicting flags: refused before anything changes.
    db.baton()
        .args([
            "snmove",
            "-s",
            "sn1",
            "--offline",
            "--direct",
            "--delegate",
            "always",
            "--yes",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--direct and --delegate always"));
    let journal = db.run(&["journal"]);
    assert!(!journal.contains("snmove"), "nothing ran: {journal}");
    // The probe a management node sends, and the agent refusing a batch it cannot read.
    let hello = db.run(&["agent", "probe"]);
    let v: serde_json::Value = serde_json::from_str(hello.trim()).unwrap();
    assert_eq!(v["protocol"], 1);
    db.baton()
        .args(["agent", "run-cn-steps"])
        .write_stdin("not json")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read the batch"));
    // Help documents the choice; the agent stays out of the command list.
    let help = db.run(&["snmove", "--help"]);
    assert!(
        help.contains("--delegate") && help.contains("baton agent probe"),
        "{help}"
    );
    assert!(!db.run(&["--help"]).contains("agent"));
}

#[test]
fn a_named_database_that_does_not_exist_is_an_error_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nonexistent").join("dir").join("x.db");
    let url = format!("sqlite:{}", missing.display());
    for (args, via_env) in [
        (vec!["--db", &url, "nodels", "all"], false),
        (vec!["nodels", "all"], true),
        (vec!["--db", &url, "tabrestore", "/dev/null"], false),
        (vec!["--db", &url, "chdef", "cn1", "groups=all"], false),
        (vec!["--db", &url, "journal"], false),
    ] {
        let mut cmd = Command::cargo_bin("baton").unwrap();
        if via_env {
            cmd.env("BATON_DB", &url);
        } else {
            cmd.env_remove("BATON_DB");
        }
        cmd.args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(missing.display().to_string()))
            .stderr(predicate::str::contains("does not exist"));
    }
    Command::cargo_bin("snmove")
        .unwrap()
        .env_remove("BATON_DB")
        .args(["--db", &url, "-s", "sn1", "--dry-run"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not exist"));
    assert!(
        !dir.path().join("nonexistent").exists(),
        "nothing may be created for a mistyped --db"
    );
    // init creates it on purpose; after that the same command works.
    Command::cargo_bin("baton")
        .unwrap()
        .args(["--db", &url, "init"])
        .assert()
        .success();
    assert!(missing.exists());
}

/// Runs `baton ARGS` with its standard output (or error) a pipe whose reader has gone.
fn with_closed_pipe(db: &Db, args: &[&str], close_stderr: bool) -> std::process::Output {
    use std::process::Stdio;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("baton"));
    cmd.env("BATON_DB", db.url())
        .args(args)
        .stdin(Stdio::null());
    if close_stderr {
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    // Close the reading end before the command writes anything.
    if close_stderr {
        drop(child.stderr.take());
    } else {
        drop(child.stdout.take());
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_pipe_never_panics_a_command() {
    let db = Db::new();
    db.run(&["quickstart", "--no-demo"]);
    let commands: &[&[&str]] = &[
        &["quickstart"],
        &["nodels", "all"],
        &["nodels", "compute", "noderes.servicenode"],
        &["lsdef", "rack01"],
        &["lsdef", "-t", "group", "rack01"],
        &["tabdump"],
        &["tabdump", "nodelist"],
        &["snmove", "-s", "sn1", "--offline", "--dry-run"],
        &["snmove", "-s", "sn2", "--offline", "--yes"],
        &["journal"],
        &["journal", "1"],
        &["rollback", "1", "--yes"],
        &["status"],
        &["completions", "bash"],
        &["--help"],
        &["snmove", "--help"],
    ];
    for args in commands {
        for close_stderr in [false, true] {
            let out = with_closed_pipe(&db, args, close_stderr);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_ne!(
                out.status.code(),
                Some(101),
                "baton {args:?} panicked: {err}"
            );
            assert!(!err.contains("panicked"), "baton {args:?}: {err}");
        }
    }
    // The move and its rollback ran to their end although nobody read their output.
    assert_eq!(db.run(&["journal"]).matches("snmove -s sn2").count(), 1);
    assert_eq!(
        db.run(&["nodels", "cn0031", "noderes.servicenode"]),
        "cn0031: sn2,sn3\n"
    );
}

#[test]
fn every_command_has_examples_and_its_man_page_has_the_usual_sections() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("baton")
        .unwrap()
        .args(["man"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let pages: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(pages.len() > 20, "{pages:?}");
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for section in [
            "DESCRIPTION",
            "OPTIONS",
            "EXIT STATUS",
            "EXAMPLES",
            "SEE ALSO",
        ] {
            assert!(
                text.lines()
                    .any(|l| l == format!(".SH \"{section}\"") || l == format!(".SH {section}")),
                "{} has no {section} section",
                page.display()
            );
        }
        assert!(!text.contains(".SH EXTRA"), "{}", page.display());
        // The name of the page's subcommand gives its --help, which shows the same examples.
        let name = page.file_stem().unwrap().to_str().unwrap();
        let args: Vec<&str> = match name.strip_prefix("baton-") {
            Some(sub) => vec![sub, "--help"],
            None if name == "baton" => vec!["--help"],
            None => continue, // snmove: its own binary, same text as baton-snmove
        };
        let help = Command::cargo_bin("baton")
            .unwrap()
            .args(&args)
            .output()
            .unwrap();
        let help = String::from_utf8(help.stdout).unwrap();
        assert!(
            help.contains("EXAMPLES") || help.contains("Example"),
            "baton {args:?} shows no examples"
        );
    }
}

#[test]
fn bash_completion_offers_node_group_and_service_node_names_from_the_database() {
    let db = Db::new();
    db.run(&["quickstart", "--no-demo"]);
    let bin = assert_cmd::cargo::cargo_bin("baton");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let complete = |script: &str, words: &str, func: &str| -> Vec<String> {
        let prog = format!(
            "source <(baton completions bash {script}); COMP_WORDS=({words}); \
             COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); {func}; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &prog])
            .env("PATH", &path)
            .env("BATON_DB", db.url())
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let nodes = complete("", "baton nodels cn000", "_baton_with_names");
    assert_eq!(nodes.len(), 9, "{nodes:?}");
    assert_eq!(nodes[0], "cn0001");
    let groups = complete("", "baton lsdef rack0", "_baton_with_names");
    assert!(groups.contains(&"rack01".to_string()), "{groups:?}");
    let sns = complete("--snmove", "snmove -s s", "_snmove_with_names");
    assert_eq!(sns, ["sn1", "sn2", "sn3"]);
    // No database: no names, no error, nothing created.
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite:{}", dir.path().join("none.db").display());
    Command::cargo_bin("baton")
        .unwrap()
        .env("BATON_DB", &missing)
        .arg("complete-names")
        .assert()
        .success()
        .stdout("")
        .stderr("");
    assert!(!dir.path().join("none.db").exists());
}
