//! Reading node attributes as xCAT's `getNodesAttribs` does: the node's own row, then its groups
//! in `nodelist.groups` order, merged per column; disabled rows invisible; `site.hierarchicalattrs`
//! columns concatenated; every value passed through the table value-expression evaluator.

use crate::backend::{Filter, Value};
use crate::schema::TableSpec;
use crate::{Error, Result, Snapshot};
use std::collections::{HashMap, HashSet};

/// Above this many keys, one table scan is cheaper than a key list.
const SCAN_THRESHOLD: usize = 5_000;

/// `site.hierarchicalattrs`: `postscripts,postbootscripts,mac:|` → column → join delimiter.
pub fn hierarchical_attrs(value: Option<&str>) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for item in value.unwrap_or("").split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (col, delim) = match item.split_once(':') {
            Some((c, d)) if !d.trim().is_empty() => (c.trim(), d.trim()),
            Some((c, _)) => (c.trim(), ","),
            None => (item, ","),
        };
        map.insert(col.to_string(), delim.to_string());
    }
    map
}

/// The raw rows of a node-keyed table for the given keys: key → first enabled row's `cols`.
fn rows_by_key(
    snap: &Snapshot<'_>,
    spec: &TableSpec,
    keycol: &str,
    keys: Vec<String>,
    cols: &[&str],
) -> Result<HashMap<String, Vec<Value>>> {
    let mut select_cols = vec![keycol];
    select_cols.extend_from_slice(cols);
    let rows = if keys.len() > SCAN_THRESHOLD {
        snap.select(spec, &select_cols, Filter::Enabled)?
    } else {
        snap.select(
            spec,
            &select_cols,
            Filter::In {
                column: keycol,
                keys: &keys,
            },
        )?
    };
    let mut map = HashMap::with_capacity(rows.len());
    for mut r in rows {
        let Some(key) = r.remove(0) else { continue };
        map.entry(key).or_insert(r);
    }
    Ok(map)
}

/// Inherited, evaluated values of `cols` of a node-keyed table, for every node in `nodes`.
/// Each node maps to one value per column (`None` = unset). Nodes with nothing are present too.
/// One query for the whole node list, whatever its size.
pub fn nodes_attribs(
    snap: &Snapshot<'_>,
    spec: &TableSpec,
    nodes: &[String],
    cols: &[&str],
) -> Result<HashMap<String, Vec<Value>>> {
    let keycol = spec
        .inherit_column()
        .ok_or_else(|| Error::Invalid(format!("table {} is not keyed by node", spec.name)))?;
    for c in cols {
        if !spec.has_column(c) {
            return Err(Error::UnknownColumn(format!("{}.{c}", spec.name)));
        }
    }
    let idx = snap.index()?;
    let inherits = spec.name != "nodelist";
    let hier = if inherits {
        hierarchical_attrs(snap.site("hierarchicalattrs")?.as_deref())
    } else {
        HashMap::new()
    };
    let delims: Vec<Option<&str>> = cols
        .iter()
        .map(|c| hier.get(*c).map(String::as_str))
        .collect();

    let mut keys: HashSet<&str> = nodes.iter().map(String::as_str).collect();
    if inherits {
        for n in nodes {
            if let Some(e) = idx.get(n) {
                keys.extend(e.groups.iter().map(String::as_str));
            }
        }
    }
    let keys: Vec<String> = keys.into_iter().map(str::to_string).collect();
    let rows = rows_by_key(snap, spec, keycol, keys, cols)?;

    let no_groups: Vec<String> = Vec::new();
    let mut out = HashMap::with_capacity(nodes.len());
    for node in nodes {
        let groups = match (inherits, idx.get(node)) {
            (true, Some(e)) => &e.groups,
            _ => &no_groups,
        };
        let own = rows.get(node);
        let mut vals = Vec::with_capacity(cols.len());
        for (i, delim) in delims.iter().enumerate() {
            let levels = own
                .into_iter()
                .chain(groups.iter().filter_map(|g| rows.get(g)))
                .filter_map(|r| r[i].as_deref().filter(|v| !v.is_empty()));
            let raw = match delim {
                Some(d) => join_hierarchical(levels, d),
                None => levels.into_iter().next().map(str::to_string),
            };
            let value = match raw {
                Some(v) => evaluate(spec, cols[i], node, &v)?,
                None => None,
            };
            vals.push(value);
        }
        out.insert(node.clone(), vals);
    }
    Ok(out)
}

/// Concatenate the values of every level, split on the delimiter, keep first occurrences.
fn join_hierarchical<'v>(levels: impl Iterator<Item = &'v str>, delim: &str) -> Option<String> {
    let mut seen = HashSet::new();
    let items: Vec<&str> = levels
        .flat_map(|v| v.split(delim))
        .filter(|i| seen.insert(*i))
        .collect();
    (!items.is_empty()).then(|| items.join(delim))
}

/// Apply a table value expression for `node`; an empty result means unset.
pub fn evaluate(spec: &TableSpec, column: &str, node: &str, value: &str) -> Result<Value> {
    if !valexpr::is_expression(value) {
        return Ok(Some(value.to_string()));
    }
    valexpr::evaluate(node, value).map_err(|source| {
        Error::Expr(Box::new(crate::ExprFailure {
            table: spec.name.clone(),
            column: column.to_string(),
            node: node.to_string(),
            source,
        }))
    })
}

/// One node's values, as a column → value map of the columns that are set.
pub fn node_attribs(
    snap: &Snapshot<'_>,
    spec: &TableSpec,
    node: &str,
    cols: &[&str],
) -> Result<HashMap<String, String>> {
    let mut all = nodes_attribs(snap, spec, &[node.to_string()], cols)?;
    let vals = all.remove(node).unwrap_or_default();
    Ok(cols
        .iter()
        .zip(vals)
        .filter_map(|(c, v)| Some((c.to_string(), v?)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchical_attrs_parse_delimiters() {
        let m = hierarchical_attrs(Some(" postscripts, postbootscripts ,mac:|"));
        assert_eq!(m["postscripts"], ",");
        assert_eq!(m["postbootscripts"], ",");
        assert_eq!(m["mac"], "|");
        assert!(hierarchical_attrs(None).is_empty());
    }

    #[test]
    fn hierarchical_join_dedups_keeping_first() {
        let v = join_hierarchical(["a,b", "b,c", "d"].into_iter(), ",");
        assert_eq!(v.as_deref(), Some("a,b,c,d"));
        assert_eq!(join_hierarchical(std::iter::empty(), ","), None);
    }
}
