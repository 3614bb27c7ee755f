//! Service-node steps over ssh: DHCP reservations (ISC dhcpd or Kea), boot files (pxelinux,
//! grub2, xnba) and console server entries on the new service node, the `master` entries in the
//! management node's conserver.cf, and the removal of the moved nodes from the old service
//! node's configs.
//!
//! All of a batch's steps (one service node) run in ONE ssh session: the constant script
//! `prelude.sh` + `sn.sh`, whose arguments are the operations and their sizes, and whose
//! standard input carries every file content. Each operation writes atomically, checks the new
//! file with the daemon's check mode before it replaces the old one, reloads the daemon and
//! checks the result; a node is reported done only after that.

use remote::fanout::{FanOut, HostResult, Job};
use render::sn::{
    boot_paths, default_kcmdline, repoint_kcmdline, BootMode, BootSpec, DhcpHost, FileOp,
    ImageKind, KcmdlineTarget, Method,
};
use render::Templates;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use takeover::journal::StepState;
use takeover::outcome::Reason;
use takeover::{NodeOutcome, Plan, Step, StepKind, StepResult};

/// The script a service node runs; values come as separate arguments and on standard input.
/// The Kea merge program goes in as a shell variable (single-quoted: the program has no
/// single quote; a unit test checks it).
pub const SN_SCRIPT: &str = concat!(
    include_str!("prelude.sh"),
    "KEA_PL='",
    include_str!("kea.pl"),
    "'\n",
    include_str!("sn.sh")
);

/// Where a site's template overrides are read from (`<name>.j2`).
pub const TEMPLATE_DIR: &str = "/etc/baton/templates";

/// Site settings the service-node steps use.
#[derive(Debug, Clone, Default)]
pub struct SiteFacts {
    /// `site.dhcpbackend`: `kea` selects Kea; anything else ISC dhcpd; unset: whichever the
    /// service node runs.
    pub dhcpbackend: Option<String>,
    /// `site.tftpdir` (default `/tftpboot`).
    pub tftpdir: String,
    /// `site.master`: trusted in a new conserver.cf.
    pub master: Option<String>,
    /// `site.xcatdport` (default 3001), `site.httpport` (default 80).
    pub xcatdport: u16,
    pub httpport: u16,
    /// `site.installdir` (default `/install`).
    pub installdir: String,
    /// `site.consoleondemand`.
    pub consoleondemand: bool,
    /// `site.sharedtftp` (xCAT's default: yes): the tftp directory is shared by the service
    /// nodes, so the old one's boot files are the new one's and are not removed.
    pub sharedtftp: bool,
}

pub use crate::NodeTarget;

/// The targets of a run, by node name.
pub type Targets<'a> = HashMap<&'a str, NodeTarget<'a>, ahash::RandomState>;

/// A value many nodes share (their SN, image, OS): one allocation for all of them.
pub type Text = std::sync::Arc<str>;

/// What the database says about one node now.
#[derive(Debug, Clone, Default)]
pub struct NodeFacts {
    /// noderes.servicenode (the whole list).
    pub servicenode: Option<Text>,
    /// The first MAC of mac.mac.
    pub mac: Option<Text>,
    pub netboot: Option<Text>,
    pub tftpserver: Option<Text>,
    pub tftpdir: Option<Text>,
    pub nfsserver: Option<Text>,
    /// noderes.xcatmaster.
    pub xcatmaster: Option<Text>,
    pub os: Option<Text>,
    pub arch: Option<Text>,
    pub profile: Option<Text>,
    pub provmethod: Option<Text>,
    pub status: Option<Text>,
    /// nodehm.cons (the console method), nodehm.conserver, nodehm.consoleondemand.
    pub cons: Option<Text>,
    pub conserver: Option<Text>,
    pub consoleondemand: Option<Text>,
    /// bootparams as xCAT's last nodeset left them.
    pub kernel: Option<Text>,
    pub initrd: Option<Text>,
    pub kcmdline: Option<Text>,
    pub addkcmdline: Option<Text>,
}

/// An osimage (osimage + linuximage tables).
#[derive(Debug, Clone, Default)]
pub struct ImageFacts {
    pub provmethod: Option<String>,
    pub osvers: Option<String>,
    pub osarch: Option<String>,
    pub profile: Option<String>,
    pub rootimgdir: Option<String>,
}

/// Everything the service-node steps need from the database.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub site: SiteFacts,
    /// By node name (a fast hash: up to hundreds of thousands of nodes).
    pub nodes: HashMap<String, NodeFacts, ahash::RandomState>,
    pub images: HashMap<String, ImageFacts>,
    /// Names the hosts table knows: nodes' and service nodes' `ip`, and `otherinterfaces`
    /// aliases of service nodes.
    pub hosts: HashMap<String, String>,
}

fn first_mac(v: &str) -> Option<String> {
    let m = v.split('|').next()?.split('!').next()?.trim();
    (!m.is_empty()).then(|| m.to_ascii_lowercase())
}

fn truthy(v: Option<&str>, default: bool) -> bool {
    match v.map(|s| s.trim().to_ascii_lowercase()) {
        Some(s) if s == "1" || s == "yes" || s == "y" || s == "true" => true,
        Some(s) if s == "0" || s == "no" || s == "n" || s == "false" => false,
        _ => default,
    }
}

/// Values many nodes share, each allocated once.
#[derive(Default)]
struct Interned(std::collections::HashSet<Text, ahash::RandomState>);

impl Interned {
    /// The value trimmed, None when empty.
    fn get(&mut self, v: Option<&str>) -> Option<Text> {
        let v = v.map(str::trim).filter(|s| !s.is_empty())?;
        if let Some(t) = self.0.get(v) {
            return Some(t.clone());
        }
        let t: Text = v.into();
        self.0.insert(t.clone());
        Some(t)
    }
}

/// Each node's facts from its tables, read one table at a time (by position in `nodes`).
fn node_facts(
    snap: &clusterdb::Snapshot<'_>,
    nodes: &[String],
) -> clusterdb::Result<Vec<NodeFacts>> {
    use clusterdb::{attrs, table};
    let groups = attrs::groups_of(snap, nodes)?;
    let mut all = vec![NodeFacts::default(); nodes.len()];
    let mut shared = Interned::default();
    let mut read = |t: &str, cols: &[&str], set: fn(&mut NodeFacts, [Option<Text>; 6])| {
        attrs::nodes_attribs_each(snap, table(t)?, nodes, &groups, cols, |i, v| {
            let mut vals: [Option<Text>; 6] = Default::default();
            for (slot, v) in vals.iter_mut().zip(v.iter()) {
                *slot = shared.get(v.as_deref());
            }
            set(&mut all[i], vals);
        })
    };
    let noderes = [
        "servicenode",
        "netboot",
        "tftpserver",
        "tftpdir",
        "nfsserver",
        "xcatmaster",
    ];
    read("noderes", &noderes, |f, [a, b, c, d, e, g]| {
        (f.servicenode, f.netboot, f.tftpserver) = (a, b, c);
        (f.tftpdir, f.nfsserver, f.xcatmaster) = (d, e, g);
    })?;
    read(
        "nodetype",
        &["os", "arch", "profile", "provmethod"],
        |f, [a, b, c, d, ..]| {
            (f.os, f.arch, f.profile, f.provmethod) = (a, b, c, d);
        },
    )?;
    read("nodelist", &["status"], |f, [a, ..]| f.status = a)?;
    let nodehm = ["cons", "conserver", "consoleondemand"];
    read("nodehm", &nodehm, |f, [a, b, c, ..]| {
        (f.cons, f.conserver, f.consoleondemand) = (a, b, c);
    })?;
    let bootparams = ["kernel", "initrd", "kcmdline", "addkcmdline"];
    read("bootparams", &bootparams, |f, [a, b, c, d, ..]| {
        (f.kernel, f.initrd, f.kcmdline, f.addkcmdline) = (a, b, c, d);
    })?;
    attrs::nodes_attribs_each(snap, table("mac")?, nodes, &groups, &["mac"], |i, v| {
        all[i].mac = v[0].as_deref().and_then(first_mac).map(Text::from);
    })?;
    Ok(all)
}

/// Read the facts for `nodes` from one consistent snapshot.
pub fn load_facts(snap: &clusterdb::Snapshot<'_>, nodes: &[String]) -> clusterdb::Result<Facts> {
    load(snap, nodes, true)
}

/// [`load_facts`] for a takeover's batch: the nodes' own addresses come with their moves
/// ([`NodeTarget::ip`]), so only the servers' are read (`Facts::hosts` has no node unless it
/// is also a server).
pub fn load_facts_for_moves(
    snap: &clusterdb::Snapshot<'_>,
    nodes: &[String],
) -> clusterdb::Result<Facts> {
    load(snap, nodes, false)
}

fn load(
    snap: &clusterdb::Snapshot<'_>,
    nodes: &[String],
    node_addresses: bool,
) -> clusterdb::Result<Facts> {
    use clusterdb::backend::Filter;
    use clusterdb::table;
    let mut facts = Facts::default();
    let mut images: BTreeSet<String> = BTreeSet::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    facts.nodes.reserve(nodes.len());
    for (n, f) in nodes.iter().zip(node_facts(snap, nodes)?) {
        if let Some(pm) = &f.provmethod {
            if ImageKind::parse(pm).is_none() && !images.contains(&**pm) {
                images.insert(pm.to_string());
            }
        }
        // Most nodes name the same servers: a name is copied only the first time.
        let servers = [&f.servicenode, &f.tftpserver, &f.nfsserver, &f.conserver];
        let listed = servers.into_iter().flatten().flat_map(|s| s.split(','));
        for x in listed.map(str::trim).chain(f.xcatmaster.as_deref()) {
            if !names.contains(x) {
                names.insert(x.to_string());
            }
        }
        facts.nodes.insert(n.clone(), f);
    }
    if !images.is_empty() {
        let keys: Vec<String> = images.into_iter().collect();
        let filter = || Filter::In {
            column: "imagename",
            keys: &keys,
        };
        for r in snap.select(
            table("osimage")?,
            &["imagename", "provmethod", "osvers", "osarch", "profile"],
            filter(),
        )? {
            let Some(name) = r[0].clone() else { continue };
            let e = facts.images.entry(name).or_default();
            e.provmethod = r[1].clone();
            e.osvers = r[2].clone();
            e.osarch = r[3].clone();
            e.profile = r[4].clone();
        }
        for r in snap.select(table("linuximage")?, &["imagename", "rootimgdir"], filter())? {
            let Some(name) = r[0].clone() else { continue };
            facts.images.entry(name).or_default().rootimgdir = r[1].clone();
        }
    }
    // Addresses of the nodes and of the servers they name.
    let idx = snap.index()?;
    let servers: BTreeSet<String> = names.into_iter().filter(|n| idx.contains(n)).collect();
    let mut keys: Vec<String> = nodes.to_vec();
    keys.extend(servers.iter().cloned());
    keys.sort();
    keys.dedup();
    facts.hosts = match node_addresses {
        true => host_addresses(snap, &keys)?,
        false => server_addresses(snap, &keys, &servers)?,
    };
    let site = |k: &str| -> clusterdb::Result<Option<String>> {
        Ok(snap
            .site(k)?
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()))
    };
    facts.site = SiteFacts {
        dhcpbackend: site("dhcpbackend")?,
        tftpdir: site("tftpdir")?.unwrap_or_else(|| "/tftpboot".into()),
        master: site("master")?,
        xcatdport: site("xcatdport")?
            .and_then(|p| p.parse().ok())
            .unwrap_or(3001),
        httpport: site("httpport")?.and_then(|p| p.parse().ok()).unwrap_or(80),
        installdir: site("installdir")?.unwrap_or_else(|| "/install".into()),
        consoleondemand: truthy(site("consoleondemand")?.as_deref(), false),
        sharedtftp: truthy(site("sharedtftp")?.as_deref(), true),
    };
    Ok(facts)
}

/// The hosts table's names for `keys`: each key's `ip`, and its `otherinterfaces` aliases, in
/// key order (a key's own address wins over an alias of the same name; the first alias wins
/// over later ones).
fn host_addresses(
    snap: &clusterdb::Snapshot<'_>,
    keys: &[String],
) -> clusterdb::Result<HashMap<String, String>> {
    use clusterdb::{attrs, table};
    let mut out = HashMap::with_capacity(keys.len());
    let groups = attrs::groups_of(snap, keys)?;
    let cols = ["ip", "otherinterfaces"];
    attrs::nodes_attribs_each(snap, table("hosts")?, keys, &groups, &cols, |i, v| {
        let n = &keys[i];
        if let Some(ip) = v[0].as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            out.insert(n.clone(), ip.to_string());
        }
        for (name, ip) in clusterdb::hosts::other_interfaces(n, v[1].as_deref().unwrap_or("")) {
            out.entry(name).or_insert_with(|| ip.to_string());
        }
    })?;
    Ok(out)
}

/// [`host_addresses`] with the `ip` of the `servers` among `keys` only (an expression giving
/// each node's address is not evaluated for the others); every key's aliases still count.
fn server_addresses(
    snap: &clusterdb::Snapshot<'_>,
    keys: &[String],
    servers: &BTreeSet<String>,
) -> clusterdb::Result<HashMap<String, String>> {
    use clusterdb::{attrs, table};
    let hosts = table("hosts")?;
    let listed: Vec<String> = servers.iter().cloned().collect();
    let mut ips = HashMap::new();
    let groups = attrs::groups_of(snap, &listed)?;
    attrs::nodes_attribs_each(snap, hosts, &listed, &groups, &["ip"], |i, v| {
        if let Some(ip) = v[0].as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            ips.insert(listed[i].as_str(), ip.to_string());
        }
    })?;
    let mut out = HashMap::with_capacity(ips.len());
    let groups = attrs::groups_of(snap, keys)?;
    attrs::nodes_attribs_each(snap, hosts, keys, &groups, &["otherinterfaces"], |i, v| {
        let n = &keys[i];
        if let Some(ip) = ips.remove(n.as_str()) {
            out.insert(n.clone(), ip);
        }
        for (name, ip) in clusterdb::hosts::other_interfaces(n, v[0].as_deref().unwrap_or("")) {
            out.entry(name).or_insert_with(|| ip.to_string());
        }
    })?;
    Ok(out)
}

/// Reads the facts for some nodes (a fresh snapshot, after the takeover's commit).
pub type Loader = Box<dyn FnMut(&[String]) -> Result<Facts, String>>;

/// Files on the service nodes (xCAT's paths) and on the management node.
#[derive(Debug, Clone)]
pub struct Paths {
    pub dhcpd_conf: String,
    pub kea_conf: String,
    pub conserver_cf: String,
    /// The management node's conserver.cf, for `master <sn>` entries; None: left alone.
    pub mn_conserver_cf: Option<PathBuf>,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            dhcpd_conf: "/etc/dhcp/dhcpd.conf".into(),
            kea_conf: "/etc/kea/kea-dhcp4.conf".into(),
            conserver_cf: "/etc/conserver.cf".into(),
            mn_conserver_cf: Some("/etc/conserver.cf".into()),
        }
    }
}

/// Which configs a `cleanup-old-sn` step removes the nodes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub dhcp: bool,
    pub consoles: bool,
    pub bootfiles: bool,
}

impl Parts {
    pub const ALL: Parts = Parts {
        dhcp: true,
        consoles: true,
        bootfiles: true,
    };
}

pub struct SnRunner {
    pub fanout: FanOut,
    pub templates: Templates,
    pub loader: Loader,
    pub paths: Paths,
    /// Boot files for an install image load the installer even on an installed node (an
    /// explicit `baton nodeset`); otherwise an installed node boots from its disk.
    pub rearm_installs: bool,
    /// What a `cleanup-old-sn` step removes (all of it for a takeover; `makedhcp -d` only
    /// DHCP, ...).
    pub cleanup: Parts,
    /// Consoles steps also write the management node's `master` entries (and only those
    /// with `mn_only`, as `makeconservercf -l`).
    pub mn_only_consoles: bool,
    /// A takeover's cleanup: it keeps the entries of nodes the old service node serves again
    /// (moved back before the cleanup ran), and leaves a shared tftp directory
    /// (`site.sharedtftp`) alone. False for an explicit delete (`makedhcp -d`, ...).
    pub takeover_cleanup: bool,
    /// A cleanup also removes the nodes' blocks from the management node's conserver.cf
    /// (`makeconservercf -d`).
    pub cleanup_mn_consoles: bool,
    /// How to run the script on this host (the management node's conserver.cf): `sh`.
    pub local_shell: Vec<String>,
    /// The most the management node's console step may take (its `conserver -S` check and
    /// SIGHUP included); past it the step is stopped and its nodes fail with the reason.
    pub mn_timeout: std::time::Duration,
}

/// Read a site's template overrides (`<dir>/<name>.j2`); a missing directory gives the
/// built-in templates.
pub fn load_templates(dir: &Path) -> Result<Templates, String> {
    let mut own = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            let Some(name) = p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".j2"))
            else {
                continue;
            };
            if render::TEMPLATE_NAMES.contains(&name) {
                let src =
                    std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                own.push((name.to_string(), src));
            }
        }
    }
    Templates::with_overrides(own).map_err(|e| format!("{}: {e}", dir.display()))
}

/// One operation of the script, with its share of standard input.
#[derive(Default)]
struct Ops {
    args: Vec<String>,
    stdin: Vec<u8>,
}

impl Ops {
    fn push(&mut self, op: &str, tag: &str, params: &[String], data: &[&[u8]]) {
        self.args.push(op.into());
        self.args.push(tag.into());
        self.args.extend(params.iter().cloned());
        for d in data {
            self.args.push(d.len().to_string());
            self.stdin.extend_from_slice(d);
        }
    }

    /// An op with one data section that `fill` writes straight into standard input (no copy
    /// of a section that can be a hundred megabytes); `fill` says whether to keep the op
    /// (false: what it wrote is dropped).
    fn push_filled(
        &mut self,
        op: &str,
        tag: &str,
        params: &[String],
        fill: impl FnOnce(&mut Vec<u8>) -> bool,
    ) -> bool {
        let start = self.stdin.len();
        if !fill(&mut self.stdin) {
            self.stdin.truncate(start);
            return false;
        }
        let len = self.stdin.len() - start;
        self.args.push(op.into());
        self.args.push(tag.into());
        self.args.extend(params.iter().cloned());
        self.args.push(len.to_string());
        true
    }
}

/// A file operation record for the script's `files` op.
fn file_record(out: &mut Vec<u8>, tag: &str, op: &FileOp) {
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = match op {
        FileOp::Put { path, content } => writeln!(out, "put {tag} {path} {}", content.len())
            .and_then(|()| out.write_all(content.as_bytes())),
        FileOp::Symlink { path, target } => writeln!(out, "link {tag} {path} {target}"),
        FileOp::Hardlink { path, target } => writeln!(out, "hard {tag} {path} {target}"),
        FileOp::Remove { path } => writeln!(out, "rm {tag} {path}"),
    };
}

/// A word the script can take as one field: no whitespace, no control characters.
fn plain(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b > b' ' && b != 0x7f)
}

fn valid_mac(m: &str) -> bool {
    let parts: Vec<&str> = m.split(':').collect();
    parts.len() >= 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn valid_word(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// How a node-facing server name is written in the node's files: an address where baton
/// knows one.
struct Addresses<'a> {
    facts: &'a Facts,
    local: Option<&'a remote::resolve::SystemResolver>,
}

impl Addresses<'_> {
    fn of(&self, name: &str, t: &NodeTarget<'_>) -> String {
        if name == t.xcatmaster {
            if let Some(ip) = t.xcatmaster_ip {
                return ip.to_string();
            }
        }
        self.facts
            .address_of(name, self.local, false)
            .unwrap_or_else(|| name.to_string())
    }
}

impl Facts {
    /// A name's address in the order COMPAT.md gives (as the planner resolves): a literal
    /// address, then /etc/hosts (`local`), then the hosts table, then DNS when `dns`.
    pub fn address_of(
        &self,
        name: &str,
        local: Option<&remote::resolve::SystemResolver>,
        dns: bool,
    ) -> Option<String> {
        if name.parse::<std::net::IpAddr>().is_ok() {
            return Some(name.to_string());
        }
        local
            .and_then(|r| r.from_hosts_file(name))
            .map(|ip| ip.to_string())
            .or_else(|| self.hosts.get(name).cloned())
            .or_else(|| {
                let r = local.filter(|_| dns)?;
                r.from_dns(name).map(|ip| ip.to_string())
            })
    }
}

/// The node's boot mode by xCAT's rules, never re-arming an installed node's install.
fn boot_mode(
    facts: &Facts,
    f: &NodeFacts,
    m: &NodeTarget<'_>,
    provmethod: &str,
    addr: &Addresses<'_>,
    rearm: bool,
) -> Result<BootMode, String> {
    if provmethod == "boot" {
        return Ok(BootMode::Local);
    }
    let image = facts.images.get(provmethod);
    let kind = ImageKind::parse(provmethod)
        .or_else(|| {
            image
                .and_then(|i| i.provmethod.as_deref())
                .and_then(ImageKind::parse)
        })
        .or_else(|| ImageKind::from_image_name(provmethod))
        .ok_or_else(|| {
            format!("cannot tell whether provmethod '{provmethod}' is an install, netboot or statelite image")
        })?;
    let os = image
        .and_then(|i| i.osvers.clone())
        .or_else(|| f.os.as_deref().map(str::to_string));
    let arch = image
        .and_then(|i| i.osarch.clone())
        .or_else(|| f.arch.as_deref().map(str::to_string));
    let profile = image
        .and_then(|i| i.profile.clone())
        .or_else(|| f.profile.as_deref().map(str::to_string));
    let name = if ImageKind::parse(provmethod).is_some() {
        format!(
            "{}-{}-{}-{}",
            os.as_deref().unwrap_or("unknown"),
            arch.as_deref().unwrap_or("unknown"),
            kind.name(),
            profile.as_deref().unwrap_or("compute")
        )
    } else {
        provmethod.to_string()
    };
    let master = m.xcatmaster_ip.unwrap_or(m.xcatmaster).to_string();
    let nfs = f
        .nfsserver
        .as_deref()
        .map(|s| addr.of(s, m))
        .unwrap_or_else(|| master.clone());
    let imgsrv = f
        .nfsserver
        .as_deref()
        .or(f.tftpserver.as_deref())
        .map(|s| addr.of(s, m))
        .unwrap_or_else(|| master.clone());
    let target = KcmdlineTarget {
        node: m.node.to_string(),
        master,
        xcatdport: facts.site.xcatdport,
        imgsrv,
        nfs,
        http_port: facts.site.httpport,
    };
    let stored = |default_initrd: &str| -> (String, String, Option<String>) {
        let kernel = f
            .kernel
            .as_deref()
            .map_or_else(|| format!("xcat/osimage/{name}/kernel"), str::to_string);
        let initrd = f.initrd.as_deref().map_or_else(
            || format!("xcat/osimage/{name}/{default_initrd}"),
            str::to_string,
        );
        let cmd = f.kcmdline.as_deref().map(|k| {
            let mut k = repoint_kcmdline(k, &target);
            if let Some(add) = &f.addkcmdline {
                k.push(' ');
                k.push_str(&repoint_kcmdline(add, &target));
            }
            k
        });
        (kernel, initrd, cmd)
    };
    match kind {
        ImageKind::Install => {
            let installing = f.status.as_deref() == Some("installing");
            if !(rearm || installing) {
                return Ok(BootMode::Local);
            }
            match (&f.kernel, stored("initrd.img")) {
                (Some(_), (kernel, initrd, Some(kcmdline))) => Ok(BootMode::Net {
                    state: format!("install {name}"),
                    kernel,
                    initrd,
                    kcmdline,
                }),
                _ if rearm => Err(format!(
                    "no install kernel and command line in bootparams for {} (run xCAT's nodeset once to prepare the install)",
                    m.node
                )),
                _ => Ok(BootMode::Local),
            }
        }
        ImageKind::Netboot | ImageKind::Statelite => {
            let initrd_name = if kind == ImageKind::Statelite {
                "initrd-statelite.gz"
            } else {
                "initrd-stateless.gz"
            };
            let (kernel, initrd, cmd) = stored(initrd_name);
            let kcmdline = match cmd {
                Some(k) => k,
                None => {
                    let rootimgdir =
                        image.and_then(|i| i.rootimgdir.clone()).unwrap_or_else(|| {
                            format!(
                                "{}/netboot/{}/{}/{}",
                                facts.site.installdir.trim_end_matches('/'),
                                os.as_deref().unwrap_or("unknown"),
                                arch.as_deref().unwrap_or("unknown"),
                                profile.as_deref().unwrap_or("compute")
                            )
                        });
                    default_kcmdline(kind, &rootimgdir, &target)
                }
            };
            Ok(BootMode::Net {
                state: format!("{} {name}", kind.name()),
                kernel,
                initrd,
                kcmdline,
            })
        }
    }
}

/// The per-node outcome of a batch, before it is folded into step results.
type NodeResults = BTreeMap<usize, BTreeMap<String, NodeOutcome>>;

impl SnRunner {
    fn tftpdir(&self, facts: &Facts, f: Option<&NodeFacts>) -> String {
        f.and_then(|f| f.tftpdir.as_deref().map(str::to_string))
            .unwrap_or_else(|| facts.site.tftpdir.clone())
    }

    fn backend(&self, facts: &Facts) -> &'static str {
        match facts.site.dhcpbackend.as_deref() {
            Some(b) if b.eq_ignore_ascii_case("kea") => "kea",
            Some(_) => "isc",
            None => "auto",
        }
    }

    fn header(&self, facts: &Facts) -> Result<String, String> {
        let trusted: Vec<String> = facts
            .site
            .master
            .iter()
            .filter(|m| plain(m))
            .cloned()
            .collect();
        self.templates
            .conserver_header(&trusted, facts.site.consoleondemand)
    }

    /// The management node's `master <sn>` entries for nodes whose console the SN now serves;
    /// run locally with the same script. Ok, or why not.
    fn mn_consoles(
        &self,
        facts: &Facts,
        sn: &str,
        nodes: &[String],
        remove: bool,
    ) -> Result<(), String> {
        let Some(cf) = &self.paths.mn_conserver_cf else {
            return Ok(());
        };
        let cf = cf.to_string_lossy().to_string();
        if !remote::is_plain_path(&cf) {
            return Err(format!("{cf} is not a plain absolute path"));
        }
        if !remote::is_valid_host(sn) {
            return Err(format!("'{sn}' is not a valid host name"));
        }
        let mut blocks = String::new();
        for n in nodes.iter().filter(|_| !remove) {
            blocks.push_str(&self.templates.conserver_master(n, sn)?);
        }
        let header = self.header(facts)?;
        let list = format!("{}\n", nodes.join(" "));
        let mut ops = Ops::default();
        ops.push(
            "cons",
            "mn",
            &[cf, "0".into()],
            &[list.as_bytes(), header.as_bytes(), blocks.as_bytes()],
        );
        let out = run_local(&self.local_shell, &ops, self.mn_timeout)?;
        match crate::parse_report(&out).remove("mn") {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(format!("management node: {e}")),
            None => Err(format!("management node: no report: {out}")),
        }
    }
}

/// The script's `BATON-TIME <op> <tag> <ns>` lines (when each operation started, and the
/// end) as each operation's milliseconds, at debug level: where a batch's time goes.
fn log_timings(sn: &str, stdout: &str) {
    let marks: Vec<(&str, u128)> = stdout
        .lines()
        .filter_map(|l| {
            let mut w = l.strip_prefix("BATON-TIME ")?.rsplitn(2, ' ');
            let ns = w.next()?.parse().ok()?;
            Some((w.next()?, ns))
        })
        .collect();
    for pair in marks.windows(2) {
        let ms = pair[1].1.saturating_sub(pair[0].1) / 1_000_000;
        tracing::debug!(sn = %sn, op = pair[0].0, ms = ms as u64, "service-node operation ran");
    }
}

/// Run the service-node script on this host (the management node's own files), in a process
/// group of its own that is killed whole when it takes longer than `limit`.
fn run_local(shell: &[String], ops: &Ops, limit: std::time::Duration) -> Result<String, String> {
    use std::io::{Read, Write};
    let (prog, pre) = shell.split_first().ok_or("no local shell")?;
    let mut child = remote::child_of_baton(std::process::Command::new(prog).args(pre))
        .arg("-c")
        .arg(SN_SCRIPT)
        .arg("baton")
        .args(&ops.args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    let data = ops.stdin.clone();
    let mut stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let Some(w) = stdin.as_mut() {
            let _ = w.write_all(&data);
        }
    });
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(r) = stdout.as_mut() {
            let _ = r.read_to_end(&mut out);
        }
        out
    });
    let deadline = std::time::Instant::now() + limit;
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(_) => break,
            None if std::time::Instant::now() >= deadline => {
                // SAFETY: signals the process group this function created; no memory involved.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.wait();
                return Err(format!(
                    "the console step on this host did not finish within {} s and was stopped (its conserver.cf may or may not be written; `baton resume` redoes it)",
                    limit.as_secs()
                ));
            }
            None => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    let _ = feeder.join();
    let out = reader.join().unwrap_or_default();
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A batch ready for its service node: what was sent for which node, and the ssh job (none
/// when nothing is to be done there).
struct Prepared {
    sn: String,
    facts: Facts,
    sent: BTreeMap<usize, Vec<String>>,
    consoled: BTreeMap<usize, Vec<String>>,
    results: NodeResults,
    job: Option<Job>,
}

impl SnRunner {
    /// Read the facts and build the batch's one session; Err: every step's result already
    /// (the database could not be read).
    fn prepare(
        &mut self,
        targets: &Targets<'_>,
        steps: &[Step],
    ) -> Result<Prepared, Vec<StepResult>> {
        let sn = steps.first().map(|s| s.sn.clone()).unwrap_or_default();
        let mut nodes: Vec<&String> = steps.iter().flat_map(|s| &s.nodes).collect();
        nodes.sort();
        nodes.dedup();
        let nodes: Vec<String> = nodes.into_iter().cloned().collect();
        let started = std::time::Instant::now();
        // Address steps need nothing from the database: an adoption waits for no read.
        let loaded = match steps.iter().all(|s| s.kind.is_address()) {
            true => Ok(Facts::default()),
            false => (self.loader)(&nodes),
        };
        let facts = match loaded {
            Ok(f) => f,
            Err(e) => {
                return Err(steps
                    .iter()
                    .map(|s| StepResult {
                        state: StepState::Failed,
                        detail: format!("{}: cannot read the cluster database: {e}", s.describe()),
                        results: s
                            .nodes
                            .iter()
                            .map(|n| (n.clone(), NodeOutcome::failed(&e)))
                            .collect(),
                    })
                    .collect())
            }
        };
        let facts_ms = started.elapsed().as_millis() as u64;
        let compile::Compiled {
            mut ops,
            sent,
            consoled,
            pre: results,
        } = self.build(&facts, targets, steps);
        // The growth slack of a buffer that can be a hundred megabytes.
        ops.stdin.shrink_to_fit();
        tracing::debug!(
            sn = %sn,
            nodes = nodes.len(),
            facts_ms,
            ms = started.elapsed().as_millis() as u64,
            payload_bytes = ops.stdin.len(),
            "service-node batch: facts read and input built"
        );

        let job = (!ops.args.is_empty()).then(|| {
            let mut args = vec![
                "sh".to_string(),
                "-c".to_string(),
                SN_SCRIPT.to_string(),
                "baton".to_string(),
            ];
            args.extend(ops.args);
            Job {
                host: sn.clone(),
                jump: None,
                args,
                // Moved, not copied: for 100,000 nodes it is a few hundred megabytes.
                stdin: ops.stdin,
            }
        });
        Ok(Prepared {
            sn,
            facts,
            sent,
            consoled,
            results,
            job,
        })
    }

    /// Each step's result from what the service node reported (`outcome`: its session's
    /// result, None when no session ran), after the management node's console entries.
    fn finish(
        &self,
        steps: &[Step],
        p: Prepared,
        ran: bool,
        outcome: Option<HostResult>,
    ) -> Vec<StepResult> {
        let Prepared {
            sn,
            facts,
            sent,
            consoled,
            mut results,
            ..
        } = p;
        let heard = Heard::of(&sn, ran, outcome);
        for (i, names) in sent {
            let lite = steps[i].kind == StepKind::StateliteSync;
            let whole = heard.report.get(&i.to_string());
            // One outcome (one reason) shared by the nodes with no report line of their own.
            let shared = heard.without_own(&sn, whole, lite);
            let per = results.entry(i).or_default();
            for n in names {
                let r = heard.outcome(i, &n, whole, &shared);
                per.insert(n, r);
            }
        }
        self.mn_entries(steps, &facts, &consoled, &mut results);
        steps
            .iter()
            .enumerate()
            .map(|(i, s)| step_result(s, results.remove(&i).unwrap_or_default()))
            .collect()
    }

    /// The management node's entries, for the consoles the SN now serves (or no longer does):
    /// only for nodes whose SN-side step is done.
    fn mn_entries(
        &self,
        steps: &[Step],
        facts: &Facts,
        consoled: &BTreeMap<usize, Vec<String>>,
        results: &mut NodeResults,
    ) {
        for (i, s) in steps.iter().enumerate() {
            let remove = match s.kind {
                StepKind::Consoles => false,
                StepKind::CleanupOldSn => true,
                _ => continue,
            };
            let per = results.entry(i).or_default();
            let ready: Vec<String> = consoled
                .get(&i)
                .into_iter()
                .flatten()
                .filter(|n| per.get(*n).is_some_and(NodeOutcome::is_done))
                .cloned()
                .collect();
            if ready.is_empty() {
                continue;
            }
            if let Err(e) = self.mn_consoles(facts, &s.sn, &ready, remove) {
                let failed = NodeOutcome::failed(&e);
                for n in ready {
                    per.insert(n, failed.clone());
                }
            }
        }
    }
}

/// What came back from a service node's session.
struct Heard {
    /// Its report lines: `STEP/NODE` or `STEP` → ok or why not.
    report: HashMap<String, Result<(), String>>,
    /// Why the session as a whole failed, if it did.
    session: Option<String>,
    /// The SN could not be reached: the reason, and the reason for a statelite copy.
    down: Option<(Reason, Reason)>,
}

impl Heard {
    fn of(sn: &str, ran: bool, outcome: Option<HostResult>) -> Heard {
        let mut h = Heard {
            report: HashMap::new(),
            session: None,
            down: None,
        };
        match outcome {
            _ if !ran => {}
            Some(HostResult::Ok { stdout }) => {
                h.report = crate::parse_report(&stdout);
                if !h.report.is_empty() && !stdout.lines().any(|l| l == "BATON end") {
                    h.report.retain(|_, r| r.is_err());
                    h.session = Some("the script stopped before its end".into());
                }
                log_timings(sn, &stdout);
            }
            Some(HostResult::Failed {
                code,
                stdout,
                stderr,
            }) => {
                h.report = crate::parse_report(&stdout);
                h.report.retain(|_, r| r.is_err());
                h.session = Some(format!("exit {code}: {stderr}"));
            }
            // One reason shared by every node of an unreachable SN.
            Some(HostResult::Unreachable { reason }) => {
                h.down = Some((
                    format!("{sn}: {reason}").into(),
                    format!("{sn}: {reason}: the node's statelite persistent files are only there; they are copied when it is back (baton resume)").into(),
                ))
            }
            None => h.session = Some("no result".into()),
        }
        h
    }

    /// The outcome of a node of a step with no report line of its own (`whole`: the step's).
    fn without_own(&self, sn: &str, whole: Option<&Result<(), String>>, lite: bool) -> NodeOutcome {
        if let Some((down, lite_down)) = &self.down {
            return NodeOutcome::Unreachable(if lite { lite_down } else { down }.clone());
        }
        match (whole, &self.session) {
            (Some(Err(e)), _) => NodeOutcome::failed(e),
            (Some(Ok(())), _) => NodeOutcome::Done,
            (None, Some(s)) => NodeOutcome::failed(format_args!("{sn}: {s}")),
            (None, None) => {
                NodeOutcome::pending(format_args!("no report from {sn} (did it run the script?)"))
            }
        }
    }

    /// Node `n` of step `i` (`whole`: the step's own report line; `shared`: the outcome
    /// without a line of the node's own, [`Heard::without_own`]).
    fn outcome(
        &self,
        i: usize,
        n: &str,
        whole: Option<&Result<(), String>>,
        shared: &NodeOutcome,
    ) -> NodeOutcome {
        if self.down.is_some() || self.report.is_empty() {
            return shared.clone();
        }
        match (self.report.get(&format!("{i}/{n}")), whole) {
            (Some(Err(e)), _) => NodeOutcome::failed(e),
            // The step's own line says it failed: that is the node's outcome too.
            (Some(Ok(())), Some(Err(_))) | (None, _) => shared.clone(),
            (Some(Ok(())), _) => NodeOutcome::Done,
        }
    }
}

/// A step's result from its nodes' outcomes (a node with none was not run).
fn step_result(s: &Step, mut per: BTreeMap<String, NodeOutcome>) -> StepResult {
    let (mut failed, mut waiting) = (0, 0);
    let not_run = NodeOutcome::failed("not run");
    for n in &s.nodes {
        // Looked up before a key is made: nearly every node has its outcome already.
        let r = match per.get(n) {
            Some(r) => r,
            None => per.entry(n.clone()).or_insert_with(|| not_run.clone()),
        };
        if r.is_failed() {
            failed += 1;
        } else if !r.is_done() {
            waiting += 1;
        }
    }
    let state = StepState::of_nodes(failed, waiting);
    let mut detail = s.describe();
    if failed + waiting > 0 {
        let first = per
            .values()
            .find(|r| !r.is_done())
            .map(|r| r.to_string())
            .unwrap_or_default();
        detail.push_str(&format!(": {failed} failed, {waiting} pending ({first})"));
    }
    StepResult {
        state,
        detail,
        results: per,
    }
}

impl takeover::StepRunner for SnRunner {
    fn run(&mut self, plan: &Plan, steps: &[Step]) -> Vec<StepResult> {
        self.run_wave(plan, &[steps.to_vec()])
            .pop()
            .unwrap_or_default()
    }

    fn run_wave(&mut self, plan: &Plan, batches: &[Vec<Step>]) -> Vec<Vec<StepResult>> {
        let targets: Targets<'_> = plan
            .nodes
            .iter()
            .map(|m| (m.node.as_str(), NodeTarget::of_move(m)))
            .collect();
        self.run_targets_wave(&targets, batches)
    }
}

impl SnRunner {
    /// One batch of steps for `targets` (nodes served where they are: makedhcp, nodeset,
    /// makeconservercf), without a plan.
    pub fn run_targets(&mut self, targets: &[NodeTarget<'_>], steps: &[Step]) -> Vec<StepResult> {
        let targets: Targets<'_> = targets.iter().map(|t| (t.node, *t)).collect();
        self.run_targets_wave(&targets, &[steps.to_vec()])
            .pop()
            .unwrap_or_default()
    }

    /// Each batch's facts are read and its input built in turn; then the service nodes' ssh
    /// sessions run at once; the results (and the management node's own console entries, one
    /// file) are handled in order.
    fn run_targets_wave(
        &mut self,
        targets: &Targets<'_>,
        batches: &[Vec<Step>],
    ) -> Vec<Vec<StepResult>> {
        let mut prepared: Vec<Result<Prepared, Vec<StepResult>>> =
            batches.iter().map(|b| self.prepare(targets, b)).collect();
        let jobs: Vec<Job> = prepared
            .iter_mut()
            .filter_map(|p| p.as_mut().ok().and_then(|p| p.job.take()))
            .collect();
        let ran: Vec<String> = jobs.iter().map(|j| j.host.clone()).collect();
        let mut outcomes = self.fanout.run(jobs, &|_, _| {});
        batches
            .iter()
            .zip(prepared)
            .map(|(steps, p)| match p {
                Err(results) => results,
                Ok(p) => {
                    let outcome = outcomes.remove(&p.sn);
                    let ran = ran.contains(&p.sn);
                    self.finish(steps, p, ran, outcome)
                }
            })
            .collect()
    }
}

/// What the script's `dad` op said: None when no other host answers ARP for the address, the
/// host that does, or why it could not tell.
pub fn address_check(stdout: &str) -> Result<Option<String>, String> {
    match crate::parse_report(stdout).remove("0") {
        Some(Ok(())) => Ok(None),
        Some(Err(e)) => match e.strip_prefix("answered by ") {
            Some(who) => Ok(Some(who.to_string())),
            None => Err(e),
        },
        None => Err(format!("no answer from the check: {}", stdout.trim())),
    }
}

mod compile;
#[cfg(test)]
mod tests;
