//! `baton fence SN`: power a service node off through its own BMC (its `ipmi` row, from this
//! host, never through another SN) and confirm `Chassis Power is off`; what `baton watch
//! --fence ipmi` runs before a takeover. Exit 0 only when the power-off is confirmed.

use crate::exit::Failure;
use clap::Args;
use clusterdb::{ClusterDb, DbUrl};
use std::time::{Duration, Instant};

const FENCE_HELP: &str = "\
WHAT IT DOES
  Powers the service node off through its own BMC (its ipmi table row: ipmi.bmc,
  ipmi.username, ipmi.password, else the passwd table's `ipmi` row), from this host, then
  asks the BMC for the power state until it answers `Chassis Power is off`. An attempt that
  fails or is not confirmed is retried, after 1, 2, 4, ... seconds (at most 16), --tries
  attempts in all. It prints `SN: off` once confirmed.

  `baton watch --fence ipmi` does the same before it hands a down service node's nodes to
  another (--fence-arg=--tries --fence-arg=3 sets its options; --fence-timeout bounds it);
  when the service node cannot be confirmed off, the watcher does not take over.

EXIT STATUS
  0 the service node is confirmed off; 1 it could not be confirmed off (the reason is
  printed); 2 bad input (no such node, no BMC address).

EXAMPLES
  baton fence sn1
  baton fence sn1 --tries 3 --timeout 10";

#[derive(Args, Debug, Clone)]
#[command(after_long_help = FENCE_HELP)]
pub struct FenceArgs {
    /// The service node to power off
    #[arg(value_name = "SN")]
    pub sn: String,
    /// Attempts (power off, then power status) before giving up
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub tries: u32,
    /// Seconds one ipmitool call may take
    #[arg(long, default_value_t = 20, value_name = "SECS")]
    pub timeout: u64,
}

/// `--fence-arg` options of `baton watch --fence ipmi`, read as `baton fence`'s.
#[derive(clap::Parser, Debug)]
#[command(name = "baton fence")]
struct FenceCli {
    #[command(flatten)]
    args: FenceArgs,
}

/// One attempt: power off, then the state the BMC reports.
fn attempt(tool: &ipmi::Ipmitool, bmc: &ipmi::Bmc) -> Result<(), String> {
    // A BMC may refuse `off` for a node already off; the status below is what counts.
    let off = tool.run(bmc, &["chassis", "power", "off"]);
    let state = tool.run(bmc, &["chassis", "power", "status"]);
    match (state, off) {
        (Ok(s), _) if ipmi::power::power_state(&s) == Ok("off") => Ok(()),
        (Ok(s), Err(e)) => Err(format!("{e}; power status: {}", s.trim())),
        (Ok(s), Ok(_)) => Err(format!("still not off: {}", s.trim())),
        (Err(e), _) => Err(e),
    }
}

/// Power `a.sn` off through its BMC and confirm it, within `limit` if given; its name.
fn fence(url: &DbUrl, a: &FenceArgs, limit: Option<Duration>) -> Result<String, Failure> {
    if a.tries == 0 {
        return Err(Failure::usage("--tries must be at least 1"));
    }
    let deadline = limit.map(|l| Instant::now() + l);
    let mut db = ClusterDb::open(url)?;
    let nodes = crate::rpower::nodes_of(&mut db, &a.sn)?;
    let [sn] = nodes.as_slice() else {
        return Err(Failure::usage(format!(
            "'{}' names {} nodes: fence one service node at a time",
            a.sn,
            nodes.len()
        )));
    };
    let bmc = crate::hwctl::bmcs(&mut db, &nodes)?
        .remove(0)
        .map_err(|e| Failure::usage(format!("{sn}: cannot be fenced: {e}")))?;
    let mut tool = ipmi::Ipmitool {
        timeout: Duration::from_secs(a.timeout.max(1)),
        ..ipmi::Ipmitool::default()
    };
    let mut last = String::new();
    for i in 0..a.tries {
        let wait = match i {
            0 => Duration::ZERO,
            _ => Duration::from_secs(1 << (i - 1).min(4)),
        };
        // Within the watcher's --fence-timeout: no attempt that cannot finish in time.
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left <= wait + Duration::from_secs(2) {
                last = format!("out of time ({last})");
                break;
            }
            tool.timeout = tool.timeout.min((left - wait) / 2);
        }
        std::thread::sleep(wait);
        match attempt(&tool, &bmc) {
            Ok(()) => return Ok(sn.clone()),
            Err(e) => last = e,
        }
    }
    Err(Failure::failed(format!(
        "{sn}: not confirmed off after {} attempts through its BMC {}: {last}",
        a.tries, bmc.host
    )))
}

pub fn run(url: &DbUrl, a: FenceArgs) -> Result<(), Failure> {
    let sn = fence(url, &a, None)?;
    outln!("{sn}: off");
    Ok(())
}

/// `baton watch --fence ipmi [--fence-arg ...]`: the same fence, in the watcher's process (the
/// database stays with it: no child gets its URL). Bad options are refused at start.
pub fn builtin(url: &DbUrl, fence_args: &[String]) -> Result<watch::fence::Builtin, Failure> {
    let mut argv = vec!["baton fence".to_string()];
    argv.extend(fence_args.iter().cloned());
    argv.push("SN".into());
    let opts = <FenceCli as clap::Parser>::try_parse_from(&argv)
        .map_err(|e| {
            Failure::usage(format!(
                "--fence ipmi --fence-arg: {}",
                e.to_string().trim()
            ))
        })?
        .args;
    let url = url.clone();
    Ok(std::sync::Arc::new(move |sn: &str, limit: Duration| {
        let a = FenceArgs {
            sn: sn.to_string(),
            ..opts.clone()
        };
        fence(&url, &a, Some(limit))
            .map(|_| ())
            .map_err(|f| f.message)
    }))
}
