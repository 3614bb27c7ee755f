//! lsdef, chdef, mkdef, rmdef.

use crate::cli::{DefArgs, LsdefArgs, RmdefArgs};
use crate::exit::Failure;
use clusterdb::objects::{self, Attrs, Mode};
use clusterdb::{ClusterDb, DbUrl, NoderangeEnv, Snapshot};
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};

fn names_arg(opt: &Option<String>, pos: &Option<String>) -> Result<Option<String>, Failure> {
    match (opt, pos) {
        (Some(_), Some(_)) => Err(Failure::usage(
            "give the object names either with -o or as an argument, not both",
        )),
        (Some(n), None) | (None, Some(n)) => Ok(Some(n.clone())),
        (None, None) => Ok(None),
    }
}

fn group_list(names: &str) -> Vec<String> {
    names
        .split(',')
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect()
}

fn print_objects(
    kind: &str,
    objs: &BTreeMap<String, Attrs>,
    compact: bool,
    json: bool,
) -> Result<(), Failure> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    if json {
        let v = serde_json::to_string_pretty(objs).map_err(|e| Failure::failed(e.to_string()))?;
        writeln!(out, "{v}")?;
    } else if compact {
        for (name, attrs) in objs {
            for (k, v) in attrs {
                writeln!(out, "{name}: {k}={v}")?;
            }
        }
    } else {
        for (i, (name, attrs)) in objs.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "Object name: {name}")?;
            for (k, v) in attrs {
                writeln!(out, "    {k}={v}")?;
            }
        }
    }
    let _ = kind;
    out.flush()?;
    Ok(())
}

fn print_list(kind: &str, names: impl IntoIterator<Item = String>) -> Result<(), Failure> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    for n in names {
        writeln!(out, "{n}  ({kind})")?;
    }
    out.flush()?;
    Ok(())
}

fn select_attrs(mut attrs: Attrs, wanted: &[String]) -> Attrs {
    if !wanted.is_empty() {
        attrs.retain(|k, _| wanted.contains(k));
    }
    attrs
}

pub fn lsdef(url: &DbUrl, a: LsdefArgs) -> Result<(), Failure> {
    let names = names_arg(&a.objects, &a.names)?;
    let listing = names.is_none() && a.attrs.is_empty() && !a.compact && !a.json;
    let mut db = ClusterDb::open(url)?;
    let snap = db.read()?;
    let objs: BTreeMap<String, Attrs> = match a.kind.as_str() {
        "node" => {
            let nodes = match &names {
                Some(r) => snap.noderange(r, &NoderangeEnv::from_env())?,
                None => {
                    let mut v: Vec<String> =
                        snap.index()?.nodes.iter().map(|n| n.name.clone()).collect();
                    v.sort();
                    v
                }
            };
            if listing {
                return print_list("node", nodes);
            }
            let wanted = (!a.attrs.is_empty()).then_some(a.attrs.as_slice());
            objects::node_attrs(&snap, &nodes, wanted)?
                .into_iter()
                .collect()
        }
        "group" => {
            let groups = match &names {
                Some(n) => group_list(n),
                None => snap.index()?.group_names(),
            };
            if listing {
                return print_list("group", groups);
            }
            let mut m = BTreeMap::new();
            for g in groups {
                let attrs = objects::group_attrs(&snap, &g)?;
                m.insert(g, select_attrs(attrs, &a.attrs));
            }
            m
        }
        "site" => {
            let attrs = objects::site_attrs(&snap)?;
            BTreeMap::from([("clustersite".to_string(), select_attrs(attrs, &a.attrs))])
        }
        "network" => {
            let all = objects::network_attrs(&snap)?;
            if listing {
                return print_list("network", all.into_keys());
            }
            let wanted = names.as_deref().map(group_list);
            if let Some(w) = &wanted {
                if let Some(bad) = w.iter().find(|n| !all.contains_key(*n)) {
                    return Err(Failure::usage(format!(
                        "Could not find an object named '{bad}' of type 'network'."
                    )));
                }
            }
            all.into_iter()
                .filter(|(k, _)| wanted.as_ref().is_none_or(|w| w.contains(k)))
                .map(|(k, v)| (k, select_attrs(v, &a.attrs)))
                .collect()
        }
        other => {
            return Err(Failure::usage(format!(
                "'{other}' is not a valid object type; use node, group, site or network"
            )))
        }
    };
    print_objects(&a.kind, &objs, a.compact, a.json)
}

/// `attr=value` pairs of a chdef/mkdef command line.
type Assignments = Vec<(String, String)>;

/// Split `[NAMES] attr=value...` into names and assignments.
fn split_words(a: &DefArgs) -> Result<(Option<String>, Assignments), Failure> {
    let mut words = a.words.clone();
    let mut names = a.objects.clone();
    if let Some(first) = words.first() {
        if !first.contains('=') {
            if names.is_some() {
                return Err(Failure::usage(format!(
                    "'{first}': object names were already given with -o"
                )));
            }
            names = Some(words.remove(0));
        }
    }
    Ok((names, objects::parse_assignments(&words)?))
}

pub fn chdef(url: &DbUrl, a: DefArgs, create: bool) -> Result<(), Failure> {
    let (names, assignments) = split_words(&a)?;
    let verb = if create { "mkdef" } else { "chdef" };
    if assignments.is_empty() && a.kind != "group" {
        return Err(Failure::usage(format!("{verb}: no attribute=value given")));
    }
    let mode = if a.plus {
        Mode::Plus
    } else if a.minus {
        Mode::Minus
    } else {
        Mode::Replace
    };
    let mut db = ClusterDb::open(url)?;
    let mut snap = db.write()?;
    let count = match a.kind.as_str() {
        "node" => {
            let names = names.ok_or_else(|| {
                Failure::usage(format!("{verb}: which nodes? give a noderange or -o"))
            })?;
            let env = NoderangeEnv {
                verify: false,
                ..NoderangeEnv::from_env()
            };
            let nodes = snap.noderange(&names, &env)?;
            if nodes.is_empty() {
                return Err(Failure::usage(format!(
                    "{verb}: the noderange '{names}' names no node"
                )));
            }
            if create {
                mkdef_replace(&mut snap, &nodes, a.force)?;
            }
            objects::set_node_attrs(&mut snap, &nodes, &assignments, mode, create)?;
            nodes.len()
        }
        "group" => {
            if mode != Mode::Replace {
                return Err(Failure::usage("-p and -m apply to node attributes"));
            }
            let names = names.ok_or_else(|| {
                Failure::usage(format!("{verb}: which group? give its name or -o"))
            })?;
            let groups = group_list(&names);
            for g in &groups {
                if create && a.force {
                    let _ = objects::remove_group(&mut snap, g);
                }
                objects::set_group_attrs(&mut snap, g, &assignments, create)?;
            }
            groups.len()
        }
        "site" if !create => {
            objects::set_site(&mut snap, &assignments)?;
            1
        }
        other => {
            return Err(Failure::usage(format!(
                "{verb} cannot handle objects of type '{other}'; use node, group or site"
            )))
        }
    };
    snap.commit()?;
    outln!("{count} object definitions have been created or modified.");
    Ok(())
}

/// mkdef refuses existing nodes unless -f, which removes their old definition first.
fn mkdef_replace(snap: &mut Snapshot<'_>, nodes: &[String], force: bool) -> Result<(), Failure> {
    let idx = snap.index()?;
    let existing: Vec<String> = nodes.iter().filter(|n| idx.contains(n)).cloned().collect();
    if existing.is_empty() {
        return Ok(());
    }
    if !force {
        return Err(Failure::usage(format!(
            "A definition for '{}' already exists. Use chdef to change it, or mkdef -f to replace it.",
            existing.join(",")
        )));
    }
    objects::remove_nodes(snap, &existing)?;
    Ok(())
}

pub fn rmdef(url: &DbUrl, a: RmdefArgs) -> Result<(), Failure> {
    let names = names_arg(&a.objects, &a.names)?
        .ok_or_else(|| Failure::usage("rmdef: which objects? give their names or -o"))?;
    let mut db = ClusterDb::open(url)?;
    let mut snap = db.write()?;
    let count = match a.kind.as_str() {
        "node" => {
            let nodes = snap.noderange(&names, &NoderangeEnv::from_env())?;
            objects::remove_nodes(&mut snap, &nodes)?
        }
        "group" => {
            let groups = group_list(&names);
            for g in &groups {
                objects::remove_group(&mut snap, g)?;
            }
            groups.len()
        }
        other => {
            return Err(Failure::usage(format!(
                "rmdef cannot handle objects of type '{other}'; use node or group"
            )))
        }
    };
    snap.commit()?;
    outln!("{count} object definitions have been removed.");
    Ok(())
}
