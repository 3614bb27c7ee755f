//! The bed's own tests: it comes up, every probe answers from the right SN, faults work, and
//! `down` leaves no namespace, mount or process behind. They need root and the daemons; without
//! them each test prints `SKIPPED: <reason>` and returns. Each test uses its own bed name, so
//! they run in parallel.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};
use testbed::{require_or_skip, Bed, BedGuard, Config, Dhcp};

fn up(name: &str, sns: usize, cns: usize, dhcp: Dhcp) -> BedGuard {
    let t0 = Instant::now();
    let bed = Bed::up_guarded(Config::new(name, sns, cns).dhcp(dhcp))
        .unwrap_or_else(|e| panic!("bed {name} did not come up: {e:#}"));
    eprintln!(
        "bed {name} ({sns} SN, {cns} CN, {dhcp}) up in {:.2}s; phases {:?}",
        t0.elapsed().as_secs_f64(),
        bed.state().timings
    );
    bed
}

/// Everything a CN gets from its SN answers from that SN.
fn assert_served_by(bed: &Bed, cn: &str, sn: &str) {
    let sn_ip = bed.compute_ip(sn).unwrap();
    assert!(
        bed.probe_syslog(cn, sn).unwrap(),
        "syslog line from {cn} did not reach {sn}"
    );
    let ntp = bed
        .probe_ntp(cn)
        .unwrap_or_else(|e| panic!("ntp {cn}: {e:#}"));
    assert_eq!(ntp.server, sn_ip, "{cn} NTP server");
    assert!((1..16).contains(&ntp.stratum));
    let offer = bed
        .probe_dhcp(cn)
        .unwrap_or_else(|e| panic!("dhcp {cn}: {e:#}"));
    assert_eq!(offer.next_server, sn_ip, "{cn} next-server");
    assert_eq!(offer.server_id, Some(sn_ip), "{cn} DHCP server id");
    assert_eq!(offer.yiaddr, bed.compute_ip(cn).unwrap(), "{cn} yiaddr");
    let boot = bed
        .tftp_get(cn, &format!("{sn}-eth1"), &bed.boot_file(cn))
        .unwrap_or_else(|e| panic!("tftp {cn}: {e:#}"));
    let boot = String::from_utf8(boot).unwrap();
    assert!(boot.contains(&format!("XCAT={sn_ip}:3001")), "{boot}");
    assert!(boot.contains(&format!("NODE={cn} ")), "{boot}");
    assert!(
        bed.conserver_consoles(sn)
            .unwrap()
            .contains(&cn.to_string()),
        "{sn}'s conserver lacks {cn}"
    );
    let dns = bed
        .dns_lookup(cn, "sn2")
        .unwrap_or_else(|e| panic!("dns {cn}: {e:#}"));
    assert_eq!(dns.server, sn_ip);
    assert_eq!(dns.addrs, vec![bed.node("sn2").unwrap().mgmt_ip.unwrap()]);
    let cn_dns = bed.dns_lookup(cn, &format!("{cn}.cluster.test")).unwrap();
    assert_eq!(cn_dns.addrs, vec![bed.compute_ip(cn).unwrap()]);
}

/// After `down`: no namespace, no mount, none of the recorded processes.
fn assert_gone(name: &str, state_dir: &Path, pids: &[u32]) {
    let prefix = format!("bt-{name}-");
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        !list.lines().any(|l| l.starts_with(&prefix)),
        "namespaces left: {list}"
    );
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let sd = state_dir.to_string_lossy();
    assert!(
        !mounts
            .lines()
            .any(|l| l.contains(&*sd) || l.contains(&prefix)),
        "mounts left:\n{mounts}"
    );
    for &p in pids {
        assert!(
            !Path::new(&format!("/proc/{p}")).exists(),
            "pid {p} still there"
        );
    }
    assert!(!state_dir.exists(), "state dir left");
}

fn libc_echild() -> i32 {
    10 // ECHILD
}

fn recorded_pids(bed: &Bed) -> Vec<u32> {
    bed.state()
        .nodes
        .values()
        .flat_map(|r| [r.init_pid, r.pid1])
        .flatten()
        .collect()
}

#[test]
fn isc_bed_probes_faults_and_teardown() {
    require_or_skip!();
    let mut bed = up("tisc", 2, 4, Dhcp::Isc);

    // the daemons accept their own configs (check modes)
    for (node, cmd) in [
        ("sn1", "dhcpd -t -q -cf /etc/dhcp/dhcpd.conf"),
        ("sn1", "conserver -S -C /etc/conserver.cf"),
        ("sn1", "chronyd -p -f /etc/chrony/chrony.conf >/dev/null"),
        ("sn1", "rsyslogd -N1 -f /etc/rsyslog.conf"),
        ("sn1", "dnsmasq --test -C /etc/dnsmasq.conf"),
        ("cn1", "rsyslogd -N1 -f /etc/rsyslog.conf"),
        ("cn1", "chronyd -p -f /etc/chrony/chrony.conf >/dev/null"),
    ] {
        let out = bed.sh(node, cmd).unwrap();
        assert!(
            out.status.success(),
            "{node}: {cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // every probe answers from the CN's own SN
    for cn in bed.cns() {
        let sn = bed.primary_sn(&cn).unwrap();
        assert_served_by(&bed, &cn, &sn);
    }
    // the other SN does not serve cn1 (no reservation, no console)
    let offers = bed
        .probe_dhcp_all("cn1", Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("dhcp cn1: {e:#}"));
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert!(!bed
        .conserver_consoles("sn2")
        .unwrap()
        .contains(&"cn1".to_string()));

    // CN state an xCAT deployment leaves
    let info = bed.read_node_text("cn1", "/opt/xcat/xcatinfo").unwrap();
    assert!(info.contains("XCATSERVER=sn1-eth1"), "{info}");
    assert!(bed
        .read_node_text("cn1", "/etc/rsyslog.d/remote.conf")
        .unwrap()
        .contains("*.* @sn1-eth1"));
    let route = bed
        .exec_ok("cn1", &["ip", "route", "show", "default"])
        .unwrap();
    assert!(
        route.contains(&format!("via {}", bed.compute_ip("sn1").unwrap())),
        "{route}"
    );
    // the overlay keeps node edits away from the host
    bed.exec_ok("cn1", &["sh", "-c", "echo edited > /etc/baton-tb-edit"])
        .unwrap();
    assert_eq!(
        bed.read_node_text("cn1", "/etc/baton-tb-edit").unwrap(),
        "edited\n"
    );
    assert!(!Path::new("/etc/baton-tb-edit").exists());
    assert_eq!(bed.exec_ok("cn2", &["hostname"]).unwrap().trim(), "cn2");

    // the product's path: ssh from mn with host-key checking, ProxyJump through the SN
    let out = bed
        .ssh("mn", "cn1", "hostname; echo $SSH_CONNECTION")
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("cn1\n"), "{text}");
    assert!(
        text.contains(&bed.compute_ip("sn1").unwrap().to_string()),
        "{text}"
    );
    let cfg = bed.ssh_config_path().to_string_lossy().into_owned();
    let out = bed
        .exec("mn", &["ssh", "-F", &cfg, "sn2-eth1", "hostname"])
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "sn2");
    // an unknown host key is refused (StrictHostKeyChecking yes)
    let out = bed
        .exec(
            "mn",
            &[
                "ssh",
                "-F",
                &cfg,
                "-o",
                "UserKnownHostsFile=/dev/null",
                "sn1",
                "true",
            ],
        )
        .unwrap();
    assert!(!out.status.success());

    // the cluster DB
    let noderes = std::fs::read_to_string(bed.db_dir().join("noderes.csv")).unwrap();
    assert!(noderes.starts_with("#node,servicenode,"));
    assert!(noderes.contains("\"cn1\",\"sn1,sn2\""));
    assert!(noderes.contains("\"cn2\",\"sn2,sn1\""));
    for t in [
        "site",
        "nodelist",
        "nodehm",
        "nodetype",
        "networks",
        "postscripts",
        "hosts",
        "mac",
        "servicenode",
        "passwd",
    ] {
        assert!(bed.db_dir().join(format!("{t}.csv")).exists(), "{t}.csv");
    }
    let hosts = bed.read_node_text("mn", "/etc/hosts").unwrap();
    assert!(hosts.contains(&format!(
        "{} sn1-eth1.cluster.test sn1-eth1",
        bed.compute_ip("sn1").unwrap()
    )));

    // sn1 dies: its CNs lose every service
    let t0 = Instant::now();
    bed.kill_node("sn1").unwrap();
    assert!(bed.pid1("sn1").is_none());
    assert!(!bed.probe_syslog("cn1", "sn1").unwrap());
    assert!(bed.probe_ntp("cn1").is_err());
    assert!(bed.probe_dhcp("cn1").is_err());
    assert!(bed
        .tftp_get("cn1", "sn1-eth1", &bed.boot_file("cn1"))
        .is_err());
    assert!(bed.conserver_consoles("sn1").is_err());
    assert!(bed.dns_lookup("cn1", "sn2").is_err());
    // sn2's CNs do not notice; the takeover path (-J sn2) reaches cn1
    assert_served_by(&bed, "cn2", "sn2");
    let out = bed
        .exec("mn", &["ssh", "-F", &cfg, "-J", "sn2", "cn1", "hostname"])
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "cn1");
    eprintln!("kill + negative probes: {:.2}s", t0.elapsed().as_secs_f64());

    // back again
    let t0 = Instant::now();
    bed.revive("sn1").unwrap();
    eprintln!("revive: {:.2}s", t0.elapsed().as_secs_f64());
    assert_served_by(&bed, "cn1", "sn1");

    // a cut compute link: the SN runs but nothing reaches it
    bed.cut_link("sn1").unwrap();
    assert!(bed.probe_ntp("cn3").is_err());
    assert!(bed.pid1("sn1").is_some());
    bed.restore_link("sn1").unwrap();
    assert_served_by(&bed, "cn3", "sn1");

    // teardown leaves nothing behind
    let pids = recorded_pids(&bed);
    let dir = bed.state_dir().to_path_buf();
    let r = bed.down().unwrap();
    eprintln!("down: {r:?}");
    assert!(r.survivors.is_empty());
    assert_gone("tisc", &dir, &pids);
}

#[test]
fn kea_bed_offers_from_the_right_sn() {
    require_or_skip!();
    let bed = up("tkea", 2, 3, Dhcp::Kea);
    let out = bed
        .sh("sn1", "kea-dhcp4 -t /etc/kea/kea-dhcp4.conf")
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for cn in bed.cns() {
        let sn = bed.primary_sn(&cn).unwrap();
        assert_served_by(&bed, &cn, &sn);
    }
    // the control socket answers (the product reloads reservations through it)
    let sock = bed.host_path("sn2", testbed::render::KEA_SOCKET).unwrap();
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    s.write_all(br#"{"command": "list-commands"}"#).unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    assert!(buf.contains("config-reload"), "{buf}");
    let pids = recorded_pids(&bed);
    let dir = bed.state_dir().to_path_buf();
    bed.down().unwrap();
    assert_gone("tkea", &dir, &pids);
}

#[test]
fn crashed_bed_is_cleaned_up() {
    require_or_skip!();
    let cfg = Config::new("tcrash", 1, 2);
    let name = cfg.name.clone(); // with BATON_TESTBED_TAG's suffix
    let bed = Bed::up(cfg).unwrap();
    let pids = recorded_pids(&bed);
    let dir = bed.state_dir().to_path_buf();
    // a stray process in a node's network namespace that the state file does not know
    let mut stray = std::process::Command::new("ip")
        .args(["netns", "exec", &format!("bt-{name}-cn1"), "sleep", "600"])
        .spawn()
        .unwrap();
    // and a daemon started inside a node
    bed.sh("cn2", "sleep 600 >/dev/null 2>&1 &").unwrap();
    // the run "crashes": the Bed is lost and its state file is half written
    let state = dir.join("state.json");
    let text = std::fs::read(&state).unwrap();
    std::fs::write(&state, &text[..text.len() / 2]).unwrap();
    std::mem::forget(bed);
    assert!(Bed::load(&name).is_err());

    // a new `up` of the same name refuses while the old one runs
    let mut again = Config::new("tcrash", 1, 1);
    again.replace = false;
    assert!(Bed::up(again).is_err());

    let r = testbed::cleanup(&name).unwrap();
    eprintln!("cleanup: {r:?}");
    assert!(r.survivors.is_empty());
    assert!(r.killed >= pids.len());
    // cleanup killed it (and, as it is our child, may have reaped it already)
    match stray.try_wait() {
        Ok(Some(st)) => assert!(!st.success(), "stray process exited by itself?"),
        Ok(None) => panic!("stray process {} was not killed", stray.id()),
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc_echild()), "{e}"),
    }
    let mut pids = pids;
    pids.push(stray.id());
    assert_gone(&name, &dir, &pids);
    // cleaning again is a no-op
    let r = testbed::cleanup(&name).unwrap();
    assert_eq!(r.killed, 0);
}

#[test]
fn scale_mode_endpoints_answer_ssh() {
    require_or_skip!();
    let t0 = Instant::now();
    let bed = BedGuard::new(Bed::up_scale("tscale", 50, None).unwrap());
    eprintln!(
        "scale bed (50 endpoints) up in {:.2}s",
        t0.elapsed().as_secs_f64()
    );
    let cfg = bed.ssh_config_path().to_string_lossy().into_owned();
    let eps: Vec<String> = bed.state().endpoints.iter().map(|e| e.0.clone()).collect();
    let script = format!(
        "for h in {}; do ssh -F {cfg} $h 'echo $XCAT_TEST_NODE' > /tmp/$h.out 2>&1 & done; wait; cat /tmp/ep*.out",
        eps.join(" ")
    );
    let t0 = Instant::now();
    let out = bed.sh("scale", &script).unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    let got: HashSet<&str> = text.lines().collect();
    for e in &eps {
        assert!(got.contains(e.as_str()), "{e} did not answer:\n{text}");
    }
    eprintln!("50 x ssh true in parallel: {secs:.2}s");
    let files = testbed::write_db_csv(&bed, &bed.state_dir().join("db2")).unwrap();
    assert_eq!(files.len(), 2);
    let dir = bed.state_dir().to_path_buf();
    let pids = recorded_pids(&bed);
    bed.down().unwrap();
    assert_gone("tscale", &dir, &pids);
}

#[test]
fn cli_up_status_exec_probe_down() {
    require_or_skip!();
    let bin = env!("CARGO_BIN_EXE_baton-testbed");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["up", "--name", "tcli", "--sns", "1", "--cns", "1"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, _) = run(&["status", "--name", "tcli", "--json"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["alive"]["cn1"], true);
    assert!(v["ssh_config"]
        .as_str()
        .unwrap()
        .ends_with("/tcli/ssh_config"));
    let (code, out, _) = run(&["exec", "--name", "tcli", "cn1", "--", "hostname"]);
    assert_eq!((code, out.trim()), (Some(0), "cn1"));
    let (code, _, _) = run(&["exec", "--name", "tcli", "cn1", "--", "sh", "-c", "exit 3"]);
    assert_eq!(code, Some(3));
    let (code, out, err) = run(&["probe", "--name", "tcli", "dhcp", "cn1"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("(sn1)"), "{out}");
    let (code, out, _) = run(&["probe", "--name", "tcli", "consoles", "sn1"]);
    assert_eq!((code, out.trim()), (Some(0), "cn1"));
    let (code, out, err) = run(&["down", "--name", "tcli"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_gone("tcli", &testbed::state_root().join("tcli"), &[]);
}

#[test]
fn baton_bin_loads_the_db() {
    require_or_skip!();
    // a stand-in baton that records how it is called
    let dir = std::env::temp_dir().join(format!("baton-testbed-fake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("calls");
    let fake = dir.join("baton");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", log.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cfg = Config::new("tbaton", 1, 1);
    cfg.baton_bin = Some(fake.clone());
    let bed = Bed::up_guarded(cfg).unwrap();
    let url = format!("sqlite:{}/baton.db", bed.state_dir().display());
    assert_eq!(bed.db_url(), Some(url.as_str()));
    let calls = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines[0], format!("--db {url} init"));
    assert_eq!(lines.len(), 12, "{calls}");
    assert!(lines[1..].iter().all(|l| l.starts_with(&format!(
        "--db {url} tabrestore {}/",
        bed.db_dir().display()
    ))));
    assert!(calls.contains("/noderes.csv\n"));
    // the binary's directory is visible inside the nodes (so `exec mn -- baton ...` works)
    assert!(bed
        .exec("mn", &[fake.as_os_str()])
        .unwrap()
        .status
        .success());
    drop(bed);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// With a real baton (env `BATON_BIN`), the DB the bed loads answers baton's own queries.
#[test]
fn real_baton_reads_the_bed_db() {
    require_or_skip!();
    let Some(baton) = std::env::var_os("BATON_BIN") else {
        testbed::report_skip("real_baton_reads_the_bed_db", "BATON_BIN is not set");
        return;
    };
    let bed = up("treal", 2, 3, Dhcp::Isc);
    let url = bed.db_url().expect("db loaded").to_string();
    let out = bed
        .exec(
            "mn",
            &[baton.to_str().unwrap(), "--db", &url, "nodels", "compute"],
        )
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "cn1\ncn2\ncn3\n");
}
