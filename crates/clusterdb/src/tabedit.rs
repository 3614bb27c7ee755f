//! Row-level table commands, as `tabutils.pm` implements them: chtab/tabch (rows chosen by key
//! columns), nodech/nodeadd/noderm (a noderange's own rows), gettab, tabgrep, tabprune, and
//! `tabdump -w` filters. Callers run each command in one transaction.

use crate::backend::{Filter, Row, Value};
use crate::objects::upsert;
use crate::schema::{schema, TableSpec};
use crate::selection::Criterion;
use crate::{attrs, table, Error, Result, Snapshot};

/// xCAT's short names for nodech/nodels columns.
pub fn shortname(s: &str) -> Option<(&'static str, &'static str)> {
    match s {
        "groups" | "tags" => Some(("nodelist", "groups")),
        "mgt" => Some(("nodehm", "mgt")),
        _ => None,
    }
}

/// A table that exists in xCAT's schema, or xCAT's message.
pub fn xcat_table(name: &str) -> Result<&'static TableSpec> {
    schema()
        .tables
        .get(name)
        .ok_or_else(|| Error::Invalid(format!("Table {name} does not exist.")))
}

/// `table.column` (or a short name) checked against the schema.
pub fn table_column(word: &str) -> Result<(&'static TableSpec, String)> {
    let bad = || Error::UnknownColumn(word.to_string());
    let (t, c) = match shortname(word) {
        Some((t, c)) => (t, c),
        None => word.split_once('.').ok_or_else(bad)?,
    };
    let spec = schema().tables.get(t).ok_or_else(bad)?;
    if !spec.has_column(c) {
        return Err(bad());
    }
    Ok((spec, c.to_string()))
}

/// `key=value[,key=value...]`, as chtab and gettab take it.
pub fn parse_keys(spec: &str) -> Result<Vec<(String, String)>> {
    spec.split(',')
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(Error::Invalid(format!(
                "Incorrect argument \"{p}\".\nCheck man tabch or tabch -h"
            ))),
        })
        .collect()
}

/// Every key column must be a column of the table.
pub fn check_keys(spec: &TableSpec, keys: &[(String, String)]) -> Result<()> {
    for (k, _) in keys {
        if !spec.has_column(k) {
            return Err(Error::Invalid(format!(
                "no such column \"{k}\" in table \"{}\"",
                spec.name
            )));
        }
    }
    Ok(())
}

/// The enabled rows whose key columns equal `keys`, only `cols` returned.
pub fn rows_with(
    snap: &Snapshot<'_>,
    spec: &TableSpec,
    keys: &[(String, String)],
    cols: &[&str],
) -> Result<Vec<Row>> {
    let mut select: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
    select.extend_from_slice(cols);
    let filter = match keys.first() {
        Some((k, v)) => Filter::Eq {
            column: k,
            value: v,
        },
        None => Filter::Enabled,
    };
    if !snap.tx().table_exists(spec)? {
        return Ok(Vec::new());
    }
    Ok(snap
        .select(spec, &select, filter)?
        .into_iter()
        .filter(|r| {
            keys.iter()
                .zip(r)
                .all(|((_, v), got)| got.as_deref() == Some(v))
        })
        .map(|mut r| r.split_off(keys.len()))
        .collect())
}

/// One `table.column=value` (or `+=`) of chtab.
#[derive(Debug, Clone)]
pub struct ColumnSet {
    pub table: &'static TableSpec,
    pub column: String,
    pub value: String,
    /// `+=`: add to the comma list instead of replacing it.
    pub append: bool,
}

pub fn parse_column_set(word: &str) -> Result<ColumnSet> {
    let (lhs, value, append) = match word.split_once('=') {
        Some((l, v)) if l.ends_with('+') => (&l[..l.len() - 1], v, true),
        Some((l, v)) => (l, v, false),
        None => {
            return Err(Error::Invalid(format!(
                "'{word}' is not table.column=value"
            )))
        }
    };
    let (t, c) = lhs
        .split_once('.')
        .ok_or_else(|| Error::Invalid(format!("'{word}' is not table.column=value")))?;
    let spec = xcat_table(t)?;
    if !spec.has_column(c) {
        return Err(Error::UnknownColumn(format!("{t}.{c}")));
    }
    Ok(ColumnSet {
        table: spec,
        column: c.to_string(),
        value: value.to_string(),
        append,
    })
}

/// Comma-list union, first occurrence kept (`chtab ... +=`).
fn union(current: Option<&str>, new: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for i in current.unwrap_or("").split(',').chain(new.split(',')) {
        if !i.is_empty() && !out.contains(&i) {
            out.push(i);
        }
    }
    out.join(",")
}

/// chtab: set columns on the rows matching `keys` (a new row when none matches).
pub fn chtab(snap: &mut Snapshot<'_>, keys: &[(String, String)], sets: &[ColumnSet]) -> Result<()> {
    let mut tables: Vec<&'static TableSpec> = Vec::new();
    for s in sets {
        check_keys(s.table, keys)?;
        if !tables.iter().any(|t| t.name == s.table.name) {
            tables.push(s.table);
        }
    }
    for spec in tables {
        let mut set: Vec<(&str, Value)> = Vec::new();
        for s in sets.iter().filter(|s| s.table.name == spec.name) {
            let v = if s.append {
                let cur = rows_with(snap, spec, keys, &[s.column.as_str()])?;
                union(cur.first().and_then(|r| r[0].as_deref()), &s.value)
            } else {
                s.value.clone()
            };
            set.retain(|(c, _)| *c != s.column);
            set.push((s.column.as_str(), Some(v)));
        }
        let key: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut tx = snap.tx();
        if tx.update(spec, &key, &set)? == 0 {
            let mut cols: Vec<&str> = key.iter().map(|(k, _)| *k).collect();
            let mut vals: Vec<Value> = key.iter().map(|(_, v)| Some(v.to_string())).collect();
            for (c, v) in &set {
                cols.push(c);
                vals.push(v.clone());
            }
            tx.insert(spec, &cols, &vals)?;
        }
    }
    snap.invalidate();
    Ok(())
}

/// chtab -d: delete the rows matching `keys` from each table. Returns rows deleted.
pub fn chtab_delete(
    snap: &mut Snapshot<'_>,
    keys: &[(String, String)],
    tables: &[&'static TableSpec],
) -> Result<usize> {
    let key: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut n = 0;
    for spec in tables {
        check_keys(spec, keys)?;
        let mut tx = snap.tx();
        if tx.table_exists(spec)? {
            n += tx.delete(spec, &key)?;
        }
    }
    snap.invalidate();
    Ok(n)
}

/// How nodech combines a value with the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodechOp {
    /// `=`
    Set,
    /// `,=`: put the items first, unless already there.
    Prepend,
    /// `^=`: take the items out.
    Remove,
}

/// One nodech assignment.
#[derive(Debug, Clone)]
pub struct NodechSet {
    pub table: &'static TableSpec,
    pub column: String,
    pub op: NodechOp,
    pub value: String,
}

/// Parse `table.column=value` (or a short name; `,=`, `^=`, `=@value`). An empty value stores
/// xCAT's blanking expression `|^.*$||`, so that it overrides a group's value.
pub fn parse_nodech_set(word: &str) -> Result<NodechSet> {
    let (lhs, value) = word
        .split_once('=')
        .ok_or_else(|| Error::Invalid(format!("Malformed argument {word}")))?;
    let (lhs, op) = if let Some(l) = lhs.strip_suffix(',') {
        (l, NodechOp::Prepend)
    } else if let Some(l) = lhs.strip_suffix('^') {
        (l, NodechOp::Remove)
    } else {
        (lhs, NodechOp::Set)
    };
    let (spec, column) = table_column(lhs)?;
    if spec.node_column.is_none() {
        return Err(Error::Invalid(format!(
            "{} is not a table keyed by node",
            spec.name
        )));
    }
    let mut value = value.strip_prefix('@').unwrap_or(value).to_string();
    if value.is_empty() {
        value = "|^.*$||".into();
    }
    Ok(NodechSet {
        table: spec,
        column,
        op,
        value,
    })
}

fn apply_op(op: NodechOp, current: Option<&str>, value: &str) -> String {
    let cur = current.unwrap_or("");
    match op {
        NodechOp::Set => value.to_string(),
        NodechOp::Prepend if cur.is_empty() => value.to_string(),
        NodechOp::Prepend => {
            let mut items: Vec<String> = cur.split(',').map(str::to_string).collect();
            for v in value.split(',') {
                if !items.iter().any(|i| i == v) {
                    items.insert(0, v.to_string());
                }
            }
            items.join(",")
        }
        NodechOp::Remove => cur
            .split(',')
            .filter(|i| !value.split(',').any(|v| v == *i))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// Keep the nodes whose inherited values satisfy every criterion (`table.column` attributes;
/// unset reads as empty, as nodech and nodels compare).
pub fn filter_nodes(
    snap: &Snapshot<'_>,
    nodes: Vec<String>,
    crits: &[(&'static TableSpec, String, Criterion)],
) -> Result<Vec<String>> {
    let mut keep = vec![true; nodes.len()];
    for (spec, column, c) in crits {
        let vals = attrs::nodes_attribs_list(snap, spec, &nodes, &[column.as_str()])?;
        for (k, v) in keep.iter_mut().zip(vals) {
            *k = *k && c.matches(Some(v[0].as_deref().unwrap_or("")));
        }
    }
    Ok(nodes
        .into_iter()
        .zip(keep)
        .filter_map(|(n, k)| k.then_some(n))
        .collect())
}

/// nodech / nodeadd: apply the assignments to each node's own rows, current values inherited.
pub fn nodech(snap: &mut Snapshot<'_>, nodes: &[String], sets: &[NodechSet]) -> Result<()> {
    let mut plan: Vec<(&'static TableSpec, String, String, String)> = Vec::new();
    let mut tables: Vec<&'static TableSpec> = Vec::new();
    for s in sets {
        if !tables.iter().any(|t| t.name == s.table.name) {
            tables.push(s.table);
        }
    }
    for spec in tables {
        let mut cols: Vec<&str> = sets
            .iter()
            .filter(|s| s.table.name == spec.name)
            .map(|s| s.column.as_str())
            .collect();
        cols.dedup();
        let current = attrs::nodes_attribs_list(snap, spec, nodes, &cols)?;
        for (node, cur) in nodes.iter().zip(current) {
            let mut vals: Vec<Option<String>> = cur;
            for s in sets.iter().filter(|s| s.table.name == spec.name) {
                let i = cols.iter().position(|c| *c == s.column).unwrap_or_default();
                vals[i] = Some(apply_op(s.op, vals[i].as_deref(), &s.value));
                plan.push((
                    spec,
                    node.clone(),
                    s.column.clone(),
                    vals[i].clone().unwrap_or_default(),
                ));
            }
        }
    }
    let mut tx = snap.tx();
    for (spec, node, column, value) in plan {
        let keycol = spec.node_column.as_deref().unwrap_or("node");
        upsert(
            &mut **tx,
            spec,
            keycol,
            &node,
            &[(column.as_str(), Some(value))],
        )?;
    }
    drop(tx);
    snap.invalidate();
    Ok(())
}

/// nodech -d: delete the nodes' rows of the given tables.
pub fn nodech_delete(
    snap: &mut Snapshot<'_>,
    nodes: &[String],
    tables: &[&'static TableSpec],
) -> Result<()> {
    let mut tx = snap.tx();
    for spec in tables {
        let keycol = spec
            .node_column
            .as_deref()
            .ok_or_else(|| Error::Invalid(format!("{} is not a table keyed by node", spec.name)))?;
        if tx.table_exists(spec)? {
            for n in nodes {
                tx.delete(spec, &[(keycol, n)])?;
            }
        }
    }
    drop(tx);
    snap.invalidate();
    Ok(())
}

/// tabgrep: the tables with a row for the node itself or one of its groups.
pub fn tabgrep(snap: &Snapshot<'_>, node: &str) -> Result<Vec<&'static str>> {
    let idx = snap.index()?;
    let mut keys = vec![node.to_string()];
    if let Some(e) = idx.get(node) {
        keys.extend(e.groups.iter().cloned());
    }
    let mut out = Vec::new();
    for spec in schema().tables.values() {
        let Some(keycol) = spec.node_column.as_deref().filter(|c| *c == "node") else {
            continue;
        };
        if !snap.tx().table_exists(spec)? {
            continue;
        }
        let rows = snap.select(
            spec,
            &[keycol],
            Filter::In {
                column: keycol,
                keys: &keys,
            },
        )?;
        if !rows.is_empty() {
            out.push(spec.name.as_str());
        }
    }
    Ok(out)
}

/// Rows of `spec` (disabled ones too) that satisfy every `tabdump -w` clause.
pub fn rows_where(
    snap: &Snapshot<'_>,
    spec: &TableSpec,
    clauses: &[Criterion],
) -> Result<Vec<Row>> {
    let cols: Vec<&str> = spec.columns.iter().map(String::as_str).collect();
    let idx: Vec<usize> = clauses
        .iter()
        .map(|c| {
            spec.column_index(&c.attr)
                .ok_or_else(|| Error::UnknownColumn(format!("{}.{}", spec.name, c.attr)))
        })
        .collect::<Result<_>>()?;
    if !snap.tx().table_exists(spec)? {
        return Ok(Vec::new());
    }
    Ok(snap
        .select(spec, &cols, Filter::All)?
        .into_iter()
        .filter(|r| {
            clauses
                .iter()
                .zip(&idx)
                .all(|(c, &i)| c.matches(r[i].as_deref()))
        })
        .collect())
}

/// Which log records tabprune removes.
#[derive(Debug, Clone, Copy)]
pub enum Prune {
    All,
    /// The oldest N records.
    Oldest(usize),
    /// The oldest P percent.
    Percent(usize),
    /// Every record up to this recid.
    UpTo(u64),
}

/// tabprune: remove log records (auditlog, eventlog) and return them, oldest first.
pub fn tabprune(snap: &mut Snapshot<'_>, name: &str, what: Prune) -> Result<Vec<Row>> {
    let spec = table(name)?;
    let recid = spec.autoincrement().ok_or_else(|| {
        Error::Invalid(format!(
            "Table {name} not supported, see tabprune -h for supported tables."
        ))
    })?;
    let ri = spec.column_index(recid).unwrap_or_default();
    let cols: Vec<&str> = spec.columns.iter().map(String::as_str).collect();
    let mut rows = snap.select(spec, &cols, Filter::All)?;
    let id = |r: &Row| {
        r[ri]
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    rows.sort_by_key(id);
    let n = match what {
        Prune::All => rows.len(),
        Prune::Oldest(n) => n.min(rows.len()),
        Prune::Percent(p) => rows.len() * p.min(100) / 100,
        Prune::UpTo(max) => rows.iter().take_while(|r| id(r) <= max).count(),
    };
    rows.truncate(n);
    let mut tx = snap.tx();
    for r in &rows {
        if let Some(v) = r[ri].as_deref() {
            tx.delete(spec, &[(recid, v)])?;
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodech_operators() {
        assert_eq!(
            apply_op(NodechOp::Prepend, Some("all,rhels5.5"), "rhels5.5,rhels5.6"),
            "rhels5.6,all,rhels5.5"
        );
        assert_eq!(
            apply_op(
                NodechOp::Remove,
                Some("all,rhels5.5,rhels5.6"),
                "rhels5.4,rhels5.5"
            ),
            "all,rhels5.6"
        );
        let s = parse_nodech_set("nodetype.os=@=helloworld").unwrap();
        assert_eq!(s.value, "=helloworld");
        let s = parse_nodech_set("groups,=a").unwrap();
        assert_eq!(
            (s.table.name.as_str(), s.op),
            ("nodelist", NodechOp::Prepend)
        );
        assert_eq!(parse_nodech_set("mgt=").unwrap().value, "|^.*$||");
        assert!(parse_nodech_set("nodetypes.os=x").is_err());
    }

    #[test]
    fn chtab_words() {
        let s = parse_column_set("site.value+=/opt/xcat/bin/rcp").unwrap();
        assert!(s.append);
        assert_eq!(union(Some("a,b"), "b,c"), "a,b,c");
        assert!(parse_column_set("nonexist.comments=x")
            .unwrap_err()
            .to_string()
            .contains("Table nonexist does not exist"));
        assert_eq!(parse_keys("node=a,username=b").unwrap().len(), 2);
        assert!(parse_keys("noequals").is_err());
    }
}
