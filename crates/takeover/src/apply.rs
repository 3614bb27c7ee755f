//! Applying a plan: one transaction for every database change (after checking that the plan's
//! old values are still current), the journal entry and an xCAT auditlog row in that same
//! transaction; then the steps in order, each result recorded as it finishes.

use crate::gate::{self, Known};
use crate::journal::{self, run_state, StepState};
use crate::lease;
use crate::model::*;
use crate::plan::build_steps;
use crate::stale::{self, Moved};
use crate::{NodeOutcome, Result, TakeoverError};
use clusterdb::backend::{Filter, Tx, Value};
use clusterdb::{attrs, table, ClusterDb, Snapshot};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Who ran what, for the journal and xCAT's auditlog.
#[derive(Debug, Clone, Default)]
pub struct RunMeta {
    pub user: String,
    /// The whole command line.
    pub command: String,
    /// The client host name (auditlog clientname).
    pub host: String,
    /// The noderange as typed (auditlog noderange).
    pub noderange: String,
    /// The other arguments (auditlog args).
    pub args: String,
    /// resume and rollback: act on nodes moved since the entry too (see [`crate::stale`]).
    pub force: bool,
    /// Set (by a signal handler) to stop: the run starts no new wave of steps, records the
    /// running one and returns with the rest left ([`Outcome::left`]).
    pub stop: Option<Arc<AtomicBool>>,
}

/// What became of one step.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub state: StepState,
    pub detail: String,
    /// Per node, for steps that run on nodes.
    pub results: BTreeMap<String, NodeOutcome>,
}

/// Runs the steps. Each is idempotent, so a step may be run again by `resume`.
pub trait StepRunner {
    /// Run `steps`, consecutive steps of one side and one service node, in order (a runner can
    /// do all of a node's steps over one connection); one result per step. On resume, a step's
    /// `nodes` are only those not done yet.
    fn run(&mut self, plan: &Plan, steps: &[Step]) -> Vec<StepResult>;

    /// Run a wave of batches (consecutive batches of one side, each of another service node)
    /// that do not depend on each other; one result list per batch, in order. By default one
    /// after another; a runner that can reach several service nodes at once overrides it.
    fn run_wave(&mut self, plan: &Plan, batches: &[Vec<Step>]) -> Vec<Vec<StepResult>> {
        batches.iter().map(|b| self.run(plan, b)).collect()
    }

    /// [`StepRunner::run_wave`], handing each batch's results to `done` (with the batch's index)
    /// as soon as they are known, so that they are recorded while the rest still runs. By
    /// default all at the end of the wave.
    fn run_wave_each(
        &mut self,
        plan: &Plan,
        batches: &[Vec<Step>],
        done: &mut dyn FnMut(usize, Vec<StepResult>),
    ) {
        for (i, r) in self.run_wave(plan, batches).into_iter().enumerate() {
            done(i, r);
        }
    }
}

/// The runner for steps this version does not implement: they stay pending, never "done".
pub struct UnimplementedSteps;

impl StepResult {
    pub fn unimplemented(step: &Step) -> Self {
        StepResult {
            state: StepState::Pending,
            detail: format!(
                "{}: not implemented in this version of baton",
                step.describe()
            ),
            results: BTreeMap::new(),
        }
    }
}

impl StepRunner for UnimplementedSteps {
    fn run(&mut self, _plan: &Plan, steps: &[Step]) -> Vec<StepResult> {
        steps.iter().map(StepResult::unimplemented).collect()
    }
}

/// Steps on `baton quickstart`'s sample cluster, whose service and compute nodes do not exist:
/// each is skipped, saying so, so that the sample shows a whole move, resume and rollback.
pub struct SampleSteps;

impl StepRunner for SampleSteps {
    fn run(&mut self, _plan: &Plan, steps: &[Step]) -> Vec<StepResult> {
        steps
            .iter()
            .map(|step| StepResult {
                state: StepState::Skipped,
                detail: format!(
                    "{}: skipped (sample cluster: its nodes do not exist)",
                    step.describe()
                ),
                results: BTreeMap::new(),
            })
            .collect()
    }
}

/// The result of apply, resume or rollback.
#[derive(Debug)]
pub struct Outcome {
    pub journal_id: i64,
    /// The steps that ran (or were recorded), in plan order.
    pub steps: Vec<(Step, StepResult)>,
    /// Steps not started because the run was asked to stop: pending in the journal.
    pub left: Vec<Step>,
}

impl Outcome {
    /// Every step finished: everything asked for was done.
    pub fn complete(&self) -> bool {
        self.left.is_empty() && self.steps.iter().all(|(_, r)| r.state.finished())
    }
}

/// Columns a plan writes, per table.
fn touched(plan: &Plan) -> BTreeMap<String, Vec<String>> {
    let mut t: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in shape_groups(&plan.nodes)
        .into_iter()
        .flat_map(|(shape, _)| &shape.changes)
    {
        let cols = t.entry(c.table.clone()).or_default();
        if !cols.contains(&c.column) {
            cols.push(c.column.clone());
        }
    }
    t
}

/// The nodes' own rows (raw) for the given columns: node → values; absent = no row.
fn own_rows(
    snap: &Snapshot<'_>,
    t: &str,
    cols: &[String],
    nodes: &[String],
) -> Result<attrs::FastMap<String, Vec<Value>>> {
    let spec = table(t)?;
    let keycol = spec.node_column.as_deref().unwrap_or("node");
    let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
    Ok(attrs::own_rows(snap, spec, keycol, nodes, &cols)?)
}

/// Check every planned old value is still the effective value; name the first that is not.
fn check_current(snap: &Snapshot<'_>, plan: &Plan) -> Result<()> {
    let nodes: Vec<String> = plan.nodes.iter().map(|n| n.node.clone()).collect();
    for (t, cols) in touched(plan) {
        let colrefs: Vec<&str> = cols.iter().map(String::as_str).collect();
        let now = attrs::nodes_attribs(snap, table(&t)?, &nodes, &colrefs)?;
        for n in &plan.nodes {
            for c in n.changes.iter().filter(|c| c.table == t) {
                let i = cols.iter().position(|x| *x == c.column).unwrap_or(0);
                let cur = now.get(&n.node).and_then(|v| v[i].clone());
                if cur != c.old {
                    return Err(TakeoverError::Conflict(format!(
                        "{}: {} changed since the plan was made ({} -> {}); nothing was changed. Plan again.",
                        n.node,
                        c.attr,
                        c.old.as_deref().unwrap_or("(unset)"),
                        cur.as_deref().unwrap_or("(unset)")
                    )));
                }
            }
        }
    }
    Ok(())
}

/// A node's row after its changes are written on it (the row exists then).
fn written(before: &RowState, cols: &[String], changes: &[Change]) -> RowState {
    let row = cols
        .iter()
        .map(|c| {
            let new = changes
                .iter()
                .find(|x| x.table == before.table && x.column == *c);
            let v = match new {
                Some(x) => x.new.clone(),
                None => before.value(c).map(str::to_string),
            };
            (c.clone(), v)
        })
        .collect();
    RowState {
        table: before.table.clone(),
        row: Some(row),
    }
}

type ColumnValues<'p> = Vec<(&'p str, Value)>;

/// Row writes gathered per table and new values, so that many nodes cost a few statements:
/// nodes that have a row of their own and get the same values share one UPDATE; nodes without
/// one are inserted together.
#[derive(Default)]
struct RowWrites<'p> {
    /// (table, values to set) → nodes.
    updates: BTreeMap<(&'p str, ColumnValues<'p>), Vec<String>>,
    /// (table, values of the new row) → nodes.
    inserts: BTreeMap<(&'p str, ColumnValues<'p>), Vec<String>>,
}

impl<'p> RowWrites<'p> {
    /// Set `set` on the own rows of `table` of `nodes`; `exists` says whether they have them
    /// (read in the same write transaction, so it cannot change before the commit).
    fn add(
        &mut self,
        table: &'p str,
        nodes: Vec<String>,
        set: Vec<(&'p str, Value)>,
        exists: bool,
    ) {
        let to = if exists {
            &mut self.updates
        } else {
            &mut self.inserts
        };
        to.entry((table, set)).or_default().extend(nodes);
    }

    fn write(self, tx: &mut dyn Tx) -> Result<()> {
        for ((t, set), nodes) in self.updates {
            let spec = table(t)?;
            let changed = tx.update_in(spec, key_column(spec), &nodes, &set)?;
            if changed < nodes.len() {
                // Cannot happen under the write lock; refuse rather than lose a write.
                return Err(TakeoverError::Conflict(format!(
                    "{t}: {} of the rows read for this run have disappeared; nothing was changed",
                    nodes.len() - changed
                )));
            }
        }
        for ((t, set), nodes) in self.inserts {
            let spec = table(t)?;
            tx.insert_keys(spec, key_column(spec), &nodes, &set)?;
        }
        Ok(())
    }
}

fn key_column(spec: &clusterdb::schema::TableSpec) -> &str {
    spec.node_column.as_deref().unwrap_or("node")
}

/// Write each node's changes on its own rows (`before` says which rows exist). Nodes that share
/// a shape get the same writes, so the writes are worked out once per shape.
fn write_changes(tx: &mut dyn Tx, plan: &Plan) -> Result<()> {
    let mut w = RowWrites::default();
    for (shape, nodes) in shape_groups(&plan.nodes) {
        let nodes: Vec<String> = nodes.iter().map(|n| n.node.clone()).collect();
        let mut by_table: BTreeMap<&str, Vec<(&str, Value)>> = BTreeMap::new();
        for c in &shape.changes {
            by_table
                .entry(&c.table)
                .or_default()
                .push((&c.column, c.new.clone()));
        }
        for (t, set) in by_table {
            let exists = shape.before.iter().any(|b| b.table == t && b.row.is_some());
            w.add(t, nodes.clone(), set, exists);
        }
    }
    w.write(tx)
}

fn auditlog(tx: &mut dyn Tx, meta: &RunMeta, command: &str) -> Result<()> {
    tx.insert(
        table("auditlog")?,
        &[
            "audittime",
            "userid",
            "clientname",
            "clienttype",
            "command",
            "noderange",
            "args",
            "status",
        ],
        &[
            Some(journal::now()),
            Some(meta.user.clone()),
            Some(meta.host.clone()),
            Some("cli".into()),
            Some(command.into()),
            Some(meta.noderange.clone()).filter(|s| !s.is_empty()),
            Some(meta.args.clone()).filter(|s| !s.is_empty()),
            Some("Allowed".into()),
        ],
    )?;
    Ok(())
}

/// A node's shape in the plan and its own rows as the commit found them.
type ShapeRows<'r> = (*const MoveShape, Vec<Option<&'r Vec<Value>>>);

/// Commit the plan's database changes with its journal entry, then run its steps.
pub fn apply(
    db: &mut ClusterDb,
    plan: &mut Plan,
    meta: &RunMeta,
    runner: &mut dyn StepRunner,
) -> Result<Outcome> {
    let (started, cpu) = (std::time::Instant::now(), crate::cpu_ms());
    let (id, lease) = {
        let snap = db.write()?;
        // Nothing committed since the plan's snapshot (the store says so): its old values
        // still hold. Otherwise (or when the store cannot tell) read them again.
        if plan.read_at.is_none() || snap.version() != plan.read_at {
            check_current(&snap, plan)?;
        } else {
            tracing::debug!("database unchanged since the plan: old values not read again");
        }
        let nodes: Vec<String> = plan.nodes.iter().map(|n| n.node.clone()).collect();
        let touched = touched(plan);
        // Per table: its written columns and the nodes' own rows.
        let mut own = Vec::new();
        for (t, cols) in &touched {
            own.push((t, cols, own_rows(&snap, t, cols, &nodes)?));
        }
        // Nodes that moved alike and had the same rows still share one shape.
        // The key borrows the rows read: nothing is copied for a node whose shape exists.
        let mut shared: HashMap<ShapeRows<'_>, Arc<MoveShape>> = HashMap::new();
        for n in plan.nodes.iter_mut() {
            let rows: Vec<Option<&Vec<Value>>> =
                own.iter().map(|(_, _, rows)| rows.get(&n.node)).collect();
            let key = (Arc::as_ptr(&n.shape), rows);
            if let Some(s) = shared.get(&key) {
                n.shape = s.clone();
                continue;
            }
            let before: Vec<RowState> = own
                .iter()
                .zip(&key.1)
                .map(|((t, cols, _), row)| RowState {
                    table: t.to_string(),
                    row: row.map(|r| cols.iter().cloned().zip(r.iter().cloned()).collect()),
                })
                .collect();
            let after = before
                .iter()
                .map(|b| written(b, &touched[&b.table], &n.changes))
                .collect();
            let shape = Arc::new(MoveShape {
                before,
                after,
                ..(*n.shape).clone()
            });
            n.shape = shape.clone();
            shared.insert(key, shape);
        }
        let mut tx = snap.tx();
        write_changes(&mut **tx, plan)?;
        let id = journal::create(
            &mut **tx,
            &meta.user,
            &meta.command,
            run_state::COMMITTED,
            plan,
        )?;
        auditlog(&mut **tx, meta, "snmove")?;
        let lease = take_lease(&mut **tx, &[id], &nodes, &meta.command)?;
        drop(tx);
        not_stopped(meta)?;
        snap.commit()?;
        (id, lease)
    };
    tracing::info!(
        journal = id,
        nodes = plan.nodes.len(),
        peak_rss_mib = crate::peak_rss_mib(),
        ms = started.elapsed().as_millis() as u64,
        cpu_ms = crate::cpu_ms().zip(cpu).map(|(b, a)| b - a),
        "committed: values checked, rows written, journal entry recorded"
    );
    crate::fault::point("after-commit");
    let stop = meta.stop.as_deref();
    let r = crate::fault::error("error-after-commit")
        .and_then(|()| run_steps(db, id, plan, all_of(plan), Known::new(), runner, stop));
    lease::release_after(db, lease, r).map_err(|e| TakeoverError::after_commit(id, e))
}

/// The last word before a commit: a run asked to stop by then changes nothing.
fn not_stopped(meta: &RunMeta) -> Result<()> {
    match &meta.stop {
        Some(s) if s.load(Ordering::SeqCst) => Err(TakeoverError::Interrupted),
        _ => Ok(()),
    }
}

/// Take the lease on the run's entries and nodes in its commit transaction; dead runs' leases
/// broken on the way are said on standard error.
fn take_lease(
    tx: &mut dyn Tx,
    entries: &[i64],
    nodes: &[String],
    command: &str,
) -> Result<lease::Lease> {
    let (lease, notes) = lease::take(tx, entries, nodes, command)?;
    for n in notes {
        tracing::warn!("{n}");
        eprintln!("Note: {n}");
    }
    Ok(lease)
}

/// Work left in a step: its nodes not yet done (all of them when nothing was recorded).
struct Todo {
    step: Step,
    earlier: BTreeMap<String, NodeOutcome>,
}

/// One run of steps: where it records, what it knows so far, what it did.
struct Run<'a> {
    db: &'a mut ClusterDb,
    id: i64,
    plan: &'a Plan,
    known: Known,
    out: Vec<(Step, StepResult)>,
}

/// A todo entry of a wave as the gate leaves it: the step to hand to the runner (None when the
/// gate kept all its nodes) and the nodes kept.
type Gated = (usize, Option<Step>, BTreeMap<String, NodeOutcome>);

fn run_steps(
    db: &mut ClusterDb,
    id: i64,
    plan: &Plan,
    todo: Vec<Todo>,
    known: Known,
    runner: &mut dyn StepRunner,
    stop: Option<&AtomicBool>,
) -> Result<Outcome> {
    let mut run = Run {
        db,
        id,
        plan,
        known,
        out: Vec::new(),
    };
    let mut left = Vec::new();
    for (n, wave) in waves(&todo).into_iter().enumerate() {
        if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
            // Interrupted: no new wave; what is left stays pending in the journal.
            left.extend(
                wave.iter()
                    .flat_map(|r| todo[r.clone()].iter().map(|t| t.step.clone())),
            );
            continue;
        }
        let (started, cpu) = (std::time::Instant::now(), crate::cpu_ms());
        let steps = run.wave(&todo, &wave, n + 1, runner)?;
        crate::fault::point(&format!("wave-done:{}", n + 1));
        let first = &todo[wave[0].start].step;
        tracing::info!(
            side = ?first.kind.side(),
            sns = %wave.iter().map(|r| todo[r.start].step.sn.as_str()).collect::<Vec<_>>().join(","),
            steps,
            peak_rss_mib = crate::peak_rss_mib(),
            ms = started.elapsed().as_millis() as u64,
            cpu_ms = crate::cpu_ms().zip(cpu).map(|(b, a)| b - a),
            "step batches ran"
        );
    }
    run.out.sort_by_key(|(s, _)| s.id);
    let outcome = Outcome {
        journal_id: id,
        steps: run.out,
        left,
    };
    let snap = run.db.write()?;
    let state = if outcome.complete() {
        run_state::DONE
    } else {
        run_state::PARTIAL
    };
    journal::set_state(&mut **snap.tx(), id, state, outcome.complete())?;
    snap.commit()?;
    Ok(outcome)
}

impl Run<'_> {
    /// Run one wave: cleanups cut to the nodes whose new SN is ready, the steps marked
    /// `unknown` before they start, each side's results recorded as soon as it ends. Returns
    /// how many steps were handed to the runner.
    fn wave(
        &mut self,
        todo: &[Todo],
        wave: &[std::ops::Range<usize>],
        number: usize,
        runner: &mut dyn StepRunner,
    ) -> Result<usize> {
        let has = |pick: fn(StepKind) -> bool| {
            wave.iter()
                .any(|r| todo[r.clone()].iter().any(|t| pick(t.step.kind)))
        };
        let waiting = gate::Waiting {
            not_ready: match has(|k| k == StepKind::CleanupOldSn) {
                true => gate::not_ready(self.plan, &self.known),
                false => Default::default(),
            },
            not_repointed: match has(|k| {
                matches!(k, StepKind::AdoptAddress | StepKind::ReleaseAddress)
            }) {
                true => gate::not_repointed(self.plan, &self.known),
                false => Default::default(),
            },
        };
        let gated: Vec<Vec<Gated>> = wave
            .iter()
            .map(|r| {
                r.clone()
                    .map(|i| {
                        let (run, kept) = gate::split(&todo[i].step, &waiting);
                        (i, run, kept)
                    })
                    .collect()
            })
            .collect();
        // Steps the gate kept whole are recorded at once; the others go to the runner.
        let idle = gated.iter().flatten().filter(|(_, s, _)| s.is_none());
        self.record(
            todo,
            idle.map(|(i, _, kept)| (*i, kept_whole(&todo[*i].step, kept))),
        )?;
        let (index, batches): (Vec<usize>, Vec<Vec<Step>>) = gated
            .iter()
            .enumerate()
            .map(|(b, g)| (b, g.iter().filter_map(|(_, s, _)| s.clone()).collect()))
            .filter(|(_, steps): &(usize, Vec<Step>)| !steps.is_empty())
            .unzip();
        self.mark_unknown(batches.iter().flatten())?;
        crate::fault::point(&format!("wave-started:{number}"));
        let plan = self.plan;
        let mut failed = None;
        runner.run_wave_each(plan, &batches, &mut |b, results| {
            if failed.is_some() {
                return;
            }
            let mut results = results.into_iter();
            let ran = gated[index[b]].iter().filter_map(|(i, s, kept)| {
                let step = s.as_ref()?;
                let r = results.next().unwrap_or_else(|| no_result(step));
                Some((*i, with_kept(step, r, kept)))
            });
            let ran: Vec<(usize, StepResult)> = ran.collect();
            if let Err(e) = self.record(todo, ran.into_iter()) {
                failed = Some(e);
            }
        });
        failed.map_or(Ok(batches.iter().map(Vec::len).sum()), Err)
    }

    /// Before the runner starts them: the steps may run from now on, and the journal says so.
    fn mark_unknown<'s>(&mut self, steps: impl Iterator<Item = &'s Step>) -> Result<()> {
        let snap = self.db.write()?;
        for s in steps {
            let full = journal::step_of(self.plan, s.id).unwrap_or(s);
            let detail = format!(
                "{}: started, not confirmed (`baton resume {}` redoes it)",
                full.describe(),
                self.id
            );
            journal::set_step_state(&mut **snap.tx(), self.id, s.id, StepState::Unknown, &detail)?;
        }
        snap.commit()?;
        Ok(())
    }

    /// Record results (todo index, result) in one transaction, merged with what was recorded
    /// before.
    fn record(
        &mut self,
        todo: &[Todo],
        results: impl Iterator<Item = (usize, StepResult)>,
    ) -> Result<()> {
        let mut results = results.peekable();
        if results.peek().is_none() {
            return Ok(());
        }
        let snap = self.db.write()?;
        for (i, r) in results {
            let t = &todo[i];
            let full = journal::step_of(self.plan, t.step.id).unwrap_or(&t.step);
            let r = merge(full, &t.earlier, r);
            journal::set_step(
                &mut **snap.tx(),
                self.id,
                full.id,
                r.state,
                &r.detail,
                &r.results,
            )?;
            self.known.insert(full.id, (r.state, r.results.clone()));
            self.out.push((full.clone(), r));
        }
        snap.commit()?;
        Ok(())
    }
}

/// A step the gate kept whole: a cleanup whose nodes all wait for their new service node, an
/// adopted address still in use, or an adoption no node needs any more.
fn kept_whole(step: &Step, kept: &BTreeMap<String, NodeOutcome>) -> StepResult {
    if kept.values().all(NodeOutcome::settled) {
        return StepResult {
            state: StepState::Done,
            detail: format!("{}: not needed: its nodes are re-pointed", step.describe()),
            results: kept.clone(),
        };
    }
    let why = match step.kind {
        StepKind::CleanupOldSn => "the new service node has not confirmed their entries (the old one keeps serving them; `baton resume` runs it once it has)".to_string(),
        _ => kept.values().next().map(|o| o.to_string()).unwrap_or_default(),
    };
    StepResult {
        state: StepState::Pending,
        detail: format!("{}: not run: {why}", step.describe()),
        results: kept.clone(),
    }
}

/// A runner that gave fewer results than steps: the missing ones are not confirmed.
fn no_result(step: &Step) -> StepResult {
    StepResult {
        state: StepState::Unknown,
        detail: format!("{}: the runner reported nothing", step.describe()),
        results: BTreeMap::new(),
    }
}

/// A cleanup's result for the nodes it ran on, plus the nodes the gate kept.
fn with_kept(ran: &Step, mut r: StepResult, kept: &BTreeMap<String, NodeOutcome>) -> StepResult {
    if kept.is_empty() {
        return r;
    }
    if r.results.is_empty() {
        let each = match r.state {
            StepState::Done => NodeOutcome::Done,
            StepState::Failed => NodeOutcome::failed(&r.detail),
            _ => NodeOutcome::pending(&r.detail),
        };
        r.results = ran
            .nodes
            .iter()
            .map(|n| (n.clone(), each.clone()))
            .collect();
    }
    r.results
        .extend(kept.iter().map(|(n, w)| (n.clone(), w.clone())));
    r.detail = format!(
        "{}; {} kept on {} until their new service node has their entries",
        r.detail,
        crate::report::nodes(kept.len()),
        ran.sn
    );
    r
}

/// The steps cut into batches (consecutive steps on the same side and service node), and the
/// batches into waves that run at once: consecutive batches of one side on different service
/// nodes; and a service-node wave together with the compute-node batches after it when every
/// step in them is independent of the others (see [`StepKind::independent`]). A wave ends where
/// a (side, service node) comes again, so each node and service node still sees its steps in
/// plan order. The old service nodes' cleanups are batches and waves of their own, after the
/// steps on the new ones: make before break (see [`crate::gate`]).
fn waves(todo: &[Todo]) -> Vec<Vec<std::ops::Range<usize>>> {
    let phase = |t: &Todo| t.step.kind.phase();
    let key = |t: &Todo| (t.step.kind.side(), t.step.sn.clone(), phase(t));
    let independent =
        |r: &std::ops::Range<usize>| todo[r.clone()].iter().all(|t| t.step.kind.independent());
    let mut waves: Vec<Vec<std::ops::Range<usize>>> = Vec::new();
    let mut i = 0;
    while i < todo.len() {
        let mut j = i + 1;
        while j < todo.len() && key(&todo[j]) == key(&todo[i]) {
            j += 1;
        }
        let batch = i..j;
        let joins = waves.last().is_some_and(|w| {
            let head = &todo[w[0].start].step;
            let side = todo[i].step.kind.side();
            let fits = head.kind.side() == side
                || (head.kind.side() == Side::Sn
                    && side == Side::Cn
                    && independent(&batch)
                    && w.iter().all(independent));
            // A cleanup or a release waits for the wave before it (see `gate`), an adoption
            // goes first: steps of different phases never share a wave.
            let same_break = w.iter().all(|r| phase(&todo[r.start]) == phase(&todo[i]));
            fits && same_break && w.iter().all(|r| key(&todo[r.start]) != key(&todo[i]))
        });
        match waves.last_mut() {
            Some(w) if joins => w.push(batch),
            _ => waves.push(vec![batch]),
        }
        i = j;
    }
    waves
}

/// Combine a run's per-node results with those recorded before: the step is done when every one
/// of its nodes is.
fn merge(step: &Step, earlier: &BTreeMap<String, NodeOutcome>, mut r: StepResult) -> StepResult {
    if r.results.is_empty() {
        return r;
    }
    // Nothing recorded before (a first run): the run's results are all of them.
    let all = match earlier.is_empty() {
        true => std::mem::take(&mut r.results),
        false => {
            let mut all = earlier.clone();
            all.extend(std::mem::take(&mut r.results));
            all
        }
    };
    if step
        .nodes
        .iter()
        .all(|n| all.get(n).is_some_and(NodeOutcome::settled))
    {
        r.state = StepState::Done;
    } else if r.state == StepState::Done {
        r.state = StepState::Pending;
    }
    r.results = all;
    r
}

fn all_of(plan: &Plan) -> Vec<Todo> {
    plan.steps
        .iter()
        .map(|s| Todo {
            step: s.clone(),
            earlier: BTreeMap::new(),
        })
        .collect()
}

/// Run the steps of journal entry `id` that are not finished.
pub fn resume(db: &mut ClusterDb, id: i64, runner: &mut dyn StepRunner) -> Result<Outcome> {
    let meta = RunMeta {
        command: format!("baton resume {id}"),
        ..RunMeta::default()
    };
    resume_as(db, id, &meta, runner)
}

/// [`resume`], as `meta.command` (named in the lease), skipping the nodes moved since the entry
/// unless `meta.force`. The check, the skipped nodes' records and the lease are one transaction.
pub fn resume_as(
    db: &mut ClusterDb,
    id: i64,
    meta: &RunMeta,
    runner: &mut dyn StepRunner,
) -> Result<Outcome> {
    let (plan, todo, known, moved, lease) = {
        let snap = db.write()?;
        let (entry, plan, steps) = journal::load(&snap, id)?;
        let known: Known = steps
            .iter()
            .map(|s| (s.step, (s.state, s.results.clone())))
            .collect();
        if entry.state == run_state::ROLLED_BACK {
            return Err(TakeoverError::validation(format!(
                "journal entry {id} was rolled back; there is nothing to resume"
            )));
        }
        let moved = if meta.force {
            BTreeMap::new()
        } else {
            stale::moved_since(&snap, id, &plan)?
        };
        let known = with_moved(known, &plan, &moved);
        let todo = resume_todo(&mut **snap.tx(), id, &plan, steps, &moved, meta.force)?;
        let nodes: Vec<String> = plan
            .nodes
            .iter()
            .filter(|n| !moved.contains_key(&n.node))
            .map(|n| n.node.clone())
            .collect();
        let lease = take_lease(&mut **snap.tx(), &[id], &nodes, &meta.command)?;
        not_stopped(meta)?;
        snap.commit()?;
        (plan, todo, known, moved, lease)
    };
    for (node, m) in &moved {
        eprintln!("Note: skipped {}", m.describe(node));
    }
    let stop = meta.stop.as_deref();
    let r = run_steps(db, id, &plan, todo, known, runner, stop).and_then(|o| {
        if !moved.is_empty() && o.complete() {
            let snap = db.write()?;
            journal::set_state(&mut **snap.tx(), id, run_state::SUPERSEDED, true)?;
            snap.commit()?;
        }
        Ok(o)
    });
    lease::release_after(db, lease, r).map_err(|e| TakeoverError::after_commit(id, e))
}

/// What the gates know, with the nodes moved since counted as settled in every step of theirs
/// (they are no longer the entry's to wait for).
fn with_moved(mut known: Known, plan: &Plan, moved: &BTreeMap<String, Moved>) -> Known {
    if moved.is_empty() {
        return known;
    }
    for step in &plan.steps {
        let Some((_, results)) = known.get_mut(&step.id) else {
            continue;
        };
        for n in step.nodes.iter().filter(|n| moved.contains_key(*n)) {
            let why = NodeOutcome::Superseded(moved[n].describe(n).into());
            results.insert(n.clone(), why);
        }
    }
    known
}

/// The unfinished work of entry `id`, without the nodes moved since: those are recorded as
/// superseded (a step left with no node to run is recorded whole, and not run). With `force`,
/// nodes recorded as superseded by an earlier resume are run too.
fn resume_todo(
    tx: &mut dyn Tx,
    id: i64,
    plan: &Plan,
    steps: Vec<journal::StepRecord>,
    moved: &BTreeMap<String, Moved>,
    force: bool,
) -> Result<Vec<Todo>> {
    let superseded = |r: &NodeOutcome| matches!(r, NodeOutcome::Superseded(_));
    let mut todo = Vec::new();
    for mut rec in steps
        .into_iter()
        .filter(|s| !s.state.finished() || (force && s.results.values().any(superseded)))
    {
        let Some(full) = journal::step_of(plan, rec.step) else {
            continue;
        };
        let mut step = full.clone();
        step.nodes.retain(|n| match rec.results.get(n) {
            Some(NodeOutcome::Done) => false,
            Some(r) if superseded(r) => force,
            _ => true,
        });
        if force {
            rec.results.retain(|_, r| !superseded(r));
        }
        let before = step.nodes.len();
        // An address step is about the address: it runs even when all its nodes moved (a
        // release then lets go of an address no node of the entry uses any more).
        let address = full.kind.is_address() && full.kind != StepKind::AdoptAddress;
        step.nodes
            .retain(|n| match moved.get(n).filter(|_| !address) {
                Some(m) => {
                    let why = NodeOutcome::Superseded(m.describe(n).into());
                    rec.results.insert(n.clone(), why);
                    false
                }
                None => true,
            });
        if step.nodes.is_empty() && before > 0 {
            let detail = format!("{}: skipped, its nodes were moved since", full.describe());
            journal::set_step(tx, id, full.id, StepState::Skipped, &detail, &rec.results)?;
            continue;
        }
        todo.push(Todo {
            step,
            earlier: rec.results,
        });
    }
    Ok(todo)
}

/// Restore the old values of journal entry `id` (checking nobody changed them since), record the
/// rollback as a journal entry of its own, and run its steps (re-pointing the nodes back).
pub fn rollback(
    db: &mut ClusterDb,
    id: i64,
    meta: &RunMeta,
    runner: &mut dyn StepRunner,
) -> Result<Outcome> {
    let snap = db.write()?;
    let (entry, mut plan, _) = journal::load(&snap, id)?;
    if entry.state == run_state::ROLLED_BACK {
        return Err(TakeoverError::validation(format!(
            "journal entry {id} is already rolled back"
        )));
    }
    if plan.request.liteonly {
        return Err(TakeoverError::validation(format!(
            "journal entry {id} only copied statelite directories (-l) and moved nothing; there is nothing to roll back"
        )));
    }
    let nodes: Vec<String> = plan.nodes.iter().map(|n| n.node.clone()).collect();
    let touched = touched(&plan);
    let mut current: HashMap<&str, attrs::FastMap<String, Vec<Value>>> = HashMap::new();
    for (t, cols) in &touched {
        current.insert(t.as_str(), own_rows(&snap, t, cols, &nodes)?);
    }
    skip_moved(&snap, id, &mut plan, meta.force)?;
    {
        let mut tx = snap.tx();
        let mut w = RowWrites::default();
        for n in &plan.nodes {
            for b in &n.before {
                match &b.row {
                    Some(row) => {
                        let set: Vec<(&str, Value)> =
                            row.iter().map(|(c, v)| (c.as_str(), v.clone())).collect();
                        let exists = current[b.table.as_str()].contains_key(&n.node);
                        w.add(&b.table, vec![n.node.clone()], set, exists);
                    }
                    None => {
                        let spec = table(&b.table)?;
                        let cols = &touched[&b.table];
                        remove_created_row(&mut **tx, spec, key_column(spec), &n.node, cols)?
                    }
                }
            }
        }
        w.write(&mut **tx)?;
        journal::set_state(&mut **tx, id, run_state::ROLLED_BACK, false)?;
    }
    let back = Plan {
        undoes: Some(id),
        ..inverse(&plan)
    };
    let new_id = {
        let mut tx = snap.tx();
        let new_id = journal::create(
            &mut **tx,
            &meta.user,
            &meta.command,
            run_state::COMMITTED,
            &back,
        )?;
        auditlog(&mut **tx, meta, "rollback")?;
        new_id
    };
    let nodes: Vec<String> = plan.nodes.iter().map(|n| n.node.clone()).collect();
    let lease = take_lease(&mut **snap.tx(), &[id, new_id], &nodes, &meta.command)?;
    not_stopped(meta)?;
    snap.commit()?;
    let stop = meta.stop.as_deref();
    let r = run_steps(db, new_id, &back, all_of(&back), Known::new(), runner, stop);
    lease::release_after(db, lease, r).map_err(|e| TakeoverError::after_commit(new_id, e))
}

/// Nothing may have changed since the run: its rows must be as it left them. Nodes a later
/// entry moved are dropped from `plan` (said on standard error) and left where that entry put
/// them; a change by hand refuses the rollback. With `force`, nothing is checked.
fn skip_moved(snap: &Snapshot<'_>, id: i64, plan: &mut Plan, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    let moved = stale::moved_since(snap, id, plan)?;
    if let Some((node, m)) = moved.iter().find(|(_, m)| m.by.is_none()) {
        return Err(TakeoverError::Conflict(format!(
            "{node}: {}; nothing was rolled back (--force restores it anyway)",
            m.what
        )));
    }
    for (node, m) in &moved {
        eprintln!("Note: skipped {}", m.describe(node));
    }
    plan.nodes.retain(|n| !moved.contains_key(&n.node));
    if plan.nodes.is_empty() {
        return Err(TakeoverError::validation(format!(
            "every node of journal entry {id} was moved since by a later entry; nothing was rolled back (--force restores them anyway)"
        )));
    }
    Ok(())
}

/// The move created this row: delete it, unless someone has put other values in it since, in
/// which case only the moved columns are cleared.
fn remove_created_row(
    tx: &mut dyn Tx,
    spec: &clusterdb::schema::TableSpec,
    keycol: &str,
    node: &str,
    cols: &[String],
) -> Result<()> {
    let others: Vec<&str> = spec
        .columns
        .iter()
        .map(String::as_str)
        .filter(|c| *c != keycol && !cols.iter().any(|x| x == c))
        .collect();
    let rows = tx.select(
        spec,
        &others,
        Filter::Eq {
            column: keycol,
            value: node,
        },
    )?;
    let used = rows.first().is_some_and(|r| {
        r.iter()
            .any(|v| v.as_deref().is_some_and(|v| !v.is_empty()))
    });
    if used {
        let set: Vec<(&str, Value)> = cols.iter().map(|c| (c.as_str(), None)).collect();
        tx.update(spec, &[(keycol, node)], &set)?;
    } else {
        tx.delete(spec, &[(keycol, node)])?;
    }
    Ok(())
}

fn inverse_shape(n: &MoveShape) -> MoveShape {
    MoveShape {
        old_sn: Some(n.new_sn.clone()),
        new_sn: n.old_sn.clone().unwrap_or_default(),
        old_xm: Some(n.new_xm.clone()),
        new_xm: n.old_xm.clone().unwrap_or_default(),
        old_xm_ip: n.new_xm_ip.clone(),
        new_xm_ip: n.old_xm_ip.clone(),
        changes: n
            .changes
            .iter()
            .map(|c| Change {
                old: c.new.clone(),
                new: c.old.clone(),
                ..c.clone()
            })
            .collect(),
        before: n.after.clone(),
        after: n.before.clone(),
        ..n.clone()
    }
}

/// The plan that moves the nodes back where they were; its rows go from the run's `after` back
/// to its `before`, so it can be rolled back in turn.
pub fn inverse(plan: &Plan) -> Plan {
    let mut back: HashMap<*const MoveShape, Arc<MoveShape>> = HashMap::new();
    let nodes: Vec<NodeMove> = plan
        .nodes
        .iter()
        .filter(|n| n.old_sn.is_some())
        .map(|n| {
            let shape = back
                .entry(Arc::as_ptr(&n.shape))
                .or_insert_with(|| Arc::new(inverse_shape(&n.shape)))
                .clone();
            NodeMove {
                node: n.node.clone(),
                ip: n.ip.clone(),
                shape,
            }
        })
        .collect();
    let mut request = plan.request.clone();
    std::mem::swap(&mut request.source, &mut request.dest);
    std::mem::swap(&mut request.source_n, &mut request.dest_n);
    // Going back adopts nothing: the addresses the run adopted are handed back to their owners.
    request.adopt_address = false;
    request.fenced = false;
    let names: Vec<String> = nodes.iter().map(|n| n.node.clone()).collect();
    let steps = crate::adopt::hand_back(
        build_steps(&nodes, &request),
        &crate::adopt::of_plan(plan),
        &names,
    );
    Plan {
        read_at: None,
        request,
        nodes,
        steps,
        warnings: Vec::new(),
        forced: Vec::new(),
        notes: Vec::new(),
        undoes: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn todo(kind: StepKind, sn: &str) -> Todo {
        Todo {
            step: Step {
                id: 0,
                kind,
                sn: sn.into(),
                nodes: vec!["cn1".into()],
                scripts: vec![],
                provmethod: None,
                aix: false,
                address: None,
            },
            earlier: BTreeMap::new(),
        }
    }

    #[test]
    fn batches_of_one_side_on_different_service_nodes_share_a_wave() {
        use StepKind::*;
        let t = vec![
            todo(StateliteSync, "sn1"),
            todo(Consoles, "sn2"),
            todo(Dhcp, "sn2"),
            todo(Consoles, "sn3"),
            todo(Dhcp, "sn3"),
            todo(Xcatinfo, "sn2"),
            todo(Route, "sn2"),
            todo(Xcatinfo, "sn3"),
            todo(CleanupOldSn, "sn1"),
            // A service node that comes again starts a new wave: its batches stay in order.
            todo(Dhcp, "sn3"),
            todo(Dhcp, "sn1"),
        ];
        let starts = |t: &[Todo]| -> Vec<Vec<(usize, usize)>> {
            waves(t)
                .into_iter()
                .map(|w| w.into_iter().map(|r| (r.start, r.end)).collect())
                .collect()
        };
        assert_eq!(
            starts(&t),
            vec![
                vec![(0, 1), (1, 3), (3, 5)],
                vec![(5, 7), (7, 8)],
                // The cleanup waits for what came before it, and nothing waits beside it.
                vec![(8, 9)],
                vec![(9, 10), (10, 11)],
            ]
        );
        // Without AIX steps the service-node side and the compute-node side run at once.
        let linux = vec![
            todo(Consoles, "sn2"),
            todo(Dhcp, "sn2"),
            todo(Consoles, "sn3"),
            todo(Xcatinfo, "sn2"),
            todo(Route, "sn2"),
            todo(Xcatinfo, "sn3"),
            todo(CleanupOldSn, "sn1"),
        ];
        assert_eq!(
            starts(&linux),
            vec![vec![(0, 2), (2, 3), (3, 5), (5, 6)], vec![(6, 7)]]
        );
        assert_eq!(
            starts(&[todo(Dhcp, "sn2"), todo(Xcatinfo, "sn2"), todo(Dhcp, "sn2")]),
            vec![vec![(0, 1), (1, 2)], vec![(2, 3)]]
        );
        // An AIX step keeps the sides apart.
        assert_eq!(
            starts(&[todo(Dhcp, "sn2"), todo(Niminit, "sn2")]),
            vec![vec![(0, 1)], vec![(1, 2)]]
        );
        assert!(waves(&[]).is_empty());
    }
}
