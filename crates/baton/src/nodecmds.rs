//! nodels.

use crate::cli::NodelsArgs;
use crate::exit::Failure;
use clusterdb::{attrs, table, ClusterDb, DbUrl, NoderangeEnv};
use std::io::{BufWriter, Write};

/// One attribute argument: what to print, or a filter.
enum Arg {
    Column {
        table: String,
        column: String,
    },
    Filter {
        table: String,
        column: String,
        op: &'static str,
        value: String,
    },
}

fn shortname(s: &str) -> Option<(&'static str, &'static str)> {
    match s {
        "groups" | "tags" => Some(("nodelist", "groups")),
        "mgt" => Some(("nodehm", "mgt")),
        _ => None,
    }
}

fn split_column(s: &str) -> Result<(String, String), Failure> {
    if let Some((t, c)) = shortname(s) {
        return Ok((t.into(), c.into()));
    }
    let bad = || Failure::usage(format!("{s} not a valid table.column description"));
    let (t, c) = s.split_once('.').ok_or_else(bad)?;
    let spec = table(t).map_err(|_| bad())?;
    if !spec.has_column(c) || spec.inherit_column().is_none() {
        return Err(bad());
    }
    Ok((t.into(), c.into()))
}

/// The attribute arguments, and whether output lines carry the `table.column:` label. xCAT's
/// rule: a label once two or more arguments (filters count) or any whole table are given.
fn parse_args(words: &[String]) -> Result<(Vec<Arg>, bool), Failure> {
    let mut out = Vec::new();
    let mut terse = 2;
    for w in words {
        terse -= 1;
        if let Some((i, op)) = ["==", "!=", "=~", "!~"]
            .iter()
            .filter_map(|op| w.find(op).map(|i| (i, *op)))
            .min()
        {
            let (t, c) = split_column(&w[..i])?;
            let mut value = w[i + 2..].to_string();
            if op.ends_with('~') {
                value = value.strip_prefix('/').unwrap_or(&value).to_string();
                value = value.strip_suffix('/').unwrap_or(&value).to_string();
            }
            out.push(Arg::Filter {
                table: t,
                column: c,
                op,
                value,
            });
        } else if !w.contains('.') && shortname(w).is_none() {
            // A whole table: every column, the node column too.
            let spec = table(w)
                .map_err(|_| Failure::usage(format!("{w} not a valid table.column description")))?;
            spec.inherit_column()
                .ok_or_else(|| Failure::usage(format!("{w} is not a table keyed by node")))?;
            terse = i32::MIN / 2;
            for c in &spec.columns {
                out.push(Arg::Column {
                    table: w.clone(),
                    column: c.clone(),
                });
            }
        } else {
            let (t, c) = split_column(w)?;
            out.push(Arg::Column {
                table: t,
                column: c,
            });
        }
    }
    Ok((out, terse <= 0))
}

pub fn nodels(url: &DbUrl, a: NodelsArgs) -> Result<(), Failure> {
    let (args, labelled) = parse_args(&a.attrs)?;
    let mut db = ClusterDb::open(url)?;
    let snap = db.read()?;
    let idx = snap.index()?;
    let mut nodes: Vec<String> = match &a.noderange {
        Some(r) => snap.noderange(r, &NoderangeEnv::from_env())?,
        None => {
            let mut v: Vec<String> = idx.nodes.iter().map(|n| n.name.clone()).collect();
            v.sort();
            v
        }
    };
    if !a.show_hidden && idx.nodes.iter().any(|e| e.hidden) {
        nodes.retain(|n| !idx.get(n).is_some_and(|e| e.hidden));
    }

    // One read per table for every column asked about.
    let mut wanted: Vec<(String, Vec<String>)> = Vec::new();
    for arg in &args {
        let (t, c) = match arg {
            Arg::Column { table, column } | Arg::Filter { table, column, .. } => (table, column),
        };
        match wanted.iter_mut().find(|(wt, _)| wt == t) {
            Some((_, cols)) if !cols.contains(c) => cols.push(c.clone()),
            Some(_) => {}
            None => wanted.push((t.clone(), vec![c.clone()])),
        }
    }
    // values[k][i]: column slots[k] of nodes[i].
    let mut slots: Vec<(&str, &str)> = Vec::new();
    let mut values: Vec<Vec<Option<String>>> = Vec::new();
    for (t, cols) in &wanted {
        let spec = table(t)?;
        let key = spec.inherit_column();
        let colrefs: Vec<&str> = cols.iter().map(String::as_str).collect();
        let mut got = attrs::nodes_attribs_list(&snap, spec, &nodes, &colrefs)?;
        for (i, c) in cols.iter().enumerate() {
            slots.push((t.as_str(), c.as_str()));
            if Some(c.as_str()) == key {
                // The key column of a node's record is the node, even when inherited.
                values.push(nodes.iter().map(|n| Some(n.clone())).collect());
            } else {
                values.push(got.iter_mut().map(|row| row[i].take()).collect());
            }
        }
    }
    let slot = |t: &str, c: &str| {
        slots
            .iter()
            .position(|s| *s == (t, c))
            .unwrap_or(usize::MAX)
    };
    let value = |k: usize, n: usize| -> &str {
        values
            .get(k)
            .and_then(|v| v[n].as_deref())
            .unwrap_or_default()
    };

    let mut keep = vec![true; nodes.len()];
    for arg in &args {
        if let Arg::Filter {
            table,
            column,
            op,
            value: want,
        } = arg
        {
            let re = if op.ends_with('~') {
                Some(regex::Regex::new(want).map_err(|e| {
                    Failure::usage(format!("invalid regular expression '{want}': {e}"))
                })?)
            } else {
                None
            };
            let k = slot(table, column);
            for (n, kept) in keep.iter_mut().enumerate().filter(|(_, k)| **k) {
                let v = value(k, n);
                *kept = match *op {
                    "==" => v == want,
                    "!=" => v != want,
                    "=~" => re.as_ref().is_some_and(|r| r.is_match(v)),
                    _ => re.as_ref().is_some_and(|r| !r.is_match(v)),
                };
            }
        }
    }

    let columns: Vec<(&str, &str, usize)> = args
        .iter()
        .filter_map(|a| match a {
            Arg::Column { table, column } => Some((table.as_str(), column.as_str())),
            Arg::Filter { .. } => None,
        })
        .map(|(t, c)| (t, c, slot(t, c)))
        .collect();
    let blame = if a.blame {
        attribution(&snap, &nodes, &slots)?
    } else {
        Vec::new()
    };
    // The value, with `-b` the group it is inherited from.
    let shown = |k: usize, n: usize| -> String {
        let v = value(k, n);
        match blame.get(k).and_then(|b| b[n].as_deref()) {
            Some(g) if !v.is_empty() => format!("{v} (inherited from group {g})"),
            _ => v.to_string(),
        }
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (i, n) in nodes.iter().enumerate().filter(|(i, _)| keep[*i]) {
        match columns.as_slice() {
            [] => writeln!(out, "{n}")?,
            [(_, _, k)] if !a.with_header && !labelled => writeln!(out, "{n}: {}", shown(*k, i))?,
            cols => {
                for (t, c, k) in cols {
                    writeln!(out, "{n}: {t}.{c}: {}", shown(*k, i))?;
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// `nodels -b`: for each column and node, the group a value is inherited from (the node's
/// first group whose own row sets the column; none when the node's own row does).
fn attribution(
    snap: &clusterdb::Snapshot<'_>,
    nodes: &[String],
    slots: &[(&str, &str)],
) -> Result<Vec<Vec<Option<String>>>, Failure> {
    let idx = snap.index()?;
    let mut keys: Vec<String> = nodes.to_vec();
    let mut seen = std::collections::HashSet::new();
    for n in nodes {
        for g in idx.get(n).map(|e| &e.groups[..]).unwrap_or_default() {
            if seen.insert(g.as_str()) {
                keys.push(g.clone());
            }
        }
    }
    let mut out = Vec::with_capacity(slots.len());
    for (t, c) in slots {
        let spec = table(t)?;
        let Some(keycol) = spec.inherit_column().filter(|k| k != c) else {
            out.push(vec![None; nodes.len()]);
            continue;
        };
        let rows = attrs::own_rows(snap, spec, keycol, &keys, &[c])?;
        let sets = |k: &str| {
            rows.get(k)
                .and_then(|r| r[0].as_deref())
                .is_some_and(|v| !v.is_empty())
        };
        out.push(
            nodes
                .iter()
                .map(|n| {
                    let groups = idx.get(n).map(|e| &e.groups[..]).unwrap_or_default();
                    (!sets(n))
                        .then(|| groups.iter().find(|g| sets(g)).cloned())
                        .flatten()
                })
                .collect(),
        );
    }
    Ok(out)
}
