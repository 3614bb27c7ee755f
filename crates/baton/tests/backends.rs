//! The takeover and the CLI on every backend: embedded SQLite, xCAT's SQLite directory,
//! PostgreSQL and MariaDB (throw-away servers from the shared harness, or BATON_TEST_PG /
//! BATON_TEST_MYSQL). One test per backend runs every case, so each server starts once per
//! process (nextest runs each test in a process of its own).

#[path = "../../clusterdb/tests/common/mod.rs"]
mod common;

use assert_cmd::Command;
use clusterdb::sample::SampleSpec;
use clusterdb::{tabio, ClusterDb, DbUrl, NoderangeEnv};
use common::{Case, Kind, TestDb};
use std::net::IpAddr;
use takeover::{Request, RunMeta, TakeoverError, UnimplementedSteps};

const CASES: &[(&str, Case)] = &[
    ("takeover: plan, apply, conflict, rollback", takeover_flow),
    ("takeover: resume", takeover_resume),
    (
        "takeover: a lease held from another host",
        takeover_lease_elsewhere,
    ),
    ("cli: quickstart, snmove, journal, rollback", cli_flow),
    ("cli: migrate", cli_migrate),
    ("cli: xCAT database commands", cli_dbcmds),
    (
        "cli: no child of baton is given a password",
        children_never_see_a_password,
    ),
];

fn suite(kind: Kind) {
    common::run_cases(kind, CASES)
}

#[test]
fn sqlite() {
    suite(Kind::Sqlite)
}

#[test]
fn xcat_sqlite() {
    suite(Kind::XcatSqlite)
}

#[test]
fn postgres() {
    suite(Kind::Postgres)
}

#[test]
fn mysql() {
    suite(Kind::Mysql)
}

// ---- the takeover, through the library ---------------------------------------------------

struct Offline;

impl takeover::Env for Offline {
    fn resolve_local(&self, _: &str) -> Option<IpAddr> {
        None
    }
    fn resolve_dns(&self, _: &str) -> Option<IpAddr> {
        None
    }
    fn sn_addresses(&self, sn: &str) -> Result<Vec<IpAddr>, String> {
        Err(format!("{sn}: offline test"))
    }
    fn address_holder(&self, sn: &str, _: &str) -> Result<Option<String>, String> {
        Err(format!("{sn}: offline"))
    }
}

fn sample(db: &mut ClusterDb, nodes: usize) {
    let snap = db.write().unwrap();
    for (t, csv) in (SampleSpec {
        nodes,
        racks: 2,
        sns: 3,
    })
    .tables()
    {
        tabio::restore_into(&snap, t, &csv, false, t).unwrap();
    }
    snap.commit().unwrap();
}

fn request(range: &str, dest: &str) -> Request {
    Request {
        noderange: Some(range.into()),
        dest: Some(dest.into()),
        offline: true,
        ..Default::default()
    }
}

/// Every xCAT table, dumped: what a rollback must give back byte for byte.
fn dump_all(db: &mut ClusterDb) -> Vec<(String, String)> {
    let snap = db.read().unwrap();
    tabio::table_names()
        .into_iter()
        .filter(|t| *t != "auditlog")
        .map(|t| (t.to_string(), tabio::tabdump(&snap, t).unwrap()))
        .collect()
}

fn takeover_flow(t: &TestDb) {
    let mut db = t.open();
    sample(&mut db, 40);
    let env = NoderangeEnv::default();
    let before = dump_all(&mut db);
    let (mut a, mut b) = {
        let snap = db.read().unwrap();
        let a = takeover::plan(&snap, &request("rack01", "sn2"), &Offline, &env).unwrap();
        let b = takeover::plan(&snap, &request("cn0015-cn0025", "sn3"), &Offline, &env).unwrap();
        (a, b)
    };
    assert_eq!(a.nodes.len(), 20);
    let out = takeover::apply(
        &mut db,
        &mut a,
        &RunMeta::default(),
        &mut UnimplementedSteps,
    )
    .unwrap();
    let after_a = dump_all(&mut db);
    assert_ne!(before, after_a);
    // The second plan overlaps the first: a concurrent edit, named, and nothing changes.
    match takeover::apply(
        &mut db,
        &mut b,
        &RunMeta::default(),
        &mut UnimplementedSteps,
    ) {
        Err(TakeoverError::Conflict(msg)) => assert!(
            msg.starts_with("cn0015: ") && msg.contains(" changed since the plan was made ("),
            "{msg}"
        ),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(dump_all(&mut db), after_a, "the loser changed nothing");
    {
        let snap = db.read().unwrap();
        let runs = takeover::journal::list(&snap).unwrap();
        assert_eq!(runs.len(), 1, "and left no journal entry");
        assert_eq!(runs[0].id, out.journal_id);
    }
    // Rollback: every table byte for byte as before the move.
    let back = takeover::rollback(
        &mut db,
        out.journal_id,
        &RunMeta::default(),
        &mut UnimplementedSteps,
    )
    .unwrap();
    let restored = dump_all(&mut db);
    for ((name, want), (_, got)) in before.iter().zip(&restored) {
        assert_eq!(got, want, "{name} after the rollback");
    }
    // The rollback is a run of its own, which can be rolled back in turn.
    takeover::rollback(
        &mut db,
        back.journal_id,
        &RunMeta::default(),
        &mut UnimplementedSteps,
    )
    .unwrap();
    let again = dump_all(&mut db);
    for ((name, want), (_, got)) in after_a.iter().zip(&again) {
        assert_eq!(got, want, "{name} after rolling back the rollback");
    }
    let snap = db.read().unwrap();
    let runs = takeover::journal::list(&snap).unwrap();
    let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "newest last: {ids:?}");
    assert_eq!(runs[0].state, "rolled-back");
}

fn takeover_resume(t: &TestDb) {
    let mut db = t.open();
    sample(&mut db, 12);
    let env = NoderangeEnv::default();
    let mut p = {
        let snap = db.read().unwrap();
        takeover::plan(&snap, &request("rack01", "sn3"), &Offline, &env).unwrap()
    };
    let out = takeover::apply(
        &mut db,
        &mut p,
        &RunMeta::default(),
        &mut UnimplementedSteps,
    )
    .unwrap();
    assert!(!out.complete(), "unimplemented steps stay pending");
    let again = takeover::resume(&mut db, out.journal_id, &mut UnimplementedSteps).unwrap();
    assert_eq!(again.journal_id, out.journal_id);
    assert_eq!(again.steps.len(), out.steps.len());
    let snap = db.read().unwrap();
    let (entry, _, steps) = takeover::journal::load(&snap, out.journal_id).unwrap();
    assert_eq!(entry.state, "partial");
    assert_eq!(steps.len(), p.steps.len());
}

/// A run on another host holds cn0001: refused while its connection lives (database servers:
/// its session lock), broken once it is gone. A database file is only used from one host, so
/// there a lease from another host is stale at once.
fn takeover_lease_elsewhere(t: &TestDb) {
    let mut db = t.open();
    sample(&mut db, 12);
    let elsewhere = takeover::lease::Holder {
        host: "mn-elsewhere".into(),
        boot: "another-boot".into(),
        pid: 4242,
        pstart: "7".into(),
    };
    let mut other = t.open();
    {
        let snap = other.write().unwrap();
        let nodes = ["cn0001".to_string()];
        takeover::lease::take_as(&mut **snap.tx(), &elsewhere, &[99], &nodes, "snmove far")
            .unwrap();
        snap.commit().unwrap();
    }
    let plan = |db: &mut ClusterDb| {
        let snap = db.read().unwrap();
        let env = NoderangeEnv::default();
        takeover::plan(&snap, &request("cn0001", "sn3"), &Offline, &env).unwrap()
    };
    let mut p = plan(&mut db);
    let meta = RunMeta::default();
    let first = takeover::apply(&mut db, &mut p, &meta, &mut UnimplementedSteps);
    let server = matches!(t.kind, Kind::Postgres | Kind::Mysql);
    if server {
        match first {
            Err(TakeoverError::Busy(m)) => assert!(
                m.contains("host mn-elsewhere, PID 4242") && m.contains("cn0001"),
                "{m}"
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
        drop(other);
        // The server ends the closed session on its own time: wait for that, not for a time.
        let mut tries = 0;
        loop {
            let mut p = plan(&mut db);
            match takeover::apply(&mut db, &mut p, &meta, &mut UnimplementedSteps) {
                Ok(_) => break,
                Err(TakeoverError::Busy(_)) if tries < 100 => tries += 1,
                Err(e) => panic!("after the holder's connection closed: {e}"),
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    } else {
        first.unwrap();
    }
    let snap = db.read().unwrap();
    let spec = clusterdb::table("baton_lease").unwrap();
    let left = snap
        .select(spec, &["id"], clusterdb::backend::Filter::All)
        .unwrap();
    assert!(left.is_empty(), "broken and released: {left:?}");
}

// ---- the CLI -----------------------------------------------------------------------------

fn baton(db_url: &str, dir: &std::path::Path) -> Command {
    let ssh = dir.join("fake-ssh");
    if !ssh.exists() {
        // Every service node answers and every remote command succeeds.
        std::fs::write(&ssh, "#!/bin/sh\ncat >/dev/null 2>&1 </dev/null\nexit 0\n").unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&ssh)
            .status()
            .unwrap();
    }
    let mut c = Command::cargo_bin("baton").unwrap();
    c.env("BATON_DB", db_url)
        .env("BATON_SSH", &ssh)
        .env_remove("XCAT_NODE_PREFIX")
        .env_remove("XCAT_NODE_SUFFIX");
    c
}

fn run_ok(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Output that must not show the password.
fn no_password(t: &TestDb, what: &str, text: &str) {
    if let Some(pw) = t.password() {
        assert!(!text.contains(&pw), "{what} shows the password:\n{text}");
    }
}

/// `--db URL` on the command line (the journal and auditlog record the command line), with
/// trace logs: the password is in no output, no log line, no journal row, no auditlog row.
fn password_on_the_command_line(t: &TestDb) {
    let dir = t.dir.path();
    // (standard output, everything printed), after checking neither shows the password.
    let run = |args: &[&str]| -> String {
        let out = baton(&t.url, dir)
            .env_remove("BATON_DB")
            .env("BATON_LOG", "trace")
            .arg("--db")
            .arg(&t.url)
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        no_password(t, &format!("{args:?} with --db URL (trace)"), &all);
        stdout
    };
    run(&[
        "snmove",
        "-s",
        "sn1",
        "-d",
        "sn2",
        "-i",
        "--offline",
        "--yes",
        "--json",
    ]);
    let journal = run(&["journal", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&journal).unwrap();
    let last = v
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .unwrap_or_default();
    let id = last["id"].as_i64().unwrap_or(0);
    assert!(id > 0, "{journal}");
    assert!(
        last["command"].to_string().contains("--db"),
        "recorded: {last}"
    );
    for args in [
        &["resume", &id.to_string()][..],
        &["rollback", &id.to_string(), "--yes"][..],
        &["tabdump", "auditlog"][..],
        &["journal", &id.to_string()][..],
    ] {
        run(args);
    }
}

fn cli_flow(t: &TestDb) {
    let dir = t.dir.path();
    let out = run_ok(baton(&t.url, dir).args([
        "quickstart",
        "--no-demo",
        "--nodes",
        "30",
        "--racks",
        "3",
    ]));
    no_password(t, "quickstart", &out);
    assert_eq!(
        run_ok(baton(&t.url, dir).args(["nodels", "compute"]))
            .lines()
            .count(),
        30
    );
    let before = run_ok(baton(&t.url, dir).args(["tabdump", "noderes"]));
    let out = baton(&t.url, dir)
        .args([
            "snmove",
            "-s",
            "sn1",
            "-d",
            "sn2",
            "-i",
            "--offline",
            "--yes",
            "--json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        matches!(out.status.code(), Some(0 | 4)),
        "snmove: {}\n{stderr}",
        out.status
    );
    no_password(t, "snmove --json", &(stdout.clone() + &stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let id = v["journal_id"].as_i64().unwrap();
    assert_ne!(
        run_ok(baton(&t.url, dir).args(["tabdump", "noderes"])),
        before
    );
    let j = run_ok(baton(&t.url, dir).args(["journal", "--json"]));
    no_password(t, "journal --json", &j);
    assert!(j.contains(&format!("\"id\": {id}")), "{j}");
    let out = baton(&t.url, dir)
        .args(["rollback", &id.to_string(), "--yes", "--json"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 4)),
        "rollback: {out:?}"
    );
    assert_eq!(
        run_ok(baton(&t.url, dir).args(["tabdump", "noderes"])),
        before
    );
    password_on_the_command_line(t);
    // A database that cannot be reached: the error names it, never with the password.
    if let Some(pw) = t.password() {
        let wrong = t.url.replace(&format!(":{pw}@"), ":Wr0ngPassw0rd@");
        for args in [&["nodels"][..], &["journal", "--json"][..]] {
            let out = baton(&wrong, dir).args(args).output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{out:?}");
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(all.contains("cannot connect"), "{all}");
            assert!(
                !all.contains("Wr0ngPassw0rd") && !all.contains(&pw),
                "{all}"
            );
        }
        // A URL that does not parse: the message shows it without the password.
        let out = baton(&format!("{}?bogus=1", t.url), dir)
            .args(["nodels"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("bogus") && !err.contains(&pw), "{err}");
    }
}

fn cli_migrate(t: &TestDb) {
    let dir = t.dir.path();
    let src = format!("sqlite:{}", dir.join("src.db").display());
    run_ok(baton(&src, dir).args(["quickstart", "--no-demo", "--nodes", "120", "--racks", "4"]));
    let out = baton(&src, dir)
        .args([
            "snmove",
            "-s",
            "sn1",
            "-d",
            "sn3",
            "-i",
            "--offline",
            "--yes",
        ])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 4)), "{out:?}");
    let out = run_ok(baton(&src, dir).args(["migrate", "--from", &src, "--to", &t.url]));
    no_password(t, "migrate", &out);
    assert!(out.contains("nodelist") && out.contains("124"), "{out}");
    assert!(out.contains("the counts match after the commit"), "{out}");
    // Not into a database that holds something, unless --force.
    let again = baton(&src, dir)
        .args(["migrate", "--from", &src, "--to", &t.url])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("not empty") && err.contains("--force"),
        "{err}"
    );
    no_password(t, "migrate error", &err);
    let json = run_ok(baton(&src, dir).args([
        "migrate", "--from", &src, "--to", &t.url, "--force", "--json",
    ]));
    no_password(t, "migrate --json", &json);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["tables"]["nodelist"], 124);
    // And back into a fresh file: the same tables.
    let back = format!("sqlite:{}", dir.join("back.db").display());
    run_ok(baton(&src, dir).args(["migrate", "--from", &t.url, "--to", &back]));
    for table in [
        "nodelist",
        "noderes",
        "hosts",
        "site",
        "baton_journal",
        "baton_journal_step",
    ] {
        let a = run_ok(baton(&src, dir).args(["tabdump", table]));
        let b = run_ok(baton(&back, dir).args(["tabdump", table]));
        let sorted = |s: &str| {
            let mut l: Vec<String> = s.lines().map(str::to_string).collect();
            l[1..].sort();
            l
        };
        assert_eq!(sorted(&a), sorted(&b), "{table}");
    }
    // The journal came along: it is readable, and rolls back on the copy.
    let j = run_ok(baton(&back, dir).args(["journal", "--json"]));
    assert!(j.contains("\"id\": 1"), "{j}");
    assert!(ClusterDb::open(&DbUrl::parse(&back).unwrap()).is_ok());
}

/// The xCAT database commands (issue 19) on this backend: objects, row edits, filters, and the
/// one-transaction backup and restore.
fn cli_dbcmds(t: &TestDb) {
    let dir = t.dir.path();
    let ok = |args: &[&str]| run_ok(baton(&t.url, dir).args(args));
    ok(&["init"]); // a named database must exist
    ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "d[1-3]",
        "groups=dbc,all",
        "mgt=ipmi",
        "bmc=10.1.1.1",
    ]);
    ok(&[
        "mkdef",
        "-t",
        "node",
        "-o",
        "f1",
        "groups=fsp",
        "mgt=fsp",
        "passwd.HMC=a",
        "nicips.eth0=1.1.1.1",
    ]);
    ok(&[
        "mkdef",
        "-t",
        "network",
        "-o",
        "n10",
        "net=10.9.0.0",
        "mask=255.255.0.0",
    ]);
    ok(&["mkdef", "-t", "group", "-o", "dyn", "-d", "-w", "mgt==ipmi"]);
    assert_eq!(ok(&["nodels", "dyn"]), "d1\nd2\nd3\n");
    ok(&["chtab", "key=dbc_test", "site.value=x"]);
    ok(&["chtab", "key=dbc_test", "site.value+=y"]);
    assert_eq!(ok(&["gettab", "key=dbc_test", "site.value"]), "x,y\n");
    ok(&["nodech", "d1", "groups,=extra", "nodehm.cons=ipmi"]);
    assert_eq!(ok(&["nodels", "d1", "groups"]), "d1: extra,dbc,all\n");
    let w = ok(&["tabdump", "-w", "groups=~extra%", "nodelist"]);
    assert_eq!(w.lines().count(), 2, "{w}");
    ok(&["chdef", "d3", "-n", "d4"]);
    let st = ok(&["lsdef", "f1", "-z"]);
    assert!(
        st.contains("passwd.HMC=a") && st.contains("nicips.eth0=1.1.1.1"),
        "{st}"
    );
    let backup = dir.join("dbc-backup");
    ok(&["dumpxCATdb", "-p", backup.to_str().unwrap()]);
    ok(&["rmdef", "-t", "network", "-o", "n10"]);
    ok(&["noderm", "d1,d2,d4,f1"]);
    std::fs::write(backup.join("zvm.csv"), "#node,nosuch\n\"x\",\"y\"\n").unwrap();
    let before = ok(&["tabdump", "nodelist"]);
    let out = baton(&t.url, dir)
        .args(["restorexCATdb", "-p", backup.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        ok(&["tabdump", "nodelist"]),
        before,
        "a failed restore changes nothing"
    );
    std::fs::remove_file(backup.join("zvm.csv")).unwrap();
    ok(&["restorexCATdb", "-p", backup.to_str().unwrap()]);
    assert_eq!(ok(&["nodels", "dbc"]), "d1\nd2\nd4\n");
    assert_eq!(
        ok(&["lsdef", "-t", "network", "n10", "-i", "net", "-c"]),
        "n10: net=10.9.0.0\n"
    );
}

// ---- what baton's children are given --------------------------------------------------------

/// A stand-in for ssh and ipmitool that records its arguments, environment and standard input
/// (what `/proc/PID/cmdline`, `/proc/PID/environ` and the remote side would see), then answers
/// as an unreachable host does.
fn recorder(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let bin = dir.join("rec-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join("rec-log");
    std::fs::create_dir_all(&log).unwrap();
    let prog = bin.join(name);
    let script = format!(
        "#!/bin/sh\nf={log}/{name}.$$\nprintf '%s\\n' \"$0\" \"$@\" >\"$f.argv\"\nenv >\"$f.env\"\n\
         timeout 2 cat >\"$f.stdin\" 2>/dev/null\necho 'connection refused' >&2\nexit 255\n",
        log = log.display()
    );
    std::fs::write(&prog, script).unwrap();
    std::fs::set_permissions(&prog, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    prog
}

/// Every file the recorders wrote: (name, contents).
fn recorded(dir: &std::path::Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir.join("rec-log")) else {
        return vec![];
    };
    entries
        .map(|e| e.unwrap().path())
        .map(|p| {
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            (p.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect()
}

/// `--db URL` with its password on baton's own command line, and a BMC password in the passwd
/// table: no child of baton (ssh to the service nodes, ipmitool) is given either password in its
/// arguments, its standard input or (for the database password) its environment, across
/// snmove, resume, rollback, watch and rnetboot; nor does any message at BATON_LOG=trace. (The
/// BMC password goes to ipmitool's environment, or on the standard input of the ssh session
/// that runs ipmitool on a service node.)
fn children_never_see_a_password(t: &TestDb) {
    let dir = t.dir.path();
    let ssh = recorder(dir, "ssh");
    let ipmitool = recorder(dir, "ipmitool");
    const BMC_PW: &str = "Bmc-Canary-5309";
    let path = format!(
        "{}:{}",
        ipmitool.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str], secs: u64| -> std::process::Output {
        let out = baton(&t.url, dir)
            .env_remove("BATON_DB")
            .env("BATON_SSH", &ssh)
            .env("PATH", &path)
            .env("BATON_LOG", "trace")
            .arg("--db")
            .arg(&t.url)
            .args(args)
            .timeout(std::time::Duration::from_secs(secs))
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        no_password(t, &format!("{args:?} (trace)"), &all);
        assert!(
            !all.contains(BMC_PW),
            "{args:?} shows the BMC password:\n{all}"
        );
        out
    };
    let qs = run(
        &["quickstart", "--no-demo", "--nodes", "12", "--racks", "2"],
        60,
    );
    assert!(qs.status.success(), "{qs:?}");
    // Not a sample any more: the steps on the nodes run (through the recording ssh).
    run(&["chtab", "-d", "key=baton-sample", "site"], 30);
    let pw_row = format!("key=ipmi passwd.username=root passwd.password={BMC_PW}");
    let pw_args: Vec<&str> = std::iter::once("chtab").chain(pw_row.split(' ')).collect();
    assert!(run(&pw_args, 30).status.success());
    run(&["snmove", "-s", "sn1", "-d", "sn2", "--yes"], 120);
    run(
        &["snmove", "-s", "sn2", "-d", "sn3", "--offline", "--yes"],
        120,
    );
    run(&["resume", "1"], 120);
    run(&["rollback", "2", "--yes"], 120);
    // A watcher's probe rounds (stopped by the timeout; its output is checked all the same).
    run(
        &[
            "watch",
            "--report-only",
            "--interval",
            "0.2",
            "--metrics",
            "off",
        ],
        3,
    );
    // From the management node (site.ipmidispatch=n), then through the nodes' service nodes.
    run(&["chtab", "key=ipmidispatch", "site.value=n"], 30);
    run(&["rnetboot", "compute", "--timeout", "5"], 60);
    run(&["chtab", "-d", "key=ipmidispatch", "site"], 30);
    run(&["rnetboot", "compute", "--timeout", "5"], 60);
    let files = recorded(dir);
    // The ssh sessions that run ipmitool on a service node: their standard input carries the
    // BMC passwords (by design: never their command line).
    let ipmi_sessions: Vec<String> = files
        .iter()
        .filter(|(n, t)| {
            n.starts_with("ssh.") && n.ends_with(".argv") && t.contains("IPMI_PASSWORD")
        })
        .map(|(n, _)| n.trim_end_matches(".argv").to_string())
        .collect();
    assert!(
        !ipmi_sessions.is_empty(),
        "rnetboot went through a service node"
    );
    for prog in ["ssh.", "ipmitool."] {
        assert!(
            files.iter().any(|(n, _)| n.starts_with(prog)),
            "{prog} was never run: the check would prove nothing ({files:?})"
        );
    }
    for (name, text) in &files {
        no_password(t, &format!("a child's {name}"), text);
        let bmc_env = name.starts_with("ipmitool.") && name.ends_with(".env");
        let bmc_stdin = name
            .strip_suffix(".stdin")
            .is_some_and(|n| ipmi_sessions.iter().any(|s| s == n));
        if !bmc_env && !bmc_stdin {
            assert!(
                !text.contains(BMC_PW),
                "{name} holds the BMC password:\n{text}"
            );
        }
    }
    // The BMC password does reach ipmitool, in its environment only.
    assert!(
        files
            .iter()
            .any(|(n, t)| n.ends_with(".env") && t.contains(&format!("IPMI_PASSWORD={BMC_PW}"))),
        "ipmitool was not given the BMC password in its environment"
    );
}
