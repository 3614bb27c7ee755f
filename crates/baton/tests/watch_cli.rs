//! `baton watch` and `baton status` as processes, on the sample cluster (sn1 serves 120 nodes,
//! sn2 and sn3 90 each), with a stand-in for ssh (BATON_SSH) that answers like `ss -lntu` on a
//! live service node and fails like ssh for a dead one. The real takeover on real service nodes
//! is in e2e_watch.rs.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const FAKE_SSH: &str = r#"#!/bin/sh
while [ "$1" != "--" ]; do shift; done
shift
if [ -e "$FAKE_DOWN/$1" ]; then echo "ssh: connect to host $1 port 22: Connection refused" >&2; exit 255; fi
case "$2" in ip*) echo "2: eth1    inet 10.127.255.${1#sn}/10 brd 10.127.255.255 scope global eth1"; exit 0;; esac
printf 'udp UNCONN 0 0 0.0.0.0:67 0.0.0.0:*\nudp UNCONN 0 0 0.0.0.0:69 0.0.0.0:*\nudp UNCONN 0 0 0.0.0.0:123 0.0.0.0:*\nudp UNCONN 0 0 0.0.0.0:514 0.0.0.0:*\n'
"#;

struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        let w = World {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::write(w.path("ssh"), FAKE_SSH).unwrap();
        std::process::Command::new("chmod")
            .args(["+x"])
            .arg(w.path("ssh"))
            .status()
            .unwrap();
        std::fs::create_dir(w.path("down")).unwrap();
        let out = w.cmd().args(["quickstart", "--no-demo"]).output().unwrap();
        assert!(out.status.success());
        w
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("baton").unwrap();
        c.env(
            "BATON_DB",
            format!("sqlite:{}", self.path("c.db").display()),
        )
        .env("BATON_SSH", self.path("ssh"))
        .env("FAKE_DOWN", self.path("down"))
        .env("BATON_WATCH_STATE", self.path("watch.json"));
        c
    }
    fn down(&self, sn: &str) {
        std::fs::write(self.path("down").join(sn), "").unwrap();
    }
}

fn wait_for(what: &str, f: impl Fn() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(60), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Kills the watcher even when an assertion fails first.
struct Reap(std::process::Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// `baton ARGS` exits 2 saying `want`.
fn refused(w: &World, a: &[&str], want: &str) {
    let out = w
        .cmd()
        .args(a)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{a:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(want), "{a:?}: {err}");
}

#[test]
fn bad_watch_options_are_refused() {
    let w = World::new();
    for (args, want) in [
        (vec!["--threshold", "0"], "--threshold must be at least 1"),
        (vec!["--interval", "0"], "--interval must be a positive"),
        (vec!["--services", "dhcp,nfs"], "unknown service 'nfs'"),
        (vec!["--capacity", "sn2"], "is not SN=N"),
        (
            vec!["--move-back", "--move-back-after", "inf"],
            "--move-back-after must be",
        ),
        (vec!["--move-back-after", "5"], "--move-back"),
        (
            vec!["--metrics", "not-an-address"],
            "--metrics not-an-address",
        ),
    ] {
        let mut a = vec!["watch", "--metrics", "off"];
        if args[0] == "--metrics" {
            a.truncate(1);
        }
        a.push("--no-fence");
        a.extend(args.iter().copied());
        refused(&w, &a, want);
    }
}

#[test]
fn status_probes_when_no_watcher_runs() {
    let w = World::new();
    w.down("sn2");
    let out = w.cmd().args(["status"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("probed now (no running watcher)"), "{text}");
    let row = |sn: &str| -> Vec<String> {
        let line = text.lines().find(|l| l.starts_with(sn)).unwrap_or_default();
        line.split_whitespace().take(3).map(String::from).collect()
    };
    assert_eq!(row("sn1"), ["sn1", "up", "120"], "{text}");
    assert_eq!(row("sn2"), ["sn2", "down", "90"], "{text}");
    assert!(text.contains("Connection refused"), "{text}");
    let out = w.cmd().args(["status", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"]["sns"]["sn3"]["nodes"], 90);
}

#[test]
fn report_only_logs_the_takeover_and_changes_nothing() {
    let w = World::new();
    let log = w.path("watch.log");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("baton"))
        .args([
            "watch",
            "--report-only",
            "--interval",
            "0.2",
            "--threshold",
            "2",
        ])
        .args(["--metrics", "off"])
        .env("BATON_DB", format!("sqlite:{}", w.path("c.db").display()))
        .env("BATON_SSH", w.path("ssh"))
        .env("FAKE_DOWN", w.path("down"))
        .env("BATON_WATCH_STATE", w.path("watch.json"))
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let child = Reap(child);
    wait_for("all up", || {
        read(&w.path("watch.json")).contains("\"health\": \"up\"")
    });
    w.down("sn1");
    wait_for("the report", || {
        read(&log).contains("report-only: would take over")
    });
    // sn1's 120 nodes all have the pool sn1,sn2: they would all go to sn2.
    assert!(read(&log).contains("120 to sn2"), "{}", read(&log));
    let out = w.cmd().args(["status"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("report-only"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("sn1") && l.contains("down")),
        "{text}"
    );
    drop(child);
    let j = w.cmd().args(["journal"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&j.stdout).lines().count(),
        1,
        "no takeover recorded"
    );
    let nodes = w
        .cmd()
        .args(["nodels", "rack01", "noderes.servicenode"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&nodes.stdout)
        .lines()
        .all(|l| l.ends_with(": sn1,sn2")));
}

#[test]
fn a_watcher_that_may_act_must_be_told_how_to_fence() {
    let w = World::new();
    let fence = w.path("fence-sn");
    std::fs::write(&fence, "#!/bin/sh\nexit 0\n").unwrap();
    let fence_s = fence.display().to_string();
    for (args, want) in [
        (vec![], "--fence PROGRAM"),
        (
            vec!["--fence", "/nonexistent/fence-sn"],
            "not an executable file",
        ),
        // Exists, but cannot be run.
        (vec!["--fence", fence_s.as_str()], "not an executable file"),
        (
            vec!["--fence", "no-such-fence-in-path"],
            "not an executable file",
        ),
        (vec!["--fence", "true", "--no-fence"], "cannot be used with"),
    ] {
        let mut a = vec!["watch", "--metrics", "off"];
        a.extend(args.iter().copied());
        refused(&w, &a, want);
    }
}

#[test]
fn a_dead_watcher_is_not_shown_as_running() {
    let w = World::new();
    let log = w.path("watch.log");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("baton"))
        .args([
            "watch",
            "--no-fence",
            "--interval",
            "0.2",
            "--metrics",
            "off",
        ])
        .env("BATON_DB", format!("sqlite:{}", w.path("c.db").display()))
        .env("BATON_SSH", w.path("ssh"))
        .env("FAKE_DOWN", w.path("down"))
        .env("BATON_WATCH_STATE", w.path("watch.json"))
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut child = Reap(child);
    wait_for("all up", || {
        read(&w.path("watch.json")).contains("\"health\": \"up\"")
    });
    let status = || {
        let out = w.cmd().args(["status"]).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(status().contains("active"), "{}", status());
    assert!(read(&log).contains("--no-fence"), "warned at start");
    // Killed outright: its state file is still fresh, but its process is gone.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let text = status();
    assert!(text.contains("probed now (no running watcher)"), "{text}");
    // Stopped with SIGTERM: it says so in its state file.
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("baton"))
        .args([
            "watch",
            "--no-fence",
            "--interval",
            "0.2",
            "--metrics",
            "off",
        ])
        .env("BATON_DB", format!("sqlite:{}", w.path("c.db").display()))
        .env("BATON_SSH", w.path("ssh"))
        .env("FAKE_DOWN", w.path("down"))
        .env("BATON_WATCH_STATE", w.path("watch.json"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Reap(child);
    let pid = child.0.id().to_string();
    wait_for("the new watcher's state", || {
        read(&w.path("watch.json")).contains(&format!("\"pid\": {pid}"))
    });
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    child.0.wait().unwrap();
    assert!(read(&w.path("watch.json")).contains("\"stopped\": true"));
}
