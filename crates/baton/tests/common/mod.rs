//! Helpers shared by the end-to-end tests on the test bed.
#![allow(dead_code)] // each test binary uses its own subset

pub mod bmc;

use std::net::Ipv4Addr;
use std::process::{Command, Output};
use testbed::{Bed, BedGuard, Config, Dhcp};

pub fn bed(name: &str, sns: usize, cns: usize, dhcp: Dhcp) -> Option<BedGuard> {
    if let Err(why) = testbed::require_for(&[dhcp]) {
        testbed::report_skip(name, &why);
        return None;
    }
    let mut cfg = Config::new(name, sns, cns).dhcp(dhcp);
    cfg.baton_bin = Some(assert_cmd::cargo::cargo_bin("baton"));
    Some(Bed::up_guarded(cfg).expect("the test bed comes up"))
}

/// The command `baton ARGS` on the management node, as an administrator runs it there, with
/// more (or other) environment variables.
pub fn baton_command_with(bed: &Bed, args: &[&str], env: &[(&str, &str)]) -> Command {
    let bin = assert_cmd::cargo::cargo_bin("baton");
    let ssh = format!("ssh -F {}", bed.ssh_config_path().display());
    let mut cmd = bed.command("mn", &[bin.as_os_str()]).unwrap();
    cmd.args(args)
        .env(
            "BATON_DB",
            bed.db_url().expect("the bed loaded the cluster database"),
        )
        .env("BATON_SSH", ssh)
        .env("HOME", "/root")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null());
    cmd
}

/// The command `baton ARGS` on the management node.
pub fn baton_command(bed: &Bed, args: &[&str]) -> Command {
    baton_command_with(bed, args, &[])
}

/// `baton ARGS` on the management node; its output.
pub fn baton(bed: &Bed, args: &[&str]) -> Output {
    baton_with(bed, args, &[])
}

/// A run's output, also on the test's standard error (shown when the test fails).
pub fn logged(args: &[&str], out: Output) -> Output {
    eprintln!(
        "baton {args:?} -> {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `baton ARGS` on the management node with more (or other) environment variables.
pub fn baton_with(bed: &Bed, args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = baton_command_with(bed, args, env).output().unwrap();
    logged(args, out)
}

pub fn journal(bed: &Bed, id: u32) -> serde_json::Value {
    let out = baton(bed, &["journal", &id.to_string(), "--json"]);
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn step_state(j: &serde_json::Value, kind: &str) -> Vec<String> {
    j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == kind)
        .map(|s| s["state"].as_str().unwrap().to_string())
        .collect()
}

pub fn cns_of(bed: &Bed, sn: &str) -> Vec<String> {
    bed.cns()
        .into_iter()
        .filter(|c| bed.primary_sn(c).unwrap() == sn)
        .collect()
}

/// Every check the issue names, on one compute node now served by `sn`.
pub fn assert_served_by(bed: &Bed, cn: &str, sn: &str) {
    let ip: Ipv4Addr = bed.compute_ip(sn).unwrap();
    assert!(
        bed.probe_syslog(cn, sn).unwrap(),
        "{cn}: a logger line reaches {sn}'s rsyslog"
    );
    let ntp = bed.probe_ntp(cn).unwrap();
    assert_eq!(
        bed.owner_of(ntp.server).as_deref(),
        Some(sn),
        "{cn}: chrony's server answers from {sn}: {ntp:?}"
    );
    let dns = bed.dns_lookup(cn, &format!("{cn}.cluster.test")).unwrap();
    assert_eq!(dns.server, ip, "{cn}: its resolver is {sn}: {dns:?}");
    let route = String::from_utf8(
        bed.exec(cn, &["ip", "route", "show", "default"])
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        route.contains(&format!("via {ip} ")),
        "{cn}: default route via {sn}: {route}"
    );
    let info = bed.read_node_text(cn, "/opt/xcat/xcatinfo").unwrap();
    assert!(
        info.lines().any(|l| l == format!("XCATSERVER={ip}")),
        "{cn}: xcatinfo names {sn}: {info}"
    );
    assert!(
        info.contains(&format!("NODE={cn}")),
        "{cn}: other xcatinfo keys are kept: {info}"
    );
}
