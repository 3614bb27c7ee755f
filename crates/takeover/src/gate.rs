//! Make before break: a node leaves its old service node's DHCP, boot and console configs only
//! once its entries on the new one are confirmed. Until then the old SN keeps serving it, so a
//! failed or unreachable new SN never leaves a node with no SN that answers its boot.

use crate::journal::StepState;
use crate::model::{Plan, Step, StepKind};
use crate::NodeOutcome;
use std::collections::{BTreeMap, HashMap};

/// What a run knows of each step so far (recorded earlier, or by this run): its state and
/// per-node results, by step id.
pub type Known = HashMap<usize, (StepState, BTreeMap<String, NodeOutcome>)>;

/// The start of the reason a node's cleanup waits for its new service node.
pub const NODE_KEPT: &str = "kept on the old service node";

/// The steps that put a node's entries on its new service node (or copy its persistent files
/// there): what its old SN's cleanup waits for.
fn makes(kind: StepKind) -> bool {
    matches!(
        kind,
        StepKind::Consoles | StepKind::Dhcp | StepKind::Bootfiles | StepKind::StateliteSync
    )
}

/// Is `node` confirmed done in the step recorded as `known`? A step finished whole without
/// per-node results (skipped, or done as a whole) counts for all its nodes.
fn confirmed(known: Option<&(StepState, BTreeMap<String, NodeOutcome>)>, node: &str) -> bool {
    match known {
        None => false,
        Some((state, results)) => match results.get(node) {
            Some(r) => r.settled(),
            None => state.finished(),
        },
    }
}

/// Why each node of `plan` may not leave its old SN yet: the first step putting it on its new
/// SN that is not confirmed, with that step's own word for it.
pub fn not_ready(plan: &Plan, known: &Known) -> HashMap<String, NodeOutcome> {
    first_unconfirmed(plan, known, makes, |step, state| {
        NodeOutcome::pending(format_args!(
            "{NODE_KEPT} until {} has its {}: {state}",
            step.sn,
            step.kind.name()
        ))
    })
}

/// The steps that re-point a running node at its new SN: what an adopted address waits for.
fn repoints(kind: StepKind) -> bool {
    matches!(
        kind,
        StepKind::Xcatinfo
            | StepKind::Route
            | StepKind::Postscripts
            | StepKind::Niminit
            | StepKind::Bootlist
    )
}

/// The nodes of `plan` not confirmed re-pointed at their new SN yet, and why.
pub fn not_repointed(plan: &Plan, known: &Known) -> HashMap<String, NodeOutcome> {
    first_unconfirmed(plan, known, repoints, |step, state| {
        NodeOutcome::pending(format_args!(
            "not re-pointed yet ({} of {}: {state})",
            step.kind.name(),
            step.sn
        ))
    })
}

/// Each node's first step of the `wanted` kinds that is not confirmed, as `reason` words it.
fn first_unconfirmed(
    plan: &Plan,
    known: &Known,
    wanted: fn(StepKind) -> bool,
    reason: impl Fn(&Step, &str) -> NodeOutcome,
) -> HashMap<String, NodeOutcome> {
    let mut why = HashMap::new();
    for step in plan.steps.iter().filter(|s| wanted(s.kind)) {
        let k = known.get(&step.id);
        // Nodes of one step mostly wait for the same reason: it is made once and shared.
        let mut last: Option<(Option<&NodeOutcome>, NodeOutcome)> = None;
        for node in &step.nodes {
            if why.contains_key(node) || confirmed(k, node) {
                continue;
            }
            let result = k.and_then(|(_, r)| r.get(node));
            let kept = match &last {
                Some((r, kept)) if *r == result => kept.clone(),
                _ => {
                    let state = match (k, result) {
                        (None, _) => "not run".to_string(),
                        (Some(_), Some(o)) => o.to_string(),
                        (Some((s, _)), None) => s.as_str().into(),
                    };
                    let kept = reason(step, &state);
                    last = Some((result, kept.clone()));
                    kept
                }
            };
            why.insert(node.clone(), kept);
        }
    }
    why
}

/// What the gates found before a wave: the nodes whose new SN is not ready (for cleanups) and
/// the nodes not yet re-pointed (for adopted addresses).
#[derive(Default)]
pub struct Waiting {
    pub not_ready: HashMap<String, NodeOutcome>,
    pub not_repointed: HashMap<String, NodeOutcome>,
}

/// The part of `step` that may run now (None when none may), and the nodes kept, with the
/// reason: a cleanup is cut to the nodes whose new SN is ready; an adopted address is released
/// only when all its nodes are re-pointed, and not adopted at all once they are (a resumed run).
/// Any other step runs whole.
pub fn split(step: &Step, w: &Waiting) -> (Option<Step>, BTreeMap<String, NodeOutcome>) {
    let all = |o: &NodeOutcome| step.nodes.iter().map(|n| (n.clone(), o.clone())).collect();
    match step.kind {
        StepKind::CleanupOldSn => cut(step, &w.not_ready),
        StepKind::ReleaseAddress => match step
            .nodes
            .iter()
            .find_map(|n| w.not_repointed.get(n).map(|o| (n, o)))
        {
            None => (Some(step.clone()), BTreeMap::new()),
            Some((n, o)) => {
                let waiting = step
                    .nodes
                    .iter()
                    .filter(|n| w.not_repointed.contains_key(*n))
                    .count();
                let why = NodeOutcome::pending(format_args!(
                    "kept: {waiting} of its nodes still use it ({n}: {o})"
                ));
                (None, all(&why))
            }
        },
        StepKind::AdoptAddress if step.nodes.iter().all(|n| !w.not_repointed.contains_key(n)) => {
            let why = NodeOutcome::Superseded("its nodes are re-pointed already".into());
            (None, all(&why))
        }
        _ => (Some(step.clone()), BTreeMap::new()),
    }
}

/// A cleanup cut to the nodes not in `not_ready`.
fn cut(
    step: &Step,
    not_ready: &HashMap<String, NodeOutcome>,
) -> (Option<Step>, BTreeMap<String, NodeOutcome>) {
    let mut kept = BTreeMap::new();
    let mut ready = step.clone();
    ready.nodes.retain(|n| match not_ready.get(n) {
        Some(why) => {
            kept.insert(n.clone(), why.clone());
            false
        }
        None => true,
    });
    ((!ready.nodes.is_empty()).then_some(ready), kept)
}
