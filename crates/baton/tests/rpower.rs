//! `baton rpower` and `baton fence` against simulated BMCs (OpenIPMI's `ipmi_sim` on loopback,
//! the real `ipmitool`), run from this host or, as xCAT dispatches them, on the node's service
//! node: a stand-in for ssh (BATON_SSH) runs the remote command here and records who it was
//! for. A wrapper in front of ipmitool records every ipmitool command line, so the tests see
//! that no BMC password is ever on one. Without ipmi_sim or ipmitool the tests print SKIPPED.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use common::bmc::{skip, Sim};

/// ssh's stand-in: logs its command line and the target host; a host with a file in $W/down
/// fails like an unreachable ssh (exit 255), one with a file in $W/slow hangs (until baton stops
/// the session at its time limit); otherwise runs the remote command here, with ssh's standard
/// input.
const FAKE_SSH: &str = r#"#!/bin/sh
printf '%s\n' "$*" >> "$W/ssh-argv.log"
while [ "$1" != "--" ]; do shift; done
shift
echo "$1" >> "$W/ssh-hosts.log"
if [ -e "$W/down/$1" ]; then echo "ssh: connect to host $1 port 22: No route to host" >&2; exit 255; fi
if [ -e "$W/slow/$1" ]; then sleep 600; fi
exec sh -c "$2"
"#;

/// ipmitool's stand-in: logs its command line, then runs the real one.
const IPMITOOL: &str = r#"#!/bin/sh
printf '%s\n' "$*" >> "$W/ipmitool-argv.log"
exec /usr/bin/ipmitool "$@"
"#;

struct World {
    dir: tempfile::TempDir,
}

fn script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::process::Command::new("chmod")
        .arg("755")
        .arg(path)
        .status()
        .unwrap();
}

impl World {
    fn new() -> World {
        let w = World {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(w.path("bin")).unwrap();
        std::fs::create_dir_all(w.path("down")).unwrap();
        std::fs::create_dir_all(w.path("slow")).unwrap();
        script(&w.path("ssh"), FAKE_SSH);
        script(&w.path("bin/ipmitool"), IPMITOOL);
        assert!(w.baton(&["init"]).status.success());
        w
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("baton").unwrap();
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env(
            "BATON_DB",
            format!("sqlite:{}", self.path("c.db").display()),
        )
        .env("BATON_SSH", self.path("ssh"))
        .env("W", self.dir.path())
        .env("PATH", path)
        .env("BATON_WATCH_STATE", self.path("watch.json"));
        c
    }
    fn baton(&self, args: &[&str]) -> std::process::Output {
        let out = self.cmd().args(args).output().unwrap();
        common::logged(args, out)
    }
    fn restore(&self, table: &str, csv: &str) {
        let f = self.path(&format!("{table}.csv"));
        std::fs::write(&f, csv).unwrap();
        assert!(self
            .baton(&["tabrestore", f.to_str().unwrap()])
            .status
            .success());
    }
    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
    fn down(&self, host: &str) {
        std::fs::write(self.path("down").join(host), "").unwrap();
    }
    fn slow(&self, host: &str) {
        std::fs::write(self.path("slow").join(host), "").unwrap();
    }
    /// Every BMC password must be absent from every output and every command line.
    fn assert_no_secret(&self, out: &std::process::Output, secrets: &[&str]) {
        let all = [
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            self.log("ssh-argv.log"),
            self.log("ipmitool-argv.log"),
        ];
        for s in secrets {
            for text in &all {
                assert!(!text.contains(s), "{s} leaked into {text}");
            }
        }
    }
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A loopback UDP port nothing listens on: a BMC that does not answer.
fn dead_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// cn1 (BMC on, its own credentials), cn2 (BMC off, credentials from the passwd table), cn3
/// (wrong password), cn4 (a BMC that does not answer), cn5 (no BMC).
fn cluster(w: &World, on: &Sim, off: &Sim, servicenode: &str) {
    let nodes: String = (1..=5)
        .map(|i| format!("\"cn{i}\",\"compute,all\"\n"))
        .collect();
    w.restore(
        "nodelist",
        &format!("#node,groups\n{nodes}\"sn1\",\"service,all\"\n\"sn2\",\"service,all\"\n"),
    );
    w.restore("nodehm", "#node,mgt\n\"all\",\"ipmi\"\n");
    w.restore(
        "ipmi",
        &format!(
            "#node,bmc,username,password\n\"cn1\",\"127.0.0.1:{}\",\"admin\",\"pw-one\"\n\"cn2\",\"127.0.0.1:{}\",,\n\"cn3\",\"127.0.0.1:{}\",\"admin\",\"wrong-pw\"\n\"cn4\",\"127.0.0.1:{}\",\"admin\",\"pw-dead\"\n",
            on.port,
            off.port,
            on.port,
            dead_port()
        ),
    );
    w.restore(
        "passwd",
        "#key,username,password\n\"ipmi\",\"root\",\"pw-two\"\n",
    );
    w.restore(
        "noderes",
        &format!("#node,servicenode\n\"compute\",\"{servicenode}\"\n"),
    );
}

const SECRETS: &[&str] = &["pw-one", "pw-two", "wrong-pw", "pw-dead"];

fn assert_errors(out: &std::process::Output) {
    assert_eq!(out.status.code(), Some(1), "some nodes failed");
    let text = stdout(out);
    assert!(text.contains("cn3: Error: chassis power"), "{text}");
    assert!(text.contains("cn4: Error: chassis power"), "{text}");
    assert!(
        text.contains("cn5: Error: no BMC address (ipmi.bmc)"),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("on 3 of 5 nodes: cn3-cn5"), "{err}");
}

#[test]
fn rpower_on_off_stat_from_the_management_node() {
    if skip("rpower_on_off_stat_from_the_management_node") {
        return;
    }
    let w = World::new();
    let on = Sim::start(&w.path("bmc1"), "admin", "pw-one", true);
    let off = Sim::start(&w.path("bmc2"), "root", "pw-two", false);
    // No service node: the management node runs ipmitool itself.
    cluster(&w, &on, &off, "");

    let out = w.baton(&["rpower", "cn1-cn5", "stat", "--timeout", "10"]);
    assert!(stdout(&out).contains("cn1: on\n"), "{}", stdout(&out));
    assert!(stdout(&out).contains("cn2: off\n"), "{}", stdout(&out));
    assert_errors(&out);
    w.assert_no_secret(&out, SECRETS);
    assert_eq!(w.log("ssh-hosts.log"), "", "no ssh");
    assert_eq!(w.log("ipmitool-argv.log").lines().count(), 4);

    let out = w.baton(&["rpower", "cn1,cn2", "off"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "cn1: off\ncn2: off\n");
    assert_eq!(on.actions_after(1), ["power 0"]);
    assert_eq!(off.actions_after(1), ["power 0"]);
    let out = w.baton(&["rpower", "cn1,cn2", "state"]);
    assert_eq!(stdout(&out), "cn1: off\ncn2: off\n");
    let out = w.baton(&["rpower", "cn2", "on"]);
    assert_eq!(stdout(&out), "cn2: on\n");
    assert_eq!(off.actions_after(2), ["power 0", "power 1"]);
    // boot: on when off, a hard reset when on.
    let out = w.baton(&["rpower", "cn1,cn2", "boot"]);
    assert_eq!(stdout(&out), "cn1: on\ncn2: on reset\n");
    assert_eq!(on.actions_after(2), ["power 0", "power 1"]);
    w.assert_no_secret(&out, SECRETS);

    // Bad input changes nothing; xCAT's command name works too.
    assert_eq!(
        w.baton(&["rpower", "cn1", "sideways"]).status.code(),
        Some(2)
    );
    assert_eq!(w.baton(&["rpower", "nosuch", "on"]).status.code(), Some(2));
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("baton"), w.path("bin/rpower"))
        .unwrap();
    let out = std::process::Command::new(w.path("bin/rpower"))
        .args(["cn2", "stat"])
        .env("BATON_DB", format!("sqlite:{}", w.path("c.db").display()))
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "cn2: on\n");
}

#[test]
fn rpower_runs_ipmitool_on_the_service_node_without_the_password_on_any_command_line() {
    if skip("rpower_runs_ipmitool_on_the_service_node_without_the_password_on_any_command_line") {
        return;
    }
    let w = World::new();
    let on = Sim::start(&w.path("bmc1"), "admin", "pw-one", true);
    let off = Sim::start(&w.path("bmc2"), "root", "pw-two", false);
    cluster(&w, &on, &off, "sn1,sn2");

    let out = w.baton(&["rpower", "cn1-cn5", "stat", "--timeout", "10"]);
    assert!(stdout(&out).contains("cn1: on\n"), "{}", stdout(&out));
    assert!(stdout(&out).contains("cn2: off\n"), "{}", stdout(&out));
    assert_errors(&out);
    // One ssh session, to the nodes' service node, for all of them.
    assert_eq!(w.log("ssh-hosts.log"), "sn1\n");
    // ipmitool ran (through the service node's script) once per node with a BMC.
    assert_eq!(w.log("ipmitool-argv.log").lines().count(), 4);
    w.assert_no_secret(&out, SECRETS);

    let out = w.baton(&["rpower", "cn1,cn2", "off"]);
    assert_eq!(stdout(&out), "cn1: off\ncn2: off\n");
    assert_eq!(on.actions_after(1), ["power 0"]);
    assert_eq!(w.log("ssh-hosts.log"), "sn1\nsn1\n");

    // site.ipmidispatch=n: everything from the management node.
    assert!(w
        .baton(&["chdef", "-t", "site", "clustersite", "ipmidispatch=n"])
        .status
        .success());
    let out = w.baton(&["rpower", "cn1,cn2", "on"]);
    assert_eq!(stdout(&out), "cn1: on\ncn2: on\n");
    assert_eq!(w.log("ssh-hosts.log"), "sn1\nsn1\n", "no ssh");
    w.assert_no_secret(&out, SECRETS);
}

#[test]
fn an_unreachable_service_node_hands_its_nodes_to_the_next_of_their_pool() {
    if skip("an_unreachable_service_node_hands_its_nodes_to_the_next_of_their_pool") {
        return;
    }
    let w = World::new();
    let on = Sim::start(&w.path("bmc1"), "admin", "pw-one", true);
    let off = Sim::start(&w.path("bmc2"), "root", "pw-two", false);
    cluster(&w, &on, &off, "sn1,sn2");
    w.down("sn1");

    let out = w.baton(&["rpower", "cn1,cn2", "on"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "cn1: on (through sn2: sn1 unreachable)\ncn2: on (through sn2: sn1 unreachable)\n"
    );
    assert_eq!(w.log("ssh-hosts.log"), "sn1\nsn2\n", "one session each");
    assert_eq!(off.actions_after(1), ["power 1"]);
    w.assert_no_secret(&out, SECRETS);

    // rnetboot follows the same route.
    let out = w.baton(&["rnetboot", "cn2"]);
    assert_eq!(
        stdout(&out),
        "cn2: boot device pxe, power cycle (through sn2: sn1 unreachable)\n"
    );
    assert_eq!(
        off.actions_after(4),
        ["power 1", "boot pxe", "power 0", "power 1"]
    );

    // The whole pool down: a clear error per node.
    w.down("sn2");
    let out = w.baton(&["rpower", "cn1", "stat"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "cn1: Error: no service node of its pool answers: sn1 unreachable, sn2 unreachable\n"
    );
}

/// An SN session stopped at its time limit may have done its actions: its nodes get an error
/// saying so, and nothing is run again through the pool's next SN (no second reset).
#[test]
fn a_session_past_its_time_limit_is_not_repeated_through_another_service_node() {
    if skip("a_session_past_its_time_limit_is_not_repeated_through_another_service_node") {
        return;
    }
    let w = World::new();
    let on = Sim::start(&w.path("bmc1"), "admin", "pw-one", true);
    let off = Sim::start(&w.path("bmc2"), "root", "pw-two", false);
    cluster(&w, &on, &off, "sn1,sn2");
    w.slow("sn1");
    let out = w.baton(&["rpower", "cn2", "on", "--timeout", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.starts_with("cn2: Error: no answer from sn1 within ")
            && text.contains("may or may not have been done")
            && text.contains("not retried"),
        "{text}"
    );
    assert_eq!(w.log("ssh-hosts.log"), "sn1\n", "no session through sn2");
    assert!(
        !off.actions().contains(&"power 1".to_string()),
        "{:?}",
        off.actions()
    );
    w.assert_no_secret(&out, SECRETS);
}

#[test]
fn fence_powers_the_service_node_off_and_confirms_it() {
    if skip("fence_powers_the_service_node_off_and_confirms_it") {
        return;
    }
    let w = World::new();
    let sn1 = Sim::start(&w.path("bmc-sn1"), "admin", "pw-sn1", true);
    w.restore(
        "nodelist",
        "#node,groups\n\"sn1\",\"service,all\"\n\"sn2\",\"service,all\"\n\"sn3\",\"service,all\"\n\"sn4\",\"service,all\"\n",
    );
    w.restore(
        "ipmi",
        &format!(
            "#node,bmc,username,password\n\"sn1\",\"127.0.0.1:{}\",\"admin\",\"pw-sn1\"\n\"sn2\",\"127.0.0.1:{}\",\"admin\",\"pw-sn2\"\n\"sn4\",\"127.0.0.1:{}\",\"admin\",\"pw-wrong\"\n",
            sn1.port,
            dead_port(),
            sn1.port
        ),
    );
    // The service nodes' own service node (if any) plays no part: a fence goes from here.
    w.restore("noderes", "#node,servicenode\n\"service\",\"sn3\"\n");
    let out = w.baton(&["fence", "sn1"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "sn1: off\n");
    assert_eq!(sn1.actions_after(1), ["power 0"]);
    assert_eq!(w.log("ssh-hosts.log"), "", "from the management node");
    // Already off: confirmed again.
    assert_eq!(w.baton(&["fence", "sn1"]).status.code(), Some(0));

    let out = w.baton(&["fence", "sn2", "--tries", "2", "--timeout", "5"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sn2: not confirmed off after 2 attempts"),
        "{err}"
    );
    // A BMC that refuses the password: not confirmed either.
    let out = w.baton(&["fence", "sn4", "--tries", "1", "--timeout", "10"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sn4: not confirmed off after 1 attempts"),
        "{err}"
    );
    assert!(err.contains("Unable to establish IPMI v2"), "{err}");
    let out = w.baton(&["fence", "sn3"]);
    assert_eq!(out.status.code(), Some(2), "no BMC address");
    w.assert_no_secret(&out, &["pw-sn1", "pw-sn2", "pw-wrong"]);
}

/// The watcher's stand-in world (as in watch_cli.rs): quickstart's sample cluster, with an
/// ssh stand-in that answers the probes of live service nodes.
const PROBE_SSH: &str = r#"#!/bin/sh
while [ "$1" != "--" ]; do shift; done
shift
if [ -e "$W/down/$1" ]; then echo "ssh: connect to host $1 port 22: Connection refused" >&2; exit 255; fi
case "$2" in ip*) echo "2: eth1    inet 10.127.255.${1#sn}/10 brd 10.127.255.255 scope global eth1"; exit 0;; esac
printf 'udp UNCONN 0 0 0.0.0.0:67 0.0.0.0:*\nudp UNCONN 0 0 0.0.0.0:69 0.0.0.0:*\nudp UNCONN 0 0 0.0.0.0:123 0.0.0.0:*\nudp UNCONN 0 0 0.0.0.0:514 0.0.0.0:*\n'
"#;

struct Reap(std::process::Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// quickstart's sample with the probe stand-in, sn1's BMC at `bmc`; a watcher with `--fence
/// ipmi` (one try, ipmitool calls of at most `secs`), logging into watch.log. (ipmitool takes
/// about 7 s per call against ipmi_sim, which does not answer its cipher-suite query.)
fn watcher(w: &World, bmc: &str, password: &str, secs: &str) -> Reap {
    script(&w.path("ssh"), PROBE_SSH);
    assert!(w.baton(&["quickstart", "--no-demo"]).status.success());
    assert!(w
        .baton(&[
            "chtab",
            "node=sn1",
            &format!("ipmi.bmc={bmc}"),
            "ipmi.username=admin",
            &format!("ipmi.password={password}"),
        ])
        .status
        .success());
    // Options that baton fence does not know are refused at start.
    let out = w.baton(&[
        "watch",
        "--fence",
        "ipmi",
        "--fence-arg=--bogus",
        "--metrics",
        "off",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("baton"))
        .args([
            "watch",
            "--fence",
            "ipmi",
            "--interval",
            "0.2",
            "--threshold",
            "2",
        ])
        .args([
            "--fence-arg=--tries",
            "--fence-arg=1",
            "--fence-arg=--timeout",
        ])
        .args([&format!("--fence-arg={secs}"), "--metrics", "off"])
        .env("BATON_DB", format!("sqlite:{}", w.path("c.db").display()))
        .env("BATON_SSH", w.path("ssh"))
        .env("W", w.dir.path())
        .env("BATON_WATCH_STATE", w.path("watch.json"))
        .stderr(std::fs::File::create(w.path("watch.log")).unwrap())
        .spawn()
        .unwrap();
    let reap = Reap(child);
    wait_for("all up", &|| {
        w.log("watch.json").contains("\"health\": \"up\"")
    });
    reap
}

fn wait_for(what: &str, f: &dyn Fn() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(120), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn watch_with_the_ipmi_fence_powers_the_sn_off_then_takes_over() {
    if skip("watch_with_the_ipmi_fence_powers_the_sn_off_then_takes_over") {
        return;
    }
    let w = World::new();
    let sim = Sim::start(&w.path("bmc-sn1"), "admin", "pw-fence", true);
    let journal_before = stdout(&w.baton(&["journal"])).lines().count();
    let _watcher = watcher(&w, &format!("127.0.0.1:{}", sim.port), "pw-fence", "20");
    w.down("sn1");
    let t0 = Instant::now();
    while stdout(&w.baton(&["journal"])).lines().count() <= journal_before {
        assert!(
            t0.elapsed() < Duration::from_secs(240),
            "no takeover: {}",
            w.log("watch.log")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(sim.actions(), ["power 0"], "fenced first");
    assert!(
        w.log("watch.log").contains("fenced"),
        "{}",
        w.log("watch.log")
    );
    assert!(!w.log("watch.log").contains("pw-fence"));
}

#[test]
fn watch_with_the_ipmi_fence_does_not_take_over_when_the_bmc_does_not_answer() {
    if skip("watch_with_the_ipmi_fence_does_not_take_over_when_the_bmc_does_not_answer") {
        return;
    }
    let w = World::new();
    let journal_before = stdout(&w.baton(&["journal"]));
    let watcher = watcher(&w, &format!("127.0.0.1:{}", dead_port()), "pw-fence", "3");
    let log = w.path("watch.log");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    w.down("sn1");
    wait_for("the failed fence", &|| {
        read(&log).contains("fencing failed")
    });
    let text = read(&log);
    assert!(
        text.contains("sn1: not confirmed off after 1 attempts"),
        "{text}"
    );
    assert!(!text.contains("pw-fence"), "{text}");
    drop(watcher);
    assert_eq!(
        stdout(&w.baton(&["journal"])),
        journal_before,
        "no takeover recorded"
    );
    let nodes = stdout(&w.baton(&["nodels", "rack01", "noderes.servicenode"]));
    assert!(nodes.lines().all(|l| l.ends_with(": sn1,sn2")), "{nodes}");
}

/// Every process's command line, scanned until `stop`: (the password was on one, ipmitool was
/// seen running).
fn scan_cmdlines(secret: &str, stop: &std::sync::atomic::AtomicBool) -> (bool, bool) {
    let (mut leaked, mut seen) = (false, false);
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(c) = std::fs::read(e.path().join("cmdline")) else {
                continue;
            };
            let c = String::from_utf8_lossy(&c);
            leaked |= c.contains(secret);
            seen |= c.contains("ipmitool\0");
        }
    }
    (leaked, seen)
}

/// On the test bed: cn1's BMC is a simulator on cn1's compute address, which the service nodes
/// reach and the management node does not. rpower reaches it through cn1's first SN, follows a
/// move to the other SN, falls back to the pool's other SN when the first cannot be reached,
/// and the BMC password is on no process's command line meanwhile (the SNs' included).
#[test]
fn e2e_rpower_through_the_service_node_follows_a_move_and_falls_back() {
    if skip("e2e_rpower_through_the_service_node_follows_a_move_and_falls_back") {
        return;
    }
    let Some(guard) = common::bed("rpower", 2, 2, testbed::Dhcp::Isc) else {
        return;
    };
    let bed: &testbed::Bed = &guard;
    let ip = bed.compute_ip("cn1").unwrap().to_string();
    bed.exec_ok("cn1", &["mkdir", "-p", "/var/tmp/bmc"])
        .unwrap();
    let dir = bed.host_path("cn1", "/var/tmp/bmc").unwrap();
    let run = |args: &[&str]| bed.command("cn1", args).unwrap();
    let secret = "pw-bed-7f3a";
    let sim = Sim::start_at(
        &dir,
        Path::new("/var/tmp/bmc"),
        &ip,
        16623,
        &run,
        "admin",
        secret,
        true,
    );
    let csv =
        format!("#node,bmc,username,password\n\"cn1\",\"{ip}:16623\",\"admin\",\"{secret}\"\n");
    bed.write_node_file("mn", "/var/tmp/ipmi.csv", csv.as_bytes())
        .unwrap();
    let baton = |args: &[&str]| common::baton(bed, args);
    assert_eq!(
        baton(&["tabrestore", "/var/tmp/ipmi.csv"]).status.code(),
        Some(0)
    );
    // ssh on mn, recording its command lines.
    let cfg = bed.ssh_config_path().display().to_string();
    bed.write_node_file(
        "mn",
        "/var/tmp/ssh-rec",
        b"#!/bin/sh\nprintf '%s\\n' \"$*\" >> /var/tmp/ssh.log\nexec ssh \"$@\"\n",
    )
    .unwrap();
    bed.exec_ok("mn", &["chmod", "755", "/var/tmp/ssh-rec"])
        .unwrap();
    let ssh = format!("/var/tmp/ssh-rec -F {cfg}");
    let rpower = |args: &[&str]| {
        let mut v = vec!["rpower", "cn1"];
        v.extend_from_slice(args);
        common::baton_with(bed, &v, &[("BATON_SSH", ssh.as_str())])
    };
    let sessions = || {
        let log = bed
            .read_node_text("mn", "/var/tmp/ssh.log")
            .unwrap_or_default();
        log.lines()
            .filter_map(|l| l.split(" -- ").nth(1)?.split(' ').next().map(String::from))
            .collect::<Vec<String>>()
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (leaked, seen) = std::thread::scope(|s| {
        let scanner = s.spawn(|| scan_cmdlines(secret, &stop));
        let check = || -> Result<(), String> {
            let chdef = |pool: &str| {
                let out = baton(&["chdef", "cn1", &format!("servicenode={pool}")]);
                assert_eq!(out.status.code(), Some(0));
            };
            chdef("sn1,sn2");
            let out = rpower(&["stat"]);
            assert_eq!(stdout(&out), "cn1: on\n");
            assert_eq!(sessions(), ["sn1"]);
            // Moved to sn2 (a real takeover): the next command goes through sn2.
            let out = baton(&["snmove", "cn1", "-d", "sn2", "--yes"]);
            assert_eq!(out.status.code(), Some(0));
            let out = baton(&["nodels", "cn1", "noderes.servicenode"]);
            assert_eq!(stdout(&out), "cn1: sn2,sn1\n");
            let out = rpower(&["off"]);
            assert_eq!(stdout(&out), "cn1: off\n");
            assert_eq!(sessions(), ["sn1", "sn2"]);
            assert_eq!(sim.actions_after(1), ["power 0"]);
            // sn2 cut off from the management node: sn1 does it, and says so.
            bed.cut_mgmt_link("sn2").unwrap();
            let out = rpower(&["on"]);
            bed.restore_link("sn2").unwrap();
            assert_eq!(stdout(&out), "cn1: on (through sn1: sn2 unreachable)\n");
            assert_eq!(sim.actions_after(2), ["power 0", "power 1"]);
            // site.ipmidispatch=n: from the management node, which does not reach the BMC.
            let out = baton(&["chdef", "-t", "site", "clustersite", "ipmidispatch=n"]);
            assert_eq!(out.status.code(), Some(0));
            let out = rpower(&["stat", "--timeout", "5"]);
            assert_eq!(out.status.code(), Some(1));
            assert_eq!(sessions().len(), 4, "no new session");
            Ok(())
        };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let found = scanner.join().unwrap();
        if let Err(p) = r {
            std::panic::resume_unwind(p);
        }
        found
    });
    assert!(seen, "ipmitool was seen running (the scan is meaningful)");
    assert!(!leaked, "the BMC password was on a command line");
}
