//! Compute-node steps over ssh.

use crate::delegate;
use crate::NodeTarget;
use remote::fanout::{FanOut, HostResult, Job};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use takeover::journal::StepState;
use takeover::{NodeOutcome, Plan, Step, StepKind, StepResult};

/// The script each node runs; values come as separate arguments.
pub const NODE_SCRIPT: &str = concat!(include_str!("prelude.sh"), include_str!("node.sh"));

/// The site settings the node steps use (from the `site` table).
#[derive(Debug, Clone, Default)]
pub struct SiteInfo {
    pub domain: Option<String>,
    pub nameservers: Option<String>,
    pub ntpservers: Option<String>,
    /// Where `-P` scripts are read from (`<installdir>/postscripts`).
    pub postscripts_dir: PathBuf,
}

/// Called as hosts finish: (what, done, total).
pub type Progress = Box<dyn Fn(&str, usize, usize) + Send + Sync>;

pub struct CnRunner {
    pub fanout: FanOut,
    pub site: SiteInfo,
    /// Reach each node through its new service node (`ssh -J`).
    pub jump_via_sn: bool,
    /// Whether the service nodes' own baton runs the steps of their nodes.
    pub delegation: delegate::Delegation,
    pub progress: Progress,
    /// Things the user should know that change nothing (e.g. a fall-back to direct).
    pub notice: Box<dyn Fn(&str) + Send + Sync>,
}

/// One operation for one node (its arguments carry the tag of its step in the batch).
struct Op {
    args: Vec<String>,
    stdin: Vec<u8>,
}

const BUILTIN: [&str; 3] = ["syslog", "setupntp", "mkresolvconf"];

impl CnRunner {
    fn ops_for(
        &self,
        m: &NodeTarget<'_>,
        step: &Step,
        i: usize,
        scripts: &HashMap<String, Vec<u8>>,
    ) -> Vec<Op> {
        let master = m.xcatmaster.to_string();
        let master_ip = m.xcatmaster_ip.unwrap_or(m.xcatmaster).to_string();
        let op = |args: Vec<String>| Op {
            args,
            stdin: Vec::new(),
        };
        let tag = i.to_string();
        match step.kind {
            StepKind::Xcatinfo if step.aix => vec![op(vec!["aixinfo".into(), tag, master_ip])],
            StepKind::Xcatinfo => vec![op(vec!["xcatinfo".into(), tag, master_ip])],
            StepKind::Route if step.aix => vec![op(vec![
                "aixroute".into(),
                tag,
                m.old_xcatmaster_ip.unwrap_or_default().to_string(),
                master_ip,
            ])],
            StepKind::Route => vec![op(vec!["route".into(), tag, master_ip])],
            // niminit names the new SN as the management node knows it (§5.2.2).
            StepKind::Niminit => vec![op(vec![
                "niminit".into(),
                tag,
                m.node.to_string(),
                m.sn.to_string(),
            ])],
            StepKind::Bootlist => {
                let gateway = match m.gateway {
                    Some("<xcatmaster>") => master_ip.clone(),
                    Some(g) if g.parse::<std::net::IpAddr>().is_ok() => g.to_string(),
                    _ => String::new(),
                };
                vec![op(vec![
                    "bootlist".into(),
                    tag,
                    m.ip.unwrap_or_default().to_string(),
                    gateway,
                    master_ip,
                ])]
            }
            StepKind::Postscripts => {
                let mut ops = Vec::new();
                for s in &step.scripts {
                    match s.as_str() {
                        "syslog" => ops.push(op(vec![
                            "syslog".into(),
                            tag.clone(),
                            master.clone(),
                            render::node::syslog_block(&master),
                        ])),
                        "setupntp" => {
                            let servers =
                                render::node::ntp_servers(self.site.ntpservers.as_deref(), &master);
                            ops.push(op(vec![
                                "ntp".into(),
                                tag.clone(),
                                render::node::chrony_servers(&servers),
                            ]));
                        }
                        "mkresolvconf" => ops.push(op(vec![
                            "resolv".into(),
                            tag.clone(),
                            render::node::resolv_conf(
                                self.site.domain.as_deref(),
                                self.site.nameservers.as_deref(),
                                &master_ip,
                            ),
                        ])),
                        other => {
                            let body = scripts.get(other).cloned().unwrap_or_default();
                            let mut env = Vec::new();
                            for (k, v) in [
                                ("MASTER", master.clone()),
                                ("MASTER_IP", master_ip.clone()),
                                ("NODE", m.node.to_string()),
                                (
                                    "NTPSERVERS",
                                    self.site.ntpservers.clone().unwrap_or_default(),
                                ),
                                (
                                    "NAMESERVERS",
                                    self.site.nameservers.clone().unwrap_or_default(),
                                ),
                                ("DOMAIN", self.site.domain.clone().unwrap_or_default()),
                            ] {
                                env.extend(["env".to_string(), k.to_string(), v]);
                            }
                            ops.push(op(env));
                            ops.push(Op {
                                args: vec![
                                    "script".into(),
                                    tag.clone(),
                                    other.to_string(),
                                    body.len().to_string(),
                                ],
                                stdin: body,
                            });
                        }
                    }
                }
                ops
            }
            _ => Vec::new(),
        }
    }
}

/// The node script's report by operation index (its tags are the indexes).
fn parse_report(stdout: &str) -> BTreeMap<usize, Result<(), String>> {
    crate::parse_report(stdout)
        .into_iter()
        .filter_map(|(tag, r)| Some((tag.parse().ok()?, r)))
        .collect()
}

/// One node's share of a batch: the operations after the script (`OP TAG ARGS...`, as
/// node.sh reads them) and the bytes for its standard input (`-P` script bodies). This is also
/// what a delegated run sends to the service node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeWork {
    pub node: String,
    pub ops: Vec<String>,
    #[serde(default)]
    pub stdin: Vec<u8>,
}

impl NodeWork {
    /// The ssh job that runs this node's operations with node.sh.
    pub fn job(&self, jump: Option<String>) -> Job {
        let mut args = vec![
            "sh".to_string(),
            "-c".to_string(),
            NODE_SCRIPT.to_string(),
            "baton".to_string(),
        ];
        args.extend(self.ops.iter().cloned());
        Job {
            host: self.node.clone(),
            jump,
            args,
            stdin: self.stdin.clone(),
        }
    }
}

/// A batch made ready to run: each node's work, and the steps that failed before any node was
/// touched (a missing `-P` script), by their index in the batch.
struct Prepared {
    work: Vec<NodeWork>,
    missing: HashMap<usize, String>,
}

impl CnRunner {
    fn prepare(&self, by_node: &HashMap<&str, &NodeTarget<'_>>, steps: &[Step]) -> Prepared {
        // -P scripts come from the site's postscripts directory; a missing one fails its step
        // before any node is touched.
        let mut scripts: HashMap<String, Vec<u8>> = HashMap::new();
        let mut missing: HashMap<usize, String> = HashMap::new();
        for (i, s) in steps.iter().enumerate() {
            for name in s.scripts.iter().filter(|n| !BUILTIN.contains(&n.as_str())) {
                let path = self.site.postscripts_dir.join(name);
                let valid = !name.is_empty() && !name.contains('/') && name != "." && name != "..";
                match std::fs::read(&path) {
                    Ok(b) if valid => {
                        scripts.insert(name.clone(), b);
                    }
                    _ => {
                        missing.insert(
                            i,
                            format!(
                                "postscript '{name}' not found in {}",
                                self.site.postscripts_dir.display()
                            ),
                        );
                    }
                }
            }
        }
        let mut per_node: BTreeMap<String, Vec<Op>> = BTreeMap::new();
        for (i, s) in steps.iter().enumerate() {
            if missing.contains_key(&i) {
                continue;
            }
            for n in &s.nodes {
                let Some(m) = by_node.get(n.as_str()) else {
                    continue;
                };
                per_node
                    .entry(n.clone())
                    .or_default()
                    .extend(self.ops_for(m, s, i, &scripts));
            }
        }
        let work = per_node
            .into_iter()
            .map(|(node, ops)| {
                let mut w = NodeWork {
                    node,
                    ops: Vec::new(),
                    stdin: Vec::new(),
                };
                for op in ops {
                    w.ops.extend(op.args);
                    w.stdin.extend_from_slice(&op.stdin);
                }
                w
            })
            .collect();
        Prepared { work, missing }
    }
}

/// Each step's result from the nodes' results: done when every node confirmed it, pending when
/// some were unreachable, failed when one failed.
fn step_results(
    steps: &[Step],
    missing: &HashMap<usize, String>,
    results: &BTreeMap<String, HostResult>,
) -> Vec<StepResult> {
    let reports: HashMap<&str, BTreeMap<usize, Result<(), String>>> = results
        .iter()
        .filter_map(|(n, r)| match r {
            HostResult::Ok { stdout } | HostResult::Failed { stdout, .. } => {
                Some((n.as_str(), parse_report(stdout)))
            }
            HostResult::Unreachable { .. } => None,
        })
        .collect();
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if let Some(why) = missing.get(&i) {
                return StepResult {
                    state: StepState::Failed,
                    detail: format!("{}: {why}", s.describe()),
                    results: BTreeMap::new(),
                };
            }
            let mut per = BTreeMap::new();
            let (mut failed, mut unreachable) = (0, 0);
            for n in &s.nodes {
                let report = reports.get(n.as_str()).and_then(|r| r.get(&i));
                let r = match (report, results.get(n)) {
                    (Some(Ok(())), _) => NodeOutcome::Done,
                    (Some(Err(e)), _) => {
                        failed += 1;
                        NodeOutcome::failed(e)
                    }
                    (None, Some(HostResult::Failed { code, stderr, .. })) => {
                        failed += 1;
                        NodeOutcome::failed(format_args!("exit {code}: {stderr}"))
                    }
                    (None, Some(HostResult::Unreachable { reason })) => {
                        unreachable += 1;
                        NodeOutcome::unreachable(reason)
                    }
                    _ => {
                        failed += 1;
                        NodeOutcome::failed("no report from the node")
                    }
                };
                per.insert(n.clone(), r);
            }
            let state = StepState::of_nodes(failed, unreachable);
            let mut detail = s.describe();
            if failed + unreachable > 0 {
                detail.push_str(&format!(
                    ": {failed} failed, {unreachable} unreachable (pending)"
                ));
            }
            StepResult {
                state,
                detail,
                results: per,
            }
        })
        .collect()
}

impl takeover::StepRunner for CnRunner {
    fn run(&mut self, plan: &Plan, steps: &[Step]) -> Vec<StepResult> {
        let targets: Vec<NodeTarget<'_>> = plan.nodes.iter().map(NodeTarget::of_move).collect();
        self.run_targets(&targets, steps)
    }

    /// The batches' nodes in one fan-out (each node is in one batch: that of its new service
    /// node; delegation still groups them per service node), cut back into batches.
    fn run_wave(&mut self, plan: &Plan, batches: &[Vec<Step>]) -> Vec<Vec<StepResult>> {
        let all: Vec<Step> = batches.iter().flatten().cloned().collect();
        let mut results = self.run(plan, &all).into_iter();
        batches
            .iter()
            .map(|b| results.by_ref().take(b.len()).collect())
            .collect()
    }
}

impl CnRunner {
    /// One batch of steps for `targets` (from a plan's moves, or nodes where they stand:
    /// rnetboot's AIX bootlist), all of a node's steps in one session.
    pub fn run_targets(&mut self, targets: &[NodeTarget<'_>], steps: &[Step]) -> Vec<StepResult> {
        let by_node: HashMap<&str, &NodeTarget<'_>> = targets.iter().map(|t| (t.node, t)).collect();
        let Prepared { work, missing } = self.prepare(&by_node, steps);
        let mut sns: Vec<&str> = steps.iter().map(|s| s.sn.as_str()).collect();
        sns.dedup();
        let what = format!("compute nodes of {}", sns.join(", "));
        let total = work.len();
        let progress = &self.progress;
        let mut results = BTreeMap::new();
        // Per service node: its agent fans out to its nodes, or the management node does.
        let mut direct: Vec<Job> = Vec::new();
        let mut by_sn: BTreeMap<String, Vec<NodeWork>> = BTreeMap::new();
        for w in work {
            let sn = by_node.get(w.node.as_str()).map(|m| m.sn.to_string());
            match sn {
                Some(sn) if self.delegation.wants(&sn) => by_sn.entry(sn).or_default().push(w),
                _ => {
                    let jump = sn.filter(|_| self.jump_via_sn);
                    direct.push(w.job(jump));
                }
            }
        }
        let mut usable: Vec<(String, Vec<NodeWork>)> = Vec::new();
        for (sn, w) in by_sn {
            match self.delegation.check(&self.fanout, &sn) {
                delegate::Check::Use => usable.push((sn, w)),
                delegate::Check::Direct(why) => {
                    (self.notice)(&format!(
                        "{sn}: {why}; the management node reaches its {} nodes itself",
                        w.len()
                    ));
                    let jump = Some(sn).filter(|_| self.jump_via_sn);
                    direct.extend(w.iter().map(|w| w.job(jump.clone())));
                }
                delegate::Check::Refuse(why) => {
                    for w in w {
                        results.insert(
                            w.node,
                            HostResult::Unreachable {
                                reason: format!("delegated to {sn}: {why}"),
                            },
                        );
                    }
                }
            }
        }
        let shared = std::sync::Mutex::new(results);
        let started = std::time::Instant::now();
        let record = |host: &str, r: HostResult| {
            tracing::debug!(
                node = %host,
                ok = matches!(r, HostResult::Ok { .. }),
                ms = started.elapsed().as_millis() as u64,
                "compute node finished"
            );
            if let Ok(mut m) = shared.lock() {
                m.insert(host.to_string(), r);
                progress(&what, m.len(), total);
            }
        };
        std::thread::scope(|s| {
            for (sn, w) in usable {
                let (record, fanout, deleg) = (&record, &self.fanout, &self.delegation);
                s.spawn(move || deleg.run(fanout, &sn, w, &mut |host, r| record(host, r)));
            }
            self.fanout
                .run_each(direct, &mut |host, r, _, _| record(host, r));
        });
        let results = shared.into_inner().unwrap_or_default();
        step_results(steps, &missing, &results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_parsed_per_tag() {
        let r = parse_report(
            "noise\nBATON 0 ok\nBATON 1 fail no rsyslog here\nBATON 1 ok\nBATON x ok\n",
        );
        assert_eq!(r[&0], Ok(()));
        assert_eq!(r[&1], Err("no rsyslog here".to_string()));
        assert_eq!(r.len(), 2);
    }
}
