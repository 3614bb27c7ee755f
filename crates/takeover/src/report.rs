//! The plan as people read it: a table per destination service node, then the steps.

use crate::model::{Change, Plan};
use std::fmt::Write;

fn show(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

/// The dry-run text: per destination SN (with counts), each node's attribute changes; then
/// the ordered steps; then warnings.
/// "1 node", "2 nodes": counts of nodes in messages.
pub fn nodes(n: usize) -> String {
    if n == 1 {
        "1 node".to_string()
    } else {
        format!("{n} nodes")
    }
}

pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    let dests = plan.destinations();
    let _ = writeln!(
        out,
        "Plan: {} {} node{} to {} service node{} ({} attribute changes, {} steps)",
        if plan.request.liteonly {
            "statelite copies only, no move, for"
        } else {
            "move"
        },
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
        // Nodes with the same changes share one block, named by their compressed list.
        let mut groups: Vec<(Vec<&Change>, Vec<&str>)> = Vec::new();
        for n in plan.nodes.iter().filter(|n| n.new_sn == *sn) {
            let key: Vec<&Change> = n.changes.iter().collect();
            match groups.iter_mut().find(|(k, _)| same_changes(k, &key)) {
                Some((_, names)) => names.push(&n.node),
                None => groups.push((key, vec![&n.node])),
            }
        }
        let mut rows: Vec<[String; 4]> = Vec::new();
        for (changes, names) in &groups {
            let label = if names.len() == 1 {
                names[0].to_string()
            } else {
                format!("{} ({} nodes)", compress(names), names.len())
            };
            // A long node list wraps in its column, beside the attribute rows.
            let label_lines = wrap_list(&label, NODES_WIDTH);
            let height = label_lines.len().max(changes.len()).max(1);
            for i in 0..height {
                let name = label_lines.get(i).cloned().unwrap_or_default();
                let row = match changes.get(i) {
                    Some(c) => [
                        name,
                        c.attr.clone(),
                        show(&c.old).to_string(),
                        show(&c.new).to_string(),
                    ],
                    None if changes.is_empty() && i == 0 => {
                        [name, "(no change)".into(), String::new(), String::new()]
                    }
                    None => [name, String::new(), String::new(), String::new()],
                };
                rows.push(row);
            }
        }
        let header = ["NODES", "ATTRIBUTE", "OLD", "NEW"].map(String::from);
        out.push_str(&columns("  ", &header, &rows));
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
    for n in &plan.notes {
        let _ = writeln!(out, "Note: {n}");
    }
    out
}

/// Widest node list in a plan's NODES column before it wraps.
const NODES_WIDTH: usize = 72;

/// A comma-separated list cut after commas into lines of at most `width` characters (a single
/// longer item keeps its own line).
fn wrap_list(list: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for item in list.split(',') {
        if !line.is_empty() && line.len() + 1 + item.len() > width {
            line.push(',');
            lines.push(std::mem::take(&mut line));
        } else if !line.is_empty() {
            line.push(',');
        }
        line.push_str(item);
    }
    lines.push(line);
    lines
}

/// Rows of four columns under a header, each column as wide as its widest cell (the last one
/// unpadded), every line starting with `indent`.
pub fn columns(indent: &str, header: &[String; 4], rows: &[[String; 4]]) -> String {
    let mut out = String::new();
    let mut widths = [0usize; 4];
    for r in std::iter::once(header).chain(rows) {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.len());
        }
    }
    for r in std::iter::once(header).chain(rows) {
        let line = format!(
            "{indent}{:w0$}  {:w1$}  {:w2$}  {}",
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
    out
}

/// Two nodes' change lists are the same when every attribute goes from the same old value to
/// the same new one.
fn same_changes(a: &[&Change], b: &[&Change]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.attr == y.attr && x.old == y.old && x.new == y.new)
}

/// Node names as a short noderange: consecutive numbered names become `cn0001-cn0030`.
pub fn compress(names: &[&str]) -> String {
    fn split(n: &str) -> (&str, &str) {
        let digits = n.bytes().rev().take_while(u8::is_ascii_digit).count();
        n.split_at(n.len() - digits)
    }
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort_by(|a, b| {
        let ((pa, da), (pb, db)) = (split(a), split(b));
        (pa, da.len(), da).cmp(&(pb, db.len(), db))
    });
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let (prefix, digits) = split(sorted[i]);
        let mut j = i;
        if let Ok(mut last) = digits.parse::<u128>() {
            while j + 1 < sorted.len() {
                let (p, d) = split(sorted[j + 1]);
                match d.parse::<u128>() {
                    Ok(v)
                        if p == prefix
                            && d.len() == digits.len()
                            && Some(v) == last.checked_add(1) =>
                    {
                        last = v;
                        j += 1;
                    }
                    _ => break,
                }
            }
        }
        parts.push(if j > i {
            format!("{}-{}", sorted[i], sorted[j])
        } else {
            sorted[i].to_string()
        });
        i = j + 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::compress;

    #[test]
    fn names_compress_to_ranges() {
        assert_eq!(
            compress(&["cn0003", "cn0001", "cn0002", "cn0010", "sn1", "x"]),
            "cn0001-cn0003,cn0010,sn1,x"
        );
        assert_eq!(compress(&["n9", "n10", "n11"]), "n9,n10-n11");
        assert_eq!(compress(&[]), "");
    }
}

#[cfg(test)]
mod wrap_tests {
    use super::wrap_list;

    #[test]
    fn a_long_node_list_wraps_after_commas_within_the_width() {
        let names: Vec<String> = (1..=40).map(|i| format!("cn{:04}", i * 2)).collect();
        let lines = wrap_list(&names.join(","), 30);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.len() <= 30), "{lines:?}");
        assert_eq!(lines.concat(), names.join(","));
        assert!(lines[..lines.len() - 1].iter().all(|l| l.ends_with(',')));
        assert_eq!(wrap_list("cn1-cn9", 30), ["cn1-cn9"]);
    }
}
