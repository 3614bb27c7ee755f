//! The takeover's steps on real nodes. [`cn::CnRunner`] re-points running compute nodes over
//! ssh: xcatinfo, default route, syslog forwarding, chrony servers, resolv.conf and `-P`
//! scripts, all of one node's steps in one ssh session. [`sn::SnRunner`] makes the new service
//! node answer for the moved nodes (DHCP reservations, boot files, console server entries, and
//! the management node's `master` entries) and the old one stop, all of one service node's
//! steps in one ssh session.
//!
//! Invariant: a node is reported done for a step only after the node (or service node) itself
//! checked the result; an unreachable one stays pending, with the reason.

pub mod cn;
pub mod delegate;
pub mod sn;

use takeover::{Plan, Side, Step, StepResult, StepRunner};

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
        let side = |b: &Vec<Step>| b.first().map(|s| s.kind.side());
        match batches.first().map(side) {
            Some(s) if batches.iter().any(|b| side(b) != s) => {
                batches.iter().map(|b| self.run(plan, b)).collect()
            }
            Some(Some(Side::Cn)) => self.cn.run_wave(plan, batches),
            Some(Some(Side::Sn)) => self.sn.run_wave(plan, batches),
            _ => batches.iter().map(|b| self.run(plan, b)).collect(),
        }
    }
}
