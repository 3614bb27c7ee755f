//! lsdef, chdef, mkdef, rmdef, with xCAT's flags, messages and output formats
//! (`DBobjectdefs.pm`). Node and group objects are in `clusterdb::objects`/`objwrite`, the other
//! types (network, policy, osimage, ...) in `clusterdb::rowobjects`.

use crate::cli::{DefArgs, LsdefArgs, RmdefArgs};
use crate::exit::Failure;
use clusterdb::objects::{self, Attrs, Mode};
use clusterdb::objwrite::{self, GroupWrite, NodeWrite, Outcome};
use clusterdb::selection::{parse_selection, Criterion};
use clusterdb::{rowobjects, stanza, templates, ClusterDb, DbUrl, Error, NoderangeEnv, Snapshot};
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

fn name_list(names: &str) -> Vec<String> {
    names
        .split(',')
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect()
}

/// The object types: node, group, site, and every row object type of the schema.
fn check_kind(kind: &str) -> Result<(), Failure> {
    if matches!(kind, "node" | "group" | "site") {
        return Ok(());
    }
    rowobjects::row_object(kind)?;
    Ok(())
}

/// How lsdef prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `name  (type)`
    Short,
    /// `Object name: name` and `    attr=value` lines
    Long,
    /// `name: attr=value`
    Compact,
    /// stanza file
    Stanza,
    Json,
}

/// The objects of one type that lsdef shows, with the errors for names it could not find.
#[derive(Default)]
struct Found {
    objs: BTreeMap<String, Vec<(String, String)>>,
    order: Vec<String>,
    errors: Vec<String>,
}

/// Node names for lsdef/rmdef: a noderange, unknown names reported instead of failing.
fn node_names(
    snap: &Snapshot<'_>,
    range: &str,
    errors: &mut Vec<String>,
) -> Result<Vec<String>, Failure> {
    let env = NoderangeEnv {
        verify: false,
        ..NoderangeEnv::from_env()
    };
    let exp = snap.expand(range, &env)?;
    let idx = snap.index()?;
    let mut nodes = Vec::with_capacity(exp.nodes.len());
    for n in exp.nodes.into_iter().chain(exp.missing) {
        if idx.contains(&n) {
            nodes.push(n);
        } else {
            errors.push(format!(
                "Could not find an object named '{n}' of type 'node'."
            ));
        }
    }
    if nodes.is_empty() && errors.is_empty() {
        errors.push(format!(
            "Could not find an object named '{range}' of type 'node'."
        ));
    }
    nodes.sort();
    nodes.dedup();
    Ok(nodes)
}

fn all_nodes(snap: &Snapshot<'_>) -> Result<Vec<String>, Failure> {
    let mut v: Vec<String> = snap.index()?.nodes.iter().map(|n| n.name.clone()).collect();
    v.sort();
    Ok(v)
}

/// Attribute lines for one object: only the `-i` ones (shown even when unset, as xCAT does),
/// nics attributes one line per interface.
fn lines_for(
    attrs: Attrs,
    wanted: &[String],
    node: Option<&str>,
    show_unset: bool,
) -> Vec<(String, String)> {
    let mut out = objects::display_pairs(&attrs, node);
    if !wanted.is_empty() {
        out.retain(|(k, _)| {
            let base = k.split_once('.').map_or(k.as_str(), |(b, _)| b);
            wanted.iter().any(|w| w == k || w == base)
        });
        if show_unset {
            for w in wanted
                .iter()
                .filter(|w| !w.starts_with("nic") && !attrs.contains_key(*w))
            {
                out.push((w.clone(), String::new()));
            }
            // By attribute name; a nics attribute's interfaces keep their stored order.
            out.sort_by(|(a, _), (b, _)| {
                let base = |k: &String| k.split_once('.').map_or(k.clone(), |(b, _)| b.to_string());
                base(a).cmp(&base(b))
            });
        }
    }
    out
}

fn filter_where(objs: &mut BTreeMap<String, Attrs>, crits: &[Criterion]) {
    objs.retain(|_, a| {
        crits
            .iter()
            .all(|c| c.matches(a.get(&c.attr).map(String::as_str)))
    });
}

fn lsdef_nodes(
    snap: &Snapshot<'_>,
    a: &LsdefArgs,
    names: Option<&str>,
    style: Style,
    wanted: &[String],
) -> Result<Found, Failure> {
    let mut found = Found::default();
    let mut nodes = match names {
        Some(r) => node_names(snap, r, &mut found.errors)?,
        None => all_nodes(snap)?,
    };
    let idx = snap.index()?;
    if !a.show_hidden {
        nodes.retain(|n| !idx.get(n).is_some_and(|e| e.hidden));
    }
    if !a.wheres.is_empty() {
        nodes = objects::select_nodes(snap, &nodes, &parse_selection(&a.wheres)?)?;
    }
    if style == Style::Short {
        found.order = nodes;
        return Ok(found);
    }
    let want = (!wanted.is_empty()).then_some(wanted);
    for (n, attrs) in objects::node_attrs(snap, &nodes, want)? {
        let lines = lines_for(attrs, wanted, Some(&n), true);
        found.objs.insert(n.clone(), lines);
        found.order.push(n);
    }
    Ok(found)
}

/// The names of the named (or all) objects of a type other than node that exist.
fn other_names(
    snap: &Snapshot<'_>,
    kind: &str,
    names: Option<&str>,
    errors: &mut Vec<String>,
) -> Result<Vec<String>, Failure> {
    let all = match kind {
        "group" => snap.index()?.group_names(),
        "site" => vec!["clustersite".to_string()],
        _ => rowobjects::names(snap, kind)?,
    };
    let Some(names) = names else {
        return Ok(all);
    };
    let mut out = Vec::new();
    for n in name_list(names) {
        if all.contains(&n) {
            out.push(n);
        } else {
            errors.push(format!(
                "Could not find an object named '{n}' of type '{kind}'."
            ));
        }
    }
    Ok(out)
}

/// Attributes of the named (or all) objects of a type other than node.
fn other_objects(
    snap: &Snapshot<'_>,
    kind: &str,
    names: Option<&str>,
    errors: &mut Vec<String>,
) -> Result<BTreeMap<String, Attrs>, Failure> {
    let mut out = BTreeMap::new();
    match kind {
        "group" => {
            let groups = names.map(name_list).unwrap_or(snap.index()?.group_names());
            for g in groups {
                match objects::group_attrs(snap, &g) {
                    Ok(a) => {
                        out.insert(g, a);
                    }
                    Err(e @ Error::Missing(_)) => errors.push(e.to_string()),
                    Err(e) => return Err(e.into()),
                }
            }
        }
        "site" => {
            if let Some(bad) = names
                .map(name_list)
                .unwrap_or_default()
                .iter()
                .find(|n| *n != "clustersite")
            {
                errors.push(format!(
                    "Could not find an object named '{bad}' of type 'site'."
                ));
            } else {
                out.insert("clustersite".to_string(), objects::site_attrs(snap)?);
            }
        }
        _ => {
            let all = rowobjects::names(snap, kind)?;
            let wanted = match names {
                Some(n) => name_list(n),
                None => all.clone(),
            };
            for n in wanted.iter().filter(|n| !all.contains(n)) {
                errors.push(format!(
                    "Could not find an object named '{n}' of type '{kind}'."
                ));
            }
            let present: Vec<String> = wanted.into_iter().filter(|n| all.contains(n)).collect();
            out = rowobjects::attrs(snap, kind, &present)?;
        }
    }
    Ok(out)
}

fn lsdef_kind(
    snap: &Snapshot<'_>,
    a: &LsdefArgs,
    kind: &str,
    names: Option<&str>,
    style: Style,
) -> Result<Found, Failure> {
    let mut wanted = a.attrs.clone();
    if a.nics {
        let obj = clusterdb::schema::schema()
            .object("node")
            .expect("node object");
        wanted.extend(
            obj.attr_names()
                .into_iter()
                .filter(|n| n.starts_with("nic"))
                .map(str::to_string),
        );
    }
    if kind == "node" {
        return lsdef_nodes(snap, a, names, style, &wanted);
    }
    let mut found = Found::default();
    if style == Style::Short && a.wheres.is_empty() {
        // Names only: no need to read every group's rows (or a dynamic group's members).
        found.order = other_names(snap, kind, names, &mut found.errors)?;
        return Ok(found);
    }
    let mut objs = other_objects(snap, kind, names, &mut found.errors)?;
    if !a.wheres.is_empty() {
        filter_where(&mut objs, &parse_selection(&a.wheres)?);
    }
    for (name, attrs) in objs {
        let lines = lines_for(attrs, &wanted, None, kind != "site");
        found.objs.insert(name.clone(), lines);
        found.order.push(name);
    }
    Ok(found)
}

fn lsdef_style(a: &LsdefArgs, names: bool) -> Style {
    if a.json {
        Style::Json
    } else if a.short {
        Style::Short
    } else if a.stanza {
        Style::Stanza
    } else if a.compact {
        Style::Compact
    } else if a.long || names || !a.attrs.is_empty() || a.nics {
        Style::Long
    } else {
        Style::Short
    }
}

fn print_found(
    out: &mut String,
    kind: &str,
    f: &Found,
    style: Style,
    show_kind: bool,
    a: &LsdefArgs,
) {
    for name in &f.order {
        let lines = f.objs.get(name).map(Vec::as_slice).unwrap_or_default();
        match style {
            Style::Short if a.stanza => out.push_str(&format!("\n{name}:\n")),
            Style::Short => out.push_str(&format!("{name}  ({kind})\n")),
            Style::Stanza if !a.long && !a.short && f.objs.is_empty() => {
                out.push_str(&format!("\n{name}:\n"))
            }
            Style::Stanza => stanza::format(out, name, kind, lines),
            Style::Compact => {
                for (k, v) in lines {
                    out.push_str(&format!("{name}: {k}={v}\n"));
                }
            }
            Style::Long | Style::Json => {
                if show_kind {
                    out.push_str(&format!("Object name: {name}  ({kind})\n"));
                } else {
                    out.push_str(&format!("Object name: {name}\n"));
                }
                for (k, v) in lines {
                    out.push_str(&format!("    {k}={v}\n"));
                }
            }
        }
    }
}

/// The types lsdef -a lists: every type but the logs (xCAT leaves those out for speed).
fn all_kinds() -> Vec<String> {
    let mut v = vec!["node".to_string(), "group".to_string(), "site".to_string()];
    v.extend(
        rowobjects::kinds()
            .into_iter()
            .filter(|k| !matches!(*k, "auditlog" | "eventlog"))
            .map(str::to_string),
    );
    v
}

/// `lsdef -h -i ATTR`: each attribute's table.column, with its condition if any.
fn attr_help(a: &LsdefArgs) -> Result<(), Failure> {
    let mut out = String::new();
    for kind in name_list(&a.kind) {
        check_kind(&kind)?;
        let obj = clusterdb::schema::schema()
            .object(&kind)
            .ok_or_else(|| Failure::usage(format!("no attributes for '{kind}'")))?;
        for attr in &a.attrs {
            let maps: Vec<String> = obj
                .mappings(attr)
                .map(|m| match &m.only_if {
                    Some((c, v)) => format!("{}.{} (when {c}={v})", m.table, m.column),
                    None => format!("{}.{}", m.table, m.column),
                })
                .collect();
            if maps.is_empty() {
                return Err(Failure::usage(format!(
                    "'{attr}' is not a valid attribute name for an object type of '{kind}'."
                )));
            }
            out.push_str(&format!("{attr}: stored in {}\n", maps.join(", ")));
        }
    }
    out!("{out}");
    Ok(())
}

/// `lsdef --template [NAME]`.
fn lsdef_template(name: &str) -> Result<(), Failure> {
    let mut out = String::new();
    if name.is_empty() {
        for t in templates::node_templates() {
            out.push_str(&format!("{}  (node)\n", t.name));
        }
    } else {
        let t = templates::node_template(name)
            .ok_or_else(|| Failure::failed(format!("Could not find {name} in xCAT templates.")))?;
        out.push_str(&format!("Object name: {name}\n"));
        let mut attrs = t.attrs.clone();
        attrs.sort();
        for (k, v) in attrs {
            out.push_str(&format!("    {k}={v}\n"));
        }
    }
    out!("{out}");
    Ok(())
}

pub fn lsdef(url: &DbUrl, a: LsdefArgs) -> Result<(), Failure> {
    if a.attr_help {
        return attr_help(&a);
    }
    if let Some(t) = &a.template {
        return lsdef_template(t);
    }
    let names = names_arg(&a.objects, &a.names)?;
    let kinds: Vec<String> = if a.all {
        all_kinds()
    } else {
        name_list(&a.kind)
    };
    for k in &kinds {
        check_kind(k)?;
    }
    let mut style = lsdef_style(&a, names.is_some());
    if a.short && a.stanza {
        style = Style::Short;
    }
    let mut db = ClusterDb::open(url)?;
    let snap = db.read()?;
    let mut text = String::new();
    if a.stanza {
        text.push_str(stanza::HEADER);
        text.push('\n');
    }
    let mut errors = Vec::new();
    let mut json = BTreeMap::new();
    for kind in &kinds {
        let found = lsdef_kind(&snap, &a, kind, names.as_deref(), style)?;
        errors.extend(found.errors.iter().cloned());
        if found.order.is_empty() && found.errors.is_empty() && !a.all {
            text.push_str(&format!("Could not find any objects of type '{kind}'.\n"));
        }
        if style == Style::Json {
            for (n, lines) in &found.objs {
                json.insert(n.clone(), lines.iter().cloned().collect::<Attrs>());
            }
            continue;
        }
        print_found(&mut text, kind, &found, style, kinds.len() > 1, &a);
    }
    if style == Style::Json {
        text =
            serde_json::to_string_pretty(&json).map_err(|e| Failure::failed(e.to_string()))? + "\n";
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    out.write_all(text.as_bytes())?;
    out.flush()?;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::failed(errors.join("\n")))
    }
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

const DEF_USAGE: &str = "\
Usage: {verb} [-t object-type] [-o object-names] [-p|-m] [-f] [-d -w attr==val ...] [attr=val ...]
       {verb} [-t object-type] -z < stanza-file
       chdef [-t node] NODE -n NEWNAME
       {verb} [-h|--help] [-v|--version]";

fn def_usage(verb: &str) -> Failure {
    Failure::usage(DEF_USAGE.replace("{verb}", verb))
}

/// One object set to create or change: its type, names and assignments.
struct DefJob {
    kind: String,
    names: String,
    assignments: Assignments,
}

fn mode_of(a: &DefArgs) -> Mode {
    if a.plus {
        Mode::Plus
    } else if a.minus {
        Mode::Minus
    } else {
        Mode::Replace
    }
}

/// The node part of [`apply_job`]: mkdef refuses existing nodes unless -f, which replaces them.
fn apply_nodes(
    snap: &mut Snapshot<'_>,
    a: &DefArgs,
    job: &DefJob,
    create_only: bool,
) -> Result<(usize, Outcome), Failure> {
    let mode = mode_of(a);
    let env = NoderangeEnv {
        verify: false,
        ..NoderangeEnv::from_env()
    };
    let nodes = snap.expand(&job.names, &env)?.nodes;
    if nodes.is_empty() {
        return Err(Failure::usage(format!(
            "the noderange '{}' names no node",
            job.names
        )));
    }
    if create_only && !a.force {
        let idx = snap.index()?;
        let existing: Vec<&String> = nodes.iter().filter(|n| idx.contains(n)).collect();
        if !existing.is_empty() {
            let names: Vec<&str> = existing.iter().map(|s| s.as_str()).collect();
            return Err(Error::Exists(format!(
                "A definition for '{}' already exists. No changes will be made.  Run again with '-f' option to force replace.",
                names.join(",")
            ))
            .into());
        }
    }
    let assignments = match &a.template {
        Some(t) => templates::fill(&template_attrs(snap, t)?, &job.assignments)?,
        None => job.assignments.clone(),
    };
    let w = NodeWrite {
        mode,
        create: true,
        fresh: create_only && a.force,
        keep_default_scripts: a.template.is_some(),
    };
    let o = objwrite::write_nodes(snap, &nodes, &assignments, w)?;
    Ok((nodes.len(), o))
}

/// Apply one job in the caller's transaction; the outcome names new objects.
fn apply_job(
    snap: &mut Snapshot<'_>,
    a: &DefArgs,
    job: &DefJob,
    create_only: bool,
) -> Result<(usize, Outcome), Failure> {
    let mode = mode_of(a);
    match job.kind.as_str() {
        "node" => apply_nodes(snap, a, job, create_only),
        "group" => {
            let mut all = Outcome::default();
            let groups = name_list(&job.names);
            for g in &groups {
                let w = GroupWrite {
                    mode,
                    create: true,
                    change: !create_only,
                    fresh: create_only && a.force,
                    dynamic: a.dynamic,
                    wherevals: a.wheres.clone(),
                };
                let o = objwrite::write_group(snap, g, &job.assignments, &w)?;
                all.created.extend(o.created);
                all.warnings.extend(o.warnings);
            }
            Ok((groups.len(), all))
        }
        "site" => {
            objects::set_site(snap, &job.assignments)?;
            Ok((1, Outcome::default()))
        }
        kind => {
            let mut all = Outcome::default();
            let names = name_list(&job.names);
            if job.assignments.is_empty() {
                let existing = rowobjects::names(snap, kind)?;
                if let Some(n) = names.iter().find(|n| existing.contains(n)) {
                    return Err(Error::Exists(format!(
                        "A definition for '{n}' already exists. No changes will be made.  Run again with '-f' option to force replace."
                    ))
                    .into());
                }
                return Err(Failure::usage(
                    "No object definitions have been created or modified: no attributes were specified.",
                ));
            }
            for n in &names {
                if create_only && a.force {
                    let _ = rowobjects::remove(snap, kind, n);
                }
                if rowobjects::write(snap, kind, n, &job.assignments, mode, true, !create_only)? {
                    all.created.push(n.clone());
                }
            }
            Ok((names.len(), all))
        }
    }
}

/// A template's attributes: a built-in template, else an existing node's definition.
fn template_attrs(snap: &Snapshot<'_>, name: &str) -> Result<Assignments, Failure> {
    if let Some(t) = templates::node_template(name) {
        return Ok(t.attrs.clone());
    }
    if snap.index()?.contains(name) {
        let attrs = objects::node_attrs(snap, &[name.to_string()], None)?;
        return Ok(attrs
            .into_values()
            .next()
            .unwrap_or_default()
            .into_iter()
            .collect());
    }
    Err(Failure::failed(format!(
        "Could not find the template object named '{name}' of type 'node'."
    )))
}

/// The jobs of a command line, or of a stanza file (-z, from a file argument or stdin).
fn jobs(a: &DefArgs, verb: &str) -> Result<Vec<DefJob>, Failure> {
    if a.stanza {
        let text = match a.words.first() {
            Some(path) if !path.contains('=') => {
                clusterdb::files::read_text(std::path::Path::new(path), clusterdb::files::LARGE)
                    .map_err(|e| Failure::usage(format!("{path}: {e}")))?
            }
            _ => std::io::read_to_string(std::io::stdin())?,
        };
        let stanzas = stanza::parse(&text)?;
        if stanzas.is_empty() {
            return Err(Failure::usage(format!(
                "{verb} -z: the stanza file defines no object"
            )));
        }
        return Ok(stanzas
            .into_iter()
            .map(|s| DefJob {
                kind: s.objtype,
                names: s.name,
                assignments: s.attrs,
            })
            .collect());
    }
    let (names, assignments) = split_words(a)?;
    let names = match names {
        Some(n) => n,
        None if a.kind == "site" && !assignments.is_empty() => "clustersite".to_string(),
        None => return Err(def_usage(verb)),
    };
    check_kind(&a.kind)?;
    let row_object = !matches!(a.kind.as_str(), "node" | "group" | "site");
    if assignments.is_empty()
        && a.wheres.is_empty()
        && a.template.is_none()
        && a.kind != "group"
        && !row_object
    {
        let msg = if a.kind == "node" {
            "No object definitions have been created or modified: no attributes were specified. The 'groups' attribute is required when creating node definitions."
        } else {
            "No object definitions have been created or modified: no attributes were specified."
        };
        return Err(Failure::usage(msg));
    }
    Ok(vec![DefJob {
        kind: a.kind.clone(),
        names,
        assignments,
    }])
}

/// `chdef NODE -n NEWNAME`.
fn rename(url: &DbUrl, a: &DefArgs, new: &str) -> Result<(), Failure> {
    let (names, assignments) = split_words(a)?;
    let old = names.ok_or_else(|| def_usage("chdef"))?;
    if a.kind != "node" || !assignments.is_empty() || old.contains(',') {
        return Err(Failure::usage(
            "chdef -n renames one node and takes no attribute",
        ));
    }
    let mut db = ClusterDb::open(url)?;
    let mut snap = db.write()?;
    objwrite::rename_node(&mut snap, &old, new)?;
    snap.commit()?;
    outln!("1 object definitions have been created or modified.");
    Ok(())
}

pub fn chdef(url: &DbUrl, a: DefArgs, create: bool) -> Result<(), Failure> {
    let verb = if create { "mkdef" } else { "chdef" };
    if let Some(new) = &a.new_name {
        return rename(url, &a, new);
    }
    let jobs = jobs(&a, verb)?;
    let mut db = ClusterDb::open(url)?;
    let mut count = 0;
    let mut created: Vec<String> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    // Each job (a stanza's object, or the command line's objects) in its own transaction: a
    // refused object changes nothing, the others are still written, as in xCAT.
    for job in &jobs {
        check_kind(&job.kind)?;
        let mut snap = db.write()?;
        match apply_job(&mut snap, &a, job, create) {
            Ok((n, o)) => {
                snap.commit()?;
                count += n;
                created.extend(o.created);
                for w in o.warnings {
                    errln!("Warning: {w}");
                }
            }
            Err(f) if jobs.len() > 1 => errors.push(f.message),
            Err(f) => return Err(f),
        }
    }
    if count > 0 {
        outln!("{count} object definitions have been created or modified.");
    } else {
        outln!("No object definitions have been created or modified.");
    }
    if !created.is_empty() {
        outln!(
            "New object definitions '{}' have been created.",
            created.join(",")
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::failed(errors.join("\n")))
    }
}

const RMDEF_USAGE: &str = "\
Usage: rmdef [-t object-type] [-o object-names] [-f]
       rmdef [-t node] NODERANGE
       rmdef [-h|--help] [-v|--version]";

pub fn rmdef(url: &DbUrl, a: RmdefArgs) -> Result<(), Failure> {
    let names = names_arg(&a.objects, &a.names)?.ok_or_else(|| Failure::usage(RMDEF_USAGE))?;
    check_kind(&a.kind)?;
    let mut db = ClusterDb::open(url)?;
    let mut snap = db.write()?;
    let mut errors = Vec::new();
    let count = match a.kind.as_str() {
        "node" => {
            let nodes = node_names(&snap, &names, &mut errors)?;
            objects::remove_nodes(&mut snap, &nodes)?
        }
        "site" => {
            return Err(Failure::usage(
                "the site object cannot be removed; use chdef -t site KEY= to clear a key",
            ))
        }
        kind => {
            let mut n = 0;
            for name in name_list(&names) {
                let r = if kind == "group" {
                    objects::remove_group(&mut snap, &name)
                } else {
                    rowobjects::remove(&mut snap, kind, &name)
                };
                match r {
                    Ok(()) => n += 1,
                    Err(e @ Error::Missing(_)) => errors.push(e.to_string()),
                    Err(e) => return Err(e.into()),
                }
            }
            n
        }
    };
    snap.commit()?;
    if count > 0 {
        outln!("{count} object definitions have been removed.");
    } else {
        errors.push("No objects have been removed from the xCAT database.".into());
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::failed(errors.join("\n")))
    }
}
