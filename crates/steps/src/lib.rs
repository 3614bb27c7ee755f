//! The takeover's steps on real nodes. [`cn::CnRunner`] re-points running compute nodes over
//! ssh: xcatinfo, default route, syslog forwarding, chrony servers, resolv.conf and `-P`
//! scripts, all of one node's steps in one ssh session. [`sn::SnRunner`] makes the new service
//! node answer for the moved nodes (DHCP reservations, boot files, console server entries, and
//! the management node's `master` entries) and the old one stop, all of one service node's
//! steps in one ssh session.
//!
//! Invariant: a node is reported done for a step only after the node (or service node) itself
//! checked the result; an unreachable one stays pending, with the reason.

/// The scripts' report lines, `BATON <tag> ok|fail <reason>` (both sides' scripts write them,
/// through prelude.sh) → tag → Ok | Err(reason); the first failure of a tag wins.
pub(crate) fn parse_report(stdout: &str) -> std::collections::HashMap<String, Result<(), String>> {
    let mut out = std::collections::HashMap::new();
    for line in stdout.lines() {
        let mut w = line.splitn(4, ' ');
        if w.next() != Some("BATON") {
            continue;
        }
        let Some(tag) = w.next().filter(|t| *t != "end") else {
            continue;
        };
        let r = match w.next() {
            Some("ok") => Ok(()),
            _ => Err(w.next().unwrap_or("failed").trim().to_string()),
        };
        let e = out.entry(tag.to_string()).or_insert(Ok(()));
        if e.is_ok() {
            *e = r;
        }
    }
    out
}

pub mod cn;
pub mod delegate;
pub mod sn;

use takeover::{NodeMove, Plan, Side, Step, StepResult, StepRunner};

/// What a step needs to know of one node: the SN that serves it, its xcatmaster there and
/// their addresses. Built from a takeover's node move (`of_move`: the new SN) or, for
/// makedhcp, nodeset, makeconservercf and rnetboot, from the database as it stands: steps
/// run for targets, with no plan.
#[derive(Debug, Clone, Copy)]
pub struct NodeTarget<'a> {
    pub node: &'a str,
    pub ip: Option<&'a str>,
    /// The service node that serves it (after a move, the new one).
    pub sn: &'a str,
    pub xcatmaster: &'a str,
    pub xcatmaster_ip: Option<&'a str>,
    /// The old xcatmaster's address (AIX's route step replaces the route through it).
    pub old_xcatmaster_ip: Option<&'a str>,
    /// The network's gateway as the networks table says it (AIX's bootlist names it).
    pub gateway: Option<&'a str>,
    /// AIX statelite persistent directories to copy to `sn`.
    pub statelite: &'a [String],
}

impl<'a> NodeTarget<'a> {
    pub fn of_move(m: &'a NodeMove) -> Self {
        NodeTarget {
            node: &m.node,
            ip: m.ip.as_deref(),
            sn: &m.new_sn,
            xcatmaster: &m.new_xm,
            xcatmaster_ip: m.new_xm_ip.as_deref(),
            old_xcatmaster_ip: m.old_xm_ip.as_deref(),
            gateway: m.gateway.as_deref(),
            statelite: &m.statelite,
        }
    }
}

/// Runs each batch of steps with the runner for its side; a wave of batches of one side at once.
pub struct Runner {
    pub cn: cn::CnRunner,
    pub sn: sn::SnRunner,
}

impl StepRunner for Runner {
    fn run(&mut self, plan: &Plan, steps: &[Step]) -> Vec<StepResult> {
        match steps.first().map(|s| s.kind.side()) {
            Some(Side::Cn) => self.cn.run(plan, steps),
            Some(Side::Sn) => self.sn.run(plan, steps),
            None => Vec::new(),
        }
    }

    fn run_wave(&mut self, plan: &Plan, batches: &[Vec<Step>]) -> Vec<Vec<StepResult>> {
        let mut out: Vec<Vec<StepResult>> = batches.iter().map(|_| Vec::new()).collect();
        self.run_wave_each(plan, batches, &mut |i, r| out[i] = r);
        out
    }

    /// A wave's service-node batches run on this thread while its compute-node batches run on
    /// another (a wave holds both only when their steps are independent); the service-node
    /// results are handed on as soon as they are in, while the compute nodes still run.
    fn run_wave_each(
        &mut self,
        plan: &Plan,
        batches: &[Vec<Step>],
        done: &mut dyn FnMut(usize, Vec<StepResult>),
    ) {
        let side = |b: &Vec<Step>| b.first().map(|s| s.kind.side());
        // One side only (the usual wave): no copy of the batches.
        if let Some(first) = batches.first().map(side) {
            if batches.iter().all(|b| side(b) == first) {
                let results = match first {
                    Some(Side::Sn) => self.sn.run_wave(plan, batches),
                    Some(Side::Cn) => self.cn.run_wave(plan, batches),
                    None => batches.iter().map(|_| Vec::new()).collect(),
                };
                for (i, r) in results.into_iter().enumerate() {
                    done(i, r);
                }
                return;
            }
        }
        let on = |want: Side| -> (Vec<usize>, Vec<Vec<Step>>) {
            batches
                .iter()
                .enumerate()
                .filter(|(_, b)| side(b) == Some(want))
                .map(|(i, b)| (i, b.clone()))
                .unzip()
        };
        let ((sn_at, sn_batches), (cn_at, cn_batches)) = (on(Side::Sn), on(Side::Cn));
        let (cn, sn) = (&mut self.cn, &mut self.sn);
        std::thread::scope(|s| {
            let cn_side =
                (!cn_batches.is_empty()).then(|| s.spawn(|| cn.run_wave(plan, &cn_batches)));
            if !sn_batches.is_empty() {
                for (i, r) in sn_at.iter().zip(sn.run_wave(plan, &sn_batches)) {
                    done(*i, r);
                }
            }
            if let Some(h) = cn_side {
                let cn_results = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                for (i, r) in cn_at.iter().zip(cn_results) {
                    done(*i, r);
                }
            }
        });
    }
}
