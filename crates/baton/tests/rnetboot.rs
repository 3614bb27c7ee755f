//! `baton rnetboot` against real simulated BMCs: OpenIPMI's `ipmi_sim` (Debian package
//! `openipmi`) on loopback, spoken to by the real `ipmitool`. Each simulated BMC hands its
//! chassis actions to a small control program that records them, so the test sees what the BMC
//! was asked to do: boot device PXE, then power cycle (or on). Without ipmi_sim or ipmitool the
//! tests print SKIPPED and return.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::process::Child;

/// The chassis control program ipmi_sim runs for power and boot actions: it records each call
/// and keeps the power state in a file.
const CHASSIS: &str = r#"#!/bin/sh
d=$(dirname "$0")
echo "$*" >> "$d/calls.log"
shift
op=$1; shift
case $op in
  get)
    for p in "$@"; do
      case $p in
        power) echo "power:$(cat "$d/power")" ;;
        boot) echo "boot:default" ;;
      esac
    done ;;
  set)
    while [ $# -ge 2 ]; do
      [ "$1" = power ] && echo "$2" > "$d/power"
      shift 2
    done ;;
  *) exit 1 ;;
esac
"#;

struct Sim {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a command runs where the simulator lives (this host, or a test-bed node).
type Runner<'a> = &'a dyn Fn(&[&str]) -> std::process::Command;

fn here(args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(args[0]);
    c.args(&args[1..]);
    c
}

impl Sim {
    /// A simulated BMC on 127.0.0.1 of this host with one admin user; the node is on or off.
    fn start(dir: &Path, user: &str, password: &str, on: bool) -> Sim {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Sim::start_in(dir, dir, port, &here, user, password, on)
    }

    /// The same where `run` runs commands: `dir` is the directory as this process sees it,
    /// `inner` as the simulator sees it.
    fn start_in(
        dir: &Path,
        inner: &Path,
        port: u16,
        run: Runner<'_>,
        user: &str,
        password: &str,
        on: bool,
    ) -> Sim {
        std::fs::create_dir_all(dir.join("state")).unwrap();
        let chassis = dir.join("chassis");
        std::fs::write(&chassis, CHASSIS).unwrap();
        std::process::Command::new("chmod")
            .arg("755")
            .arg(&chassis)
            .status()
            .unwrap();
        std::fs::write(dir.join("power"), if on { "1\n" } else { "0\n" }).unwrap();
        std::fs::write(
            dir.join("lan.conf"),
            format!(
                "name \"bmc{port}\"\nset_working_mc 0x20\n  startlan 1\n    addr 127.0.0.1 {port}\n    priv_limit admin\n    allowed_auths_callback none md2 md5 straight\n    allowed_auths_user none md2 md5 straight\n    allowed_auths_operator none md2 md5 straight\n    allowed_auths_admin none md2 md5 straight\n    guid a123456789abcdefa123456789abcdef\n  endlan\n  chassis_control \"{} 0x20\"\n  user 1 false \"\" \"x\" user 10 none md2 md5 straight\n  user 2 true \"{user}\" \"{password}\" admin 10 none md2 md5 straight\n",
                inner.join("chassis").display()
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("sim.emu"),
            "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 0x09 0x08 0x9f 0x1291 0xf02\nmc_enable 0x20\n",
        )
        .unwrap();
        let path = |f: &str| inner.join(f).to_string_lossy().into_owned();
        let (conf, emu, state) = (path("lan.conf"), path("sim.emu"), path("state"));
        let child = run(&["ipmi_sim", "-c", &conf, "-f", &emu, "-s", &state, "-n"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let sim = Sim {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        // Ready when it answers (readiness, not a timing assertion).
        for _ in 0..100 {
            let port = port.to_string();
            let ok = run(&["ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p", &port])
                .args([
                    "-U", user, "-E", "-R", "1", "-N", "1", "chassis", "power", "status",
                ])
                .env("IPMI_PASSWORD", password)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if ok {
                let _ = std::fs::remove_file(dir.join("calls.log"));
                return sim;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("ipmi_sim on port {port} never answered");
    }

    /// The `set` actions the BMC's chassis control received, in order, once there are at
    /// least `n` (a power cycle's "on" comes a moment after its "off"), or after ten seconds.
    fn actions_after(&self, n: usize) -> Vec<String> {
        for _ in 0..100 {
            let a = self.actions();
            if a.len() >= n {
                return a;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.actions()
    }

    /// The `set` actions the BMC's chassis control received, in order.
    fn actions(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("calls.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("0x20 set "))
            .map(str::to_string)
            .collect()
    }
}

fn have(prog: &str) -> bool {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/bin", "/usr/sbin"])
        .any(|d| Path::new(d).join(prog).is_file())
}

fn skip(test: &str) -> bool {
    for p in ["ipmi_sim", "ipmitool"] {
        if !have(p) {
            eprintln!(
                "\n*** SKIPPED: {test}: {p} is not installed (packages openipmi, ipmitool) ***"
            );
            return true;
        }
    }
    false
}

fn baton(db: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::cargo_bin("baton")
        .unwrap()
        .env("BATON_DB", format!("sqlite:{}", db.display()))
        .args(args)
        .output()
        .unwrap();
    eprintln!(
        "baton {args:?} -> {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
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

mod common;

/// `-d` on the test bed: cn1 is re-homed to sn2 in the database only; `rnetboot cn1 -d` must
/// make sn2, and only sn2, answer its DHCP request before the BMC (a simulator in mn) boots it.
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
    bed.exec_ok("mn", &["mkdir", "-p", "/var/tmp/bmc"]).unwrap();
    let dir = bed.host_path("mn", "/var/tmp/bmc").unwrap();
    let run = |args: &[&str]| bed.command("mn", args).unwrap();
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
