//! `baton rnetboot NORANGE [-d]`: network-boot nodes through their BMC (IPMI), as xCAT's
//! rnetboot does for ipmi-managed nodes; with `-d`, a direct boot from the node's xcatmaster.

use crate::exit::Failure;
use crate::snmove::ExecArgs;
use clap::Args;
use clusterdb::{ClusterDb, DbUrl};
use std::collections::BTreeMap;
use takeover::{Side, Step, StepKind};

const RNETBOOT_HELP: &str = "\
WHAT IT DOES
  For each node, through its BMC (ipmi.bmc, ipmi.username, ipmi.password; an empty user or
  password comes from the passwd table's `ipmi` row, else xCAT's USERID/PASSW0RD): sets the
  boot device to PXE for the next boot, then power cycles the node (powers it on when it is
  off). ipmitool does the talking (IPMI 2.0, lanplus); the password reaches it in its
  environment (ipmitool -E), never on a command line. ipmi.bmc may carry a port: HOST:PORT.
  ipmitool runs where xCAT would run it: on the node's first service node over ssh, else on
  the next one of its servicenode list, or here (site.ipmidispatch=n, or no service node);
  see `baton rpower --help`.

DIRECT BOOT (-d)
  Only the node's xcatmaster answers its DHCP request: its reservation is written on the
  service node that serves it (the first servicenode entry, else site.master) and removed from
  the other service nodes of its servicenode list, each checked with the DHCP daemon's check
  mode, before the BMC is touched. AIX nodes instead get a bootlist that boots from that server
  (bootlist -m normal DEV bserver=XCATMASTER client=NODE, over ssh): their firmware sends its
  bootp request straight to it. A node whose direct boot cannot be arranged is not booted, and
  is reported.

EXIT STATUS
  0 every node was booted; 1 some node was not (each is named with the reason); 2 bad input.

EXAMPLES
  baton rnetboot cn0001
  baton rnetboot rack01 -d --fanout 8";

#[derive(Args, Debug)]
#[command(after_long_help = RNETBOOT_HELP)]
pub struct RnetbootArgs {
    /// Direct boot: only the node's xcatmaster answers its DHCP request (and AIX's bootlist
    /// names it)
    #[arg(short = 'd', long = "direct")]
    pub direct: bool,
    /// BMCs worked on at once
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub fanout: usize,
    /// Seconds one ipmitool call may take
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub timeout: u64,
    /// The nodes
    #[arg(value_name = "NORANGE")]
    pub noderange: String,
}

/// The host that answers a node's direct boot: its service node, else site.master.
fn direct_server(n: &crate::svccmds::Standing, master: Option<&str>) -> Result<String, String> {
    let server = match n.sn.is_empty() {
        true => master.unwrap_or_default(),
        false => &n.sn,
    };
    match remote::is_valid_host(server) {
        true => Ok(server.to_string()),
        false => Err("no service node and no site.master to answer its DHCP request".into()),
    }
}

/// Per host: the nodes whose reservation it gets, the nodes it loses it for, the AIX nodes
/// whose bootlist names it.
#[derive(Default)]
struct Direct {
    add: BTreeMap<String, Vec<String>>,
    remove: BTreeMap<String, Vec<String>>,
    aix: BTreeMap<String, Vec<String>>,
}

impl Direct {
    fn steps(&self) -> Vec<Step> {
        let step = |kind: StepKind, host: &String, nodes: &Vec<String>| Step {
            id: 1,
            kind,
            sn: host.clone(),
            nodes: nodes.clone(),
            scripts: vec![],
            provmethod: None,
            aix: kind == StepKind::Bootlist,
            address: None,
        };
        let mut steps: Vec<Step> = Vec::new();
        steps.extend(self.add.iter().map(|(h, n)| step(StepKind::Dhcp, h, n)));
        steps.extend(
            self.remove
                .iter()
                .map(|(h, n)| step(StepKind::CleanupOldSn, h, n)),
        );
        steps.extend(self.aix.iter().map(|(h, n)| step(StepKind::Bootlist, h, n)));
        steps
    }
}

/// `-d`: the reservation only on the xcatmaster's service node (and AIX's bootlist naming it).
/// Returns, per node, Ok or why the direct boot could not be arranged.
fn arrange_direct(
    url: &DbUrl,
    db: &mut ClusterDb,
    nodes: &[String],
    timeout: u64,
) -> Result<BTreeMap<String, Result<(), String>>, Failure> {
    let (facts, master) = {
        let snap = db.read()?;
        (steps::sn::load_facts(&snap, nodes)?, snap.site("master")?)
    };
    let standing = crate::svccmds::standing(&facts, nodes)?;
    let mut direct = Direct::default();
    let mut out: BTreeMap<String, Result<(), String>> = BTreeMap::new();
    // Each node as it stands, served by the host that answers its direct boot.
    let mut servers: Vec<(usize, String)> = Vec::new();
    for (k, n) in standing.iter().enumerate() {
        let server = match direct_server(n, master.as_deref()) {
            Ok(s) => s,
            Err(e) => {
                out.insert(n.node.clone(), Err(e));
                continue;
            }
        };
        out.insert(n.node.clone(), Ok(()));
        servers.push((k, server.clone()));
        if n.os.as_deref() == Some("AIX") {
            // AIX firmware sends its bootp request straight to the bootlist's bserver: that
            // is the direct boot; NIM, not dhcpd, answers it.
            direct.aix.entry(server).or_default().push(n.node.clone());
            continue;
        }
        direct
            .add
            .entry(server.clone())
            .or_default()
            .push(n.node.clone());
        let f = facts.nodes.get(&n.node);
        let list = f.and_then(|f| f.servicenode.as_deref()).unwrap_or_default();
        for other in list.split(',').map(str::trim) {
            if !other.is_empty() && other != server {
                let nodes = direct.remove.entry(other.to_string()).or_default();
                nodes.push(n.node.clone());
            }
        }
    }
    let targets: Vec<steps::NodeTarget<'_>> = servers
        .iter()
        .map(|(k, server)| steps::NodeTarget {
            sn: server,
            ..standing[*k].target()
        })
        .collect();
    let exec = ExecArgs {
        node_timeout: timeout.max(1),
        ..ExecArgs::default()
    };
    let mut runner = crate::snmove::runner(url, db, &exec)?;
    runner.sn.cleanup = steps::sn::Parts {
        dhcp: true,
        consoles: false,
        bootfiles: false,
    };
    runner.sn.takeover_cleanup = false;
    for s in &direct.steps() {
        let one = std::slice::from_ref(s);
        let results = match s.kind.side() {
            Side::Sn => runner.sn.run_targets(&targets, one),
            Side::Cn => runner.cn.run_targets(&targets, one),
        };
        for r in results {
            for (n, v) in r.results {
                if !v.is_done() {
                    let what = match s.kind {
                        StepKind::Dhcp => format!("its reservation on {}", s.sn),
                        StepKind::CleanupOldSn => format!("removing its reservation from {}", s.sn),
                        _ => format!("its bootlist naming {}", s.sn),
                    };
                    out.insert(n, Err(format!("direct boot not arranged: {what}: {v}")));
                }
            }
        }
    }
    Ok(out)
}

pub fn run(url: &DbUrl, a: RnetbootArgs) -> Result<(), Failure> {
    if a.fanout == 0 {
        return Err(Failure::usage("--fanout must be at least 1"));
    }
    let mut db = ClusterDb::open(url)?;
    let nodes = crate::rpower::nodes_of(&mut db, &a.noderange)?;
    let mut results: BTreeMap<String, Result<String, String>> = BTreeMap::new();
    let mut note = |n: &str, r: Result<String, String>| {
        results.insert(n.to_string(), r);
    };
    let mut todo = crate::hwctl::jobs(&mut db, &nodes, ipmi::power::Action::Netboot, &mut note)?;
    if a.direct && !todo.is_empty() {
        let names: Vec<String> = todo.iter().map(|(j, _)| j.node.clone()).collect();
        let arranged = arrange_direct(url, &mut db, &names, a.timeout)?;
        todo.retain(|(j, _)| match arranged.get(&j.node) {
            Some(Err(e)) => {
                note(&j.node, Err(e.clone()));
                false
            }
            _ => true,
        });
    }
    let runner = crate::hwctl::Runner {
        tool: ipmi::Ipmitool {
            timeout: std::time::Duration::from_secs(a.timeout.max(1)),
            ..ipmi::Ipmitool::default()
        },
        fanout: a.fanout,
    };
    runner.run(todo, &mut note)?;
    let mut failed = Vec::new();
    for (n, r) in &results {
        match r {
            Ok(what) => outln!("{n}: {what}"),
            Err(e) => {
                outln!("{n}: failed: {e}");
                failed.push(n.as_str());
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::failed(format!(
            "{} of {} were not network-booted: {}",
            failed.len(),
            takeover::report::nodes(results.len()),
            takeover::report::compress(&failed)
        )))
    }
}
