//! Every rendered service-node file passes the real daemon's own check mode: `dhcpd -t -cf`,
//! `kea-dhcp4 -t`, `conserver -S -C`. A missing daemon prints SKIPPED for its check.

use render::sn::{DhcpHost, Method};
use render::Templates;
use std::path::Path;
use std::process::Command;

fn have(prog: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(prog).exists())
}

fn check(prog: &str, args: &[&str]) {
    let out = Command::new(prog).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{prog} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn hosts() -> Vec<DhcpHost> {
    [
        (Method::Xnba, "cn1", "02:b7:78:01:00:01", "10.120.17.1"),
        (Method::Pxelinux, "cn2", "02:b7:78:01:00:02", "10.120.17.2"),
        (Method::Grub2Tftp, "cn3", "02:B7:78:01:00:03", "10.120.17.3"),
    ]
    .into_iter()
    .map(|(m, n, mac, ip)| DhcpHost::new(n, mac, ip, "10.120.16.12", m, 80, "/tftpboot"))
    .collect()
}

#[test]
fn dhcpd_accepts_the_host_blocks() {
    if !have("dhcpd") {
        eprintln!("SKIPPED: dhcpd (isc-dhcp-server) is not installed");
        return;
    }
    let t = Templates::builtin();
    let mut conf = String::from("ddns-update-style none;\noption space gpxe;\noption user-class-identifier code 77 = string;\nsubnet 10.120.16.0 netmask 255.255.240.0 {\n  next-server 10.120.16.12;\n}\n");
    for h in hosts() {
        conf.push_str(&t.dhcpd_host(&h).unwrap());
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("dhcpd.conf");
    std::fs::write(&f, conf).unwrap();
    check("dhcpd", &["-t", "-q", "-cf", f.to_str().unwrap()]);
}

#[test]
fn kea_accepts_the_reservations() {
    if !have("kea-dhcp4") {
        eprintln!("SKIPPED: kea-dhcp4 (kea-dhcp4-server) is not installed");
        return;
    }
    let t = Templates::builtin();
    let res: Vec<serde_json::Value> = hosts()
        .iter()
        .map(|h| t.kea_reservation(h).unwrap())
        .collect();
    let conf = serde_json::json!({"Dhcp4": {
        "interfaces-config": {"interfaces": ["*"]},
        "lease-database": {"type": "memfile", "persist": false},
        "subnet4": [{"id": 1, "subnet": "10.120.16.0/20", "reservations": res}],
    }});
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("kea-dhcp4.conf");
    std::fs::write(&f, serde_json::to_string_pretty(&conf).unwrap()).unwrap();
    check("kea-dhcp4", &["-t", f.to_str().unwrap()]);
}

#[test]
fn conserver_accepts_console_and_master_blocks() {
    if !have("conserver") {
        eprintln!("SKIPPED: conserver (conserver-server) is not installed");
        return;
    }
    let t = Templates::builtin();
    let dir = tempfile::tempdir().unwrap();
    for ondemand in [false, true] {
        let mut sn = t
            .conserver_header(&["10.120.0.1".into()], ondemand)
            .unwrap();
        sn.push_str(&t.conserver_console("cn1", "ipmi", None).unwrap());
        sn.push_str(&t.conserver_console("cn2", "ipmi", Some(true)).unwrap());
        sn.push_str(&t.conserver_console("cn3", "ipmi", Some(false)).unwrap());
        let f = dir.path().join("sn.cf");
        std::fs::write(&f, sn).unwrap();
        check("conserver", &["-S", "-C", f.to_str().unwrap()]);
    }
    let mut mn = t.conserver_header(&[], false).unwrap();
    mn.push_str(&t.conserver_master("cn1", "sn2").unwrap());
    let f = dir.path().join("mn.cf");
    std::fs::write(&f, mn).unwrap();
    check("conserver", &["-S", "-C", f.to_str().unwrap()]);
}
