//! The node list and group memberships, read once per snapshot, and the bridge that lets the
//! `noderange` crate evaluate noderanges against the database.

use crate::backend::Filter;
use crate::{attrs, objects, table, Result, Snapshot};
use noderange::{GroupKind, NodeSource};
use std::collections::HashMap;
use std::sync::Arc;

/// 100,000 node names are hashed here: a fast hash.
type FastMap<K, V> = HashMap<K, V, ahash::RandomState>;

#[derive(Debug, Clone)]
pub struct NodeEntry {
    pub name: String,
    /// `nodelist.groups` split on `,`, in order: the inheritance precedence. Nodes with the
    /// same list share one copy.
    pub groups: Arc<[String]>,
    pub hidden: bool,
}

#[derive(Debug, Clone)]
pub struct GroupDef {
    pub kind: GroupKind,
    pub wherevals: Option<String>,
}

/// Every enabled node (nodelist row) and every defined group (nodegroup row).
#[derive(Debug, Default)]
pub struct NodeIndex {
    pub nodes: Vec<NodeEntry>,
    pos: FastMap<String, usize>,
    members: FastMap<String, Vec<usize>>,
    defined: FastMap<String, GroupDef>,
}

impl NodeIndex {
    pub(crate) fn load(snap: &Snapshot<'_>) -> Result<Self> {
        let rows = snap.select(
            table("nodelist")?,
            &["node", "groups", "hidden"],
            Filter::Enabled,
        )?;
        let mut idx = NodeIndex {
            nodes: Vec::with_capacity(rows.len()),
            pos: FastMap::with_capacity_and_hasher(rows.len(), Default::default()),
            ..NodeIndex::default()
        };
        // The distinct `groups` values: most nodes share a few.
        let mut lists: FastMap<String, Arc<[String]>> = FastMap::default();
        for mut r in rows {
            let Some(name) = r[0].take().filter(|n| !n.is_empty()) else {
                continue;
            };
            if idx.pos.contains_key(&name) {
                continue;
            }
            let raw = r[1].take().unwrap_or_default();
            let groups = match lists.get(&raw) {
                Some(g) => g.clone(),
                None => {
                    let g: Arc<[String]> = raw
                        .split(',')
                        .filter(|g| !g.is_empty())
                        .map(str::to_string)
                        .collect();
                    lists.insert(raw, g.clone());
                    g
                }
            };
            let i = idx.nodes.len();
            for g in groups.iter() {
                let m = match idx.members.get_mut(g.as_str()) {
                    Some(m) => m,
                    None => idx.members.entry(g.clone()).or_default(),
                };
                // A node listing a group twice is still one member.
                if m.last() != Some(&i) {
                    m.push(i);
                }
            }
            idx.pos.insert(name.clone(), i);
            let hidden = matches!(r[2].as_deref(), Some("1" | "yes"));
            idx.nodes.push(NodeEntry {
                name,
                groups,
                hidden,
            });
        }
        let rows = snap.select(
            table("nodegroup")?,
            &["groupname", "grouptype", "wherevals"],
            Filter::Enabled,
        )?;
        for r in rows {
            let Some(name) = r[0].clone() else { continue };
            let kind = if r[1].as_deref() == Some("dynamic") {
                GroupKind::Dynamic
            } else {
                GroupKind::Static
            };
            idx.defined.entry(name).or_insert(GroupDef {
                kind,
                wherevals: r[2].clone(),
            });
        }
        Ok(idx)
    }

    pub fn get(&self, node: &str) -> Option<&NodeEntry> {
        self.pos.get(node).map(|&i| &self.nodes[i])
    }

    pub fn contains(&self, node: &str) -> bool {
        self.pos.contains_key(node)
    }

    pub fn group_members(&self, group: &str) -> Vec<String> {
        self.members
            .get(group)
            .map(|m| m.iter().map(|&i| self.nodes[i].name.clone()).collect())
            .unwrap_or_default()
    }

    pub fn group_def(&self, group: &str) -> Option<&GroupDef> {
        self.defined.get(group)
    }

    /// Every group name in use (by a node or a nodegroup row), sorted.
    pub fn group_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .members
            .keys()
            .chain(self.defined.keys())
            .cloned()
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// [`NodeSource`] over a snapshot.
pub(crate) struct DbSource<'s, 'a> {
    pub snap: &'s Snapshot<'a>,
}

impl DbSource<'_, '_> {
    fn index(&self) -> Option<&NodeIndex> {
        self.snap.index().ok()
    }
}

impl NodeSource for DbSource<'_, '_> {
    fn is_node(&self, name: &str) -> bool {
        self.index().is_some_and(|i| i.contains(name))
    }

    fn all_nodes(&self) -> Vec<String> {
        self.index()
            .map(|i| i.nodes.iter().map(|n| n.name.clone()).collect())
            .unwrap_or_default()
    }

    fn static_group_members(&self, group: &str) -> Vec<String> {
        self.index()
            .map(|i| i.group_members(group))
            .unwrap_or_default()
    }

    fn defined_group(&self, group: &str) -> Option<GroupKind> {
        self.index()?.group_def(group).map(|d| d.kind)
    }

    fn dynamic_group_members(&self, group: &str) -> std::result::Result<Vec<String>, String> {
        let idx = self.index().ok_or("cannot read the node list")?;
        let wherevals = idx
            .group_def(group)
            .and_then(|d| d.wherevals.clone())
            .unwrap_or_default();
        objects::dynamic_group_members(self.snap, &wherevals).map_err(|e| e.to_string())
    }

    fn attribute_values(&self, table: &str, column: &str) -> Option<HashMap<String, String>> {
        let spec = crate::schema::schema().table(table)?;
        if !spec.has_column(column) {
            return None;
        }
        let nodes = self.all_nodes();
        if table == "nodelist" {
            // nodelist never inherits; read it directly.
            let rows = self
                .snap
                .select(
                    spec,
                    &[spec.node_column.as_deref()?, column],
                    Filter::Enabled,
                )
                .ok()?;
            return Some(
                rows.into_iter()
                    .filter_map(|r| Some((r[0].clone()?, r[1].clone().filter(|v| !v.is_empty())?)))
                    .collect(),
            );
        }
        spec.inherit_column()?;
        let vals = attrs::nodes_attribs(self.snap, spec, &nodes, &[column]).ok()?;
        Some(
            vals.into_iter()
                .filter_map(|(n, mut row)| Some((n, row.pop()??)))
                .collect(),
        )
    }

    fn read_file(&self, path: &str) -> Option<String> {
        crate::files::read_text(std::path::Path::new(path), crate::files::SMALL).ok()
    }
}
