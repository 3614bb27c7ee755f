//! The cluster lookups the evaluator needs ([`NodeSource`]) and an in-memory implementation
//! ([`MemorySource`]) for tests and small tools.

use std::collections::{HashMap, HashSet};

/// What the evaluator needs to know about the cluster. Implemented by the cluster database
/// crate (and by [`MemorySource`] in tests).
///
/// The evaluator never does I/O itself: files named by `^path` elements are read through
/// [`NodeSource::read_file`] too.
pub trait NodeSource {
    /// `true` if `name` is an existing, non-disabled node (nodelist row). Case-sensitive.
    fn is_node(&self, name: &str) -> bool;

    /// All node names (order irrelevant). Used by regex atoms and attribute selectors.
    /// Called at most once per evaluation.
    fn all_nodes(&self) -> Vec<String>;

    /// Members of the static group `group`: nodes whose `nodelist.groups` contains it as a
    /// whole comma-separated item (`abc` does not match `abcabc`). Empty when no node lists it.
    fn static_group_members(&self, group: &str) -> Vec<String>;

    /// The nodegroup row for `group`, if one exists (non-disabled).
    fn defined_group(&self, group: &str) -> Option<GroupKind>;

    /// Members of a dynamic group (only called when [`NodeSource::defined_group`] says
    /// [`GroupKind::Dynamic`]). An `Err` aborts the evaluation with
    /// [`crate::NoderangeError::DynamicGroup`].
    fn dynamic_group_members(&self, group: &str) -> Result<Vec<String>, String>;

    /// Values of `table.column` for every node that has one (inherited and evaluated, as
    /// xCAT's `getNodesAttribs`), keyed by node. Nodes absent from the map have no value and
    /// compare as `""`.
    ///
    /// Returns `None` when the table or column is unknown, or the table does not exist (then
    /// nothing is selected, even for `!=`). xCAT checks the column name as an unanchored
    /// pattern against the schema's columns, so a column name that is only part of a real
    /// column (`nodehm.con`) passes its check and then has no values; implementations may
    /// reproduce that by returning an empty map for such names.
    fn attribute_values(&self, table: &str, column: &str) -> Option<HashMap<String, String>>;

    /// Content of a file named by a `^path` element; `None` if it cannot be read (the element
    /// is then ignored). The path is passed as written, minus surrounding white space (as
    /// Perl's two-argument `open` trims it). Implementations must open it read-only, never
    /// through a shell.
    fn read_file(&self, path: &str) -> Option<String>;
}

/// The kind of a `nodegroup` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupKind {
    /// Members come from `nodelist.groups`.
    Static,
    /// Members are computed from the group's `wherevals`.
    Dynamic,
}

/// Columns of xCAT's `nodelist` table, known to every [`MemorySource`].
pub const NODELIST_COLUMNS: &[&str] = &[
    "node",
    "groups",
    "status",
    "statustime",
    "appstatus",
    "appstatustime",
    "primarysn",
    "hidden",
    "updatestatus",
    "updatestatustime",
    "zonename",
    "comments",
    "disable",
];

/// Columns of xCAT's `nodehm` table (for [`MemorySource::add_table`]).
pub const NODEHM_COLUMNS: &[&str] = &[
    "node",
    "power",
    "mgt",
    "cons",
    "termserver",
    "termport",
    "conserver",
    "serialport",
    "serialspeed",
    "serialflow",
    "getmac",
    "cmdmapping",
    "consoleondemand",
    "comments",
    "disable",
];

#[derive(Debug, Clone, Default)]
struct MemTable {
    columns: Vec<String>,
    values: HashMap<String, HashMap<String, String>>,
}

/// An in-memory [`NodeSource`], indexed with hash maps so that it stays fast with 100,000
/// nodes.
///
/// * Nodes are added with their `nodelist.groups` items; group membership is derived from
///   them, as xCAT does.
/// * `nodegroup` rows are added with [`MemorySource::define_group`] (needed for empty and for
///   dynamic groups).
/// * The `nodelist` table always exists (`nodelist.node`, `nodelist.groups` and anything set
///   with [`MemorySource::set_attribute`]). Other tables exist once added with
///   [`MemorySource::add_table`] or [`MemorySource::set_attribute`].
/// * A column name that is a substring of a known column of an existing table, without being
///   one, yields an empty map (xCAT's unanchored column check lets such names through).
#[derive(Debug, Clone)]
pub struct MemorySource {
    order: Vec<String>,
    /// node -> raw nodelist.groups
    nodes: HashMap<String, String>,
    /// group -> members in insertion order
    members: HashMap<String, Vec<String>>,
    defined: HashMap<String, GroupKind>,
    dynamic: HashMap<String, Result<Vec<String>, String>>,
    tables: HashMap<String, MemTable>,
    files: HashMap<String, String>,
}

impl Default for MemorySource {
    fn default() -> Self {
        Self::new()
    }
}

/// Perl `split /,/` of a groups string: trailing empty items dropped.
fn group_items(groups: &str) -> Vec<&str> {
    crate::text::split_plain(groups, ',')
}

impl MemorySource {
    /// An empty cluster (only the `nodelist` table exists).
    pub fn new() -> Self {
        let mut tables = HashMap::new();
        tables.insert(
            "nodelist".to_string(),
            MemTable {
                columns: NODELIST_COLUMNS.iter().map(|s| s.to_string()).collect(),
                values: HashMap::new(),
            },
        );
        MemorySource {
            order: Vec::new(),
            nodes: HashMap::new(),
            members: HashMap::new(),
            defined: HashMap::new(),
            dynamic: HashMap::new(),
            tables,
            files: HashMap::new(),
        }
    }

    /// A cluster of the given nodes, none in any group.
    pub fn with_nodes<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut m = Self::new();
        for n in names {
            m.add_node(n.as_ref(), &[]);
        }
        m
    }

    /// Add (or replace) a node whose `nodelist.groups` is `groups` joined by `,`.
    pub fn add_node(&mut self, name: &str, groups: &[&str]) -> &mut Self {
        self.add_node_groups_str(name, &groups.join(","))
    }

    /// Add (or replace) a node with a raw `nodelist.groups` string (split on `,` for
    /// membership).
    pub fn add_node_groups_str(&mut self, name: &str, groups: &str) -> &mut Self {
        if let Some(old) = self.nodes.remove(name) {
            for g in group_items(&old) {
                if let Some(list) = self.members.get_mut(g) {
                    list.retain(|n| n != name);
                    if list.is_empty() {
                        self.members.remove(g);
                    }
                }
            }
        } else {
            self.order.push(name.to_string());
        }
        let mut seen = HashSet::new();
        for g in group_items(groups) {
            if seen.insert(g) {
                self.members
                    .entry(g.to_string())
                    .or_default()
                    .push(name.to_string());
            }
        }
        self.nodes.insert(name.to_string(), groups.to_string());
        self
    }

    /// Add a `nodegroup` row.
    pub fn define_group(&mut self, name: &str, kind: GroupKind) -> &mut Self {
        self.defined.insert(name.to_string(), kind);
        self
    }

    /// Define a dynamic group and what evaluating its criteria gives.
    pub fn set_dynamic_group(
        &mut self,
        name: &str,
        members: Result<Vec<String>, String>,
    ) -> &mut Self {
        self.defined.insert(name.to_string(), GroupKind::Dynamic);
        self.dynamic.insert(name.to_string(), members);
        self
    }

    /// Make table `table` exist with the given columns (added to any it already has).
    pub fn add_table(&mut self, table: &str, columns: &[&str]) -> &mut Self {
        let t = self.tables.entry(table.to_string()).or_default();
        for c in columns {
            if !t.columns.iter().any(|x| x == c) {
                t.columns.push(c.to_string());
            }
        }
        self
    }

    /// Set the (already inherited/evaluated) value of `table.column` for `node`. Creates the
    /// table and column if needed. Setting `nodelist.groups` also changes group membership.
    pub fn set_attribute(
        &mut self,
        table: &str,
        column: &str,
        node: &str,
        value: &str,
    ) -> &mut Self {
        if table == "nodelist" && column == "groups" {
            if self.nodes.contains_key(node) {
                self.add_node_groups_str(node, value);
            }
            return self;
        }
        self.add_table(table, &[column]);
        if let Some(t) = self.tables.get_mut(table) {
            t.values
                .entry(column.to_string())
                .or_default()
                .insert(node.to_string(), value.to_string());
        }
        self
    }

    /// Make `read_file(path)` return `content`.
    pub fn add_file(&mut self, path: &str, content: &str) -> &mut Self {
        self.files.insert(path.to_string(), content.to_string());
        self
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

impl NodeSource for MemorySource {
    fn is_node(&self, name: &str) -> bool {
        self.nodes.contains_key(name)
    }

    fn all_nodes(&self) -> Vec<String> {
        self.order.clone()
    }

    fn static_group_members(&self, group: &str) -> Vec<String> {
        self.members.get(group).cloned().unwrap_or_default()
    }

    fn defined_group(&self, group: &str) -> Option<GroupKind> {
        self.defined.get(group).copied()
    }

    fn dynamic_group_members(&self, group: &str) -> Result<Vec<String>, String> {
        self.dynamic
            .get(group)
            .cloned()
            .unwrap_or_else(|| Ok(Vec::new()))
    }

    fn attribute_values(&self, table: &str, column: &str) -> Option<HashMap<String, String>> {
        let t = self.tables.get(table)?;
        if !t.columns.iter().any(|c| c == column) {
            return if !column.is_empty() && t.columns.iter().any(|c| c.contains(column)) {
                Some(HashMap::new())
            } else {
                None
            };
        }
        if table == "nodelist" {
            match column {
                "node" => return Some(self.order.iter().map(|n| (n.clone(), n.clone())).collect()),
                "groups" => {
                    return Some(
                        self.nodes
                            .iter()
                            .filter(|(_, g)| !g.is_empty())
                            .map(|(n, g)| (n.clone(), g.clone()))
                            .collect(),
                    )
                }
                _ => {}
            }
        }
        Some(t.values.get(column).cloned().unwrap_or_default())
    }

    fn read_file(&self, path: &str) -> Option<String> {
        self.files.get(path).cloned()
    }
}
