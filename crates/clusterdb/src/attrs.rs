//! Reading node attributes as xCAT's `getNodesAttribs` does: the node's own row, then its groups
//! in `nodelist.groups` order, merged per column; disabled rows invisible; `site.hierarchicalattrs`
//! columns concatenated; every value passed through the table value-expression evaluator.

use crate::backend::{Filter, Value};
use crate::schema::TableSpec;
use crate::{Error, Result, Snapshot};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Maps keyed by node name hold up to hundreds of thousands of entries: a fast hash.
pub type FastMap<K, V> = HashMap<K, V, ahash::RandomState>;
type FastSet<K> = HashSet<K, ahash::RandomState>;

/// Up to this many keys, the rows are asked for by key list, in one query.
const KEY_LIST_MAX: usize = 5_000;
/// Up to this many keys, the key list is used without asking how large the table is (above,
/// a table not much larger than the key set is cheaper to read whole: SQLite would otherwise
/// build an index of the key list).
const FEW_KEYS: usize = 64;

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
/// `wanted` is about how many keys there are; `keys` makes the key set, only when needed.
///
/// Few keys: one query with the key list. More keys: a table not much larger than the key set
/// (group rows and some node rows) is read whole; a larger one by the key list, or with many
/// keys (a large noderange, with its groups; a row per node, 100,000 nodes) by the list of
/// the keys it holds. The table's size comes from the store's row count, or (many keys) from
/// reading its key column first when the store cannot count cheaply. A table read whole keeps rows of keys not asked for (at most about
/// as many as asked for): callers look rows up by key.
fn rows_by_key<'k>(
    snap: &Snapshot<'_>,
    spec: &TableSpec,
    keycol: &str,
    wanted: usize,
    keys: impl FnOnce() -> FastSet<&'k str>,
    cols: &[&str],
) -> Result<FastMap<String, Vec<Value>>> {
    let mut select_cols = vec![keycol];
    select_cols.extend_from_slice(cols);
    let by_list = |list: &[String]| {
        snap.select(
            spec,
            &select_cols,
            Filter::In {
                column: keycol,
                keys: list,
            },
        )
    };
    let whole = || snap.select(spec, &select_cols, Filter::Enabled);
    let listed = |keys: FastSet<&'k str>| -> Result<_> {
        let list: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        Ok((by_list(&list)?, Some(keys)))
    };
    let (rows, keys) = if wanted <= FEW_KEYS {
        listed(keys())?
    } else if snap
        .tx()
        .row_count(spec)?
        .is_some_and(|n| n <= wanted.saturating_mul(2))
    {
        (whole()?, None)
    } else if wanted <= KEY_LIST_MAX {
        listed(keys())?
    } else {
        let keys = keys();
        let present = snap.select(spec, &[keycol], Filter::Enabled)?;
        let rows = if present.len() <= keys.len().saturating_mul(2) {
            whole()?
        } else {
            let mut seen = FastSet::default();
            let list: Vec<String> = present
                .into_iter()
                .filter_map(|mut r| r.pop().flatten())
                .filter(|k| keys.contains(k.as_str()) && seen.insert(k.clone()))
                .collect();
            if list.is_empty() {
                Vec::new()
            } else {
                by_list(&list)?
            }
        };
        (rows, Some(keys))
    };
    let mut map = FastMap::with_capacity_and_hasher(rows.len().min(wanted), Default::default());
    for mut r in rows {
        let Some(key) = r.remove(0) else { continue };
        if keys.as_ref().is_some_and(|k| !k.contains(key.as_str())) {
            continue;
        }
        map.entry(key).or_insert(r);
    }
    Ok(map)
}

/// The raw enabled rows of `keys` themselves (no inheritance, no evaluation): key → `cols`.
/// Cheap for many keys in a table of few rows (it reads the key column first).
pub fn own_rows(
    snap: &Snapshot<'_>,
    spec: &TableSpec,
    keycol: &str,
    keys: &[String],
    cols: &[&str],
) -> Result<FastMap<String, Vec<Value>>> {
    rows_by_key(
        snap,
        spec,
        keycol,
        keys.len(),
        || keys.iter().map(String::as_str).collect(),
        cols,
    )
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
    let values = node_values(snap, spec, nodes, None, cols)?;
    Ok(nodes.iter().cloned().zip(values).collect())
}

/// [`nodes_attribs`] by position: element `i` holds the values of `nodes[i]`.
pub fn nodes_attribs_list(
    snap: &Snapshot<'_>,
    spec: &TableSpec,
    nodes: &[String],
    cols: &[&str],
) -> Result<Vec<Vec<Value>>> {
    node_values(snap, spec, nodes, None, cols)
}

/// Each node's groups (`nodelist.groups`, in order; none for an unknown name), for reading
/// several tables of the same nodes with [`nodes_attribs_list_grouped`].
pub fn groups_of<'s>(snap: &'s Snapshot<'_>, nodes: &[String]) -> Result<Vec<&'s [String]>> {
    let idx = snap.index()?;
    Ok(nodes
        .iter()
        .map(|n| idx.get(n).map_or(&[][..], |e| &e.groups[..]))
        .collect())
}

/// [`nodes_attribs_list`] with each node's groups looked up already ([`groups_of`]).
pub fn nodes_attribs_list_grouped(
    snap: &Snapshot<'_>,
    spec: &TableSpec,
    nodes: &[String],
    groups: &[&[String]],
    cols: &[&str],
) -> Result<Vec<Vec<Value>>> {
    node_values(snap, spec, nodes, Some(groups), cols)
}

/// Calls `f(i, values)` for each node of `nodes` in order, with one inherited, evaluated value
/// per column. `groups`, when given, holds each node's groups (from the snapshot's index), so
/// that callers reading many tables look them up once.
pub(crate) fn for_each_node(
    snap: &Snapshot<'_>,
    spec: &TableSpec,
    nodes: &[String],
    groups: Option<&[&[String]]>,
    cols: &[&str],
    mut f: impl FnMut(usize, &mut [Value]),
) -> Result<()> {
    for (i, mut v) in node_values(snap, spec, nodes, groups, cols)?
        .into_iter()
        .enumerate()
    {
        f(i, &mut v);
    }
    Ok(())
}

/// Below this many nodes the values are computed on the calling thread alone.
const PARALLEL_MIN: usize = 20_000;

/// [`nodes_attribs_list_grouped`] handing each node's values to `f(i, values)` in node order
/// instead of collecting them: a value as stored is borrowed from the table's rows (no copy per
/// node), an evaluated one is owned. On an error, `f` has seen the nodes before the first
/// failing one.
pub fn nodes_attribs_each(
    snap: &Snapshot<'_>,
    spec: &TableSpec,
    nodes: &[String],
    groups: &[&[String]],
    cols: &[&str],
    f: impl FnMut(usize, &mut [Option<Cow<'_, str>>]),
) -> Result<()> {
    each_value(snap, spec, nodes, Some(groups), cols, f)
}

/// The values of [`each_value`] collected, one `Vec` per node.
fn node_values(
    snap: &Snapshot<'_>,
    spec: &TableSpec,
    nodes: &[String],
    groups: Option<&[&[String]]>,
    cols: &[&str],
) -> Result<Vec<Vec<Value>>> {
    let mut out = Vec::with_capacity(nodes.len());
    each_value(snap, spec, nodes, groups, cols, |_, vals| {
        out.push(
            vals.iter_mut()
                .map(|v| v.take().map(Cow::into_owned))
                .collect(),
        )
    })?;
    Ok(out)
}

/// The engine of the functions above: the table's rows for the nodes and their groups are read
/// in one query, then each node's values are merged and evaluated from them. That second part
/// needs no database, so large node lists are shared out over the machine's cores (in order:
/// the first error is the first node's in `nodes` order, as on one thread).
fn each_value(
    snap: &Snapshot<'_>,
    spec: &TableSpec,
    nodes: &[String],
    groups: Option<&[&[String]]>,
    cols: &[&str],
    mut f: impl FnMut(usize, &mut [Option<Cow<'_, str>>]),
) -> Result<()> {
    let keycol = spec
        .inherit_column()
        .ok_or_else(|| Error::Invalid(format!("table {} is not keyed by node", spec.name)))?;
    for c in cols {
        if !spec.has_column(c) {
            return Err(Error::UnknownColumn(format!("{}.{c}", spec.name)));
        }
    }
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

    // Each node's groups, looked up once.
    let looked_up: Vec<&[String]>;
    let groups_of: &[&[String]] = match groups {
        _ if !inherits => &[],
        Some(g) => g,
        None => {
            looked_up = self::groups_of(snap, nodes)?;
            &looked_up
        }
    };
    let keys = || {
        let mut keys: FastSet<&str> = nodes.iter().map(String::as_str).collect();
        let mut last_groups: Option<&[String]> = None;
        for g in groups_of {
            if !last_groups.is_some_and(|l| std::ptr::eq(l, *g) || l == *g) {
                keys.extend(g.iter().map(String::as_str));
                last_groups = Some(*g);
            }
        }
        keys
    };
    let rows = rows_by_key(snap, spec, keycol, nodes.len(), keys, cols)?;
    let merge = Merge {
        spec,
        cols,
        delims: &delims,
        rows: &rows,
    };
    if nodes.len() < PARALLEL_MIN {
        return merge.each(nodes, groups_of, |i, v| f(i, v));
    }
    let parts = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if parts < 2 {
        return merge.each(nodes, groups_of, |i, v| f(i, v));
    }
    let chunk = nodes.len().div_ceil(parts);
    // Each part's values, one after the other (cols per node).
    let results: Vec<Result<Vec<Option<Cow<'_, str>>>>> = std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .chunks(chunk)
            .enumerate()
            .map(|(k, part)| {
                let groups = groups_of.get(k * chunk..).unwrap_or(&[]);
                let merge = &merge;
                s.spawn(move || {
                    let mut flat = Vec::with_capacity(part.len() * cols.len());
                    merge.each(part, groups, |_, v| {
                        flat.extend(v.iter_mut().map(Option::take))
                    })?;
                    Ok(flat)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Invalid("a worker thread panicked".into())))
            })
            .collect()
    });
    let n = cols.len();
    for (k, r) in results.into_iter().enumerate() {
        let mut flat = r?;
        let first = k * chunk;
        for (j, i) in (first..nodes.len().min(first + chunk)).enumerate() {
            f(i, &mut flat[j * n..(j + 1) * n]);
        }
    }
    Ok(())
}

/// What a node's values are computed from: the rows of the nodes and groups of one table.
struct Merge<'a> {
    spec: &'a TableSpec,
    cols: &'a [&'a str],
    delims: &'a [Option<&'a str>],
    rows: &'a FastMap<String, Vec<Value>>,
}

impl<'a> Merge<'a> {
    /// Calls `emit(i, values)` for each of `nodes`, whose groups are `groups_of` (position
    /// for position; a missing entry is no group).
    fn each(
        &self,
        nodes: &[String],
        groups_of: &[&[String]],
        mut emit: impl FnMut(usize, &mut [Option<Cow<'a, str>>]),
    ) -> Result<()> {
        let no_groups: &[String] = &[];
        let rows = self.rows;
        // The rows of a node's groups, in precedence order; consecutive nodes usually share
        // their group list, so it is resolved again only when the list changes.
        let mut group_rows: Vec<&'a Vec<Value>> = Vec::new();
        let mut last_groups: Option<&[String]> = None;
        let mut levels: Vec<&'a Vec<Value>> = Vec::new();
        let mut vals = Vec::with_capacity(self.cols.len());
        for (i, node) in nodes.iter().enumerate() {
            let groups = groups_of.get(i).copied().unwrap_or(no_groups);
            // Most nodes share their list (same pointer): no need to compare the names.
            if !last_groups.is_some_and(|l| std::ptr::eq(l, groups) || l == groups) {
                group_rows.clear();
                group_rows.extend(groups.iter().filter_map(|g| rows.get(g.as_str())));
                last_groups = Some(groups);
            }
            levels.clear();
            levels.extend(rows.get(node.as_str()));
            levels.extend(group_rows.iter().copied());
            vals.clear();
            for (c, delim) in self.delims.iter().enumerate() {
                let mut set = levels
                    .iter()
                    .filter_map(|r| r[c].as_deref().filter(|v| !v.is_empty()));
                let col = self.cols[c];
                vals.push(match delim {
                    Some(d) => match join_hierarchical(set, d) {
                        Some(v) => evaluate(self.spec, col, node, &v)?.map(Cow::Owned),
                        None => None,
                    },
                    None => match set.next() {
                        Some(v) => evaluate_borrowed(self.spec, col, node, v)?,
                        None => None,
                    },
                });
            }
            emit(i, &mut vals);
        }
        Ok(())
    }
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

/// [`evaluate`], borrowing a value that is not an expression.
fn evaluate_borrowed<'v>(
    spec: &TableSpec,
    column: &str,
    node: &str,
    value: &'v str,
) -> Result<Option<Cow<'v, str>>> {
    if !valexpr::is_expression(value) {
        return Ok(Some(Cow::Borrowed(value)));
    }
    Ok(evaluate(spec, column, node, value)?.map(Cow::Owned))
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
