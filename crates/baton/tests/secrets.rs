//! No secret at rest or on screen, and bad input refused cleanly: a database password never
//! reaches a message or the journal, the embedded database is the owner's alone, a device or a
//! directory named as a file is refused at once, and a journal plan changed outside baton is a
//! clear error, never a panic.

use assert_cmd::Command;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        World {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    fn db(&self) -> String {
        format!("sqlite:{}", self.path("c.db").display())
    }
    fn baton(&self, args: &[&str]) -> std::process::Output {
        Command::cargo_bin("baton")
            .unwrap()
            .env_remove("BATON_DB")
            .env("HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.path("data"))
            .args(args)
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap()
    }
    fn sample(&self) {
        let out = self.baton(&["--db", &self.db(), "quickstart", "--no-demo"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_database_password_never_reaches_a_message() {
    let w = World::new();
    for url in [
        "postgres://baton:S3cretPW@127.0.0.1:1/cluster",
        "postgres://baton@127.0.0.1:1/cluster?password=S3cretPW",
        "mysql://baton:S3cretPW@127.0.0.1:1/cluster?nosuch=1",
    ] {
        let out = w.baton(&["--db", url, "nodels"]);
        assert!(!out.status.success(), "{url}");
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains("S3cretPW"), "{url}: {all}");
    }
}

#[test]
fn the_journal_records_the_command_once_and_without_a_password() {
    let w = World::new();
    w.sample();
    let db = w.db();
    // A URL with a password in a word of the command line: recorded hidden.
    let out = w.baton(&[
        "--db",
        &db,
        "snmove",
        "-s",
        "sn1",
        "--offline",
        "--yes",
        "-P",
        "postgres://u:S3cretPW@h/db",
    ]);
    let _ = out;
    let j = w.baton(&["--db", &db, "journal", "--json"]);
    let list = text(&j.stdout);
    assert!(!list.contains("S3cretPW"), "{list}");
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    let cmd = v[0]["command"].as_str().unwrap();
    assert_eq!(cmd.matches("snmove").count(), 1, "said once: {cmd}");
    // An entry written before redaction (as older versions did) is hidden when shown, and
    // rewritten at the next write.
    let c = rusqlite::Connection::open(w.path("c.db")).unwrap();
    c.execute(
        "UPDATE baton_journal SET command = 'snmove --db postgres://u:OldPW@h/db -s sn1' WHERE id = 1",
        [],
    )
    .unwrap();
    c.execute(
        "UPDATE auditlog SET args = '--db postgres://u:OldPW@h/db -s sn1' WHERE command = 'snmove'",
        [],
    )
    .unwrap();
    let shown = text(&w.baton(&["--db", &db, "journal", "1"]).stdout);
    assert!(
        !shown.contains("OldPW") && shown.contains("u:***@h"),
        "{shown}"
    );
    w.baton(&["--db", &db, "rollback", "1", "--yes"]);
    let stored: String = c
        .query_row("SELECT command FROM baton_journal WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(!stored.contains("OldPW"), "{stored}");
    let audit: String = c
        .query_row(
            "SELECT args FROM auditlog WHERE command = 'snmove'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        !audit.contains("OldPW") && audit.contains("u:***@h"),
        "{audit}"
    );
}

#[test]
fn the_embedded_database_is_the_owners_alone() {
    let w = World::new();
    let p = w.path("new/dir/c.db");
    let db = format!("sqlite:{}", p.display());
    assert!(w.baton(&["--db", &db, "init"]).status.success());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&p), 0o600);
    assert_eq!(mode(&w.path("new/dir")), 0o700);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = w.baton(&["--db", &db, "nodels"]);
    assert!(
        text(&out.stderr).contains("readable by every user"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn devices_directories_and_empty_values_are_refused_at_once() {
    let w = World::new();
    w.sample();
    let db = w.db();
    // Each returns within the test's 30 s limit instead of growing without end.
    for range in ["^/dev/zero", "^/dev/urandom", "^/tmp"] {
        let out = w.baton(&["--db", &db, "nodels", range]);
        assert!(out.stdout.len() < 4096, "{range}");
    }
    let out = w.baton(&["--db", "xcat-cfgloc:/dev/zero", "nodels"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not a regular file"),
        "{}",
        text(&out.stderr)
    );
    let out = w.baton(&[
        "--db",
        &db,
        "status",
        "--state-file",
        "/dev/zero",
        "--timeout",
        "1",
    ]);
    assert!(
        text(&out.stdout).contains("no running watcher"),
        "{}",
        text(&out.stdout)
    );
    let out = w.baton(&["--db", "", "nodels"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is empty"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_plan_changed_outside_baton_is_a_clear_error_not_a_panic() {
    let w = World::new();
    w.sample();
    let db = w.db();
    let out = w.baton(&["--db", &db, "snmove", "-s", "sn1", "--offline", "--yes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let c = rusqlite::Connection::open(w.path("c.db")).unwrap();
    c.execute(
        "UPDATE baton_journal SET plan = replace(plan, '{\"table\":\"noderes\"', '{\"table\":\"nodetype\"') WHERE id = 1",
        [],
    )
    .unwrap();
    for args in [
        vec!["rollback", "1", "--yes"],
        vec!["resume", "1"],
        vec!["journal", "1"],
    ] {
        let mut a = vec!["--db", db.as_str()];
        a.extend(args.iter().copied());
        let out = w.baton(&a);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("journal entry 1") && err.contains("outside baton"),
            "{err}"
        );
    }
}

#[test]
fn bad_option_values_and_loose_csv_change_nothing() {
    let w = World::new();
    w.sample();
    let db = w.db();
    let before = text(&w.baton(&["--db", &db, "tabdump", "noderes"]).stdout);
    for args in [
        vec!["snmove", "-s", "sn1", "--spread", "", "--offline", "--yes"],
        vec!["snmove", "-s", "sn1", "-D", "", "--offline", "--yes"],
        vec![
            "snmove",
            "-s",
            "sn1",
            "-d",
            "sn2",
            "--fanout",
            "0",
            "--offline",
            "--yes",
        ],
    ] {
        let mut a = vec!["--db", db.as_str()];
        a.extend(args.iter().copied());
        let out = w.baton(&a);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?}: printed {}",
            text(&out.stdout)
        );
    }
    // A newline in a site value would become a line of its own in every node's resolv.conf.
    let out = w.baton(&[
        "--db",
        &db,
        "chtab",
        "key=nameservers",
        "site.value=10.0.0.1\nsearch evil",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = w.baton(&[
        "--db",
        &db,
        "snmove",
        "-s",
        "sn1",
        "-d",
        "sn2",
        "--offline",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("site.nameservers"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        text(&w.baton(&["--db", &db, "tabdump", "noderes"]).stdout),
        before
    );
    // CSV: a NUL byte, an empty key; a byte order mark is not part of the header.
    for (csv, want) in [
        ("#node,groups\n\"cn\u{0}1\",\"all\"\n", "NUL"),
        ("#node,groups\n\"\",\"all\"\n", "key node is empty"),
    ] {
        std::fs::write(w.path("nodelist.csv"), csv).unwrap();
        let out = w.baton(&[
            "--db",
            &db,
            "tabrestore",
            w.path("nodelist.csv").to_str().unwrap(),
        ]);
        assert_ne!(out.status.code(), Some(0), "{csv:?}");
        assert!(
            text(&out.stderr).contains(want),
            "{csv:?}: {}",
            text(&out.stderr)
        );
    }
    // A key with an empty part (passwd's username) is a row xCAT keeps: restored.
    std::fs::write(
        w.path("passwd.csv"),
        "#key,username,password,cryptmethod,authdomain,comments,disable\n\"ipmi\",\"\",\"x\",,,,\n",
    )
    .unwrap();
    let out = w.baton(&[
        "--db",
        &db,
        "tabrestore",
        w.path("passwd.csv").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut bom = "\u{feff}".to_string();
    bom.push_str(&text(
        &w.baton(&["--db", &db, "tabdump", "nodelist"]).stdout,
    ));
    std::fs::write(w.path("nodelist.csv"), bom).unwrap();
    let out = w.baton(&[
        "--db",
        &db,
        "tabrestore",
        w.path("nodelist.csv").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A 100 KB bad noderange is not echoed whole.
    let huge = format!("/{}", "x".repeat(100_000));
    let out = w.baton(&["--db", &db, "nodels", &huge, "--bogus-flag"]);
    assert!(out.stderr.len() < 5_000, "{} bytes", out.stderr.len());
}

#[test]
fn a_database_on_read_only_media_is_still_read() {
    let w = World::new();
    w.sample();
    let d = w.dir.path().display().to_string();
    let baton = assert_cmd::cargo::cargo_bin("baton").display().to_string();
    // In a mount namespace of its own, the directory becomes read-only.
    let script = format!(
        "mount --bind '{d}' '{d}' && mount -o remount,bind,ro '{d}' || exit 99
         {baton} --db 'sqlite:{d}/c.db' nodels cn0001 || exit 1
         {baton} --db 'sqlite:{d}/c.db' journal >/dev/null || exit 2
         {baton} --db 'sqlite:{d}/c.db' chdef cn0001 groups=x && exit 3
         exit 0"
    );
    let out = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env("HOME", w.dir.path())
        .output()
        .unwrap();
    if out.status.code() == Some(99) || !out.status.success() && out.stderr.starts_with(b"unshare")
    {
        eprintln!("SKIPPED: no mount namespace here: {}", text(&out.stderr));
        return;
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("cn0001"));
    assert!(
        text(&out.stderr).contains("readonly"),
        "{}",
        text(&out.stderr)
    );
}
