//! makedhcp, nodeset, makeconservercf: one part of the service-node side, for a noderange, on
//! the nodes' current service nodes (the same runner as a takeover's steps, without a journal).

use crate::exit::Failure;
use crate::snmove::ExecArgs;
use clap::Args;
use clusterdb::{table, ClusterDb, DbUrl, NoderangeEnv};
use std::collections::BTreeMap;
use takeover::{Step, StepKind};

const MAKEDHCP_HELP: &str = "\
WHAT IT DOES
  Writes the DHCP reservation of each node on its service node (the first entry of
  noderes.servicenode): a host block between xCAT's `#xCAT host declaration for NODE start`
  and `end` markers in /etc/dhcp/dhcpd.conf, or a reservation in /etc/kea/kea-dhcp4.conf when
  site.dhcpbackend is kea (unset: whichever the service node runs). next-server is the node's
  tftpserver, else its xcatmaster. The new file is checked with `dhcpd -t` or `kea-dhcp4 -t`
  before it replaces the old one; dhcpd is restarted, Kea reloaded over its control socket.
  Host entries come from the `dhcpd-host` and `kea-reservation` templates
  (/etc/baton/templates/NAME.j2 overrides them).

EXAMPLES
  baton makedhcp cn0001          (re)write cn0001's reservation on its service node
  baton makedhcp rack01 -d       remove rack01's reservations
  baton makedhcp -a              every node with a MAC in the mac table";

const NODESET_HELP: &str = "\
WHAT IT DOES
  Writes each node's boot files on its service node, under site.tftpdir (/tftpboot), as
  xCAT's nodeset does for noderes.netboot: xnba (xcat/xnba/nodes/NODE and NODE.uefi), pxe
  (pxelinux.cfg/NODE and its hex-IP link) or grub2 (boot/grub2/NODE, grub.cfg-HEXIP and
  grub.cfg-01-MAC). The kernel command line is bootparams' (XCAT=, imgurl=, NFSROOT= re-pointed
  to the node's current servers), or built from the osimage.

STATES
  boot             boot from the local disk
  osimage          the node's provmethod (nodetype.provmethod)
  osimage=IMAGE    IMAGE, and nodetype.provmethod=IMAGE
  install, netboot, statelite
                   that kind of image of the node's os, arch and profile
  offline          remove the node's boot files
  An explicit install writes the installer's boot files even for an installed node (a
  takeover never does: an installed node gets `boot`).

EXAMPLES
  baton nodeset cn0001 boot
  baton nodeset rack01 osimage=rhels9.4-x86_64-netboot-compute
  baton nodeset compute osimage";

const MAKECONSERVERCF_HELP: &str = "\
WHAT IT DOES
  Writes each node's console block into /etc/conserver.cf on its conserver host
  (nodehm.conserver): `console NODE { type exec; exec /opt/xcat/share/xcat/cons/CONS NODE; }`
  between `#xCAT BEGIN NODE CONS` and `#xCAT END NODE CONS`, checked with `conserver -S`, then
  conserver rereads it (SIGHUP). The management node's conserver.cf ($BATON_CONSERVER_CF,
  default /etc/conserver.cf) gets `console NODE { type exec; master HOST; }`.

EXAMPLES
  baton makeconservercf rack01
  baton makeconservercf cn0001 -d      remove cn0001's console entries
  baton makeconservercf compute -l     only the management node's entries";

#[derive(Args, Debug)]
#[command(after_long_help = MAKEDHCP_HELP)]
pub struct MakedhcpArgs {
    /// Remove the nodes' reservations
    #[arg(short = 'd', long = "delete")]
    pub delete: bool,
    /// Every node with a MAC in the mac table
    #[arg(short = 'a', long = "all", conflicts_with = "noderange")]
    pub all: bool,
    /// (xCAT: write a new dhcpd.conf from the networks table) not supported: baton keeps the
    /// service node's own subnet configuration and manages host entries only
    #[arg(short = 'n', long = "new")]
    pub new: bool,
    /// Seconds one service node may take for its part (connection included)
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub timeout: u64,
    /// The nodes
    #[arg(value_name = "NORANGE", required_unless_present_any = ["all", "new"])]
    pub noderange: Option<String>,
}

#[derive(Args, Debug)]
#[command(after_long_help = NODESET_HELP)]
pub struct NodesetArgs {
    /// Seconds one service node may take for its part (connection included)
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub timeout: u64,
    /// The nodes
    #[arg(value_name = "NORANGE")]
    pub noderange: String,
    /// boot, osimage, osimage=IMAGE, install, netboot, statelite or offline
    #[arg(value_name = "STATE")]
    pub state: String,
}

#[derive(Args, Debug)]
#[command(after_long_help = MAKECONSERVERCF_HELP)]
pub struct MakeconservercfArgs {
    /// Remove the nodes' console entries
    #[arg(short = 'd', long = "delete")]
    pub delete: bool,
    /// Only the management node's conserver.cf
    #[arg(short = 'l', long = "local")]
    pub local: bool,
    /// Seconds one service node may take for its part (connection included)
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub timeout: u64,
    /// The nodes
    #[arg(value_name = "NORANGE")]
    pub noderange: String,
}

fn exec_of(timeout: u64) -> ExecArgs {
    ExecArgs {
        node_timeout: timeout,
        ..ExecArgs::default()
    }
}

/// Nodes of a noderange, or every node with a MAC.
fn nodes_of(db: &mut ClusterDb, range: Option<&str>) -> Result<Vec<String>, Failure> {
    let snap = db.read()?;
    match range {
        Some(r) => Ok(snap.noderange(r, &NoderangeEnv::from_env())?),
        None => {
            let rows = snap.select(
                table("mac")?,
                &["node", "mac"],
                clusterdb::backend::Filter::Enabled,
            )?;
            let idx = snap.index()?;
            let mut v: Vec<String> = rows
                .into_iter()
                .filter(|r| r[1].as_deref().is_some_and(|m| !m.trim().is_empty()))
                .filter_map(|r| r[0].clone())
                .filter(|n| idx.contains(n))
                .collect();
            v.sort();
            v.dedup();
            Ok(v)
        }
    }
}

/// A node served where it stands: its service node and xcatmaster as the database has them.
pub(crate) struct Standing {
    pub node: String,
    pub ip: Option<String>,
    /// Its first service node ("" when it has none).
    pub sn: String,
    pub xcatmaster: String,
    pub xcatmaster_ip: Option<String>,
    pub os: Option<String>,
    pub provmethod: Option<String>,
}

impl Standing {
    /// What the service-node steps need of it.
    pub fn target(&self) -> steps::sn::NodeTarget<'_> {
        steps::sn::NodeTarget {
            node: &self.node,
            ip: self.ip.as_deref(),
            sn: &self.sn,
            xcatmaster: &self.xcatmaster,
            xcatmaster_ip: self.xcatmaster_ip.as_deref(),
            old_xcatmaster_ip: None,
            gateway: None,
            statelite: &[],
        }
    }
}

/// The nodes where they stand; a node name that is not a host name is an error.
pub(crate) fn standing(
    facts: &steps::sn::Facts,
    nodes: &[String],
) -> Result<Vec<Standing>, Failure> {
    let resolver = remote::resolve::SystemResolver::new(true);
    let addr = |name: &str| facts.address_of(name, Some(&resolver), true);
    let text = |t: &Option<steps::sn::Text>| t.as_deref().map(str::to_string);
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for n in nodes {
        if !remote::is_valid_host(n) {
            bad.push(format!("node name '{n}' is not a valid host name"));
            continue;
        }
        let f = facts.nodes.get(n).cloned().unwrap_or_default();
        let sn = f
            .servicenode
            .as_deref()
            .and_then(|s| s.split(',').next())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let xm = text(&f.xcatmaster)
            .or_else(|| sn.clone())
            .unwrap_or_default();
        out.push(Standing {
            node: n.clone(),
            ip: addr(n),
            sn: sn.unwrap_or_default(),
            xcatmaster_ip: addr(&xm),
            xcatmaster: xm,
            os: text(&f.os),
            provmethod: text(&f.provmethod),
        });
    }
    if !bad.is_empty() {
        return Err(Failure::usage(bad.join("\n")));
    }
    Ok(out)
}

/// One step per target host, in name order.
fn steps_by_host(
    targets: &BTreeMap<String, Vec<String>>,
    kind: StepKind,
    provmethod: Option<&str>,
) -> Vec<Step> {
    targets
        .iter()
        .enumerate()
        .map(|(i, (host, nodes))| Step {
            id: i + 1,
            kind,
            sn: host.clone(),
            nodes: nodes.clone(),
            scripts: vec![],
            provmethod: provmethod.map(str::to_string),
            aix: false,
            address: None,
        })
        .collect()
}

/// Run each step (one ssh session per host), print what became of it; Ok when every node is
/// done.
fn run_steps(
    runner: &mut steps::sn::SnRunner,
    nodes: &[Standing],
    steps: Vec<Step>,
    what: &str,
) -> Result<(), Failure> {
    let targets: Vec<steps::sn::NodeTarget<'_>> = nodes.iter().map(Standing::target).collect();
    let mut not_done = Vec::new();
    for s in &steps {
        for r in runner.run_targets(&targets, std::slice::from_ref(s)) {
            let n = s.nodes.len();
            outln!(
                "[{}] {}: {what} for {n} node{}",
                r.state.as_str(),
                s.sn,
                if n == 1 { "" } else { "s" }
            );
            for (n, v) in &r.results {
                if !v.is_done() {
                    outln!("  {n}: {v}");
                    not_done.push(format!("{n}: {v}"));
                }
            }
        }
    }
    if not_done.is_empty() {
        Ok(())
    } else {
        Err(Failure::failed(format!(
            "{what} is not done for {}:\n{}",
            takeover::report::nodes(not_done.len()),
            not_done.join("\n")
        )))
    }
}

/// Group nodes by a host; nodes without one are an error naming them.
fn group_by(
    nodes: &[Standing],
    host: impl Fn(&Standing) -> Option<String>,
    missing: &str,
) -> Result<BTreeMap<String, Vec<String>>, Failure> {
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut without = Vec::new();
    for m in nodes {
        match host(m).filter(|h| !h.is_empty()) {
            Some(h) if remote::is_valid_host(&h) => by.entry(h).or_default().push(m.node.clone()),
            Some(h) => {
                return Err(Failure::usage(format!(
                    "{}: '{h}' is not a valid host name",
                    m.node
                )))
            }
            None => without.push(m.node.clone()),
        }
    }
    if !without.is_empty() {
        return Err(Failure::usage(format!("{missing}: {}", without.join(","))));
    }
    Ok(by)
}

fn prepare(
    url: &DbUrl,
    range: Option<&str>,
) -> Result<(ClusterDb, Vec<String>, steps::sn::Facts), Failure> {
    let mut db = ClusterDb::open(url)?;
    let nodes = nodes_of(&mut db, range)?;
    if nodes.is_empty() {
        return Err(Failure::usage("no node selected"));
    }
    let facts = {
        let snap = db.read()?;
        steps::sn::load_facts(&snap, &nodes)?
    };
    Ok((db, nodes, facts))
}

const NO_SN: &str = "these nodes have no service node (noderes.servicenode); the management node's own DHCP and boot files are xCAT's";

pub fn makedhcp(url: &DbUrl, a: MakedhcpArgs) -> Result<(), Failure> {
    if a.new {
        return Err(Failure::usage(
            "-n (a new dhcpd.conf from the networks table) is not supported: baton keeps each service node's subnet configuration and manages the host entries only",
        ));
    }
    let range = if a.all { None } else { a.noderange.as_deref() };
    let (_db, nodes, facts) = prepare(url, range)?;
    let moves = standing(&facts, &nodes)?;
    let by = group_by(&moves, |m| Some(m.sn.clone()), NO_SN)?;
    let mut runner = crate::snmove::sn_runner(url, &exec_of(a.timeout))?;
    let kind = if a.delete {
        runner.cleanup = steps::sn::Parts {
            dhcp: true,
            consoles: false,
            bootfiles: false,
        };
        runner.takeover_cleanup = false;
        StepKind::CleanupOldSn
    } else {
        StepKind::Dhcp
    };
    let what = if a.delete { "makedhcp -d" } else { "makedhcp" };
    run_steps(&mut runner, &moves, steps_by_host(&by, kind, None), what)
}

pub fn nodeset(url: &DbUrl, a: NodesetArgs) -> Result<(), Failure> {
    let state = a.state.trim();
    let (image, kind) = match state {
        "boot" => (Some("boot".to_string()), StepKind::Bootfiles),
        "offline" => (None, StepKind::CleanupOldSn),
        "osimage" => (None, StepKind::Bootfiles),
        "install" | "netboot" | "statelite" => (Some(state.to_string()), StepKind::Bootfiles),
        s if s.starts_with("osimage=") => {
            let img = s["osimage=".len()..].trim();
            if img.is_empty() || img.contains(char::is_whitespace) {
                return Err(Failure::usage(format!("bad osimage name in '{s}'")));
            }
            (Some(img.to_string()), StepKind::Bootfiles)
        }
        other => {
            return Err(Failure::usage(format!(
                "unsupported nodeset state '{other}' (boot, osimage, osimage=IMAGE, install, netboot, statelite, offline)"
            )))
        }
    };
    let (mut db, nodes, facts) = prepare(url, Some(&a.noderange))?;
    let moves = standing(&facts, &nodes)?;
    let by = group_by(&moves, |m| Some(m.sn.clone()), NO_SN)?;
    let without: Vec<&str> = moves
        .iter()
        .filter(|m| image.is_none() && kind == StepKind::Bootfiles && m.provmethod.is_none())
        .map(|m| m.node.as_str())
        .collect();
    if !without.is_empty() {
        return Err(Failure::usage(format!(
            "no provmethod (nodetype.provmethod) for: {}; give osimage=IMAGE",
            without.join(",")
        )));
    }
    if let Some(img) = state.strip_prefix("osimage=") {
        // As xCAT's nodeset: the node's provmethod becomes the image.
        let snap = db.write()?;
        {
            let mut tx = snap.tx();
            let spec = table("nodetype")?;
            for n in &nodes {
                clusterdb::objects::upsert(
                    &mut **tx,
                    spec,
                    "node",
                    n,
                    &[("provmethod", Some(img.trim().to_string()))],
                )?;
            }
        }
        snap.commit()?;
    }
    let mut runner = crate::snmove::sn_runner(url, &exec_of(a.timeout))?;
    if kind == StepKind::CleanupOldSn {
        runner.cleanup = steps::sn::Parts {
            dhcp: false,
            consoles: false,
            bootfiles: true,
        };
        runner.takeover_cleanup = false;
    }
    // An explicit nodeset may arm an install; a takeover never does.
    runner.rearm_installs = true;
    run_steps(
        &mut runner,
        &moves,
        steps_by_host(&by, kind, image.as_deref()),
        &format!("nodeset {state}"),
    )
}

pub fn makeconservercf(url: &DbUrl, a: MakeconservercfArgs) -> Result<(), Failure> {
    let (_db, nodes, facts) = prepare(url, Some(&a.noderange))?;
    let moves = standing(&facts, &nodes)?;
    let by = group_by(
        &moves,
        |m| {
            let f = facts.nodes.get(&m.node)?;
            f.conserver.as_deref().map(str::to_string)
        },
        "these nodes have no conserver host (nodehm.conserver)",
    )?;
    let mut runner = crate::snmove::sn_runner(url, &exec_of(a.timeout))?;
    runner.mn_only_consoles = a.local;
    let kind = if a.delete {
        runner.cleanup = steps::sn::Parts {
            dhcp: false,
            consoles: true,
            bootfiles: false,
        };
        runner.takeover_cleanup = false;
        runner.cleanup_mn_consoles = true;
        StepKind::CleanupOldSn
    } else {
        StepKind::Consoles
    };
    let what = match (a.delete, a.local) {
        (true, true) => "makeconservercf -d -l",
        (true, false) => "makeconservercf -d",
        (false, true) => "makeconservercf -l",
        (false, false) => "makeconservercf",
    };
    run_steps(&mut runner, &moves, steps_by_host(&by, kind, None), what)
}
