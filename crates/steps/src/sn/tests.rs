//! The service-node runner against real files: the script runs on this host (in a PID namespace
//! of its own, so it never sees or signals this host's daemons) with every path in a temporary
//! directory, and the real `dhcpd -t`, `kea-dhcp4 -t` and `conserver -S` checks.

use super::*;
use takeover::{MoveShape, NodeMove, Request, StepRunner};

#[test]
fn reports_are_parsed_per_tag() {
    let r =
        crate::parse_report("x\nBATON 0 ok\nBATON 0/cn1 fail no room\nBATON 0/cn1 ok\nBATON end\n");
    assert_eq!(r["0"], Ok(()));
    assert_eq!(r["0/cn1"], Err("no room".to_string()));
    assert!(!r.contains_key("end"));
}

#[test]
fn values_are_checked_before_they_reach_a_script() {
    assert!(valid_mac("02:b7:78:01:00:01"));
    assert!(!valid_mac("02:b7:78:01:00"));
    assert!(!valid_mac("02:b7:78:01:00:0g"));
    assert!(remote::is_plain_path("/tftpboot"));
    assert!(!remote::is_plain_path("tftpboot"));
    assert!(!remote::is_plain_path("/a/../etc"));
    assert!(!remote::is_plain_path("/a b"));
    assert!(valid_word("ipmi"));
    assert!(!valid_word("ipmi; }"));
    assert_eq!(
        first_mac("02:AA:00:00:00:01|02:aa:00:00:00:02!cn1-ib").as_deref(),
        Some("02:aa:00:00:00:01")
    );
}

/// Root, unshare and the daemons' check programs, or the reason to skip.
fn can_run() -> Result<(), String> {
    let out = std::process::Command::new("unshare")
        .args(["-pf", "--mount-proc", "true"])
        .output()
        .map_err(|e| format!("unshare: {e}"))?;
    if !out.status.success() {
        return Err("unshare -pf needs root".into());
    }
    for p in ["dhcpd", "kea-dhcp4", "conserver", "perl"] {
        if !["/usr/sbin", "/usr/bin"]
            .iter()
            .any(|d| Path::new(d).join(p).exists())
        {
            return Err(format!("{p} is not installed"));
        }
    }
    Ok(())
}

struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn p(&self, s: &str) -> String {
        self.dir.path().join(s).to_string_lossy().into_owned()
    }
    fn read(&self, s: &str) -> String {
        std::fs::read_to_string(self.p(s)).unwrap_or_default()
    }
}

const DHCPD: &str = "ddns-update-style none;\noption space gpxe;\noption user-class-identifier code 77 = string;\nsubnet 10.9.16.0 netmask 255.255.240.0 {\n  next-server 10.9.16.11;\n}\n#xCAT host declaration for cn1 start\nhost cn1 {\n  hardware ethernet 02:b7:09:01:00:01;\n  fixed-address 10.9.17.1;\n  next-server 10.9.16.11;\n}\n#xCAT host declaration for cn1 end\n#xCAT host declaration for cn9 start\nhost cn9 {\n  hardware ethernet 02:b7:09:01:00:09;\n  fixed-address 10.9.17.9;\n}\n#xCAT host declaration for cn9 end\n";

const KEA: &str = r#"{
  // a comment, as Kea allows
  "Dhcp4": {
    "interfaces-config": { "interfaces": ["*"] },
    "lease-database": { "type": "memfile", "persist": false },
    "subnet4": [ { "id": 1, "subnet": "10.9.16.0/20",
      "reservations": [ { "hw-address": "02:b7:09:01:00:01", "ip-address": "10.9.17.1", "hostname": "cn1", "next-server": "10.9.16.11" },
                        { "hw-address": "02:b7:09:01:00:09", "ip-address": "10.9.17.9", "hostname": "cn9" } ] } ]
  }
}
"#;

fn world() -> World {
    let w = World {
        dir: tempfile::tempdir().unwrap(),
    };
    std::fs::write(w.p("dhcpd.conf"), DHCPD).unwrap();
    std::fs::write(w.p("kea.conf"), KEA).unwrap();
    let t = Templates::builtin();
    let mut cf = t.conserver_header(&[], false).unwrap();
    cf.push_str(&t.conserver_console("cn1", "ipmi", None).unwrap());
    cf.push_str(&t.conserver_console("cn9", "ipmi", None).unwrap());
    std::fs::write(w.p("conserver.cf"), cf).unwrap();
    std::fs::create_dir(w.p("tftp")).unwrap();
    w
}

fn node(n: &str, ip: &str) -> NodeMove {
    let shape = MoveShape {
        os: Some("rhels9".into()),
        provmethod: None,
        status: Some("booted".into()),
        old_sn: Some("sn1".into()),
        new_sn: "sn2".into(),
        old_xm: Some("sn1-eth1".into()),
        new_xm: "sn2-eth1".into(),
        new_xm_ip: Some("10.9.16.12".into()),
        old_xm_ip: Some("10.9.16.11".into()),
        network: None,
        gateway_follows: true,
        ..MoveShape::default()
    };
    NodeMove::new(n.into(), Some(ip.into()), shape)
}

fn facts(w: &World, backend: Option<&str>) -> Facts {
    let mut f = Facts {
        site: SiteFacts {
            dhcpbackend: backend.map(str::to_string),
            tftpdir: w.p("tftp"),
            master: Some("10.9.0.1".into()),
            xcatdport: 3001,
            httpport: 80,
            installdir: "/install".into(),
            consoleondemand: false,
            sharedtftp: false,
        },
        ..Default::default()
    };
    let base = NodeFacts {
        servicenode: Some("sn2,sn1".into()),
        netboot: Some("xnba".into()),
        tftpserver: Some("sn2-eth1".into()),
        nfsserver: Some("10.9.0.200".into()),
        os: Some("rhels9".into()),
        arch: Some("x86_64".into()),
        profile: Some("compute".into()),
        cons: Some("ipmi".into()),
        conserver: Some("sn2".into()),
        ..Default::default()
    };
    f.nodes.insert(
        "cn1".into(),
        NodeFacts {
            mac: Some("02:b7:09:01:00:01".into()),
            provmethod: Some("statelite".into()),
            ..base.clone()
        },
    );
    f.nodes.insert(
        "cn2".into(),
        NodeFacts {
            mac: Some("02:b7:09:01:00:02".into()),
            netboot: Some("pxe".into()),
            provmethod: Some("rhels9-x86_64-install-compute".into()),
            ..base.clone()
        },
    );
    f.nodes.insert(
        "cn3".into(),
        NodeFacts {
            mac: None,
            provmethod: Some("netboot".into()),
            ..base
        },
    );
    f
}

fn runner(w: &World, f: Facts) -> SnRunner {
    let ssh = remote::Ssh::new(
        "unshare -pf --mount-proc sh -c 'while [ \"$1\" != -- ]; do shift; done; shift 2; exec sh -c \"$1\"' ssh",
    )
    .unwrap();
    SnRunner {
        fanout: FanOut::new(ssh),
        templates: Templates::builtin(),
        loader: Box::new(move |_| Ok(f.clone())),
        paths: Paths {
            dhcpd_conf: w.p("dhcpd.conf"),
            kea_conf: w.p("kea.conf"),
            conserver_cf: w.p("conserver.cf"),
            mn_conserver_cf: Some(w.p("mn-conserver.cf").into()),
        },
        rearm_installs: false,
        cleanup: Parts::ALL,
        mn_only_consoles: false,
        takeover_cleanup: true,
        cleanup_mn_consoles: false,
        local_shell: vec![
            "unshare".into(),
            "-pf".into(),
            "--mount-proc".into(),
            "sh".into(),
        ],
        mn_timeout: std::time::Duration::from_secs(60),
    }
}

fn step(id: usize, kind: StepKind, sn: &str, nodes: &[&str], pm: Option<&str>) -> Step {
    Step {
        id,
        kind,
        sn: sn.into(),
        nodes: nodes.iter().map(|s| s.to_string()).collect(),
        scripts: vec![],
        provmethod: pm.map(str::to_string),
        aix: false,
        address: None,
    }
}

fn plan(steps: Vec<Step>) -> Plan {
    Plan {
        read_at: None,
        request: Request::default(),
        nodes: vec![
            node("cn1", "10.9.17.1"),
            node("cn2", "10.9.17.2"),
            node("cn3", "10.9.17.3"),
        ],
        steps,
        warnings: vec![],
        forced: vec![],
        notes: vec![],
        undoes: None,
    }
}

#[test]
fn new_sn_files_are_written_checked_and_old_sn_entries_removed() {
    if let Err(why) = can_run() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let w = world();
    let steps = vec![
        step(1, StepKind::Dhcp, "sn2", &["cn1", "cn2", "cn3"], None),
        step(2, StepKind::Bootfiles, "sn2", &["cn1"], Some("statelite")),
        step(
            3,
            StepKind::Bootfiles,
            "sn2",
            &["cn2"],
            Some("rhels9-x86_64-install-compute"),
        ),
    ];
    let p = plan(steps.clone());
    let mut r = runner(&w, facts(&w, Some("isc")));
    let res = r.run(&p, &steps);

    // DHCP: written and checked by dhcpd -t; no dhcpd runs here, so the reload fails and says so.
    let conf = w.read("dhcpd.conf");
    assert_eq!(
        conf.matches("#xCAT host declaration for cn1 start").count(),
        1,
        "{conf}"
    );
    assert!(
        conf.contains("#xCAT host declaration for cn9 start"),
        "{conf}"
    );
    assert!(conf.contains(
        "host cn2 {\n  hardware ethernet 02:b7:09:01:00:02;\n  fixed-address 10.9.17.2;"
    ));
    assert!(conf.contains("  next-server 10.9.16.12;\n"), "{conf}");
    assert!(
        !conf.contains("host cn3"),
        "no MAC, no entry (and nothing to do)"
    );
    assert_eq!(res[0].results["cn3"], takeover::NodeOutcome::Done);
    assert!(
        res[0].results["cn1"]
            .to_string()
            .contains("dhcpd is not running"),
        "{:?}",
        res[0]
    );

    // Boot files: statelite keeps the external NFS server; the installed node boots locally.
    assert_eq!(res[1].state, StepState::Done, "{:?}", res[1]);
    let xnba = w.read("tftp/xcat/xnba/nodes/cn1");
    assert!(xnba.contains("NFSROOT=10.9.0.200:/install/netboot/rhels9/x86_64/compute/rootimg STATEMNT= XCAT=10.9.16.12:3001 NODE=cn1"), "{xnba}");
    assert_eq!(res[2].state, StepState::Done, "{:?}", res[2]);
    assert_eq!(
        w.read("tftp/pxelinux.cfg/cn2"),
        "#boot\nDEFAULT xCAT\nLABEL xCAT\n LOCALBOOT 0\n"
    );
    assert_eq!(
        std::fs::read_link(w.p("tftp/pxelinux.cfg/0A091102")).unwrap(),
        Path::new("cn2")
    );

    // The old SN's cleanup (nothing runs there, so nothing needs a reload).
    let steps = vec![step(
        7,
        StepKind::CleanupOldSn,
        "sn1",
        &["cn1", "cn2"],
        None,
    )];
    let mut f = facts(&w, Some("isc"));
    f.nodes.get_mut("cn1").unwrap().servicenode = Some("sn2,sn1".into());
    let mut r = runner(&w, f);
    let res = r.run(&plan(steps.clone()), &steps);
    assert_eq!(res[0].state, StepState::Done, "{:?}", res[0]);
    let conf = w.read("dhcpd.conf");
    assert!(
        !conf.contains("host cn1 ") && !conf.contains("host cn2 "),
        "{conf}"
    );
    assert!(conf.contains("host cn9 {"));
    let cf = w.read("conserver.cf");
    assert!(
        !cf.contains("console cn1 ") && cf.contains("console cn9 {"),
        "{cf}"
    );
    assert!(!Path::new(&w.p("tftp/xcat/xnba/nodes/cn1")).exists());
    assert!(!Path::new(&w.p("tftp/pxelinux.cfg/cn2")).exists());
    assert!(std::fs::symlink_metadata(w.p("tftp/pxelinux.cfg/0A091102")).is_err());

    // A node that moved back to the old SN keeps its entries.
    let mut f = facts(&w, Some("isc"));
    f.nodes.get_mut("cn1").unwrap().servicenode = Some("sn1,sn2".into());
    let mut r = runner(&w, f);
    let before = w.read("conserver.cf");
    let steps = vec![step(7, StepKind::CleanupOldSn, "sn1", &["cn1"], None)];
    let res = r.run(&plan(steps.clone()), &steps);
    assert_eq!(res[0].results["cn1"], takeover::NodeOutcome::Done);
    assert_eq!(w.read("conserver.cf"), before);
}

#[test]
fn kea_reservations_are_merged_and_checked() {
    if let Err(why) = can_run() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let w = world();
    let steps = vec![step(1, StepKind::Dhcp, "sn2", &["cn1", "cn2"], None)];
    let mut r = runner(&w, facts(&w, Some("kea")));
    let res = r.run(&plan(steps.clone()), &steps);
    // Merged and checked by kea-dhcp4 -t; no Kea runs here, so the reload fails and says so.
    assert!(
        res[0].results["cn1"]
            .to_string()
            .contains("kea-dhcp4 is not running"),
        "{:?}",
        res[0]
    );
    let v: serde_json::Value = serde_json::from_str(&w.read("kea.conf")).unwrap();
    let rs = v["Dhcp4"]["subnet4"][0]["reservations"].as_array().unwrap();
    let names: Vec<&str> = rs.iter().map(|r| r["hostname"].as_str().unwrap()).collect();
    assert_eq!(names, ["cn9", "cn1", "cn2"]);
    assert_eq!(rs[1]["next-server"], "10.9.16.12");
    assert!(w.read("kea.conf.baton-old").contains("a comment"));

    // Cleanup on the old SN removes them by name, MAC or address.
    let steps = vec![step(
        2,
        StepKind::CleanupOldSn,
        "sn1",
        &["cn1", "cn2"],
        None,
    )];
    let mut r = runner(&w, facts(&w, None));
    std::fs::remove_file(w.p("dhcpd.conf")).unwrap();
    let res = r.run(&plan(steps.clone()), &steps);
    assert_eq!(
        res[0].state,
        StepState::Done,
        "auto-detected Kea: {:?}",
        res[0]
    );
    let v: serde_json::Value = serde_json::from_str(&w.read("kea.conf")).unwrap();
    assert_eq!(
        v["Dhcp4"]["subnet4"][0]["reservations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A reservation outside every subnet fails with the reason, and changes nothing.
    let before = w.read("kea.conf");
    let mut f = facts(&w, Some("kea"));
    f.nodes.get_mut("cn1").unwrap().servicenode = Some("sn2".into());
    let mut p = plan(vec![]);
    p.nodes[0].ip = Some("192.168.1.1".into());
    let steps = vec![step(1, StepKind::Dhcp, "sn2", &["cn1"], None)];
    let res = runner(&w, f).run(&p, &steps);
    assert!(
        res[0].results["cn1"].to_string().contains("no subnet4"),
        "{:?}",
        res[0]
    );
    assert_eq!(w.read("kea.conf"), before);
}

#[test]
fn consoles_on_the_new_sn_are_checked_and_a_dead_sn_leaves_them_pending() {
    if let Err(why) = can_run() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let w = world();
    let steps = vec![step(1, StepKind::Consoles, "sn2", &["cn2"], None)];
    let mut r = runner(&w, facts(&w, None));
    let res = r.run(&plan(steps.clone()), &steps);
    // Written and checked by conserver -S; no conserver runs here.
    assert!(
        res[0].results["cn2"]
            .to_string()
            .contains("conserver is not running"),
        "{:?}",
        res[0]
    );
    assert!(w
        .read("conserver.cf")
        .contains("console cn2 {\n  type exec;\n  exec /opt/xcat/share/xcat/cons/ipmi cn2;\n}\n"));

    // The MN-side entries alone (makeconservercf -l): a local file, created with a header.
    let mut r = runner(&w, facts(&w, None));
    r.mn_only_consoles = true;
    r.run(&plan(steps.clone()), &steps);
    let res = r.run(&plan(steps.clone()), &steps);
    assert_eq!(res[0].state, StepState::Done, "{:?}", res[0]);
    let mn = w.read("mn-conserver.cf");
    assert!(mn.starts_with("#generated by xCAT makeconservercf"), "{mn}");
    assert_eq!(
        mn.matches("console cn2 {\n  type exec;\n  master sn2;\n}\n")
            .count(),
        1,
        "{mn}"
    );

    // An unreachable SN: every node pending, with the reason.
    let mut r = runner(&w, facts(&w, None));
    r.fanout = FanOut::new(remote::Ssh::new("sh -c 'echo down >&2; exit 255' ssh").unwrap());
    let res = r.run(&plan(steps.clone()), &steps);
    assert_eq!(res[0].state, StepState::Pending);
    assert!(
        res[0].results["cn2"]
            .to_string()
            .starts_with("unreachable: sn2: down"),
        "{:?}",
        res[0]
    );
}

/// A program named `conserver` (a copy of sh) that runs `script`: to `pgrep -x` and
/// /proc/PID/comm it is conserver.
fn fake_conserver(w: &World) -> String {
    let sh = std::fs::canonicalize("/bin/sh").unwrap();
    let path = w.p("fake/conserver");
    std::fs::create_dir_all(w.p("fake")).unwrap();
    std::fs::copy(sh, &path).unwrap();
    path
}

/// The management node's console step finds conserver by its pid file. Beside it runs an
/// older `conserver -S` check of another run (which `pgrep -o -x conserver` picked before):
/// only the daemon gets the SIGHUP, and the command line saved for a restart is the daemon's.
#[test]
fn the_mn_console_step_signals_the_daemon_from_its_pid_file_never_a_check_run() {
    if let Err(why) = can_run() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let w = world();
    let fake = fake_conserver(&w);
    let dir = w.p("");
    // In a PID and network namespace of its own: the check run first (the oldest), then the
    // daemon, which records SIGHUPs and writes its pid file; then the step; then what became
    // of the check run.
    let wrapper = format!(
        r#"d='{dir}'; f='{fake}'
"$f" -c 'while :; do sleep 1; done' -S &
check=$!
"$f" -c 'trap "echo HUP >> $0/hups" HUP; echo $$ > $0/conserver.pid; while :; do sleep 0.1; done' "$d" &
while [ ! -s "$d/conserver.pid" ]; do sleep 0.05; done
sh "$@"
kill -0 "$check" && echo alive > "$d/check-alive"
i=0; while [ ! -s "$d/hups" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done"#
    );
    // The console client stands in for the daemon's answer (the stand-in serves nothing).
    std::fs::create_dir_all(w.p("bin")).unwrap();
    std::fs::write(w.p("bin/console"), "#!/bin/sh\necho 'cn2 on sn2'\n").unwrap();
    std::process::Command::new("chmod")
        .args(["+x", &w.p("bin/console")])
        .status()
        .unwrap();
    let path = format!(
        "{}:{}",
        w.p("bin"),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut r = runner(&w, facts(&w, None));
    r.local_shell = vec![
        "env".into(),
        format!("PATH={path}"),
        format!("BATON_CONSERVER_PID={}", w.p("conserver.pid")),
        format!("BATON_STATE={}", w.p("state")),
        "unshare".into(),
        "-pfn".into(),
        "--mount-proc".into(),
        "sh".into(),
        "-c".into(),
        wrapper,
        "wrap".into(),
    ];
    let facts = facts(&w, None);
    r.mn_consoles(&facts, "sn2", &["cn2".into()], false)
        .unwrap();
    assert!(w.read("mn-conserver.cf").contains("master sn2;"));
    assert_eq!(w.read("hups"), "HUP\n", "the daemon got one SIGHUP");
    assert_eq!(
        w.read("check-alive"),
        "alive\n",
        "the check run was left alone"
    );
    let saved = w.read("state/cmd.conserver").replace('\0', " ");
    assert!(
        saved.contains("trap") && !saved.contains(" -S"),
        "the daemon's command line is saved: {saved}"
    );
}

/// A `conserver -S` that never ends (a name server that does not answer, for every console)
/// no longer holds the run: the step is stopped at its time limit, with the reason, and its
/// processes are gone.
#[test]
fn the_mn_console_step_is_stopped_at_its_time_limit() {
    let w = world();
    std::fs::create_dir_all(w.p("bin")).unwrap();
    let hang = w.p("bin/conserver");
    std::fs::write(
        &hang,
        format!("#!/bin/sh\necho $$ > '{}'\nsleep 600\n", w.p("check.pid")),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", &hang])
        .status()
        .unwrap();
    let path = format!(
        "{}:{}",
        w.p("bin"),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut r = runner(&w, facts(&w, None));
    r.local_shell = vec!["env".into(), format!("PATH={path}"), "sh".into()];
    r.mn_timeout = std::time::Duration::from_secs(1);
    let facts = facts(&w, None);
    let err = r
        .mn_consoles(&facts, "sn2", &["cn2".into()], false)
        .unwrap_err();
    assert!(err.contains("did not finish within 1 s"), "{err}");
    let pid = w.read("check.pid");
    assert!(!pid.trim().is_empty(), "the check ran");
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "the hung check was killed: {stat}"
    );
    assert_eq!(
        w.read("mn-conserver.cf"),
        "",
        "not written past a check that did not end"
    );
}

/// A work directory with the given pid file, last changed `age` ago (`touch -d`).
fn old_work_dir(pid: &str, age: &str) -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("baton-sn.t")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::write(d.path().join("pid"), pid).unwrap();
    let ok = std::process::Command::new("touch")
        .args(["-d", age])
        .arg(d.path())
        .status()
        .unwrap();
    assert!(ok.success());
    d
}

#[test]
fn work_directories_of_killed_runs_are_removed_by_the_next_one() {
    if let Err(why) = can_run() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    // A killed run's: its shell is gone (no such PID here) and it is an hour old.
    let killed = old_work_dir("999999999", "1 hour ago");
    // One that may still be in use: younger than any batch runs.
    let young = old_work_dir("999999999", "1 minute ago");
    let w = world();
    let steps = vec![step(1, StepKind::Dhcp, "sn2", &["cn1"], None)];
    let mut r = runner(&w, facts(&w, Some("isc")));
    r.run(&plan(steps.clone()), &steps);
    assert!(
        !killed.path().exists(),
        "a killed run's work directory is left"
    );
    assert!(young.path().exists(), "a recent work directory was removed");
}

/// Each batch's compiled session (arguments, standard input) and what was settled before it
/// ran, as text, with the temporary directory written `<W>`.
fn compiled(w: &World, r: &mut SnRunner, p: &Plan, steps: &[Step]) -> String {
    let targets: Targets<'_> = p
        .nodes
        .iter()
        .map(|m| (m.node.as_str(), NodeTarget::of_move(m)))
        .collect();
    let Ok(prep) = r.prepare(&targets, steps) else {
        return "facts unreadable".into();
    };
    let job = prep.job.map(|j| {
        let stdin = String::from_utf8_lossy(&j.stdin).into_owned();
        // The script itself is constant; the payload is everything after it.
        (j.args[4..].to_vec(), stdin)
    });
    let text = format!(
        "job: {job:#?}\nsent: {:?}\nconsoled: {:?}\nsettled: {:?}\n",
        prep.sent, prep.consoled, prep.results
    );
    text.replace(&w.p(""), "<W>/")
}

/// The service-node batches compile to exactly the session they compiled to before the
/// compile step was split per step kind (`golden-batch.txt`; `BATON_BLESS=1` rewrites it).
#[test]
fn batches_compile_to_the_recorded_payload() {
    let w = world();
    let mut f = facts(&w, Some("isc"));
    f.hosts.insert("sn2-eth1".into(), "10.9.16.12".into());
    let mut p = plan(vec![]);
    p.nodes[0].shape_mut().statelite = vec!["/.statelite/persistent".into()];
    let new_sn = vec![
        step(1, StepKind::Consoles, "sn2", &["cn1", "cn2", "cn3"], None),
        step(2, StepKind::Dhcp, "sn2", &["cn1", "cn2", "cn3"], None),
        step(3, StepKind::Bootfiles, "sn2", &["cn1", "cn2"], None),
        step(4, StepKind::Bootfiles, "sn2", &["cn3"], Some("netboot")),
    ];
    let old_sn = vec![
        step(5, StepKind::StateliteSync, "sn1", &["cn1"], None),
        step(
            6,
            StepKind::CleanupOldSn,
            "sn1",
            &["cn1", "cn2", "cn3"],
            None,
        ),
    ];
    let mut r = runner(&w, f.clone());
    let mut text = compiled(&w, &mut r, &p, &new_sn);
    text.push_str(&compiled(&w, &mut r, &p, &old_sn));
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sn/golden-batch.txt");
    if std::env::var("BATON_BLESS").is_ok_and(|b| b == "1") {
        std::fs::write(&golden, &text).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(text, want);
}

#[test]
fn names_resolve_through_the_hosts_file_before_the_hosts_table() {
    let mut f = Facts::default();
    f.hosts.insert("sn2-eth1".into(), "10.9.16.99".into());
    f.hosts.insert("sn3-eth1".into(), "10.9.16.13".into());
    let local = remote::resolve::SystemResolver::with_hosts("10.9.16.12 sn2-eth1\n", false);
    let at = |n: &str| f.address_of(n, Some(&local), false);
    assert_eq!(at("sn2-eth1").as_deref(), Some("10.9.16.12"));
    assert_eq!(at("sn3-eth1").as_deref(), Some("10.9.16.13"));
    assert_eq!(at("10.1.2.3").as_deref(), Some("10.1.2.3"));
    assert_eq!(at("nowhere"), None);
}

#[test]
fn the_assembled_script_parses_and_carries_the_kea_program_whole() {
    let kea = include_str!("../kea.pl");
    assert!(!kea.contains('\''), "kea.pl must hold no single quote");
    let out = std::process::Command::new("sh")
        .args(["-n", "-c", SN_SCRIPT])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The variable the script sets is the program, byte for byte.
    let (_, rest) = SN_SCRIPT.split_once("\nKEA_PL='").unwrap();
    let (program, _) = rest.split_once("'\n").unwrap();
    let printed = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("KEA_PL='{program}'\nprintf %s \"$KEA_PL\""))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&printed.stdout), kea);
}

/// Boot files that differ by the node's name only travel as one shared text: the service node
/// makes each node's file from it, byte for byte what the node's own file would be.
#[test]
fn a_shared_boot_text_gives_each_node_exactly_its_own_file() {
    if let Err(why) = can_run() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let w = world();
    let mut f = facts(&w, Some("isc"));
    f.hosts.insert("sn2-eth1".into(), "10.9.16.12".into());
    // cn1 and cn3 boot through xNBA (cn2 through pxelinux: another text).
    let nodes = ["cn1", "cn3"];
    let steps = vec![step(1, StepKind::Bootfiles, "sn2", &nodes, Some("netboot"))];
    let p = plan(steps.clone());
    let mut r = runner(&w, f.clone());
    let payload = compiled(&w, &mut r, &p, &steps);
    // One text for the four files (each node's file and its .uefi twin are the same text).
    assert_eq!(payload.matches("text 0/").count(), 1, "{payload}");
    assert_eq!(payload.matches("puts 0/").count(), 4, "{payload}");
    assert_eq!(payload.matches("put 0/").count(), 0, "{payload}");
    let res = runner(&w, f).run(&p, &steps);
    assert_eq!(res[0].state, StepState::Done, "{:?}", res[0]);
    let tftp = w.p("tftp");
    for n in nodes {
        let want = format!(
            "#!gpxe\n#netboot rhels9-x86_64-netboot-compute\n\
             imgfetch -n kernel http://${{next-server}}:80{tftp}/xcat/osimage/rhels9-x86_64-netboot-compute/kernel\n\
             imgload kernel\n\
             imgargs kernel imgurl=http://10.9.0.200:80//install/netboot/rhels9/x86_64/compute/rootimg.cpio.gz XCAT=10.9.16.12:3001 NODE={n} FC=0 BOOTIF=01-${{netX/mac:hexhyp}}\n\
             imgfetch -n initrd http://${{next-server}}:80{tftp}/xcat/osimage/rhels9-x86_64-netboot-compute/initrd-stateless.gz\n\
             imgexec kernel\n"
        );
        assert_eq!(w.read(&format!("tftp/xcat/xnba/nodes/{n}")), want, "{n}");
        assert_eq!(
            w.read(&format!("tftp/xcat/xnba/nodes/{n}.uefi")),
            want,
            "{n}"
        );
    }
}

/// The adoption's listener check: a service bound to other addresses only is named; one on the
/// wildcard or on the adopted address is not (ss output as iproute2 prints it, header included).
#[test]
fn the_adoption_names_the_services_that_do_not_listen_on_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let ss = "#!/bin/sh\ncase \"$1\" in\n-lnu) printf '%s\\n' \
        'State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess' \
        'UNCONN 0      0            0.0.0.0:53        0.0.0.0:*' \
        'UNCONN 0      0        10.1.16.12:514        0.0.0.0:*' \
        'UNCONN 0      0                  *:123              *:*' ;;\n\
        -lnt) printf '%s\\n' \
        'State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess' \
        'LISTEN 0      128        10.1.16.12:80        0.0.0.0:*' \
        'LISTEN 0      128           0.0.0.0:22        0.0.0.0:*' ;;\nesac\n";
    let path = dir.path().join("ss");
    std::fs::write(&path, ss).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let start = SN_SCRIPT.find("deaf_ports() {").unwrap();
    let func = &SN_SCRIPT[start..start + SN_SCRIPT[start..].find("\n}\n").unwrap() + 3];
    let deaf = |addr: &str| {
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("{func}deaf_ports {addr}")])
            .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .output()
            .unwrap();
        let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect();
        v.sort();
        v
    };
    assert_eq!(deaf("10.1.16.11"), ["tcp/80", "udp/514"]);
    assert!(deaf("10.1.16.12").is_empty());
}

/// Nodes alike but for their name share one rendering of their boot files and console blocks:
/// the batch is byte for byte the one rendered node by node (forced here by giving the
/// built-in templates as a site's own, whose use of the name baton cannot know), whatever the
/// names (ones that occur in the files' text, overlap themselves, hold `@`, or the mark's own
/// words) and values (a stored command line holding the mark or a node's name).
#[test]
fn shared_renderings_compile_as_rendering_node_by_node() {
    let w = world();
    let mut f = facts(&w, Some("isc"));
    f.hosts.insert("sn2-eth1".into(), "10.9.16.12".into());
    let names = [
        "cn1", "cn10", "aa", "aaa", "abab", "x", "xcat", "kernel", "BATON", "NODE", "node@x",
        "cn1x", "nodes", "gpxe", "imgexec", "n",
    ];
    let base = f.nodes["cn3"].clone();
    let grub = NodeFacts {
        netboot: Some("grub2".into()),
        ..base.clone()
    };
    let pxe = NodeFacts {
        netboot: Some("pxe".into()),
        ..base.clone()
    };
    let marked = NodeFacts {
        kcmdline: Some("console=ttyS0 @@BATON-NODE@@ NODE=cn1".into()),
        ..base.clone()
    };
    let mut p = plan(vec![]);
    p.nodes.clear();
    for (k, n) in names.iter().enumerate() {
        let mut nf = [&base, &grub, &pxe, &marked][k % 4].clone();
        if k % 3 == 0 {
            nf.mac = Some(format!("02:b7:09:01:00:{k:02x}").into());
        }
        nf.consoleondemand = [None, Some("yes".into()), Some("no".into())][k % 3].clone();
        f.nodes.insert(n.to_string(), nf);
        p.nodes.push(node(n, &format!("10.9.18.{}", k + 1)));
    }
    let steps = vec![
        step(1, StepKind::Bootfiles, "sn2", &names, Some("netboot")),
        step(2, StepKind::Consoles, "sn2", &names, None),
        step(3, StepKind::Bootfiles, "sn2", &names, None),
    ];
    let mut shared = runner(&w, f.clone());
    let mut one_by_one = runner(&w, f);
    let own = render::templates::BUILTIN
        .iter()
        .map(|(n, src)| (n.to_string(), src.to_string()));
    one_by_one.templates = Templates::with_overrides(own).unwrap();
    let a = compiled(&w, &mut shared, &p, &steps);
    assert_eq!(a, compiled(&w, &mut one_by_one, &p, &steps));
    assert!(a.contains("puts 0/"), "{a}");
}

/// A takeover's batch reads the servers' addresses only (its nodes' come with their moves):
/// the same facts as for nodes where they stand, less the nodes' own addresses; aliases a node
/// defines still count.
#[test]
fn facts_for_moves_read_only_the_servers_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let url = clusterdb::DbUrl::Sqlite(dir.path().join("c.db"));
    let mut db = clusterdb::ClusterDb::open(&url).unwrap();
    {
        let snap = db.write().unwrap();
        let g = |s: &str| Some(s.to_string());
        let row = |t: &str, cols: &[&str], vals: &[&str]| {
            let vals: Vec<Option<String>> = vals.iter().map(|v| g(v)).collect();
            snap.tx()
                .insert(clusterdb::table(t).unwrap(), cols, &vals)
                .unwrap();
        };
        for n in ["cn1", "cn2", "cn3"] {
            row("nodelist", &["node", "groups"], &[n, "compute,all"]);
        }
        row("nodelist", &["node", "groups"], &["sn2", "service"]);
        row(
            "noderes",
            &["node", "servicenode", "xcatmaster"],
            &["compute", "sn2", "sn2-eth1"],
        );
        let hosts = ["node", "ip", "otherinterfaces"];
        row(
            "hosts",
            &hosts,
            &["compute", r"|cn(\d+)|10.1.0.($1+0)|", ""],
        );
        row("hosts", &hosts, &["sn2", "10.0.0.2", "-eth1:10.9.16.12"]);
        row("hosts", &hosts, &["cn3", "10.1.0.33", "cn3-bmc:10.2.0.3"]);
        snap.commit().unwrap();
    }
    let nodes: Vec<String> = ["cn1", "cn2", "cn3"].map(String::from).to_vec();
    let snap = db.read().unwrap();
    let all = load_facts(&snap, &nodes).unwrap();
    let moves = load_facts_for_moves(&snap, &nodes).unwrap();
    assert_eq!(all.hosts["cn1"], "10.1.0.1");
    assert_eq!(all.hosts["cn3"], "10.1.0.33");
    let mut want = all.hosts.clone();
    for n in &nodes {
        want.remove(n);
    }
    assert_eq!(moves.hosts, want);
    assert_eq!(moves.hosts["sn2-eth1"], "10.9.16.12");
    assert_eq!(moves.hosts["cn3-bmc"], "10.2.0.3");
    assert_eq!(moves.nodes.len(), 3);
    assert_eq!(moves.nodes["cn2"].xcatmaster.as_deref(), Some("sn2-eth1"));
}
