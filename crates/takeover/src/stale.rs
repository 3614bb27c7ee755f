//! Is a node still where a journal entry left it? `resume` and `rollback` act only on such
//! nodes: a node moved since (by a later entry, or by hand) is skipped with the reason, since
//! redoing the entry's steps on it would point it at a service node the database no longer
//! names (`--force` overrides).

use crate::journal::{self, run_state};
use crate::model::Plan;
use crate::Result;
use clusterdb::{attrs, table, Snapshot};
use std::collections::BTreeMap;

/// Why a node is no longer as the entry left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The newest later journal entry that moved the node, when one did.
    pub by: Option<i64>,
    /// Which value differs, e.g. `servicenode is now sn2 but entry 7 left it sn1`.
    pub what: String,
}

impl Moved {
    /// For messages and the journal: `cn3: moved since by journal entry 8 (...)`.
    pub fn describe(&self, node: &str) -> String {
        match self.by {
            Some(by) => format!("{node}: moved since by journal entry {by} ({})", self.what),
            None => format!("{node}: changed since outside baton ({})", self.what),
        }
    }
}

/// The nodes of entry `id` (plan `plan`) whose rows differ from what the entry left, each with
/// the later entry that moved it, if any.
pub fn moved_since(snap: &Snapshot<'_>, id: i64, plan: &Plan) -> Result<BTreeMap<String, Moved>> {
    let mut moved = changed_rows(snap, id, plan)?;
    if moved.is_empty() {
        return Ok(moved);
    }
    let mut later: Vec<journal::Entry> = journal::list(snap)?
        .into_iter()
        .filter(|e| e.id > id)
        .collect();
    later.sort_by_key(|e| std::cmp::Reverse(e.id));
    let mut left = moved.len();
    for e in later {
        if left == 0 {
            break;
        }
        let Ok((_, p, _)) = journal::load(snap, e.id) else {
            continue;
        };
        for n in &p.nodes {
            if let Some(m) = moved.get_mut(&n.node).filter(|m| m.by.is_none()) {
                m.by = Some(e.id);
                left -= 1;
            }
        }
    }
    Ok(moved)
}

/// Nodes whose own rows (the columns the entry wrote) are not what it left.
fn changed_rows(snap: &Snapshot<'_>, id: i64, plan: &Plan) -> Result<BTreeMap<String, Moved>> {
    let nodes: Vec<String> = plan.nodes.iter().map(|n| n.node.clone()).collect();
    let mut cols: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in plan.nodes.iter().flat_map(|n| &n.after) {
        let list = cols.entry(&a.table).or_default();
        for (c, _) in a.row.iter().flatten() {
            if !list.contains(&c.as_str()) {
                list.push(c);
            }
        }
    }
    let mut moved = BTreeMap::new();
    for (t, cols) in cols {
        let spec = table(t)?;
        let keycol = spec.node_column.as_deref().unwrap_or("node");
        let now = attrs::own_rows(snap, spec, keycol, &nodes, &cols)?;
        for n in &plan.nodes {
            for a in n.after.iter().filter(|a| a.table == t) {
                for (i, c) in cols.iter().enumerate() {
                    let cur = now.get(&n.node).and_then(|r| r[i].as_deref());
                    if cur != a.value(c) && !moved.contains_key(&n.node) {
                        moved.insert(
                            n.node.clone(),
                            Moved {
                                by: None,
                                what: format!(
                                    "{c} is now {} but entry {id} left it {}",
                                    cur.unwrap_or("(unset)"),
                                    a.value(c).unwrap_or("(unset)")
                                ),
                            },
                        );
                    }
                }
            }
        }
    }
    Ok(moved)
}

/// For `baton journal`: the entries whose work is unfinished and some of whose nodes have been
/// moved since, with those nodes and the later entries.
pub fn superseded(
    snap: &Snapshot<'_>,
    entries: &[journal::Entry],
) -> Result<BTreeMap<i64, String>> {
    let mut out = BTreeMap::new();
    for e in entries
        .iter()
        .filter(|e| e.state == run_state::PARTIAL || e.state == run_state::COMMITTED)
    {
        let Ok((_, plan, _)) = journal::load(snap, e.id) else {
            continue;
        };
        let moved = moved_since(snap, e.id, &plan)?;
        if moved.is_empty() {
            continue;
        }
        let mut by: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (node, m) in &moved {
            let who =
                m.by.map(|b| format!("entry {b}"))
                    .unwrap_or_else(|| "a change outside baton".into());
            by.entry(who).or_default().push(node);
        }
        let text: Vec<String> = by
            .iter()
            .map(|(who, nodes)| format!("{} by {who}", nodes.join(",")))
            .collect();
        out.insert(e.id, format!("superseded: {}", text.join("; ")));
    }
    Ok(out)
}
