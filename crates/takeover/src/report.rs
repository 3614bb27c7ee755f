//! The plan as people read it: a table per destination service node, then the steps.

use crate::model::Plan;
use std::fmt::Write;

fn show(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

/// The dry-run text: per destination SN (with counts), each node's attribute changes; then
/// the ordered steps; then warnings.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    let dests = plan.destinations();
    let _ = writeln!(
        out,
        "Plan: move {} node{} to {} service node{} ({} attribute changes, {} steps)",
        plan.nodes.len(),
        if plan.nodes.len() == 1 { "" } else { "s" },
        dests.len(),
        if dests.len() == 1 { "" } else { "s" },
        plan.change_count(),
        plan.steps.len()
    );
    for (sn, count) in &dests {
        let _ = writeln!(
            out,
            "\nTo {sn}: {count} node{}",
            if *count == 1 { "" } else { "s" }
        );
        let rows: Vec<Vec<String>> = plan
            .nodes
            .iter()
            .filter(|n| n.new_sn == *sn)
            .flat_map(|n| {
                let mut rows = Vec::new();
                for (i, c) in n.changes.iter().enumerate() {
                    let name = if i == 0 {
                        n.node.clone()
                    } else {
                        String::new()
                    };
                    rows.push(vec![
                        name,
                        c.attr.clone(),
                        show(&c.old).to_string(),
                        show(&c.new).to_string(),
                    ]);
                }
                if n.changes.is_empty() {
                    rows.push(vec![
                        n.node.clone(),
                        "(no change)".into(),
                        String::new(),
                        String::new(),
                    ]);
                }
                rows
            })
            .collect();
        let header = ["NODE", "ATTRIBUTE", "OLD", "NEW"]
            .map(String::from)
            .to_vec();
        let mut widths = [0usize; 4];
        for r in std::iter::once(&header).chain(&rows) {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(c.len());
            }
        }
        for r in std::iter::once(&header).chain(&rows) {
            let line = format!(
                "  {:w0$}  {:w1$}  {:w2$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    let _ = writeln!(out, "\nSteps, in order:");
    for s in &plan.steps {
        let _ = writeln!(out, "  {:>3}. [{}] {}", s.id, s.kind.name(), s.describe());
    }
    if plan.steps.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for w in &plan.forced {
        let _ = writeln!(out, "Forced past a failed pre-flight check: {w}");
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "Warning: {w}");
    }
    out
}
