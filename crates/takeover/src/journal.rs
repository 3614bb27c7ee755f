//! The journal: baton's own tables in the cluster database. One `baton_journal` row per run
//! (who, when, the command, its state, the plan it applied), one `baton_journal_step` row per
//! step (its state, detail and per-node results), updated as each step finishes.

use crate::model::{Plan, Step};
use crate::{Result, TakeoverError};
use clusterdb::backend::{Filter, Tx, Value};
use clusterdb::{table, Snapshot};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    Pending,
    Done,
    Failed,
    Skipped,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Done => "done",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "done" => StepState::Done,
            "failed" => StepState::Failed,
            "skipped" => StepState::Skipped,
            _ => StepState::Pending,
        }
    }
    /// Nothing left to do for this step.
    pub fn finished(self) -> bool {
        matches!(self, StepState::Done | StepState::Skipped)
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
    pub results: BTreeMap<String, String>,
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
        command: s(4),
        state: s(5),
        summary: s(6),
    }
}

/// Record a new run and its steps (all pending); returns its id.
pub fn create(tx: &mut dyn Tx, user: &str, command: &str, state: &str, plan: &Plan) -> Result<i64> {
    let plan_json =
        serde_json::to_string(plan).map_err(|e| TakeoverError::Unsupported(e.to_string()))?;
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
    format!("{} nodes: {}", plan.nodes.len(), dests.join(", "))
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
    results: &BTreeMap<String, String>,
) -> Result<()> {
    let (id, step) = (id.to_string(), step.to_string());
    let results = if results.is_empty() {
        None
    } else {
        Some(
            serde_json::to_string(results)
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
    let plan: Plan = serde_json::from_str(row[7].as_deref().unwrap_or("")).map_err(|e| {
        TakeoverError::Unsupported(format!("journal entry {id} holds no readable plan: {e}"))
    })?;
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
            results: r[6]
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok())
                .unwrap_or_default(),
            updated: r[7].clone(),
        })
        .collect();
    steps.sort_by_key(|s| s.step);
    Ok((entry, plan, steps))
}

/// The plan's step by id.
pub fn step_of(plan: &Plan, id: usize) -> Option<&Step> {
    plan.steps.iter().find(|s| s.id == id)
}
