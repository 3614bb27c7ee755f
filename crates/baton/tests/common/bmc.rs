//! A simulated BMC for tests: OpenIPMI's `ipmi_sim` on loopback (this host's, or a test-bed
//! node's), whose chassis actions go to a small control program that records them.

use std::path::{Path, PathBuf};
use std::process::Child;

/// The chassis control program ipmi_sim runs for power and boot actions: it records each call
/// and keeps the power state in a file.
pub const CHASSIS: &str = r#"#!/bin/sh
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

pub struct Sim {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a command runs where the simulator lives (this host, or a test-bed node).
pub type Runner<'a> = &'a dyn Fn(&[&str]) -> std::process::Command;

pub fn here(args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(args[0]);
    c.args(&args[1..]);
    c
}

impl Sim {
    /// A simulated BMC on 127.0.0.1 of this host with one admin user; the node is on or off.
    pub fn start(dir: &Path, user: &str, password: &str, on: bool) -> Sim {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Sim::start_in(dir, dir, port, &here, user, password, on)
    }

    /// The same where `run` runs commands: `dir` is the directory as this process sees it,
    /// `inner` as the simulator sees it.
    pub fn start_in(
        dir: &Path,
        inner: &Path,
        port: u16,
        run: Runner<'_>,
        user: &str,
        password: &str,
        on: bool,
    ) -> Sim {
        Sim::start_at(dir, inner, "127.0.0.1", port, run, user, password, on)
    }

    /// The same on address `addr` (e.g. a test-bed node's compute address).
    #[allow(clippy::too_many_arguments)]
    pub fn start_at(
        dir: &Path,
        inner: &Path,
        addr: &str,
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
                "name \"bmc{port}\"\nset_working_mc 0x20\n  startlan 1\n    addr {addr} {port}\n    priv_limit admin\n    allowed_auths_callback none md2 md5 straight\n    allowed_auths_user none md2 md5 straight\n    allowed_auths_operator none md2 md5 straight\n    allowed_auths_admin none md2 md5 straight\n    guid a123456789abcdefa123456789abcdef\n  endlan\n  chassis_control \"{} 0x20\"\n  user 1 false \"\" \"x\" user 10 none md2 md5 straight\n  user 2 true \"{user}\" \"{password}\" admin 10 none md2 md5 straight\n",
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
            let ok = run(&["ipmitool", "-I", "lanplus", "-H", addr, "-p", &port])
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
    pub fn actions_after(&self, n: usize) -> Vec<String> {
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
    pub fn actions(&self) -> Vec<String> {
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

pub fn skip(test: &str) -> bool {
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
