//! xCAT's object layer (lsdef / mkdef / chdef / rmdef): object attributes mapped to table columns
//! as `Schema.pm`'s `%defspec` declares them. Node reads are inherited and evaluated; group reads
//! are raw (xCAT's `keep_raw`); writes always go to the row keyed by the object's own name.

use crate::attrs::for_each_node;
use crate::backend::{Filter, Tx, Value};
use crate::schema::{schema, AttrSpec, ObjectSpec, TableSpec};
use crate::{table, Error, Result, Snapshot};
use std::collections::{BTreeMap, HashMap};

/// attribute → value, sorted by attribute name as lsdef prints them.
pub type Attrs = BTreeMap<String, String>;

/// Object types baton's lsdef/chdef/mkdef/rmdef handle.
pub const TYPES: &[&str] = &["node", "group", "site", "network"];

pub(crate) fn object(kind: &str) -> Result<&'static ObjectSpec> {
    schema().object(kind).ok_or_else(|| {
        Error::Invalid(format!(
            "'{kind}' is not a valid object type; use one of {}",
            TYPES.join(", ")
        ))
    })
}

/// A condition attribute (`mgt` of `mgt=ipmi`) matches when its value has the wanted word.
pub(crate) fn condition_holds(value: Option<&str>, want: &str) -> bool {
    value.is_some_and(|v| {
        v.split(|c: char| !c.is_alphanumeric() && c != '_' && c != '-')
            .any(|w| w == want)
    })
}

/// The mappings of a node attribute that can be read: single-key lookups on the node name.
pub(crate) fn readable(spec: &AttrSpec) -> bool {
    spec.key_column.is_some()
}

/// Inherited, evaluated attributes of `nodes`. `wanted` limits the attributes (None = all).
pub fn node_attrs(
    snap: &Snapshot<'_>,
    nodes: &[String],
    wanted: Option<&[String]>,
) -> Result<BTreeMap<String, Attrs>> {
    let obj = object("node")?;
    if let Some(w) = wanted {
        for a in w {
            if obj.mappings(a).next().is_none() {
                return Err(Error::Invalid(format!(
                    "'{a}' is not an attribute of node objects"
                )));
            }
        }
    }
    let want = |a: &str| a != obj.key_attr && wanted.is_none_or(|w| w.iter().any(|x| x == a));
    // Conditions (mgt, nodetype, ...) are read too, even when not asked for.
    let conditions: Vec<&str> = obj
        .attrs
        .iter()
        .filter_map(|m| m.only_if.as_ref().map(|(a, _)| a.as_str()))
        .collect();
    let mappings: Vec<&AttrSpec> = obj
        .attrs
        .iter()
        .filter(|m| readable(m) && (want(&m.attr) || conditions.contains(&m.attr.as_str())))
        .collect();

    // One read per table for all nodes and all of that table's columns. Only the values that
    // are set are kept, node by node: most columns of most tables are unset.
    let mut by_table: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for m in &mappings {
        let cols = by_table.entry(m.table.as_str()).or_default();
        if !cols.contains(&m.column.as_str()) {
            cols.push(m.column.as_str());
        }
    }
    let groups = crate::attrs::groups_of(snap, nodes)?;
    let mut stores: Vec<SetValues> = Vec::with_capacity(by_table.len());
    let mut slots: HashMap<(&str, &str), (usize, usize)> = HashMap::new();
    for (t, cols) in &by_table {
        let spec = table(t)?;
        stores.push(read_table_for(snap, spec, nodes, &groups, cols)?);
        for (c, col) in cols.iter().enumerate() {
            slots.insert((t, col), (stores.len() - 1, c));
        }
    }
    drop(groups);

    // Attribute names as small numbers, in name order (the order lsdef prints them in).
    let mut names: Vec<&str> = mappings.iter().map(|m| m.attr.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let id = |a: &str| names.binary_search(&a).ok();
    let shown: Vec<bool> = names.iter().map(|a| want(a)).collect();
    // Each mapping: attribute, table and column, condition (attribute, value) if any.
    type Located<'m> = (usize, usize, usize, Option<(Option<usize>, &'m str)>);
    let located = |conditional: bool| -> Vec<Located<'_>> {
        mappings
            .iter()
            .filter(|m| m.only_if.is_some() == conditional)
            .map(|m| {
                let (t, c) = slots[&(m.table.as_str(), m.column.as_str())];
                let cond = m.only_if.as_ref().map(|(a, v)| (id(a), v.as_str()));
                (id(&m.attr).unwrap(), t, c, cond)
            })
            .collect()
    };
    // Unconditional mappings first, so conditions can be checked against them.
    let unconditional = located(false);
    let conditional = located(true);

    let mut out = BTreeMap::new();
    let mut vals: Vec<Option<&str>> = vec![None; names.len()];
    for (i, node) in nodes.iter().enumerate() {
        vals.fill(None);
        for &(a, t, c, _) in &unconditional {
            if vals[a].is_none() {
                vals[a] = stores[t].get(i, c);
            }
        }
        for &(a, t, c, cond) in &conditional {
            let (cattr, cval) = cond.unwrap();
            if vals[a].is_none() && condition_holds(cattr.and_then(|ca| vals[ca]), cval) {
                vals[a] = stores[t].get(i, c);
            }
        }
        let attrs: Attrs = names
            .iter()
            .zip(&vals)
            .zip(&shown)
            .filter_map(|((a, v), show)| Some((a.to_string(), v.filter(|_| *show)?.to_string())))
            .collect();
        out.insert(node.clone(), attrs);
    }
    add_multi_key(snap, obj, wanted, &mut out)?;
    Ok(out)
}

/// Attributes stored under several keys (`passwd.HMC`: the `ppcdirect` row of the node and the
/// user `HMC`), from the nodes' own rows. These tables are small: read whole.
fn add_multi_key(
    snap: &Snapshot<'_>,
    obj: &ObjectSpec,
    wanted: Option<&[String]>,
    out: &mut BTreeMap<String, Attrs>,
) -> Result<()> {
    let maps: Vec<&AttrSpec> = obj
        .attrs
        .iter()
        .filter(|m| m.multi_key.is_some() && wanted.is_none_or(|w| w.contains(&m.attr)))
        .collect();
    let mut tables: Vec<&str> = maps.iter().map(|m| m.table.as_str()).collect();
    tables.sort_unstable();
    tables.dedup();
    for t in tables {
        let spec = table(t)?;
        if !snap.tx().table_exists(spec)? {
            continue;
        }
        let cols: Vec<&str> = spec.columns.iter().map(String::as_str).collect();
        for r in snap.select(spec, &cols, Filter::Enabled)? {
            let get = |c: &str| spec.column_index(c).and_then(|i| r[i].as_deref());
            for m in maps.iter().filter(|m| m.table == t) {
                let Some((keycol, extra)) = &m.multi_key else {
                    continue;
                };
                let Some(attrs) = get(keycol).and_then(|n| out.get_mut(n)) else {
                    continue;
                };
                if extra.iter().all(|(c, v)| get(c) == Some(v.as_str())) {
                    if let Some(v) = get(&m.column).filter(|v| !v.is_empty()) {
                        attrs.entry(m.attr.clone()).or_insert_with(|| v.to_string());
                    }
                }
            }
        }
    }
    Ok(())
}

/// The values that are set of some columns, for a list of nodes: `(column, value)` pairs, node
/// after node. Compact where most values are unset, as in a node's full attribute list.
struct SetValues {
    /// Node i's pairs are `vals[start[i]..start[i + 1]]`.
    start: Vec<usize>,
    vals: Vec<(usize, String)>,
}

impl SetValues {
    fn with_capacity(nodes: usize) -> Self {
        let mut start = Vec::with_capacity(nodes + 1);
        start.push(0);
        SetValues {
            start,
            vals: Vec::new(),
        }
    }

    /// Add the next node's values (taken out of `vals`).
    fn push_node(&mut self, vals: &mut [Value]) {
        for (c, v) in vals.iter_mut().enumerate() {
            if let Some(v) = v.take() {
                self.vals.push((c, v));
            }
        }
        self.start.push(self.vals.len());
    }

    fn get(&self, node: usize, column: usize) -> Option<&str> {
        self.vals[self.start[node]..self.start[node + 1]]
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, v)| v.as_str())
    }
}

/// Values of `cols` for each node: inherited for node-keyed tables, the raw row otherwise.
fn read_table_for(
    snap: &Snapshot<'_>,
    spec: &TableSpec,
    nodes: &[String],
    groups: &[&[String]],
    cols: &[&str],
) -> Result<SetValues> {
    let mut out = SetValues::with_capacity(nodes.len());
    if spec.inherit_column().is_some() {
        for_each_node(snap, spec, nodes, Some(groups), cols, |_, vals| {
            out.push_node(vals)
        })?;
        return Ok(out);
    }
    let Some(keycol) = spec
        .node_column
        .as_deref()
        .or(spec.primary_key.first().map(String::as_str))
    else {
        let mut none = vec![None; cols.len()];
        for _ in nodes {
            out.push_node(&mut none);
        }
        return Ok(out);
    };
    let mut select = vec![keycol];
    select.extend_from_slice(cols);
    let rows = snap.select(
        spec,
        &select,
        Filter::In {
            column: keycol,
            keys: nodes,
        },
    )?;
    let mut by_key: HashMap<String, Vec<Value>> = HashMap::new();
    for mut r in rows {
        if let Some(k) = r.remove(0) {
            by_key.entry(k).or_insert(r);
        }
    }
    let mut none = vec![None; cols.len()];
    for n in nodes {
        match by_key.get(n.as_str()) {
            Some(r) => out.push_node(&mut r.clone()),
            None => out.push_node(&mut none),
        }
    }
    Ok(out)
}

/// A group's own rows, raw (no inheritance, no evaluation), plus `members` and `grouptype`.
pub fn group_attrs(snap: &Snapshot<'_>, group: &str) -> Result<Attrs> {
    let mut attrs = group_rows(snap, group)?;
    let idx = snap.index()?;
    let members = idx.group_members(group);
    match idx.group_def(group) {
        Some(def) => {
            let dynamic = matches!(def.kind, noderange::GroupKind::Dynamic);
            attrs.insert(
                "grouptype".into(),
                if dynamic { "dynamic" } else { "static" }.into(),
            );
            if let Some(w) = def.wherevals.as_ref().filter(|w| !w.is_empty()) {
                attrs.insert("wherevals".into(), w.clone());
            }
            if dynamic {
                let m = dynamic_group_members(snap, def.wherevals.as_deref().unwrap_or(""))?;
                attrs.insert("members".into(), m.join(","));
            } else {
                attrs.insert("members".into(), members.join(","));
            }
        }
        None if members.is_empty() => {
            return Err(Error::Missing(format!(
                "Could not find an object named '{group}' of type 'group'."
            )))
        }
        None => {
            attrs.insert("grouptype".into(), "static".into());
            attrs.insert("members".into(), members.join(","));
        }
    }
    Ok(attrs)
}

/// The values set on a group's own rows (node-keyed tables but nodelist), raw, whether or not
/// the group has members or a nodegroup row.
pub fn group_rows(snap: &Snapshot<'_>, group: &str) -> Result<Attrs> {
    let mut attrs = Attrs::new();
    let node = object("node")?;
    let mut by_table: BTreeMap<&str, Vec<&AttrSpec>> = BTreeMap::new();
    for m in node
        .attrs
        .iter()
        .filter(|m| readable(m) && m.attr != node.key_attr)
    {
        by_table.entry(m.table.as_str()).or_default().push(m);
    }
    for (t, maps) in by_table {
        let spec = table(t)?;
        let Some(keycol) = spec.inherit_column() else {
            continue;
        };
        if t == "nodelist" {
            continue; // nodelist rows are nodes, never groups
        }
        let cols: Vec<&str> = maps.iter().map(|m| m.column.as_str()).collect();
        let rows = snap.select(
            spec,
            &cols,
            Filter::Eq {
                column: keycol,
                value: group,
            },
        )?;
        if let Some(r) = rows.first() {
            for (m, v) in maps.iter().zip(r) {
                if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                    attrs.entry(m.attr.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }
    Ok(attrs)
}

/// Attribute lines as lsdef prints them: a `nic*` value (`eth0!1.1.1.1,ib0!10.0.0.1`) becomes
/// one `nicips.eth0=...` line per interface (`DBobjUtils.pm`'s `expandnicsattr`). For a node,
/// each interface's value expression is evaluated; a group's is shown as stored.
pub fn display_pairs(attrs: &Attrs, node: Option<&str>) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(attrs.len());
    for (k, v) in attrs {
        if !k.starts_with("nic") || !v.contains('!') {
            out.push((k.clone(), v.clone()));
            continue;
        }
        for (nic, val) in v.split(',').filter_map(|e| e.split_once('!')) {
            let val = match node {
                Some(n) if valexpr::is_expression(val) => valexpr::evaluate(n, val)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| val.to_string()),
                _ => val.to_string(),
            };
            if !nic.is_empty() && !val.is_empty() {
                out.push((format!("{k}.{nic}"), val));
            }
        }
    }
    out
}

/// The `site` table as the object `clustersite`.
pub fn site_attrs(snap: &Snapshot<'_>) -> Result<Attrs> {
    let rows = snap.select(table("site")?, &["key", "value"], Filter::Enabled)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r[0].clone()?, r[1].clone().filter(|v| !v.is_empty())?)))
        .collect())
}

/// Every network object (networks rows by netname), raw.
pub fn network_attrs(snap: &Snapshot<'_>) -> Result<BTreeMap<String, Attrs>> {
    let spec = table("networks")?;
    let cols: Vec<&str> = spec
        .columns
        .iter()
        .map(String::as_str)
        .filter(|c| *c != "disable")
        .collect();
    let rows = snap.select(spec, &cols, Filter::Enabled)?;
    let mut out = BTreeMap::new();
    for r in rows {
        let mut attrs = Attrs::new();
        for (c, v) in cols.iter().zip(&r) {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                let name = if *c == "comments" { "usercomment" } else { c };
                attrs.insert(name.to_string(), v.clone());
            }
        }
        let name = attrs
            .get("netname")
            .cloned()
            .or_else(|| attrs.get("net").cloned())
            .unwrap_or_default();
        attrs.remove("netname");
        out.insert(name, attrs);
    }
    Ok(out)
}

/// Members of a dynamic group: nodes whose attributes satisfy every `::`-joined selection
/// criterion (`attr==val`, `attr!=val`, `attr=~re`, `attr!~re`; an unset attribute never
/// matches, as in xCAT).
pub fn dynamic_group_members(snap: &Snapshot<'_>, wherevals: &str) -> Result<Vec<String>> {
    let words: Vec<&str> = wherevals.split("::").filter(|c| !c.is_empty()).collect();
    if words.is_empty() {
        // No criterion would select every node: a move of the group would move the cluster.
        return Err(Error::Invalid(
            "a dynamic group without selection criteria (wherevals) selects nothing".into(),
        ));
    }
    let crits = crate::selection::parse_selection(&words)?;
    let idx = snap.index()?;
    let nodes: Vec<String> = idx.nodes.iter().map(|n| n.name.clone()).collect();
    let mut out = select_nodes(snap, &nodes, &crits)?;
    out.sort();
    Ok(out)
}

/// The nodes of `nodes` whose attributes satisfy every criterion (`lsdef -w`).
pub fn select_nodes(
    snap: &Snapshot<'_>,
    nodes: &[String],
    crits: &[crate::selection::Criterion],
) -> Result<Vec<String>> {
    let mut wanted: Vec<String> = crits
        .iter()
        .map(|c| c.attr.clone())
        .filter(|a| a != "node")
        .collect();
    wanted.sort();
    wanted.dedup();
    let attrs = node_attrs(snap, nodes, Some(&wanted))?;
    Ok(nodes
        .iter()
        .filter(|n| {
            let a = &attrs[*n];
            crits.iter().all(|c| match c.attr.as_str() {
                // The node's name is its `node` attribute (`-w node=~fs2vm`).
                "node" => c.matches(Some(n.as_str())),
                attr => c.matches(a.get(attr).map(String::as_str)),
            })
        })
        .cloned()
        .collect())
}

/// How `chdef` combines a new value with the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Replace,
    /// `-p`: append list items.
    Plus,
    /// `-m`: remove list items.
    Minus,
}

/// Parse `attr=value` words; rejects anything else, naming the word.
pub fn parse_assignments(words: &[String]) -> Result<Vec<(String, String)>> {
    words
        .iter()
        .map(|w| match w.split_once('=') {
            Some((a, v)) if !a.is_empty() => Ok((a.to_string(), v.to_string())),
            _ => Err(Error::Invalid(format!(
                "'{w}' is not of the form attribute=value"
            ))),
        })
        .collect()
}

pub(crate) fn merge(mode: Mode, current: Option<&str>, new: &str) -> Option<String> {
    let items = |s: &str| {
        s.split(',')
            .filter(|i| !i.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let v = match mode {
        Mode::Replace => new.to_string(),
        Mode::Plus => {
            let mut cur = items(current.unwrap_or(""));
            for i in items(new) {
                if !cur.contains(&i) {
                    cur.push(i);
                }
            }
            cur.join(",")
        }
        Mode::Minus => {
            let drop = items(new);
            items(current.unwrap_or(""))
                .into_iter()
                .filter(|i| !drop.contains(i))
                .collect::<Vec<_>>()
                .join(",")
        }
    };
    (!v.is_empty()).then_some(v)
}

/// Write `set` on the row whose `keycol` is `key`, creating the row if there is none.
pub fn upsert(
    tx: &mut dyn Tx,
    spec: &TableSpec,
    keycol: &str,
    key: &str,
    set: &[(&str, Value)],
) -> Result<()> {
    if tx.update(spec, &[(keycol, key)], set)? == 0 {
        let mut cols = vec![keycol];
        let mut vals = vec![Some(key.to_string())];
        for (c, v) in set {
            cols.push(c);
            vals.push(v.clone());
        }
        tx.insert(spec, &cols, &vals)?;
    }
    Ok(())
}

/// `chdef`/`mkdef` for nodes without -f; see [`crate::objwrite::write_nodes`].
pub fn set_node_attrs(
    snap: &mut Snapshot<'_>,
    nodes: &[String],
    assignments: &[(String, String)],
    mode: Mode,
    create: bool,
) -> Result<()> {
    let w = crate::objwrite::NodeWrite {
        mode,
        create,
        fresh: false,
        keep_default_scripts: false,
    };
    crate::objwrite::write_nodes(snap, nodes, assignments, w).map(|_| ())
}

/// xCAT drops postscripts already in the `xcatdefaults` row (they always run first).
pub(crate) fn drop_defaults(v: &str, defaults: Option<&String>) -> String {
    let Some(d) = defaults else {
        return v.to_string();
    };
    let d: Vec<&str> = d.split(',').collect();
    v.split(',')
        .filter(|i| !d.contains(i))
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn postscript_defaults(snap: &Snapshot<'_>) -> Result<HashMap<String, String>> {
    let spec = table("postscripts")?;
    let rows = snap.select(
        spec,
        &["postscripts", "postbootscripts"],
        Filter::Eq {
            column: "node",
            value: "xcatdefaults",
        },
    )?;
    let mut out = HashMap::new();
    if let Some(r) = rows.first() {
        for (c, v) in ["postscripts", "postbootscripts"].iter().zip(r) {
            if let Some(v) = v {
                out.insert(c.to_string(), v.clone());
            }
        }
    }
    Ok(out)
}

/// `rmdef -t node`: delete the nodes' rows from every table keyed by a node column.
pub fn remove_nodes(snap: &mut Snapshot<'_>, nodes: &[String]) -> Result<usize> {
    let mut tx = snap.tx();
    let mut n = 0;
    for spec in schema().tables.values() {
        let Some(keycol) = spec.node_column.as_deref() else {
            continue;
        };
        for node in nodes {
            let c = tx.delete(spec, &[(keycol, node)])?;
            if spec.name == "nodelist" {
                n += c;
            }
        }
    }
    drop(tx);
    snap.invalidate();
    Ok(n)
}

/// `rmdef -t group`: delete the group's nodegroup row and its group-keyed rows, and take the
/// group out of every member's `nodelist.groups`.
pub fn remove_group(snap: &mut Snapshot<'_>, group: &str) -> Result<()> {
    let idx = snap.index()?;
    if idx.group_def(group).is_none() && idx.group_members(group).is_empty() {
        return Err(Error::Missing(format!(
            "Could not find an object named '{group}' of type 'group'."
        )));
    }
    let changes: Vec<(String, String)> = idx
        .nodes
        .iter()
        .filter(|n| n.groups.iter().any(|g| g == group))
        .map(|n| {
            (
                n.name.clone(),
                n.groups
                    .iter()
                    .filter(|g| *g != group)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(","),
            )
        })
        .collect();
    let mut tx = snap.tx();
    tx.delete(table("nodegroup")?, &[("groupname", group)])?;
    for spec in schema().tables.values() {
        if let Some(keycol) = spec.inherit_column().filter(|_| spec.name != "nodelist") {
            tx.delete(spec, &[(keycol, group)])?;
        }
    }
    let nl = table("nodelist")?;
    for (node, groups) in changes {
        tx.update(
            nl,
            &[("node", &node)],
            &[("groups", Some(groups).filter(|g| !g.is_empty()))],
        )?;
    }
    drop(tx);
    snap.invalidate();
    Ok(())
}

/// `chdef -t site key=value`: an empty value deletes the key, as in xCAT.
pub fn set_site(snap: &mut Snapshot<'_>, assignments: &[(String, String)]) -> Result<()> {
    let spec = table("site")?;
    let mut tx = snap.tx();
    for (k, v) in assignments {
        if v.is_empty() {
            tx.delete(spec, &[("key", k)])?;
        } else {
            upsert(&mut **tx, spec, "key", k, &[("value", Some(v.clone()))])?;
        }
    }
    drop(tx);
    snap.invalidate();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nic_values_print_one_line_per_interface() {
        let a = Attrs::from([
            (
                "nicips".to_string(),
                "ib0!10.41.0.101,eth0!1.1.1.1".to_string(),
            ),
            ("ip".to_string(), "10.0.0.1".to_string()),
        ]);
        let lines = display_pairs(&a, Some("cn1"));
        assert_eq!(
            lines,
            [
                ("ip".to_string(), "10.0.0.1".to_string()),
                ("nicips.ib0".to_string(), "10.41.0.101".to_string()),
                ("nicips.eth0".to_string(), "1.1.1.1".to_string()),
            ]
        );
        let re = Attrs::from([(
            "nicips".to_string(),
            r"eth1!|\D+(\d+)|172.20.254.($1%100)|".to_string(),
        )]);
        assert_eq!(display_pairs(&re, Some("sn07"))[0].1, "172.20.254.7");
        assert!(display_pairs(&re, None)[0].1.starts_with('|'));
    }

    #[test]
    fn merge_modes() {
        assert_eq!(merge(Mode::Replace, Some("a"), "b").as_deref(), Some("b"));
        assert_eq!(
            merge(Mode::Plus, Some("a,b"), "b,c").as_deref(),
            Some("a,b,c")
        );
        assert_eq!(
            merge(Mode::Minus, Some("a,b,c"), "b").as_deref(),
            Some("a,c")
        );
        assert_eq!(merge(Mode::Replace, Some("a"), ""), None);
    }

    #[test]
    fn conditions_match_whole_words() {
        assert!(condition_holds(Some("ipmi"), "ipmi"));
        assert!(condition_holds(Some("ppc,osi"), "osi"));
        assert!(!condition_holds(Some("openbmc"), "bmc"));
        assert!(!condition_holds(None, "ipmi"));
    }

    #[test]
    fn assignments_must_have_equals() {
        assert!(parse_assignments(&["a=b".into(), "c=".into()]).is_ok());
        assert!(parse_assignments(&["nope".into()]).is_err());
        assert!(parse_assignments(&["=x".into()]).is_err());
    }
}
