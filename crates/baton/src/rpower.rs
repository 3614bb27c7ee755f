//! `baton rpower NORANGE on|off|reset|boot|stat`: xCAT's rpower for ipmi-managed nodes, each
//! through the host that reaches its BMC (see hwctl.rs).

use crate::exit::Failure;
use crate::hwctl;
use clap::Args;
use clusterdb::{ClusterDb, DbUrl, NoderangeEnv};
use ipmi::power::Action;

const RPOWER_HELP: &str = "\
WHAT IT DOES
  Powers nodes on, off, resets them, boots them (on when off, else a hard reset) or shows
  their power state, through each node's BMC (ipmi.bmc, ipmi.username, ipmi.password; an
  empty user or password comes from the passwd table's `ipmi` row, else USERID/PASSW0RD).
  One line per node, as xCAT prints it: `cn1: on`, `cn1: off`, `cn1: reset`, or
  `cn1: Error: REASON`.

WHERE IPMITOOL RUNS
  As xCAT dispatches hardware control: on the node's service node (the first entry of
  noderes.servicenode), over ssh (BATON_SSH), one session per service node for all of its
  nodes, --fanout BMCs at a time there. The BMC password reaches ipmitool on standard input
  and in its environment (ipmitool -E), never on a command line. When that service node
  cannot be reached, the next one of the node's servicenode list does the work, and the line
  says so: `cn1: on (through sn2: sn1 unreachable)`. Nodes without a service node, and every
  node when site.ipmidispatch is n (or no, 0), are handled from this host.

EXIT STATUS
  0 every node answered; 1 some node did not (each is named with the reason); 2 bad input.

EXAMPLES
  baton rpower cn0001 stat
  baton rpower rack01 off
  baton rpower compute boot --fanout 32
  rpower cn0001-cn0010 on          (baton installed or linked as rpower)";

#[derive(Args, Debug)]
#[command(after_long_help = RPOWER_HELP)]
pub struct RpowerArgs {
    /// The nodes
    #[arg(value_name = "NORANGE")]
    pub noderange: String,
    /// on, off, reset, boot or stat (also state, status)
    #[arg(value_name = "ACTION")]
    pub action: String,
    /// BMCs worked on at once (on each service node, and on this host)
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub fanout: usize,
    /// Seconds one ipmitool call may take
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
}

/// The nodes of a noderange, checked for use on a command line.
pub fn nodes_of(db: &mut ClusterDb, noderange: &str) -> Result<Vec<String>, Failure> {
    let nodes = {
        let snap = db.read()?;
        snap.noderange(noderange, &NoderangeEnv::from_env())?
    };
    if nodes.is_empty() {
        return Err(Failure::usage("no node selected"));
    }
    if let Some(bad) = nodes.iter().find(|n| !remote::is_valid_host(n)) {
        return Err(Failure::usage(format!(
            "node name '{bad}' is not a valid host name"
        )));
    }
    Ok(nodes)
}

pub fn run(url: &DbUrl, a: RpowerArgs) -> Result<(), Failure> {
    let action = Action::parse(&a.action).ok_or_else(|| {
        Failure::usage(format!(
            "unsupported action '{}': use on, off, reset, boot or stat",
            a.action
        ))
    })?;
    if a.fanout == 0 {
        return Err(Failure::usage("--fanout must be at least 1"));
    }
    let mut db = ClusterDb::open(url)?;
    let nodes = nodes_of(&mut db, &a.noderange)?;
    let mut failed: Vec<String> = Vec::new();
    let mut each = |n: &str, r: Result<String, String>| match r {
        Ok(what) => outln!("{n}: {what}"),
        Err(e) => {
            outln!("{n}: Error: {e}");
            failed.push(n.to_string());
        }
    };
    let jobs = hwctl::jobs(&mut db, &nodes, action, &mut each)?;
    let runner = hwctl::Runner {
        tool: ipmi::Ipmitool {
            timeout: std::time::Duration::from_secs(a.timeout.max(1)),
            ..ipmi::Ipmitool::default()
        },
        fanout: a.fanout,
    };
    runner.run(jobs, &mut each)?;
    if failed.is_empty() {
        return Ok(());
    }
    failed.sort();
    let names: Vec<&str> = failed.iter().map(String::as_str).collect();
    Err(Failure::failed(format!(
        "rpower {} failed on {} of {}: {}",
        action.word(),
        failed.len(),
        takeover::report::nodes(nodes.len()),
        takeover::report::compress(&names)
    )))
}
