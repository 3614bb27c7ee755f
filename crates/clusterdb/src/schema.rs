//! The xCAT schema (tables and object definitions), embedded from `schema/xcat-schema.json`,
//! which was generated from xCAT's own `Schema.pm`.

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

#[derive(Debug, Deserialize)]
struct RawTable {
    columns: Vec<String>,
    primary_key: Vec<String>,
    #[serde(default)]
    not_null: Vec<String>,
    #[serde(default)]
    column_types: BTreeMap<String, String>,
    node_keyed: bool,
    #[serde(default)]
    node_column: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawAttr {
    attr: String,
    table: String,
    column: String,
    lookup: String,
    #[serde(default)]
    only_if: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawObject {
    key_attr: String,
    attrs: Vec<RawAttr>,
}

#[derive(Debug, Deserialize)]
struct RawSchema {
    tables: BTreeMap<String, RawTable>,
    objects: BTreeMap<String, RawObject>,
}

/// One xCAT table as declared in Schema.pm.
#[derive(Debug, Clone)]
pub struct TableSpec {
    pub name: String,
    /// Columns in declared order (`comments` and `disable` last).
    pub columns: Vec<String>,
    pub primary_key: Vec<String>,
    pub not_null: Vec<String>,
    /// Explicit column types (rare); everything else is TEXT (VARCHAR(128) for key columns).
    pub column_types: BTreeMap<String, String>,
    /// True when the node column is part of the key: rows may be keyed by a node or a group.
    pub node_keyed: bool,
    /// The node column (`node` unless the schema names another).
    pub node_column: Option<String>,
    index: HashMap<String, usize>,
}

impl TableSpec {
    pub fn has_column(&self, col: &str) -> bool {
        self.index.contains_key(col)
    }
    pub fn column_index(&self, col: &str) -> Option<usize> {
        self.index.get(col).copied()
    }
    /// The auto-increment column (`recid` of auditlog/eventlog), if any.
    pub fn autoincrement(&self) -> Option<&str> {
        self.column_types
            .iter()
            .find(|(_, t)| t.contains("AUTO_INCREMENT"))
            .map(|(c, _)| c.as_str())
    }
    pub fn is_key(&self, col: &str) -> bool {
        self.primary_key.iter().any(|k| k == col)
    }
    /// The column that holds node (or group) names for inheritance, when node-keyed.
    pub fn inherit_column(&self) -> Option<&str> {
        if self.node_keyed {
            self.node_column.as_deref()
        } else {
            None
        }
    }
}

/// How an object attribute maps to a table column.
#[derive(Debug, Clone)]
pub struct AttrSpec {
    pub attr: String,
    pub table: String,
    pub column: String,
    /// The key column of the lookup (`nodelist.node=attr:node` gives `node`), when the lookup is a
    /// single key on the object's name. Multi-key lookups (a handful of HMC tables) are `None`.
    pub key_column: Option<String>,
    /// `only_if` condition as (attribute, value): the mapping applies only when that attribute has
    /// that value (`mgt=ipmi`).
    pub only_if: Option<(String, String)>,
    /// A multi-key lookup (`ppcdirect.hcp=attr:node::ppcdirect.username=str:HMC`): the column
    /// holding the object's name and the other key columns with their fixed values.
    pub multi_key: Option<(String, Vec<(String, String)>)>,
}

#[derive(Debug, Clone)]
pub struct ObjectSpec {
    pub name: String,
    pub key_attr: String,
    pub attrs: Vec<AttrSpec>,
}

impl ObjectSpec {
    /// All mappings of an attribute name (several when `only_if` picks the table).
    pub fn mappings<'a>(&'a self, attr: &'a str) -> impl Iterator<Item = &'a AttrSpec> + 'a {
        self.attrs.iter().filter(move |a| a.attr == attr)
    }
    /// Attribute names in schema order, each once.
    pub fn attr_names(&self) -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        self.attrs
            .iter()
            .filter(|a| seen.insert(a.attr.as_str()))
            .map(|a| a.attr.as_str())
            .collect()
    }
}

#[derive(Debug)]
pub struct Schema {
    /// xCAT's tables.
    pub tables: BTreeMap<String, TableSpec>,
    /// baton's own tables (the takeover journal), kept apart so xCAT listings stay xCAT's.
    pub baton_tables: BTreeMap<String, TableSpec>,
    pub objects: BTreeMap<String, ObjectSpec>,
}

impl Schema {
    pub fn table(&self, name: &str) -> Option<&TableSpec> {
        self.tables
            .get(name)
            .or_else(|| self.baton_tables.get(name))
    }

    /// Every table, xCAT's then baton's.
    pub fn all_tables(&self) -> impl Iterator<Item = &TableSpec> {
        self.tables.values().chain(self.baton_tables.values())
    }
    pub fn object(&self, name: &str) -> Option<&ObjectSpec> {
        self.objects.get(name)
    }
}

/// The schema, parsed once per process.
pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let raw: RawSchema = serde_json::from_str(include_str!("../schema/xcat-schema.json"))
            .expect("embedded schema is valid JSON");
        let tables = raw
            .tables
            .into_iter()
            .map(|(name, t)| {
                let index = t
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.clone(), i))
                    .collect();
                let node_column = if t.node_keyed || t.node_column.is_some() {
                    Some(t.node_column.unwrap_or_else(|| "node".to_string()))
                } else {
                    None
                };
                let spec = TableSpec {
                    name: name.clone(),
                    columns: t.columns,
                    primary_key: t.primary_key,
                    not_null: t.not_null,
                    column_types: t.column_types,
                    node_keyed: t.node_keyed,
                    node_column,
                    index,
                };
                (name, spec)
            })
            .collect();
        let objects = raw
            .objects
            .into_iter()
            .map(|(name, o)| {
                let attrs = o
                    .attrs
                    .into_iter()
                    .map(|a| AttrSpec {
                        key_column: single_key_column(&a.lookup, &a.table),
                        multi_key: multi_key(&a.lookup, &a.table),
                        only_if: a.only_if.as_deref().and_then(|c| {
                            c.split_once('=')
                                .map(|(k, v)| (k.to_string(), v.to_string()))
                        }),
                        attr: a.attr,
                        table: a.table,
                        column: a.column,
                    })
                    .collect();
                let spec = ObjectSpec {
                    name: name.clone(),
                    key_attr: o.key_attr,
                    attrs,
                };
                (name, spec)
            })
            .collect();
        let baton_tables = baton_tables()
            .into_iter()
            .map(|t| (t.name.clone(), t))
            .collect();
        Schema {
            tables,
            baton_tables,
            objects,
        }
    })
}

fn spec(name: &str, columns: &[&str], key: &[&str], autoinc: Option<&str>) -> TableSpec {
    let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
    let index = columns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), i))
        .collect();
    TableSpec {
        name: name.to_string(),
        primary_key: key.iter().map(|c| c.to_string()).collect(),
        not_null: Vec::new(),
        column_types: autoinc
            .map(|c| BTreeMap::from([(c.to_string(), "INTEGER AUTO_INCREMENT".to_string())]))
            .unwrap_or_default(),
        node_keyed: false,
        node_column: None,
        columns,
        index,
    }
}

/// The takeover journal: one row per run, one row per step of a run; and the leases of the
/// runs whose steps are running.
fn baton_tables() -> Vec<TableSpec> {
    vec![
        spec(
            "baton_journal",
            &[
                "id", "started", "finished", "userid", "command", "state", "summary", "plan",
                "comments", "disable",
            ],
            &["id"],
            Some("id"),
        ),
        spec(
            "baton_journal_step",
            &[
                "journal_id",
                "step",
                "kind",
                "target",
                "nodes",
                "state",
                "detail",
                "results",
                "updated",
                "comments",
                "disable",
            ],
            &["journal_id", "step"],
            None,
        ),
        // Who is running the steps of which entries and nodes (see takeover's lease module).
        spec(
            "baton_lease",
            &[
                "id", "entries", "nodes", "host", "boot", "pid", "pstart", "started", "command",
                "comments", "disable",
            ],
            &["id"],
            Some("id"),
        ),
    ]
}

/// `noderes.node=attr:node` → `node`; anything with `::` (several keys) → None.
fn single_key_column(lookup: &str, table: &str) -> Option<String> {
    if lookup.contains("::") {
        return None;
    }
    let (lhs, rhs) = lookup.split_once('=')?;
    if !rhs.starts_with("attr:") {
        return None;
    }
    let (t, c) = lhs.split_once('.')?;
    (t == table).then(|| c.to_string())
}

/// `t.a=attr:node::t.b=str:X`: (`a`, [(`b`, `X`)]) when every part is on `table`.
fn multi_key(lookup: &str, table: &str) -> Option<(String, Vec<(String, String)>)> {
    let mut parts = lookup.split("::");
    let first = single_key_column(parts.next()?, table)?;
    let mut extra = Vec::new();
    for p in parts {
        let (lhs, rhs) = p.split_once('=')?;
        let (t, c) = lhs.split_once('.')?;
        let v = rhs.strip_prefix("str:")?;
        if t != table {
            return None;
        }
        extra.push((c.to_string(), v.to_string()));
    }
    (!extra.is_empty()).then_some((first, extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_key_lookups() {
        assert_eq!(
            multi_key(
                "ppcdirect.hcp=attr:node::ppcdirect.username=str:HMC",
                "ppcdirect"
            ),
            Some(("hcp".into(), vec![("username".into(), "HMC".into())]))
        );
        assert_eq!(multi_key("ipmi.node=attr:node", "ipmi"), None);
    }

    #[test]
    fn schema_loads_every_table() {
        let s = schema();
        assert_eq!(s.tables.len(), 73);
        let noderes = s.table("noderes").unwrap();
        assert_eq!(noderes.columns.first().unwrap(), "node");
        assert_eq!(noderes.columns.last().unwrap(), "disable");
        assert_eq!(noderes.inherit_column(), Some("node"));
        assert_eq!(
            s.table("ppchcp").unwrap().node_column.as_deref(),
            Some("hcp")
        );
        assert_eq!(s.table("auditlog").unwrap().autoincrement(), Some("recid"));
        assert!(s.table("site").unwrap().inherit_column().is_none());
    }

    #[test]
    fn node_object_maps_hierarchy_attributes() {
        let node = schema().object("node").unwrap();
        let sn: Vec<_> = node.mappings("servicenode").collect();
        assert_eq!(sn.len(), 1);
        assert_eq!(
            (sn[0].table.as_str(), sn[0].column.as_str()),
            ("noderes", "servicenode")
        );
        assert_eq!(sn[0].key_column.as_deref(), Some("node"));
        let cons: Vec<_> = node.mappings("conserver").collect();
        assert_eq!(cons[0].table, "nodehm");
        let bmc: Vec<_> = node.mappings("bmc").collect();
        assert!(bmc
            .iter()
            .any(|m| m.only_if == Some(("mgt".into(), "ipmi".into()))));
    }
}
