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
    let mut why = HashMap::new();
    for step in plan.steps.iter().filter(|s| makes(s.kind)) {
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
                    let kept = NodeOutcome::pending(format_args!(
                        "{NODE_KEPT} until {} has its {}: {state}",
                        step.sn,
                        step.kind.name()
                    ));
                    last = Some((result, kept.clone()));
                    kept
                }
            };
            why.insert(node.clone(), kept);
        }
    }
    why
}

/// A cleanup step cut to the nodes whose new SN is ready (None when none is), and the nodes
/// kept, with the reason. Any other step runs whole.
pub fn split(
    step: &Step,
    not_ready: &HashMap<String, NodeOutcome>,
) -> (Option<Step>, BTreeMap<String, NodeOutcome>) {
    if step.kind != StepKind::CleanupOldSn {
        return (Some(step.clone()), BTreeMap::new());
    }
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
