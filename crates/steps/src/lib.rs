//! The takeover's steps on real nodes. [`cn::CnRunner`] re-points running compute nodes over
//! ssh: xcatinfo, default route, syslog forwarding, chrony servers, resolv.conf and `-P`
//! scripts, all of one node's steps in one ssh session.
//!
//! Invariant: a node is reported done for a step only after the node itself checked the result;
//! an unreachable node stays pending, with the reason.

pub mod cn;

use takeover::{Plan, Side, Step, StepResult, StepRunner};

/// Runs each batch of steps with the runner for its side; sides not implemented yet stay
/// pending.
pub struct Runner {
    pub cn: cn::CnRunner,
}

impl StepRunner for Runner {
    fn run(&mut self, plan: &Plan, steps: &[Step]) -> Vec<StepResult> {
        match steps.first().map(|s| s.kind.side()) {
            Some(Side::Cn) => self.cn.run(plan, steps),
            _ => steps.iter().map(StepResult::unimplemented).collect(),
        }
    }
}
