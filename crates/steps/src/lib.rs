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

    /// A wave's service-node batches run on this thread while its compute-node batches run on
    /// another (a wave holds both only when their steps are independent); results come back in
    /// the wave's order.
    fn run_wave(&mut self, plan: &Plan, batches: &[Vec<Step>]) -> Vec<Vec<StepResult>> {
        let side = |b: &Vec<Step>| b.first().map(|s| s.kind.side());
        // One side only (the usual wave): no copy of the batches.
        match batches.first().map(side) {
            Some(first) if batches.iter().all(|b| side(b) == first) => {
                return match first {
                    Some(Side::Sn) => self.sn.run_wave(plan, batches),
                    Some(Side::Cn) => self.cn.run_wave(plan, batches),
                    None => batches.iter().map(|_| Vec::new()).collect(),
                }
            }
            None => return Vec::new(),
            Some(_) => {}
        }
        let on = |want: Side| -> Vec<Vec<Step>> {
            batches
                .iter()
                .filter(|b| side(b) == Some(want))
                .cloned()
                .collect()
        };
        let (sn_batches, cn_batches) = (on(Side::Sn), on(Side::Cn));
        let (cn, sn) = (&mut self.cn, &mut self.sn);
        let (sn_results, cn_results) = match (sn_batches.is_empty(), cn_batches.is_empty()) {
            (false, true) => (sn.run_wave(plan, &sn_batches), Vec::new()),
            (true, false) => (Vec::new(), cn.run_wave(plan, &cn_batches)),
            (true, true) => (Vec::new(), Vec::new()),
            (false, false) => std::thread::scope(|s| {
                let cn_side = s.spawn(|| cn.run_wave(plan, &cn_batches));
                let sn_results = sn.run_wave(plan, &sn_batches);
                let cn_results = cn_side
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e));
                (sn_results, cn_results)
            }),
        };
        let (mut sn_results, mut cn_results) = (sn_results.into_iter(), cn_results.into_iter());
        batches
            .iter()
            .map(|b| match side(b) {
                Some(Side::Sn) => sn_results.next().unwrap_or_default(),
                Some(Side::Cn) => cn_results.next().unwrap_or_default(),
                None => Vec::new(),
            })
            .collect()
    }
}
