//! Objects that are table rows keyed by the object's name: network (`networks.netname`), policy
//! (`policy.priority`), osimage (`osimage.imagename` and its `linuximage`, ... rows), route, zone,
//! auditlog, eventlog and the other types of `Schema.pm`'s `%defspec` besides node, group and
//! site. Reads are raw (no inheritance); writes go to the rows keyed by the name.

use crate::backend::{Filter, Value};
use crate::objects::{merge, Attrs, Mode};
use crate::schema::{schema, AttrSpec, ObjectSpec, TableSpec};
use crate::{table, Error, Result, Snapshot};
use std::collections::BTreeMap;

/// The object types handled here, in the order `lsdef -a` lists them.
pub fn kinds() -> Vec<&'static str> {
    schema()
        .objects
        .values()
        .filter(|o| row_object(&o.name).is_ok())
        .map(|o| o.name.as_str())
        .collect()
}

/// The schema of a row object type, or why it is not one.
pub fn row_object(kind: &str) -> Result<&'static ObjectSpec> {
    let obj = schema()
        .object(kind)
        .filter(|_| !matches!(kind, "node" | "group" | "site"))
        .ok_or_else(|| Error::Invalid(format!("Type '{kind}' is not a valid xCAT object type.")))?;
    if obj.attrs.is_empty() || obj.attrs.iter().any(|m| m.key_column.is_none()) {
        return Err(Error::Unsupported(format!("objects of type '{kind}'")));
    }
    Ok(obj)
}

/// The mapping of the key attribute: its table holds one row per object.
fn key_mapping(obj: &ObjectSpec) -> Result<&AttrSpec> {
    obj.mappings(&obj.key_attr)
        .next()
        .ok_or_else(|| Error::Unsupported(format!("objects of type '{}'", obj.name)))
}

/// Every object name of a type (enabled rows of its main table), sorted.
pub fn names(snap: &Snapshot<'_>, kind: &str) -> Result<Vec<String>> {
    let obj = row_object(kind)?;
    let key = key_mapping(obj)?;
    let spec = table(&key.table)?;
    if !snap.tx().table_exists(spec)? {
        return Ok(Vec::new());
    }
    let mut v: Vec<String> = snap
        .select(spec, &[key.column.as_str()], Filter::Enabled)?
        .into_iter()
        .filter_map(|mut r| r.remove(0).filter(|n| !n.is_empty()))
        .collect();
    v.sort_by(|a, b| natural(a).cmp(&natural(b)));
    v.dedup();
    Ok(v)
}

/// Numbers sort as numbers (policy priorities, log record ids), names as names.
fn natural(s: &str) -> (u8, u64, &str) {
    match s.parse::<u64>() {
        Ok(n) => (0, n, s),
        Err(_) => (1, 0, s),
    }
}

/// The mappings of `obj` grouped by table, key attribute left out.
fn by_table(obj: &ObjectSpec) -> BTreeMap<&str, Vec<&AttrSpec>> {
    let mut m: BTreeMap<&str, Vec<&AttrSpec>> = BTreeMap::new();
    for a in obj.attrs.iter().filter(|a| a.attr != obj.key_attr) {
        m.entry(a.table.as_str()).or_default().push(a);
    }
    m
}

/// The attributes that are set of each named object; unknown names are left out.
pub fn attrs(snap: &Snapshot<'_>, kind: &str, names: &[String]) -> Result<BTreeMap<String, Attrs>> {
    let obj = row_object(kind)?;
    let mut out: BTreeMap<String, Attrs> =
        names.iter().map(|n| (n.clone(), Attrs::new())).collect();
    for (t, maps) in by_table(obj) {
        let spec = table(t)?;
        if !snap.tx().table_exists(spec)? {
            continue;
        }
        let keycol = maps[0].key_column.as_deref().unwrap_or_default();
        let mut cols = vec![keycol];
        cols.extend(maps.iter().map(|m| m.column.as_str()));
        let rows = snap.select(
            spec,
            &cols,
            Filter::In {
                column: keycol,
                keys: names,
            },
        )?;
        for r in rows {
            let Some(attrs) = r[0].as_ref().and_then(|k| out.get_mut(k)) else {
                continue;
            };
            for (m, v) in maps.iter().zip(&r[1..]) {
                if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                    attrs.entry(m.attr.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }
    Ok(out)
}

/// Check a network definition as xCAT's mkdef/chdef do: net and mask are required, and no
/// other network may have the same pair.
fn check_network(snap: &Snapshot<'_>, name: &str, attrs: &Attrs) -> Result<()> {
    let (Some(net), Some(mask)) = (attrs.get("net"), attrs.get("mask")) else {
        return Err(Error::Invalid(format!(
            "Net or mask value should not be empty for xCAT network object '{name}'."
        )));
    };
    let rows = snap.select(
        table("networks")?,
        &["netname", "net", "mask"],
        Filter::Enabled,
    )?;
    for r in rows {
        let other = r[0].as_deref().unwrap_or_default();
        if other != name && r[1].as_ref() == Some(net) && r[2].as_ref() == Some(mask) {
            return Err(Error::Exists(format!(
                "A network definition called '{other}' already exists that contains the same net and mask values. Cannot create a definition for '{name}'."
            )));
        }
    }
    Ok(())
}

/// Create or change one object. Returns whether it is new. `create`: a missing object may be
/// created; `change`: an existing one may be changed.
pub fn write(
    snap: &mut Snapshot<'_>,
    kind: &str,
    name: &str,
    assignments: &[(String, String)],
    mode: Mode,
    create: bool,
    change: bool,
) -> Result<bool> {
    let obj = row_object(kind)?;
    let current = attrs(snap, kind, &[name.to_string()])?
        .remove(name)
        .unwrap_or_default();
    let exists = names(snap, kind)?.iter().any(|n| n == name);
    if exists && !change {
        return Err(Error::Exists(format!(
            "A definition for '{name}' already exists. No changes will be made.  Run again with '-f' option to force replace."
        )));
    }
    if !exists && !create {
        return Err(Error::Missing(format!(
            "Could not find an object named '{name}' of type '{kind}'."
        )));
    }
    let mut after = current.clone();
    let mut sets: BTreeMap<&str, Vec<(&str, Value)>> = BTreeMap::new();
    for (attr, value) in assignments {
        let m = obj.mappings(attr).next().ok_or_else(|| {
            Error::Invalid(format!(
                "'{attr}' is not a valid attribute name for an object type of '{kind}'."
            ))
        })?;
        if *attr == obj.key_attr {
            return Err(Error::Invalid(format!(
                "'{attr}' names the object; it cannot be set"
            )));
        }
        let v = merge(mode, current.get(attr).map(String::as_str), value);
        match &v {
            Some(v) => after.insert(attr.clone(), v.clone()),
            None => after.remove(attr),
        };
        sets.entry(m.table.as_str())
            .or_default()
            .push((m.column.as_str(), v));
    }
    if kind == "network" {
        check_network(snap, name, &after)?;
    }
    let key = key_mapping(obj)?;
    if !exists {
        sets.entry(key.table.as_str()).or_default();
    }
    let mut tx = snap.tx();
    for (t, set) in sets {
        let spec: &TableSpec = table(t)?;
        let keycol = obj
            .attrs
            .iter()
            .find(|m| m.table == t)
            .and_then(|m| m.key_column.as_deref())
            .unwrap_or_default();
        crate::objects::upsert(&mut **tx, spec, keycol, name, &set)?;
    }
    Ok(!exists)
}

/// Remove one object's rows from every table of its type.
pub fn remove(snap: &mut Snapshot<'_>, kind: &str, name: &str) -> Result<()> {
    let obj = row_object(kind)?;
    if !names(snap, kind)?.iter().any(|n| n == name) {
        return Err(Error::Missing(format!(
            "Could not find an object named '{name}' of type '{kind}'."
        )));
    }
    let mut tx = snap.tx();
    let mut done: Vec<&str> = Vec::new();
    for m in &obj.attrs {
        if done.contains(&m.table.as_str()) {
            continue;
        }
        done.push(&m.table);
        let spec = table(&m.table)?;
        if tx.table_exists(spec)? {
            let keycol = m.key_column.as_deref().unwrap_or_default();
            tx.delete(spec, &[(keycol, name)])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_object_types() {
        assert!(row_object("network").is_ok());
        assert!(row_object("policy").is_ok());
        assert!(row_object("node").is_err());
        let e = row_object("wrongtype").unwrap_err().to_string();
        assert_eq!(e, "Type 'wrongtype' is not a valid xCAT object type.");
        assert!(kinds().contains(&"osimage"));
    }
}
