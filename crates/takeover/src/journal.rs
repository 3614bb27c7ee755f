//! The journal: baton's own tables in the cluster database. One `baton_journal` row per run
//! (who, when, the command, its state, the plan it applied), one `baton_journal_step` row per
//! step (its state, detail and per-node results), updated as each step finishes.

use crate::model::{shape_groups, MoveShape, NodeMove, Plan, Request, Step};
use crate::{NodeOutcome, Result, TakeoverError};
use clusterdb::backend::{Filter, Tx, Value};
use clusterdb::{table, Snapshot};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// State of a run.
pub mod run_state {
    /// Database switched, steps not finished yet.
    pub const COMMITTED: &str = "committed";
    /// Every step done.
    pub const DONE: &str = "done";
    /// Some steps pending or failed: `baton resume` can finish them.
    pub const PARTIAL: &str = "partial";
    /// Undone by `baton rollback`.
    pub const ROLLED_BACK: &str = "rolled-back";
    /// Every step done, except on nodes moved since by a later entry (or by hand), which
    /// `baton resume` skipped.
    pub const SUPERSEDED: &str = "superseded";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    Pending,
    Done,
    Failed,
    Skipped,
    /// Handed to the runner and not confirmed yet: it may have run in part or whole. What a
    /// run killed in the middle leaves; `resume` redoes it (steps are idempotent).
    Unknown,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Done => "done",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
            StepState::Unknown => "unknown",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "done" => StepState::Done,
            "failed" => StepState::Failed,
            "skipped" => StepState::Skipped,
            "unknown" => StepState::Unknown,
            _ => StepState::Pending,
        }
    }
    /// Nothing left to do for this step.
    pub fn finished(self) -> bool {
        matches!(self, StepState::Done | StepState::Skipped)
    }
    /// A step's state from its nodes: failed when any failed, else pending when any waits
    /// (unreachable, kept, no report), else done.
    pub fn of_nodes(failed: usize, waiting: usize) -> StepState {
        if failed > 0 {
            StepState::Failed
        } else if waiting > 0 {
            StepState::Pending
        } else {
            StepState::Done
        }
    }
}

/// One run as listed by `baton journal`.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: i64,
    pub started: String,
    pub finished: Option<String>,
    pub user: String,
    pub command: String,
    pub state: String,
    pub summary: String,
}

/// A step and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub step: usize,
    pub kind: String,
    pub target: String,
    pub nodes: Vec<String>,
    pub state: StepState,
    pub detail: String,
    /// node → result, for steps that ran per node (unreachable nodes stay pending).
    pub results: BTreeMap<String, NodeOutcome>,
    pub updated: Option<String>,
}

pub fn now() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

const ENTRY_COLS: [&str; 7] = [
    "id", "started", "finished", "userid", "command", "state", "summary",
];

fn entry_of(r: &[Value]) -> Entry {
    let s = |i: usize| r[i].clone().unwrap_or_default();
    Entry {
        id: s(0).parse().unwrap_or(0),
        started: s(1),
        finished: r[2].clone(),
        user: s(3),
        // Hidden also in entries recorded before commands were redacted.
        command: clusterdb::url::redact_words(&s(4)),
        state: s(5),
        summary: s(6),
    }
}

/// Entries recorded before commands were redacted may hold a database password: hidden on
/// the next write, in the journal (one row per run) and in the auditlog rows of baton's runs.
fn redact_stored(tx: &mut dyn Tx) -> Result<()> {
    redact_column(tx, "baton_journal", "id", "command", Filter::All)?;
    let ours = ["snmove".to_string(), "rollback".to_string()];
    let filter = Filter::In {
        column: "command",
        keys: &ours,
    };
    redact_column(tx, "auditlog", "recid", "args", filter)
}

fn redact_column(tx: &mut dyn Tx, t: &str, key: &str, col: &str, rows: Filter<'_>) -> Result<()> {
    let t = table(t)?;
    if !tx.table_exists(t)? {
        return Ok(());
    }
    for row in tx.select(t, &[key, col], rows)? {
        let (Some(id), Some(text)) = (&row[0], &row[1]) else {
            continue;
        };
        let clean = clusterdb::url::redact_words(text);
        if clean != *text {
            tx.update(t, &[(key, id)], &[(col, Some(clean))])?;
        }
    }
    Ok(())
}

/// Record a new run and its steps (all pending); returns its id.
pub fn create(tx: &mut dyn Tx, user: &str, command: &str, state: &str, plan: &Plan) -> Result<i64> {
    redact_stored(tx)?;
    let command = &clusterdb::url::redact_words(command);
    let plan_json = serde_json::to_string(&StoredPlan::of(plan))
        .map_err(|e| TakeoverError::Unsupported(e.to_string()))?;
    let summary = summary(plan);
    let id = tx.insert_returning_id(
        table("baton_journal")?,
        &["started", "userid", "command", "state", "summary", "plan"],
        &[
            Some(now()),
            Some(user.into()),
            Some(command.into()),
            Some(state.into()),
            Some(summary),
            Some(plan_json),
        ],
    )?;
    let steps = table("baton_journal_step")?;
    for s in &plan.steps {
        tx.insert(
            steps,
            &[
                "journal_id",
                "step",
                "kind",
                "target",
                "nodes",
                "state",
                "detail",
            ],
            &[
                Some(id.to_string()),
                Some(s.id.to_string()),
                Some(s.kind.name().into()),
                Some(s.sn.clone()),
                Some(s.nodes.join(",")),
                Some(StepState::Pending.as_str().into()),
                Some(s.describe()),
            ],
        )?;
    }
    Ok(id)
}

fn summary(plan: &Plan) -> String {
    let dests: Vec<String> = plan
        .destinations()
        .iter()
        .map(|(sn, n)| format!("{n} to {sn}"))
        .collect();
    let what = format!(
        "{}: {}",
        crate::report::nodes(plan.nodes.len()),
        dests.join(", ")
    );
    match plan.undoes {
        Some(id) => format!("rollback of entry {id}: {what}"),
        None => what,
    }
}

pub fn set_state(tx: &mut dyn Tx, id: i64, state: &str, finished: bool) -> Result<()> {
    let id = id.to_string();
    let mut set: Vec<(&str, Value)> = vec![("state", Some(state.into()))];
    if finished {
        set.push(("finished", Some(now())));
    }
    tx.update(table("baton_journal")?, &[("id", &id)], &set)?;
    Ok(())
}

pub fn set_step(
    tx: &mut dyn Tx,
    id: i64,
    step: usize,
    state: StepState,
    detail: &str,
    results: &BTreeMap<String, NodeOutcome>,
) -> Result<()> {
    let (id, step) = (id.to_string(), step.to_string());
    let results = if results.is_empty() {
        None
    } else {
        Some(
            serde_json::to_string(&grouped(results))
                .map_err(|e| TakeoverError::Unsupported(e.to_string()))?,
        )
    };
    tx.update(
        table("baton_journal_step")?,
        &[("journal_id", &id), ("step", &step)],
        &[
            ("state", Some(state.as_str().into())),
            ("detail", Some(detail.into())),
            ("results", results),
            ("updated", Some(now())),
        ],
    )?;
    Ok(())
}

/// A step's per-node results as stored since format 3: `[[result, [node, ...]], ...]`, each
/// result once (a 100,000-node step mostly has one or two).
fn grouped(results: &BTreeMap<String, NodeOutcome>) -> Vec<(&NodeOutcome, Vec<&str>)> {
    let mut groups: Vec<(&NodeOutcome, Vec<&str>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut last: Option<usize> = None;
    for (node, outcome) in results {
        let g = match last.filter(|&g| groups[g].0 == outcome) {
            Some(g) => g,
            None => *index.entry(outcome.to_string()).or_insert_with(|| {
                groups.push((outcome, Vec::new()));
                groups.len() - 1
            }),
        };
        groups[g].1.push(node);
        last = Some(g);
    }
    groups
}

/// A step's per-node results as stored: grouped (format 3), or the `{node: result}` map that
/// entries written before hold. Unreadable text reads as no results (the step's state stands).
fn results_of(text: &str) -> BTreeMap<String, NodeOutcome> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Grouped(Vec<(NodeOutcome, Vec<String>)>),
        Map(BTreeMap<String, NodeOutcome>),
    }
    match serde_json::from_str::<Stored>(text) {
        Ok(Stored::Map(m)) => m,
        Ok(Stored::Grouped(g)) => g
            .into_iter()
            .flat_map(|(o, nodes)| nodes.into_iter().map(move |n| (n, o.clone())))
            .collect(),
        Err(_) => BTreeMap::new(),
    }
}

/// A step's state and detail only (its per-node results stay as recorded).
pub fn set_step_state(
    tx: &mut dyn Tx,
    id: i64,
    step: usize,
    state: StepState,
    detail: &str,
) -> Result<()> {
    let (id, step) = (id.to_string(), step.to_string());
    tx.update(
        table("baton_journal_step")?,
        &[("journal_id", &id), ("step", &step)],
        &[
            ("state", Some(state.as_str().into())),
            ("detail", Some(detail.into())),
            ("updated", Some(now())),
        ],
    )?;
    Ok(())
}

/// Every run, newest last.
pub fn list(snap: &Snapshot<'_>) -> Result<Vec<Entry>> {
    let rows = snap.select(table("baton_journal")?, &ENTRY_COLS, Filter::All)?;
    Ok(rows.iter().map(|r| entry_of(r)).collect())
}

/// One run: its entry, the plan it applied, and its steps.
pub fn load(snap: &Snapshot<'_>, id: i64) -> Result<(Entry, Plan, Vec<StepRecord>)> {
    let key = id.to_string();
    let mut cols = ENTRY_COLS.to_vec();
    cols.push("plan");
    let rows = snap.select(
        table("baton_journal")?,
        &cols,
        Filter::Eq {
            column: "id",
            value: &key,
        },
    )?;
    let row = rows.into_iter().next().ok_or_else(|| {
        TakeoverError::validation(format!("no journal entry {id} (see `baton journal`)"))
    })?;
    let entry = entry_of(&row);
    let text = row[7].clone().unwrap_or_default();
    let rows = snap.select(
        table("baton_journal_step")?,
        &[
            "step", "kind", "target", "nodes", "state", "detail", "results", "updated",
        ],
        Filter::Eq {
            column: "journal_id",
            value: &key,
        },
    )?;
    let mut steps: Vec<StepRecord> = rows
        .into_iter()
        .map(|r| StepRecord {
            step: r[0].as_deref().and_then(|s| s.parse().ok()).unwrap_or(0),
            kind: r[1].clone().unwrap_or_default(),
            target: r[2].clone().unwrap_or_default(),
            nodes: r[3]
                .as_deref()
                .unwrap_or("")
                .split(',')
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect(),
            state: StepState::parse(r[4].as_deref().unwrap_or("")),
            detail: r[5].clone().unwrap_or_default(),
            results: r[6].as_deref().map(results_of).unwrap_or_default(),
            updated: r[7].clone(),
        })
        .collect();
    steps.sort_by_key(|s| s.step);
    let plan = read_plan(&text, &steps).map_err(|why| {
        TakeoverError::Unsupported(format!(
            "journal entry {id} holds a plan baton did not write ({why}); it was changed outside baton, so resume and rollback refuse it"
        ))
    })?;
    Ok((entry, plan, steps))
}

/// A journal row's plan text (with its steps' rows) as a plan resume and rollback can act on,
/// or why not. Pure: `fuzz/fuzz_targets/journal_plan.rs` feeds it any text.
pub fn read_plan(text: &str, steps: &[StepRecord]) -> std::result::Result<Plan, String> {
    let plan = parse_plan(text, steps).map_err(|e| format!("no readable plan: {e}"))?;
    validate(&plan)?;
    Ok(plan)
}

/// What a plan read back must hold for resume and rollback to act on it: every change names a
/// table and column of the schema; every recorded row is of a table and columns the plan
/// changes; every step's nodes are nodes of the plan.
fn validate(plan: &Plan) -> std::result::Result<(), String> {
    let mut touched: HashMap<&str, Vec<&str>> = HashMap::new();
    for (shape, _) in shape_groups(&plan.nodes) {
        for c in &shape.changes {
            let spec = table(&c.table).map_err(|e| e.to_string())?;
            if !spec.columns.contains(&c.column) {
                return Err(format!("{}.{} is not a column", c.table, c.column));
            }
            touched.entry(&c.table).or_default().push(&c.column);
        }
    }
    for (shape, _) in shape_groups(&plan.nodes) {
        if shape.before.len() != shape.after.len() {
            return Err("rows before and after do not match".into());
        }
        for r in shape.before.iter().chain(&shape.after) {
            let cols = touched.get(r.table.as_str()).ok_or_else(|| {
                format!("a recorded row of {} is not a table it changes", r.table)
            })?;
            let stray = r
                .row
                .iter()
                .flatten()
                .find(|(c, _)| !cols.contains(&c.as_str()));
            if let Some((c, _)) = stray {
                return Err(format!(
                    "a recorded row holds {}.{}, which it does not change",
                    r.table, c
                ));
            }
        }
    }
    let names: std::collections::HashSet<&str> =
        plan.nodes.iter().map(|n| n.node.as_str()).collect();
    for s in &plan.steps {
        if let Some(n) = s.nodes.iter().find(|n| !names.contains(n.as_str())) {
            return Err(format!("step {} names {n}, which is not in the plan", s.id));
        }
        // An address step's values reach a service node's command line.
        if let Some(a) = &s.address {
            if a.address.parse::<std::net::Ipv4Addr>().is_err() || !remote::is_valid_host(&a.peer) {
                return Err(format!("step {} names a bad address or service node", s.id));
            }
        }
        if s.kind.is_address() != s.address.is_some() {
            return Err(format!(
                "step {} is an address step without its address",
                s.id
            ));
        }
    }
    Ok(())
}

/// A journal's plan column: the grouped form, or the plain plan that entries written before it
/// hold.
fn parse_plan(text: &str, steps: &[StepRecord]) -> std::result::Result<Plan, String> {
    match serde_json::from_str::<StoredPlan>(text) {
        Ok(s) if s.format > FORMAT => Err(format!(
            "written in journal format {} by a newer baton (this one reads up to {FORMAT})",
            s.format
        )),
        Ok(s) => Ok(s.expand(steps)),
        Err(e) if text.contains("\"groups\"") => Err(e.to_string()),
        Err(_) => serde_json::from_str::<Plan>(text).map_err(|e| e.to_string()),
    }
}

/// The journal format this version writes: 3 stores a step's per-node results grouped by
/// result; 2 added the format itself (1: the grouped plan).
pub const FORMAT: u32 = 3;

fn first_format() -> u32 {
    1
}

/// The plan as the journal stores it. Nodes that share everything but their name and address
/// are stored once: a 100,000-node move of a few racks is a few groups, a few megabytes instead
/// of a hundred (which would also pass MariaDB's default `max_allowed_packet`). Steps are
/// stored without their node lists: each step's own row holds them.
#[derive(Serialize, Deserialize)]
struct StoredPlan {
    /// The format of the stored plan ([`FORMAT`]); entries written before it had none: 1.
    #[serde(default = "first_format")]
    format: u32,
    request: Request,
    groups: Vec<NodeGroup>,
    steps: Vec<Step>,
    warnings: Vec<String>,
    forced: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    undoes: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct NodeGroup {
    nodes: Vec<String>,
    ips: Vec<Option<String>>,
    /// What every node of the group shares.
    shape: Arc<MoveShape>,
}

impl StoredPlan {
    fn of(plan: &Plan) -> Self {
        // Shapes are mostly shared already: group by address first, then merge groups whose
        // shapes are equal in content (a hash of the whole shape once per distinct address).
        let mut index: HashMap<&MoveShape, usize> = HashMap::new();
        let mut groups: Vec<NodeGroup> = Vec::new();
        for (shape, nodes) in shape_groups(&plan.nodes) {
            let g = *index.entry(&**shape).or_insert_with(|| {
                groups.push(NodeGroup {
                    nodes: Vec::new(),
                    ips: Vec::new(),
                    shape: Arc::clone(shape),
                });
                groups.len() - 1
            });
            groups[g].nodes.extend(nodes.iter().map(|n| n.node.clone()));
            groups[g].ips.extend(nodes.iter().map(|n| n.ip.clone()));
        }
        let steps = plan
            .steps
            .iter()
            .map(|s| Step {
                nodes: Vec::new(),
                ..s.clone()
            })
            .collect();
        StoredPlan {
            format: FORMAT,
            request: plan.request.clone(),
            groups,
            steps,
            warnings: plan.warnings.clone(),
            forced: plan.forced.clone(),
            notes: plan.notes.clone(),
            undoes: plan.undoes,
        }
    }

    /// The plan again, its steps' nodes taken from their rows.
    fn expand(self, records: &[StepRecord]) -> Plan {
        let mut nodes: Vec<NodeMove> = Vec::new();
        for g in self.groups {
            for (node, ip) in g.nodes.into_iter().zip(g.ips) {
                nodes.push(NodeMove {
                    node,
                    ip,
                    shape: g.shape.clone(),
                });
            }
        }
        nodes.sort_by(|a, b| a.node.cmp(&b.node));
        let steps = self
            .steps
            .into_iter()
            .map(|mut s| {
                if let Some(r) = records.iter().find(|r| r.step == s.id) {
                    s.nodes = r.nodes.clone();
                }
                s
            })
            .collect();
        Plan {
            read_at: None,
            request: self.request,
            nodes,
            steps,
            warnings: self.warnings,
            forced: self.forced,
            notes: self.notes,
            undoes: self.undoes,
        }
    }
}

/// The plan's step by id.
pub fn step_of(plan: &Plan, id: usize) -> Option<&Step> {
    plan.steps.iter().find(|s| s.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Change, RowState, StepKind};

    fn node(name: &str, ip: &str, new_sn: &str) -> NodeMove {
        let shape = MoveShape {
            os: Some("rhels9".into()),
            provmethod: None,
            status: None,
            old_sn: Some("sn1".into()),
            new_sn: new_sn.into(),
            old_xm: Some("sn1-eth1".into()),
            new_xm: format!("{new_sn}-eth1"),
            new_xm_ip: None,
            old_xm_ip: None,
            network: None,
            gateway_follows: false,
            scripts: vec!["syslog".into()],
            changes: vec![Change {
                attr: "servicenode".into(),
                table: "noderes".into(),
                column: "servicenode".into(),
                old: Some("sn1".into()),
                new: Some(new_sn.into()),
            }],
            before: vec![RowState {
                table: "noderes".into(),
                row: None,
            }],
            after: vec![RowState {
                table: "noderes".into(),
                row: Some(vec![("servicenode".into(), Some(new_sn.into()))]),
            }],
            ..MoveShape::default()
        };
        NodeMove::new(name.into(), Some(ip.into()), shape)
    }

    #[test]
    fn per_node_results_are_stored_grouped_and_read_back_in_either_form() {
        let mut r = BTreeMap::new();
        for i in 0..1000 {
            let o = match i % 3 {
                0 => NodeOutcome::Done,
                _ => NodeOutcome::unreachable("sn2: Connection refused"),
            };
            r.insert(format!("cn{i:04}"), o);
        }
        // A node named like nothing special in either form.
        r.insert("groups".into(), NodeOutcome::failed("exit 1"));
        let text = serde_json::to_string(&grouped(&r)).unwrap();
        assert_eq!(text.matches("Connection refused").count(), 1, "{text}");
        assert_eq!(results_of(&text), r);
        // Entries written before format 3 hold a map.
        assert_eq!(results_of(&serde_json::to_string(&r).unwrap()), r);
        assert!(results_of("not json").is_empty());
    }

    fn plan() -> Plan {
        let nodes = vec![
            node("cn1", "10.0.0.1", "sn2"),
            node("cn2", "10.0.0.2", "sn3"),
            node("cn3", "10.0.0.3", "sn2"),
        ];
        Plan {
            read_at: None,
            request: Request::default(),
            steps: vec![Step {
                id: 1,
                kind: StepKind::Dhcp,
                sn: "sn2".into(),
                nodes: vec!["cn1".into(), "cn3".into()],
                scripts: Vec::new(),
                provmethod: None,
                aix: false,
                address: None,
            }],
            nodes,
            warnings: vec!["w".into()],
            forced: Vec::new(),
            notes: vec!["n".into()],
            undoes: Some(7),
        }
    }

    fn records(plan: &Plan) -> Vec<StepRecord> {
        plan.steps
            .iter()
            .map(|s| StepRecord {
                step: s.id,
                kind: s.kind.name().into(),
                target: s.sn.clone(),
                nodes: s.nodes.clone(),
                state: StepState::Pending,
                detail: String::new(),
                results: BTreeMap::new(),
                updated: None,
            })
            .collect()
    }

    #[test]
    fn nodes_with_the_same_move_are_stored_once_and_come_back_whole() {
        let p = plan();
        let stored = StoredPlan::of(&p);
        assert_eq!(stored.groups.len(), 2, "cn1 and cn3 share everything");
        assert_eq!(stored.groups[0].nodes, ["cn1", "cn3"]);
        assert!(stored.steps[0].nodes.is_empty(), "step rows hold the nodes");
        let text = serde_json::to_string(&stored).unwrap();
        let back = serde_json::from_str::<StoredPlan>(&text)
            .unwrap()
            .expand(&records(&p));
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&p).unwrap()
        );
    }

    #[test]
    fn entries_carry_their_format_and_a_newer_one_is_refused() {
        let p = plan();
        let text = serde_json::to_string(&StoredPlan::of(&p)).unwrap();
        let mark = format!("\"format\":{FORMAT},");
        assert!(text.starts_with(&format!("{{{mark}")), "{text}");
        assert!(read_plan(&text, &records(&p)).is_ok());
        for older in ["\"format\":2,", ""] {
            let old = text.replacen(&mark, older, 1);
            assert!(read_plan(&old, &records(&p)).is_ok(), "{older}");
        }
        let newer = text.replacen(&mark, "\"format\":9,", 1);
        let e = read_plan(&newer, &records(&p)).unwrap_err();
        assert!(e.contains("newer baton"), "{e}");
    }

    #[test]
    fn entries_written_before_the_grouped_form_still_load() {
        let p = plan();
        let legacy = serde_json::to_string(&p).unwrap();
        let back = parse_plan(&legacy, &[]).unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&p).unwrap()
        );
        assert!(parse_plan("{\"groups\": 3}", &[]).is_err());
        assert!(parse_plan("", &[]).is_err());
    }

    #[test]
    fn a_node_specific_value_splits_the_group() {
        let mut p = plan();
        let mut shape = (*p.nodes[2].shape).clone();
        shape.after[0].row = Some(vec![("servicenode".into(), Some("other".into()))]);
        p.nodes[2].shape = Arc::new(shape);
        assert_eq!(StoredPlan::of(&p).groups.len(), 3);
    }
}
