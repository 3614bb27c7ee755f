//! Writing node and group objects (`mkdef`, `chdef`), as `DBobjectdefs.pm` and `DBobjUtils.pm`'s
//! `setobjdefs` do: values go to the row keyed by the object's own name; `only_if` mappings
//! (`bmc` only with `mgt=ipmi`, ...) are chosen by the condition's value in the same command,
//! else stored on the object, else on one of its groups; `nicips.eth0=...` edits one interface
//! of `nics.nicips`. Every check runs before the first write, so a refused object changes
//! nothing (the caller commits or drops the transaction).

use crate::backend::Value;
use crate::objects::{
    condition_holds, drop_defaults, group_attrs, merge, node_attrs, object, postscript_defaults,
    readable, remove_group, remove_nodes, upsert, Attrs, Mode,
};
use crate::schema::{AttrSpec, ObjectSpec, TableSpec};
use crate::selection::parse_selection;
use crate::{table, Error, NoderangeEnv, Result, Snapshot};
use std::collections::{BTreeMap, HashMap};

/// How a node write treats existing and missing nodes.
#[derive(Debug, Clone, Copy)]
pub struct NodeWrite {
    pub mode: Mode,
    /// Missing nodes are created (they need `groups=`); otherwise they are an error.
    pub create: bool,
    /// `mkdef -f`: existing definitions are replaced, not changed.
    pub fresh: bool,
    /// Keep postscripts that `xcatdefaults` runs anyway (a template's list is taken whole).
    pub keep_default_scripts: bool,
}

/// What a write did, for the command's messages.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Objects that did not exist before.
    pub created: Vec<String>,
    /// Lines for `Warning: ...` (without the prefix).
    pub warnings: Vec<String>,
}

/// One planned column write: table, the row's key columns and values, column, value.
struct Write {
    spec: &'static TableSpec,
    keys: Vec<(String, String)>,
    column: String,
    value: Value,
}

impl Write {
    fn new(spec: &'static TableSpec, keycol: &str, key: &str, column: &str, value: Value) -> Self {
        Write {
            spec,
            keys: vec![(keycol.to_string(), key.to_string())],
            column: column.to_string(),
            value,
        }
    }

    /// The write of mapping `m` for object `name`: its single key, or all keys of a multi-key
    /// lookup.
    fn of(m: &AttrSpec, name: &str, value: Value) -> Result<Self> {
        let mut w = Write::new(table(&m.table)?, "", name, &m.column, value);
        w.keys = match (&m.key_column, &m.multi_key) {
            (Some(k), _) => vec![(k.clone(), name.to_string())],
            (None, Some((k, extra))) => {
                let mut keys = vec![(k.clone(), name.to_string())];
                keys.extend(extra.iter().cloned());
                keys
            }
            (None, None) => return Err(Error::Unsupported(format!("attribute '{}'", m.attr))),
        };
        Ok(w)
    }
}

/// Where `only_if` conditions are looked up, in xCAT's order: the same command, the object's
/// stored values, its groups' own values.
struct Conditions<'a> {
    pending: &'a [(String, String)],
    current: &'a Attrs,
    groups: Vec<Attrs>,
}

impl Conditions<'_> {
    fn sources(&self, attr: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .pending
            .iter()
            .rev()
            .filter(|(a, _)| a == attr)
            .map(|(_, v)| v.as_str())
            .take(1)
            .collect();
        v.extend(self.current.get(attr).map(String::as_str));
        v.extend(
            self.groups
                .iter()
                .filter_map(|g| g.get(attr).map(String::as_str)),
        );
        v
    }

    /// The mapping an attribute goes to; for `only_if` mappings, the first source that
    /// satisfies one of them decides.
    fn pick<'o>(&self, obj: &'o ObjectSpec, attr: &str) -> Result<&'o AttrSpec> {
        let maps: Vec<&'o AttrSpec> = obj
            .attrs
            .iter()
            .filter(|m| m.attr == attr && (readable(m) || m.multi_key.is_some()))
            .collect();
        if maps.is_empty() {
            return Err(Error::Invalid(format!(
                "'{attr}' is not a valid attribute name for an object type of '{}'.",
                obj.name
            )));
        }
        if let Some(m) = maps.iter().find(|m| m.only_if.is_none()) {
            return Ok(*m);
        }
        self.pick_conditional(&maps, attr)
    }

    /// Where else an attribute with an unconditional mapping goes: the `only_if` mappings
    /// whose condition holds too (`id` is `ppc.id`, and also `mp.id` when `mgt=blade`).
    fn also<'o>(&self, obj: &'o ObjectSpec, attr: &str, first: &AttrSpec) -> Vec<&'o AttrSpec> {
        obj.attrs
            .iter()
            .filter(|m| m.attr == attr && readable(m) && !std::ptr::eq(*m, first))
            .filter(|m| {
                m.only_if.as_ref().is_some_and(|(a, want)| {
                    self.sources(a)
                        .first()
                        .is_some_and(|v| condition_holds(Some(v), want))
                })
            })
            .filter(|m| !(m.table == first.table && m.column == first.column))
            .collect()
    }

    fn pick_conditional<'o>(&self, maps: &[&'o AttrSpec], attr: &str) -> Result<&'o AttrSpec> {
        let cattrs: Vec<&str> = maps
            .iter()
            .filter_map(|m| m.only_if.as_ref().map(|(a, _)| a.as_str()))
            .collect();
        for cattr in &cattrs {
            for v in self.sources(cattr) {
                let hit = maps.iter().find(|m| {
                    m.only_if
                        .as_ref()
                        .is_some_and(|(a, want)| a == cattr && condition_holds(Some(v), want))
                });
                if let Some(m) = hit {
                    return Ok(*m);
                }
            }
        }
        let cattr = cattrs[0];
        let mut wants: Vec<&str> = maps
            .iter()
            .filter_map(|m| m.only_if.as_ref())
            .filter(|(a, _)| a == cattr)
            .map(|(_, v)| v.as_str())
            .collect();
        wants.sort_unstable();
        wants.dedup();
        Err(Error::Invalid(format!(
            "Cannot set the attr='{attr}' attribute unless {cattr} value is {}.",
            wants.join(" or ")
        )))
    }
}

/// `nicips.eth0=1.1.1.1`: the attribute and interface of a per-interface assignment.
fn nic_target(attr: &str) -> Option<(&str, &str)> {
    let (a, nic) = attr.split_once('.')?;
    (a.starts_with("nic") && !nic.is_empty()).then_some((a, nic))
}

/// Apply per-interface values to a `nics` column (`eth0!1.1.1.1,ib0!10.0.0.1`); an empty value
/// removes the interface.
fn merge_nics(current: Option<&str>, edits: &[(&str, &str)]) -> Value {
    let mut entries: Vec<(String, String)> = current
        .unwrap_or("")
        .split(',')
        .filter_map(|e| e.split_once('!'))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    for (nic, v) in edits {
        entries.retain(|(n, _)| n != nic);
        if !v.is_empty() {
            entries.push((nic.to_string(), v.to_string()));
        }
    }
    let s: Vec<String> = entries.iter().map(|(n, v)| format!("{n}!{v}")).collect();
    Some(s.join(",")).filter(|s| !s.is_empty())
}

/// Group rows' own values for condition lookups, read once per group.
struct GroupCache<'s, 'a> {
    snap: &'s Snapshot<'a>,
    seen: HashMap<String, Attrs>,
}

impl GroupCache<'_, '_> {
    fn attrs_of(&mut self, groups: &str) -> Vec<Attrs> {
        groups
            .split(',')
            .filter(|g| !g.is_empty())
            .map(|g| {
                self.seen
                    .entry(g.to_string())
                    .or_insert_with(|| crate::objects::group_rows(self.snap, g).unwrap_or_default())
                    .clone()
            })
            .collect()
    }
}

/// The writes and warnings planned so far; nothing is written until [`apply`].
struct Planner {
    /// The `xcatdefaults` postscripts, which xCAT leaves out of a node's own list.
    defaults: HashMap<String, String>,
    writes: Vec<Write>,
    warnings: Vec<String>,
}

impl Planner {
    fn new(snap: &Snapshot<'_>) -> Result<Self> {
        Ok(Planner {
            defaults: postscript_defaults(snap)?,
            writes: Vec::new(),
            warnings: Vec::new(),
        })
    }

    /// Plan the writes of one object (a node, or a group's node attributes): every assignment
    /// mapped and merged.
    fn plan(
        &mut self,
        obj: &ObjectSpec,
        name: &str,
        assignments: &[(String, String)],
        mode: Mode,
        cond: &Conditions<'_>,
    ) -> Result<()> {
        let mut nics: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for (attr, value) in assignments {
            if let Some((a, nic)) = nic_target(attr) {
                nics.entry(a).or_default().push((nic, value));
                continue;
            }
            let m = cond.pick(obj, attr)?;
            let mut v = merge(mode, cond.current.get(attr).map(String::as_str), value);
            if m.table == "postscripts" {
                v = self.drop_defaults(name, attr, &m.column, v);
            }
            for other in cond.also(obj, attr, m) {
                self.writes.push(Write::of(other, name, v.clone())?);
            }
            self.writes.push(Write::of(m, name, v)?);
        }
        for (attr, edits) in nics {
            let m = cond.pick(obj, attr)?;
            let v = merge_nics(cond.current.get(attr).map(String::as_str), &edits);
            self.writes.push(Write::of(m, name, v)?);
        }
        Ok(())
    }

    /// xCAT warns about, and leaves out, postscripts that `xcatdefaults` runs anyway.
    fn drop_defaults(&mut self, name: &str, attr: &str, column: &str, v: Value) -> Value {
        let (Some(val), Some(d)) = (&v, self.defaults.get(column)) else {
            return v;
        };
        for item in val.split(',').filter(|i| d.split(',').any(|x| x == *i)) {
            self.warnings.push(format!(
                "{name}: {attr} '{item}' is already included in the 'xcatdefaults'."
            ));
        }
        Some(drop_defaults(val, Some(d))).filter(|v| !v.is_empty())
    }
}

fn apply(snap: &mut Snapshot<'_>, writes: Vec<Write>) -> Result<()> {
    let mut tx = snap.tx();
    for w in writes {
        let set = [(w.column.as_str(), w.value)];
        if let [(keycol, key)] = &w.keys[..] {
            upsert(&mut **tx, w.spec, keycol, key, &set)?;
            continue;
        }
        let keys: Vec<(&str, &str)> = w
            .keys
            .iter()
            .map(|(c, v)| (c.as_str(), v.as_str()))
            .collect();
        if tx.update(w.spec, &keys, &set)? == 0 {
            let mut cols: Vec<&str> = keys.iter().map(|(c, _)| *c).collect();
            let mut vals: Vec<Value> = keys.iter().map(|(_, v)| Some(v.to_string())).collect();
            cols.push(set[0].0);
            vals.push(set[0].1.clone());
            tx.insert(w.spec, &cols, &vals)?;
        }
    }
    drop(tx);
    snap.invalidate();
    Ok(())
}

/// `chdef`/`mkdef` for nodes, in the caller's transaction.
pub fn write_nodes(
    snap: &mut Snapshot<'_>,
    nodes: &[String],
    assignments: &[(String, String)],
    w: NodeWrite,
) -> Result<Outcome> {
    let obj = object("node")?;
    let idx = snap.index()?;
    let (existing, missing): (Vec<String>, Vec<String>) =
        nodes.iter().cloned().partition(|n| idx.contains(n));
    if !missing.is_empty() && !w.create {
        return Err(Error::Missing(format!(
            "Could not find an object named '{}' of type 'node'.",
            missing.join(",")
        )));
    }
    let new_groups = assignments
        .iter()
        .rev()
        .find(|(a, _)| a == "groups")
        .map(|(_, v)| v.as_str());
    let need_groups = if w.fresh { nodes } else { &missing[..] };
    if let Some(n) = need_groups
        .first()
        .filter(|_| new_groups.is_none_or(str::is_empty))
    {
        return Err(Error::Invalid(format!(
            "Attribute 'groups' is not specified for node '{n}', skipping to the next node."
        )));
    }
    if let Some((a, _)) = assignments.iter().find(|(a, _)| *a == obj.key_attr) {
        return Err(Error::Invalid(format!(
            "'{a}' cannot be changed with chdef; use chdef -n NEWNAME to rename a node"
        )));
    }
    let mut wanted: Vec<String> = assignments
        .iter()
        .map(|(a, _)| nic_target(a).map_or(a.as_str(), |(a, _)| a).to_string())
        .chain(
            obj.attrs
                .iter()
                .filter_map(|m| m.only_if.clone().map(|c| c.0)),
        )
        .chain(["groups".to_string()])
        .collect();
    wanted.sort();
    wanted.dedup();
    wanted.retain(|a| obj.mappings(a).any(readable));
    let current = if w.fresh {
        BTreeMap::new()
    } else {
        node_attrs(snap, &existing, Some(&wanted))?
    };
    let mut planner = Planner::new(snap)?;
    if w.keep_default_scripts {
        planner.defaults.clear();
    }
    let empty = Attrs::new();
    let mut groups = GroupCache {
        snap,
        seen: HashMap::new(),
    };
    for node in nodes {
        let cur = current.get(node).unwrap_or(&empty);
        let needs_groups = assignments.iter().any(|(a, _)| {
            obj.mappings(nic_target(a).map_or(a, |(a, _)| a))
                .all(|m| m.only_if.is_some())
        });
        let member_of = new_groups.or(cur.get("groups").map(String::as_str));
        let cond = Conditions {
            pending: assignments,
            current: cur,
            groups: match member_of {
                Some(g) if needs_groups => groups.attrs_of(g),
                _ => Vec::new(),
            },
        };
        planner.plan(obj, node, assignments, w.mode, &cond)?;
    }
    if w.fresh && !existing.is_empty() {
        remove_nodes(snap, &existing)?;
    }
    apply(snap, planner.writes)?;
    Ok(Outcome {
        created: if w.fresh { nodes.to_vec() } else { missing },
        warnings: planner.warnings,
    })
}

/// How a group write treats the group and its selection.
#[derive(Debug, Clone, Default)]
pub struct GroupWrite {
    pub mode: Mode,
    /// A missing group may be created.
    pub create: bool,
    /// An existing group may be changed (mkdef without -f refuses it).
    pub change: bool,
    /// `mkdef -f`: replace an existing definition.
    pub fresh: bool,
    /// `-d`: the group is dynamic.
    pub dynamic: bool,
    /// `-w` selection criteria.
    pub wherevals: Vec<String>,
}

/// The group's new selection: type, criteria and static member list (None: unchanged).
struct GroupPlan {
    grouptype: String,
    wherevals: Option<String>,
    members: Option<Vec<String>>,
}

fn join_criteria(mode: Mode, current: Option<&str>, new: &[String]) -> Option<String> {
    let cur: Vec<String> = current
        .unwrap_or("")
        .split("::")
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    let out: Vec<String> = match mode {
        Mode::Replace => new.to_vec(),
        Mode::Plus => {
            let mut c = cur;
            c.extend(new.iter().filter(|n| !n.is_empty()).cloned());
            c
        }
        Mode::Minus => cur.into_iter().filter(|c| !new.contains(c)).collect(),
    };
    Some(out.join("::")).filter(|s| !s.is_empty())
}

/// Work out the group's type, criteria and members from the command and its current state.
fn plan_selection(
    snap: &Snapshot<'_>,
    group: &str,
    assignments: &[(String, String)],
    w: &GroupWrite,
    current: &Attrs,
) -> Result<GroupPlan> {
    let given = |a: &str| {
        assignments
            .iter()
            .rev()
            .find(|(k, _)| k == a)
            .map(|(_, v)| v)
    };
    let grouptype = match given("grouptype") {
        Some(t) if t == "static" || t == "dynamic" => t.clone(),
        Some(t) => {
            return Err(Error::Invalid(format!(
                "'{t}' is not a valid grouptype for group '{group}'; use static or dynamic"
            )))
        }
        None if w.dynamic => "dynamic".into(),
        None => current
            .get("grouptype")
            .cloned()
            .unwrap_or_else(|| "static".into()),
    };
    let mut crits = w.wherevals.clone();
    if let Some(v) = given("wherevals") {
        crits.extend(v.split("::").filter(|c| !c.is_empty()).map(str::to_string));
    }
    let wherevals = if crits.is_empty() {
        current.get("wherevals").cloned()
    } else {
        join_criteria(w.mode, current.get("wherevals").map(String::as_str), &crits)
    };
    if let Some(wv) = &wherevals {
        let words: Vec<&str> = wv.split("::").collect();
        parse_selection(&words)?;
    }
    let members_given = given("members");
    if members_given.is_some() && (!w.wherevals.is_empty() || grouptype == "dynamic") {
        return Err(Error::Invalid(
            "Cannot use a list of members together with the '-w' option.".into(),
        ));
    }
    if grouptype == "dynamic" {
        if wherevals.is_none() {
            return Err(Error::Invalid(format!(
                "The 'where' attributes and values were not provided for dynamic group '{group}'."
            )));
        }
        return Ok(GroupPlan {
            grouptype,
            wherevals,
            members: None,
        });
    }
    let members = match (members_given, &wherevals) {
        (Some(range), _) => Some(member_list(snap, range, w.mode, current)?),
        (None, Some(wv)) if !w.wherevals.is_empty() => {
            Some(crate::objects::dynamic_group_members(snap, wv)?)
        }
        _ => None,
    };
    Ok(GroupPlan {
        grouptype,
        wherevals,
        members,
    })
}

/// `members=` is a noderange of existing nodes, added (-p) or taken away (-m) or replacing.
fn member_list(
    snap: &Snapshot<'_>,
    range: &str,
    mode: Mode,
    current: &Attrs,
) -> Result<Vec<String>> {
    let env = NoderangeEnv {
        verify: false,
        ..NoderangeEnv::from_env()
    };
    let named = if range.is_empty() {
        Vec::new()
    } else {
        snap.expand(range, &env)?.nodes
    };
    let idx = snap.index()?;
    if let Some(bad) = named.iter().find(|n| !idx.contains(n)) {
        return Err(Error::Invalid(format!(
            "Could not find a node named '{bad}'; no member was changed."
        )));
    }
    let cur: Vec<String> = current
        .get("members")
        .map(|m| {
            m.split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(match mode {
        Mode::Replace => named,
        Mode::Plus => {
            let mut c = cur;
            c.extend(named.into_iter().filter(|n| !current_has(current, n)));
            c
        }
        Mode::Minus => cur.into_iter().filter(|c| !named.contains(c)).collect(),
    })
}

fn current_has(current: &Attrs, node: &str) -> bool {
    current
        .get("members")
        .is_some_and(|m| m.split(',').any(|x| x == node))
}

/// Each node whose `nodelist.groups` changes so that exactly `members` are in `group`.
fn membership_changes(
    snap: &Snapshot<'_>,
    group: &str,
    members: &[String],
) -> Result<Vec<(String, Value)>> {
    let idx = snap.index()?;
    let want: std::collections::HashSet<&str> = members.iter().map(String::as_str).collect();
    Ok(idx
        .nodes
        .iter()
        .filter_map(|n| {
            let has = n.groups.iter().any(|g| g == group);
            let mut g = n.groups.to_vec();
            match (has, want.contains(n.name.as_str())) {
                (false, true) => g.push(group.to_string()),
                (true, false) => g.retain(|x| x != group),
                _ => return None,
            }
            Some((n.name.clone(), Some(g.join(",")).filter(|s| !s.is_empty())))
        })
        .collect())
}

/// `mkdef -t group` / `chdef -t group` for one group, in the caller's transaction. Returns
/// whether the group is new.
pub fn write_group(
    snap: &mut Snapshot<'_>,
    group: &str,
    assignments: &[(String, String)],
    w: &GroupWrite,
) -> Result<Outcome> {
    if group.is_empty() || group.contains(',') || group.contains(char::is_whitespace) {
        return Err(Error::Invalid(format!(
            "'{group}' is not a valid group name"
        )));
    }
    let idx = snap.index()?;
    if idx.contains(group) {
        return Err(Error::Invalid(format!("'{group}' is a node, not a group")));
    }
    let exists = idx.group_def(group).is_some() || !idx.group_members(group).is_empty();
    if exists && !w.change && !w.fresh {
        return Err(Error::Exists(format!(
            "A definition for '{group}' already exists. No changes will be made.  Run again with '-f' option to force replace."
        )));
    }
    if !exists && !w.create {
        return Err(Error::Missing(format!(
            "Could not find an object named '{group}' of type 'group'."
        )));
    }
    let current = if exists && !w.fresh {
        group_attrs(snap, group)?
    } else {
        Attrs::new()
    };
    let plan = plan_selection(snap, group, assignments, w, &current)?;
    let obj = object("group")?;
    let node_assigns: Vec<(String, String)> = assignments
        .iter()
        .filter(|(a, _)| !matches!(a.as_str(), "members" | "grouptype" | "wherevals"))
        .cloned()
        .collect();
    if let Some((a, _)) = node_assigns.iter().find(|(a, _)| a == "groups") {
        return Err(Error::Invalid(format!(
            "'{a}' is not a valid attribute name for an object type of 'group'."
        )));
    }
    let cond = Conditions {
        pending: &node_assigns,
        current: &current,
        groups: Vec::new(),
    };
    let mut planner = Planner::new(snap)?;
    planner.plan(obj, group, &node_assigns, w.mode, &cond)?;
    let members = match (&plan.members, plan.grouptype.as_str()) {
        (Some(m), _) => Some(m.clone()),
        // A group that becomes dynamic has no listed members any more.
        (None, "dynamic") if exists => Some(Vec::new()),
        _ => None,
    };
    if w.fresh && exists {
        remove_group(snap, group)?;
    }
    let changes = match &members {
        Some(m) => membership_changes(snap, group, m)?,
        None => Vec::new(),
    };
    let warnings = std::mem::take(&mut planner.warnings);
    let mut writes = planner.writes;
    let ng = table("nodegroup")?;
    writes.push(Write::new(
        ng,
        "groupname",
        group,
        "grouptype",
        Some(plan.grouptype),
    ));
    writes.push(Write::new(
        ng,
        "groupname",
        group,
        "wherevals",
        plan.wherevals,
    ));
    let nl = table("nodelist")?;
    for (node, groups) in changes {
        writes.push(Write::new(nl, "node", &node, "groups", groups));
    }
    apply(snap, writes)?;
    Ok(Outcome {
        created: if exists {
            Vec::new()
        } else {
            vec![group.to_string()]
        },
        warnings,
    })
}

/// `chdef -n NEW`: rename a node in every table that holds node names as keys.
pub fn rename_node(snap: &mut Snapshot<'_>, old: &str, new: &str) -> Result<()> {
    let idx = snap.index()?;
    if !idx.contains(old) {
        return Err(Error::Missing(format!(
            "Could not find an object named '{old}' of type 'node'."
        )));
    }
    if idx.contains(new) || idx.group_def(new).is_some() {
        return Err(Error::Exists(format!("Object {new} already exists.")));
    }
    if new.is_empty() || new.contains([',', ' ', '\t', '\n']) {
        return Err(Error::Invalid(format!("'{new}' is not a valid node name")));
    }
    let mut tx = snap.tx();
    for spec in crate::schema::schema().tables.values() {
        if let Some(keycol) = spec.node_column.as_deref() {
            tx.update(spec, &[(keycol, old)], &[(keycol, Some(new.to_string()))])?;
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
    fn nic_values_merge_per_interface() {
        assert_eq!(
            merge_nics(Some("eth0!1.1.1.1,ib0!10.0.0.1"), &[("ib0", "10.0.0.2")]).as_deref(),
            Some("eth0!1.1.1.1,ib0!10.0.0.2")
        );
        assert_eq!(merge_nics(Some("eth0!1.1.1.1"), &[("eth0", "")]), None);
        assert_eq!(nic_target("nicips.eth0"), Some(("nicips", "eth0")));
        assert_eq!(nic_target("passwd.HMC"), None);
    }

    #[test]
    fn criteria_lists_add_and_remove() {
        let cur = Some("mgt==hmc");
        let add = vec!["cons==hmc".to_string(), "groups=~systemp".to_string()];
        let all = join_criteria(Mode::Plus, cur, &add).unwrap();
        assert_eq!(all, "mgt==hmc::cons==hmc::groups=~systemp");
        assert_eq!(
            join_criteria(Mode::Minus, Some(&all), &add).as_deref(),
            Some("mgt==hmc")
        );
    }
}
