//! The cluster DB of a bed, as xCAT `tabrestore` CSV files (one `<table>.csv` per table).
//!
//! Format (xCAT's tabdump/tabrestore): a header `#col1,col2,...` naming a subset of the table's
//! real xCAT columns, then one line per row; a non-empty value is quoted with `"` and inner `"`
//! doubled; NULL is an empty unquoted field.
//!
//! What the bed writes (B = the bed's second octet, `<xm>` = the literal `<xcatmaster>`):
//!
//! | table | rows |
//! |---|---|
//! | site | master=10.B.0.1, domain, nameservers=`<xm>`, ntpservers=`<xm>`, tftpdir=/tftpboot, installdir=/install, sharedtftp=0, consoleondemand=no |
//! | nodelist | mn: `__mgmtnode`; snK: `service,all`; cnI: `compute,rackR,all` (4 CNs per rack) |
//! | noderes | cnI: servicenode=`snA,snB` (round-robin pools), netboot=xnba, xcatmaster=tftpserver=`snA-eth1`, nfsserver=snA's compute IP, monserver=`snA,snA-eth1` |
//! | nodehm | cnI: mgt=ipmi, cons=ipmi, conserver=snA |
//! | nodetype | cnI: os=debian12, arch=x86_64, profile=compute, provmethod=netboot, nodetype=osi |
//! | networks | management net 10.B.0.0/24 (mgtifname eth0) and compute net 10.B.16.0/20 (mgtifname eth1, gateway `<xm>`, nameservers `<xm>`, domain) |
//! | postscripts | xcatdefaults: `syslog,remoteshell,syncfiles` / `otherpkgs`; compute: `syslog,setupntp,mkresolvconf` |
//! | hosts | every node with its address; each SN's compute-facing alias as `otherinterfaces` = `snK-eth1:<compute IP>` |
//! | mac | cnI: interface eth0, its MAC |
//! | servicenode | snK: nameserver, dhcpserver, tftpserver, conserver, ntpserver, ipforward = 1; dhcpinterfaces = eth1 |
//! | passwd | key=omapi, username=xcat_key, password=the DHCP OMAPI secret |

use crate::plan::{compute_net, mgmt_net, Plan, COMPUTE_MASK, MGMT_MASK};
use crate::render::{xcatmaster_of, CONS_METHOD, OMAPI_KEY_NAME};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// One table: name, header columns, rows (None = NULL).
#[derive(Debug, Clone)]
pub struct Table {
    /// Table name (file stem).
    pub name: &'static str,
    /// Columns listed in the header.
    pub columns: Vec<&'static str>,
    /// Rows.
    pub rows: Vec<Vec<Option<String>>>,
}

impl Table {
    fn new(name: &'static str, columns: &[&'static str]) -> Table {
        Table {
            name,
            columns: columns.to_vec(),
            rows: vec![],
        }
    }
    fn row(&mut self, vals: &[Option<&str>]) {
        assert_eq!(vals.len(), self.columns.len(), "table {}", self.name);
        self.rows
            .push(vals.iter().map(|v| v.map(|s| s.to_string())).collect());
    }
    /// The CSV text.
    pub fn to_csv(&self) -> String {
        let mut s = format!("#{}\n", self.columns.join(","));
        for r in &self.rows {
            let fields: Vec<String> = r.iter().map(|v| csv_field(v.as_deref())).collect();
            s.push_str(&fields.join(","));
            s.push('\n');
        }
        s
    }
}

/// One CSV field: NULL or empty gives an empty unquoted field, anything else is quoted.
pub fn csv_field(v: Option<&str>) -> String {
    match v {
        None | Some("") => String::new(),
        Some(s) => format!("\"{}\"", s.replace('"', "\"\"")),
    }
}

fn netname(net: std::net::Ipv4Addr, mask: std::net::Ipv4Addr) -> String {
    format!("{net}-{mask}").replace('.', "_")
}

/// The tables of a cluster bed.
pub fn tables(plan: &Plan, omapi_secret: &str) -> Vec<Table> {
    let xm = "<xcatmaster>";
    let mn_ip = plan.mn().mgmt_ip.unwrap().to_string();
    let mut site = Table::new("site", &["key", "value"]);
    for (k, v) in [
        ("master", mn_ip.as_str()),
        ("domain", plan.domain.as_str()),
        ("nameservers", xm),
        ("ntpservers", xm),
        ("tftpdir", "/tftpboot"),
        ("installdir", "/install"),
        ("sharedtftp", "0"),
        ("consoleondemand", "no"),
    ] {
        site.row(&[Some(k), Some(v)]);
    }

    let mut nodelist = Table::new("nodelist", &["node", "groups"]);
    let mut noderes = Table::new(
        "noderes",
        &[
            "node",
            "servicenode",
            "netboot",
            "tftpserver",
            "nfsserver",
            "monserver",
            "xcatmaster",
        ],
    );
    let mut nodehm = Table::new("nodehm", &["node", "mgt", "cons", "conserver"]);
    let mut nodetype = Table::new(
        "nodetype",
        &["node", "os", "arch", "profile", "provmethod", "nodetype"],
    );
    let mut hosts = Table::new("hosts", &["node", "ip", "hostnames", "otherinterfaces"]);
    let mut mac = Table::new("mac", &["node", "interface", "mac"]);
    let mut servicenode = Table::new(
        "servicenode",
        &[
            "node",
            "nameserver",
            "dhcpserver",
            "tftpserver",
            "conserver",
            "ntpserver",
            "ipforward",
            "dhcpinterfaces",
        ],
    );
    for n in &plan.nodes {
        let ip = n.ssh_ip().to_string();
        match n.role {
            crate::plan::Role::Mn => {
                nodelist.row(&[Some(&n.name), Some("__mgmtnode")]);
                hosts.row(&[Some(&n.name), Some(&ip), None, None]);
            }
            crate::plan::Role::Sn => {
                nodelist.row(&[Some(&n.name), Some("service,all")]);
                let other = format!("{}:{}", n.compute_alias().unwrap(), n.compute_ip.unwrap());
                hosts.row(&[Some(&n.name), Some(&ip), None, Some(&other)]);
                let one = Some("1");
                servicenode.row(&[Some(&n.name), one, one, one, one, one, one, Some("eth1")]);
            }
            crate::plan::Role::Cn => {
                let groups = format!("compute,{},all", n.rack.as_deref().unwrap_or("rack1"));
                nodelist.row(&[Some(&n.name), Some(&groups)]);
                let primary = n.primary_sn().unwrap();
                let xmaster = xcatmaster_of(n);
                let sn_ip = plan
                    .node(primary)
                    .and_then(|s| s.compute_ip)
                    .unwrap()
                    .to_string();
                let pool = n.servicenodes.join(",");
                let mon = format!("{primary},{xmaster}");
                noderes.row(&[
                    Some(&n.name),
                    Some(&pool),
                    Some("xnba"),
                    Some(&xmaster),
                    Some(&sn_ip),
                    Some(&mon),
                    Some(&xmaster),
                ]);
                nodehm.row(&[
                    Some(&n.name),
                    Some("ipmi"),
                    Some(CONS_METHOD),
                    Some(primary),
                ]);
                nodetype.row(&[
                    Some(&n.name),
                    Some("debian12"),
                    Some("x86_64"),
                    Some("compute"),
                    Some("netboot"),
                    Some("osi"),
                ]);
                hosts.row(&[Some(&n.name), Some(&ip), None, None]);
                mac.row(&[Some(&n.name), Some("eth0"), n.compute_mac.as_deref()]);
            }
            crate::plan::Role::Scale => {}
        }
    }

    let mut networks = Table::new(
        "networks",
        &[
            "netname",
            "net",
            "mask",
            "mgtifname",
            "gateway",
            "nameservers",
            "domain",
        ],
    );
    let (mnet, cnet) = (mgmt_net(plan.octet), compute_net(plan.octet));
    networks.row(&[
        Some(&netname(mnet, MGMT_MASK)),
        Some(&mnet.to_string()),
        Some(&MGMT_MASK.to_string()),
        Some("eth0"),
        None,
        None,
        Some(&plan.domain),
    ]);
    networks.row(&[
        Some(&netname(cnet, COMPUTE_MASK)),
        Some(&cnet.to_string()),
        Some(&COMPUTE_MASK.to_string()),
        Some("eth1"),
        Some(xm),
        Some(xm),
        Some(&plan.domain),
    ]);

    let mut postscripts = Table::new("postscripts", &["node", "postscripts", "postbootscripts"]);
    postscripts.row(&[
        Some("xcatdefaults"),
        Some("syslog,remoteshell,syncfiles"),
        Some("otherpkgs"),
    ]);
    postscripts.row(&[Some("compute"), Some("syslog,setupntp,mkresolvconf"), None]);

    let mut passwd = Table::new("passwd", &["key", "username", "password"]);
    passwd.row(&[Some("omapi"), Some(OMAPI_KEY_NAME), Some(omapi_secret)]);

    vec![
        site,
        nodelist,
        noderes,
        nodehm,
        nodetype,
        networks,
        postscripts,
        hosts,
        mac,
        servicenode,
        passwd,
    ]
}

/// The tables of a scale bed: every endpoint in `compute,all` with its loopback address.
pub fn scale_tables(endpoints: &[(String, std::net::Ipv4Addr)]) -> Vec<Table> {
    let mut nodelist = Table::new("nodelist", &["node", "groups"]);
    let mut hosts = Table::new("hosts", &["node", "ip"]);
    for (n, ip) in endpoints {
        nodelist.row(&[Some(n), Some("compute,all")]);
        hosts.row(&[Some(n), Some(&ip.to_string())]);
    }
    vec![nodelist, hosts]
}

/// Writes `tables` as `<dir>/<table>.csv`; returns the files written.
pub fn write_tables(tables: &[Table], dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("mkdir {}", dir.display()))?;
    let mut out = vec![];
    for t in tables {
        let p = dir.join(format!("{}.csv", t.name));
        std::fs::write(&p, t.to_csv()).with_context(|| format!("write {}", p.display()))?;
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_is_xcat_tabdump() {
        assert_eq!(csv_field(None), "");
        assert_eq!(csv_field(Some("")), "");
        assert_eq!(csv_field(Some("a\"b")), "\"a\"\"b\"");
        let mut t = Table::new("site", &["key", "value"]);
        t.row(&[Some("x"), None]);
        assert_eq!(t.to_csv(), "#key,value\n\"x\",\n");
    }

    #[test]
    fn cluster_tables() {
        let p = Plan::new("tb", 120, 2, 3, "cluster.test").unwrap();
        let ts = tables(&p, "c2VjcmV0");
        let get = |n: &str| ts.iter().find(|t| t.name == n).unwrap().to_csv();
        assert!(get("noderes").contains(
            "\"cn1\",\"sn1,sn2\",\"xnba\",\"sn1-eth1\",\"10.120.16.11\",\"sn1,sn1-eth1\",\"sn1-eth1\""
        ));
        assert!(get("noderes").contains("\"cn2\",\"sn2,sn1\""));
        assert!(get("networks").contains(
            "\"10_120_16_0-255_255_240_0\",\"10.120.16.0\",\"255.255.240.0\",\"eth1\",\"<xcatmaster>\""
        ));
        assert!(get("hosts").contains("\"sn1\",\"10.120.0.11\",,\"sn1-eth1:10.120.16.11\""));
        assert!(get("postscripts").contains("\"compute\",\"syslog,setupntp,mkresolvconf\","));
        assert!(get("nodelist").contains("\"cn3\",\"compute,rack1,all\""));
        assert!(get("site").starts_with("#key,value\n\"master\",\"10.120.0.1\"\n"));
    }

    /// Every header names real xCAT columns (checked against the shared schema when present).
    #[test]
    fn columns_exist_in_xcat_schema() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference/xcat-schema.json"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("SKIPPED: columns_exist_in_xcat_schema: {path} not found");
            return;
        };
        let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        let p = Plan::new("tb", 120, 2, 3, "cluster.test").unwrap();
        let mut all = tables(&p, "x");
        all.extend(scale_tables(&[(
            "ep1".into(),
            "127.1.0.1".parse().unwrap(),
        )]));
        for t in all {
            let cols = &schema["tables"][t.name]["columns"];
            let names: Vec<String> = cols
                .as_array()
                .unwrap_or_else(|| panic!("no table {}", t.name))
                .iter()
                .map(|c| {
                    c.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| c["name"].as_str().unwrap().to_string())
                })
                .collect();
            for c in &t.columns {
                assert!(
                    names.iter().any(|n| n == c),
                    "{}.{} not in schema",
                    t.name,
                    c
                );
            }
        }
    }
}
