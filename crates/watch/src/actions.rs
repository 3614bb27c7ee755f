//! The watcher's actions on a real cluster database: the service nodes and their loads, the
//! single-watcher lock, the takeover (takeover's plan and apply, spread over each node's pool)
//! and the pending cleanups of a returned SN (takeover's resume). Each takeover is an ordinary
//! journal entry whose command says `baton watch` did it.

use crate::watcher::Actions;
use clusterdb::backend::Filter;
use clusterdb::lock::SessionLock;
use clusterdb::{table, ClusterDb, DbUrl, NoderangeEnv, Snapshot};
use std::collections::{BTreeMap, BTreeSet};
use takeover::journal::StepState;
use takeover::journal::{self, run_state};
use takeover::{Request, RunMeta, Side, StepResult, StepRunner};

/// The lock every `baton watch` of one cluster database competes for.
pub const LOCK_NAME: &str = "watch";

/// Builds the step runner for one run (the caller knows ssh, templates and fan-out).
pub type RunnerFactory = Box<dyn FnMut(&mut ClusterDb) -> Result<Box<dyn StepRunner>, String>>;

pub struct DbActions {
    pub url: DbUrl,
    pub db: ClusterDb,
    pub env: Box<dyn takeover::Env>,
    pub runner: RunnerFactory,
    /// `--capacity`.
    pub capacity: BTreeMap<String, usize>,
    /// Who runs the watcher (user, host) for the journal and auditlog.
    pub meta: RunMeta,
    /// The watcher's own command line, recorded in each journal entry it makes.
    pub command: String,
    lock: Option<SessionLock>,
}

impl DbActions {
    pub fn new(
        url: DbUrl,
        env: Box<dyn takeover::Env>,
        runner: RunnerFactory,
        meta: RunMeta,
    ) -> clusterdb::Result<Self> {
        let db = ClusterDb::open(&url)?;
        Ok(DbActions {
            url,
            db,
            env,
            runner,
            capacity: BTreeMap::new(),
            command: meta.command.clone(),
            meta,
            lock: None,
        })
    }
}

/// Defined service nodes: nodes with a servicenode-table row, their own or a group's.
pub fn service_nodes(snap: &Snapshot<'_>) -> clusterdb::Result<Vec<String>> {
    let keys: BTreeSet<String> = snap
        .select(table("servicenode")?, &["node"], Filter::Enabled)?
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect();
    let idx = snap.index()?;
    Ok(idx
        .nodes
        .iter()
        .filter(|n| keys.contains(&n.name) || n.groups.iter().any(|g| keys.contains(g)))
        .map(|n| n.name.clone())
        .collect())
}

/// Every defined service node with its load (nodes whose primary SN it is).
pub fn loads(snap: &Snapshot<'_>) -> clusterdb::Result<BTreeMap<String, usize>> {
    let load = takeover::sn_loads(snap).map_err(|e| clusterdb::Error::Invalid(e.to_string()))?;
    Ok(service_nodes(snap)?
        .into_iter()
        .map(|sn| {
            let n = load.get(&sn).copied().unwrap_or(0);
            (sn, n)
        })
        .collect())
}

/// Journal entries that still have steps to run on `sn` (not rolled back), oldest first.
pub fn waiting_on(snap: &Snapshot<'_>, sn: &str) -> takeover::Result<Vec<i64>> {
    let mut ids = Vec::new();
    for e in journal::list(snap)? {
        if e.state != run_state::PARTIAL && e.state != run_state::COMMITTED {
            continue;
        }
        let (_, _, steps) = journal::load(snap, e.id)?;
        if steps.iter().any(|s| !s.state.finished() && s.target == sn) {
            ids.push(e.id);
        }
    }
    Ok(ids)
}

/// Steps on service nodes the watcher knows are not up (the failed SN's cleanup) stay pending
/// without an ssh attempt that could only time out; they run when the SN returns.
struct SkipDown {
    inner: Box<dyn StepRunner>,
    down: Vec<String>,
}

impl SkipDown {
    fn skips(&self, steps: &[takeover::Step]) -> bool {
        steps
            .iter()
            .any(|s| s.kind.side() == Side::Sn && self.down.contains(&s.sn))
    }

    fn pending(steps: &[takeover::Step]) -> Vec<StepResult> {
        steps
            .iter()
            .map(|s| StepResult {
                state: StepState::Pending,
                detail: format!(
                    "{}: {} is down (baton watch); runs when it is back",
                    s.describe(),
                    s.sn
                ),
                results: Default::default(),
            })
            .collect()
    }
}

impl StepRunner for SkipDown {
    fn run(&mut self, plan: &takeover::Plan, steps: &[takeover::Step]) -> Vec<StepResult> {
        if self.skips(steps) {
            return Self::pending(steps);
        }
        self.inner.run(plan, steps)
    }

    /// The other batches of the wave still run at once.
    fn run_wave(
        &mut self,
        plan: &takeover::Plan,
        batches: &[Vec<takeover::Step>],
    ) -> Vec<Vec<StepResult>> {
        let live: Vec<Vec<takeover::Step>> =
            batches.iter().filter(|b| !self.skips(b)).cloned().collect();
        let mut ran = self.inner.run_wave(plan, &live).into_iter();
        batches
            .iter()
            .map(|b| match self.skips(b) {
                true => Self::pending(b),
                false => ran.next().unwrap_or_default(),
            })
            .collect()
    }
}

impl Actions for DbActions {
    fn service_nodes(&mut self) -> Result<BTreeMap<String, usize>, String> {
        let snap = self.db.read().map_err(|e| e.to_string())?;
        loads(&snap).map_err(|e| e.to_string())
    }

    fn try_lock(&mut self) -> Result<bool, String> {
        if self.lock.is_some() {
            return Ok(true);
        }
        match clusterdb::lock::try_session_lock(&self.url, LOCK_NAME) {
            Ok(Some(l)) => {
                tracing::info!("holding the single-watcher lock: {}", l.describe);
                self.lock = Some(l);
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }

    fn takeover(&mut self, sn: &str, exclude: &[String], dry: bool) -> Result<String, String> {
        let req = Request {
            source: Some(sn.to_string()),
            spread_pool: true,
            exclude: exclude.to_vec(),
            capacity: self.capacity.clone(),
            ..Default::default()
        };
        let mut plan = {
            let snap = self.db.read().map_err(|e| e.to_string())?;
            takeover::plan(&snap, &req, self.env.as_ref(), &NoderangeEnv::default())
                .map_err(|e| e.to_string())?
        };
        let dests: Vec<String> = plan
            .destinations()
            .iter()
            .map(|(d, n)| format!("{n} to {d}"))
            .collect();
        let mut text = dests.join(", ");
        for w in &plan.warnings {
            text.push_str(&format!("; warning: {w}"));
        }
        if dry {
            return Ok(text);
        }
        let meta = RunMeta {
            command: format!("{} (automatic takeover of {sn})", self.command),
            noderange: String::new(),
            args: format!("-s {sn}"),
            ..self.meta.clone()
        };
        let mut runner = SkipDown {
            inner: (self.runner)(&mut self.db)?,
            down: exclude.to_vec(),
        };
        let out = takeover::apply(&mut self.db, &mut plan, &meta, &mut runner)
            .map_err(|e| e.to_string())?;
        let pending = out
            .steps
            .iter()
            .filter(|(_, r)| !r.state.finished())
            .count();
        Ok(format!(
            "journal entry {}: {text}; {} of {} steps done{}",
            out.journal_id,
            out.steps.len() - pending,
            out.steps.len(),
            if pending > 0 {
                format!(" ({pending} pending until their node or service node is back)")
            } else {
                String::new()
            }
        ))
    }

    fn cleanup(&mut self, sn: &str) -> Result<String, String> {
        let ids = {
            let snap = self.db.read().map_err(|e| e.to_string())?;
            waiting_on(&snap, sn).map_err(|e| e.to_string())?
        };
        if ids.is_empty() {
            return Ok("none".into());
        }
        let mut done = Vec::new();
        for id in ids {
            let mut runner = (self.runner)(&mut self.db)?;
            let out =
                takeover::resume(&mut self.db, id, runner.as_mut()).map_err(|e| e.to_string())?;
            done.push(format!(
                "journal entry {id} resumed ({})",
                if out.complete() {
                    "done"
                } else {
                    "still partial"
                }
            ));
        }
        Ok(done.join("; "))
    }
}
