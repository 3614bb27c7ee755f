//! Hardware control (rpower, rnetboot, fence): each node's BMC from the database, and where
//! ipmitool runs for it. As xCAT dispatches IPMI requests: on the first service node of the
//! node's `noderes.servicenode` (one ssh session per SN, a bounded fan-out there), unless
//! `site.ipmidispatch` holds a `0` or an `n` (xCAT's test) or the node has no service node
//! (then the management node). An SN that ssh cannot reach hands its nodes to the next SN of
//! their pool.

use crate::exit::Failure;
use clusterdb::backend::Filter;
use clusterdb::{attrs, table, ClusterDb};
use ipmi::power::{Action, Job};
use remote::fanout::{FanOut, HostResult};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// xCAT's built-in IPMI credentials, used when neither the node nor the passwd table has any.
const XCAT_DEFAULT_USER: &str = "USERID";
const XCAT_DEFAULT_PASSWORD: &str = "PASSW0RD";

/// Each node's BMC (ipmi.bmc/username/password, else the passwd table's `ipmi` row, else
/// xCAT's defaults), or why it has none usable.
pub fn bmcs(
    db: &mut ClusterDb,
    nodes: &[String],
) -> Result<Vec<Result<ipmi::Bmc, String>>, Failure> {
    let snap = db.read()?;
    let rows = attrs::nodes_attribs(
        &snap,
        table("ipmi")?,
        nodes,
        &["bmc", "username", "password"],
    )?;
    let defaults = snap
        .select(
            table("passwd")?,
            &["username", "password"],
            Filter::Eq {
                column: "key",
                value: "ipmi",
            },
        )?
        .into_iter()
        .next()
        .unwrap_or_default();
    let default = |i: usize| defaults.get(i).cloned().flatten().filter(|v| !v.is_empty());
    Ok(nodes
        .iter()
        .map(|n| {
            let v = rows.get(n).cloned().unwrap_or_default();
            let get = |i: usize| v.get(i).cloned().flatten().filter(|s| !s.trim().is_empty());
            let addr = get(0).ok_or("no BMC address (ipmi.bmc)")?;
            let (host, port) = ipmi::parse_address(&addr).map_err(|e| format!("ipmi.bmc: {e}"))?;
            Ok(ipmi::Bmc {
                host,
                port,
                user: get(1)
                    .or_else(|| default(0))
                    .unwrap_or_else(|| XCAT_DEFAULT_USER.into()),
                password: get(2)
                    .or_else(|| default(1))
                    .unwrap_or_else(|| XCAT_DEFAULT_PASSWORD.into()),
            })
        })
        .collect())
}

/// Does `site.ipmidispatch` send hardware control to the service nodes? xCAT's own test
/// (ipmi.pm: off when the value matches `/0|n/i`): "no", "0", "none", even "on" turn it off;
/// unset, "1", "y", "yes" keep it.
fn dispatches(ipmidispatch: Option<&str>) -> bool {
    !ipmidispatch.is_some_and(|v| v.contains('0') || v.to_ascii_lowercase().contains('n'))
}

/// Per node, the service nodes that may run its ipmitool, in order (its `servicenode` list);
/// empty: the management node itself.
pub fn pools(db: &mut ClusterDb, nodes: &[String]) -> Result<Vec<Vec<String>>, Failure> {
    let snap = db.read()?;
    let dispatch = dispatches(snap.site("ipmidispatch")?.as_deref());
    let master = snap.site("master")?.unwrap_or_default();
    let rows = attrs::nodes_attribs(&snap, table("noderes")?, nodes, &["servicenode"])?;
    Ok(nodes
        .iter()
        .map(|n| {
            let list = rows
                .get(n)
                .and_then(|v| v.first().cloned().flatten())
                .unwrap_or_default();
            let pool: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            // The management node as first SN (or no dispatch at all): it runs ipmitool itself.
            match pool.first() {
                Some(first) if dispatch && *first != master => pool,
                _ => Vec::new(),
            }
        })
        .collect())
}

/// How the work is spread.
pub struct Runner {
    pub tool: ipmi::Ipmitool,
    /// BMCs worked on at once on one host.
    pub fanout: usize,
}

/// One node's result, as it is known.
pub type Each<'a> = &'a mut dyn FnMut(&str, Result<String, String>);

impl Runner {
    /// Run every job where its pool says; `each(node, result)` as results come in.
    pub fn run(&self, jobs: Vec<(Job, Vec<String>)>, each: Each<'_>) -> Result<(), Failure> {
        let (local, mut pending): (Vec<_>, Vec<_>) =
            jobs.into_iter().partition(|(_, p)| p.is_empty());
        let local: Vec<Job> = local.into_iter().map(|(j, _)| j).collect();
        for (j, r) in local.iter().zip(ipmi::fan_out(&local, self.fanout, |j| {
            self.tool.power(&j.bmc, j.action)
        })) {
            each(&j.node, r);
        }
        if pending.is_empty() {
            return Ok(());
        }
        let ssh = remote::Ssh::from_env().map_err(|e| Failure::usage(e.to_string()))?;
        let mut down: BTreeSet<String> = BTreeSet::new();
        while !pending.is_empty() {
            pending = self.round(&ssh, pending, &mut down, each);
        }
        Ok(())
    }

    /// One ssh session per SN for the jobs whose first reachable SN it is; the jobs of an SN
    /// found unreachable come back, for their next SN.
    fn round(
        &self,
        ssh: &remote::Ssh,
        pending: Vec<(Job, Vec<String>)>,
        down: &mut BTreeSet<String>,
        each: Each<'_>,
    ) -> Vec<(Job, Vec<String>)> {
        let mut by_sn: BTreeMap<String, Vec<(Job, Vec<String>)>> = BTreeMap::new();
        for (j, pool) in pending {
            match pool.iter().find(|s| !down.contains(*s)) {
                Some(sn) => by_sn.entry(sn.clone()).or_default().push((j, pool)),
                None => {
                    let why = format!("no service node of its pool answers: {}", note_down(&pool));
                    each(&j.node, Err(why))
                }
            }
        }
        let mut fan = FanOut::new(ssh.clone());
        fan.fanout = 64;
        // Each node's calls (at most three) one after another, the nodes in waves of --fanout.
        let waves = by_sn
            .values()
            .map(|l| l.len().div_ceil(self.fanout.max(1)))
            .max()
            .unwrap_or(1);
        fan.command_timeout =
            self.tool.timeout * 3 * waves as u32 + ssh.connect_timeout + Duration::from_secs(10);
        let ssh_jobs = self.sessions(&mut by_sn, each);
        let mut again = Vec::new();
        let (started, limit) = (std::time::Instant::now(), fan.command_timeout);
        fan.run_each(ssh_jobs, &mut |sn, r, _, _| {
            let Some(list) = by_sn.remove(sn) else { return };
            if let HostResult::Unreachable { .. } = r {
                down.insert(sn.to_string());
                // A session stopped at its time limit may have done its actions: running them
                // again on the next SN could reset a node twice. Only a session that never got
                // going (ssh could not connect) hands its nodes on.
                if started.elapsed() >= limit {
                    for (j, _) in &list {
                        each(&j.node, Err(timed_out(sn, limit, &j.node)));
                    }
                } else {
                    again.extend(list);
                }
                return;
            }
            report(sn, r, &list, each);
        });
        again
    }

    /// The ssh session of each SN (the SNs whose batch cannot be built are reported and
    /// dropped from `by_sn`).
    fn sessions(
        &self,
        by_sn: &mut BTreeMap<String, Vec<(Job, Vec<String>)>>,
        each: Each<'_>,
    ) -> Vec<remote::fanout::Job> {
        let mut out = Vec::new();
        by_sn.retain(|sn, list| {
            let jobs: Vec<Job> = list.iter().map(|(j, _)| j.clone()).collect();
            match ipmi::power::batch(&self.tool, self.fanout, &jobs) {
                Ok((args, stdin)) => {
                    out.push(remote::fanout::Job {
                        host: sn.clone(),
                        jump: None,
                        args,
                        stdin,
                    });
                    true
                }
                Err(e) => {
                    for (j, _) in list.iter() {
                        each(&j.node, Err(format!("not sent to {sn}: {e}")));
                    }
                    false
                }
            }
        });
        out
    }
}

/// The per-node results of one SN's session that ran (Ok or Failed); each says which SN did
/// the work when it was not the node's first.
fn report(sn: &str, r: HostResult, list: &[(Job, Vec<String>)], each: Each<'_>) {
    let jobs: Vec<Job> = list.iter().map(|(j, _)| j.clone()).collect();
    let results = match r {
        HostResult::Ok { stdout } => {
            ipmi::power::parse(&stdout, &jobs, &format!("no answer from {sn}"))
        }
        HostResult::Failed {
            code,
            stdout,
            stderr,
        } => {
            let last = stderr.lines().last().unwrap_or("");
            ipmi::power::parse(&stdout, &jobs, &format!("on {sn} (exit {code}): {last}"))
        }
        HostResult::Unreachable { reason } => jobs
            .iter()
            .map(|_| Err(format!("{sn} unreachable: {reason}")))
            .collect(),
    };
    for ((j, pool), r) in list.iter().zip(results) {
        let note = match pool.iter().position(|p| p == sn) {
            Some(i) if i > 0 => format!(" (through {sn}: {})", note_down(&pool[..i])),
            _ => String::new(),
        };
        each(&j.node, r.map(|t| t + &note).map_err(|e| e + &note));
    }
}

/// A node whose SN session ran past its time limit: its action may or may not have been done.
fn timed_out(sn: &str, limit: Duration, node: &str) -> String {
    format!(
        "no answer from {sn} within {} s: the action may or may not have been done (`rpower {node} stat` tells); not retried through another service node",
        limit.as_secs()
    )
}

/// `sn1 unreachable, sn2 unreachable`
fn note_down(sns: &[String]) -> String {
    sns.iter()
        .map(|s| format!("{s} unreachable"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The jobs for `nodes` with `action`; the nodes without a usable BMC get their error.
pub fn jobs(
    db: &mut ClusterDb,
    nodes: &[String],
    action: Action,
    each: Each<'_>,
) -> Result<Vec<(Job, Vec<String>)>, Failure> {
    let pools = pools(db, nodes)?;
    let mut out = Vec::new();
    for ((n, b), pool) in nodes.iter().zip(bmcs(db, nodes)?).zip(pools) {
        match b {
            // The password travels as one line of the session's standard input.
            Ok(bmc) if bmc.password.contains(['\n', '\r']) => {
                each(n, Err("the BMC password holds a line break".into()))
            }
            Ok(bmc) => out.push((
                Job {
                    node: n.clone(),
                    bmc,
                    action,
                },
                pool,
            )),
            Err(e) => each(n, Err(e)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipmidispatch_is_read_as_xcat_reads_it() {
        for on in [
            None,
            Some("1"),
            Some("y"),
            Some("yes"),
            Some("YES"),
            Some(""),
        ] {
            assert!(dispatches(on), "{on:?}");
        }
        for off in ["n", "N", "no", "0", "none", "on", "10"] {
            assert!(!dispatches(Some(off)), "{off}");
        }
    }
}
