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
    /// `--adopt-address`: the takeover holds the down SN's compute address until its nodes are
    /// re-pointed (the watcher fenced it first: it is taken at once and checked after).
    pub adopt_address: bool,
    /// The adopted addresses as last read, with the database's version then: each round reads
    /// the journal's unfinished entries again only when the database changed (every 5 s where
    /// the store has no version), not a large entry's plan every round.
    adopted_seen: Option<(
        Option<clusterdb::backend::DataVersion>,
        std::time::Instant,
        Vec<takeover::adopt::Held>,
    )>,
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
            adopt_address: false,
            adopted_seen: None,
            command: meta.command.clone(),
            meta,
            lock: None,
        })
    }

    /// Apply `plan` with the steps on the SNs in `down` left pending (they cannot answer).
    fn apply_skipping(
        &mut self,
        plan: &mut takeover::Plan,
        meta: &RunMeta,
        down: &[String],
    ) -> Result<takeover::Outcome, String> {
        let mut runner = SkipDown {
            inner: (self.runner)(&mut self.db)?,
            down: down.to_vec(),
        };
        takeover::apply(&mut self.db, plan, meta, &mut runner).map_err(|e| e.to_string())
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

/// Each service node's compute-facing addresses: the xcatmaster names its nodes know it by
/// (nodes whose primary SN it is), resolved as the planner resolves names (a literal address,
/// then `env`'s hosts file, then the hosts table).
pub fn compute_addresses(
    snap: &Snapshot<'_>,
    env: &dyn takeover::Env,
) -> clusterdb::Result<BTreeMap<String, Vec<String>>> {
    let nodes: Vec<String> = snap.index()?.nodes.iter().map(|n| n.name.clone()).collect();
    let rows = clusterdb::attrs::nodes_attribs(
        snap,
        table("noderes")?,
        &nodes,
        &["servicenode", "xcatmaster"],
    )?;
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in rows.values() {
        let primary = row[0]
            .as_deref()
            .and_then(|s| s.split(',').next())
            .map(str::trim);
        if let (Some(sn), Some(xm)) = (primary.filter(|s| !s.is_empty()), row[1].as_deref()) {
            names
                .entry(sn.to_string())
                .or_default()
                .insert(xm.to_string());
        }
    }
    let hosts = table("hosts")?;
    let mut out = BTreeMap::new();
    for (sn, xms) in names {
        let mut addrs = Vec::new();
        for xm in xms {
            let ip = xm
                .parse::<std::net::IpAddr>()
                .ok()
                .or_else(|| env.resolve_local(&xm));
            let ip = ip.map(|i| i.to_string()).or_else(|| {
                let m = clusterdb::attrs::node_attribs(snap, hosts, &xm, &["ip"]).ok()?;
                m.get("ip")
                    .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
                    .cloned()
            });
            addrs.extend(ip);
        }
        out.insert(sn, addrs);
    }
    Ok(out)
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

/// The journal's command for a takeover the watcher made of `sn` (see [`DbActions::takeover`]).
fn takeover_mark(sn: &str) -> String {
    format!("(automatic takeover of {sn})")
}

/// The nodes the watcher's takeovers moved away from `sn` (entries not rolled back, oldest
/// first, a later one wins), each with the SN it was moved to and its xcatmaster before:
/// node → (takeover SN, old xcatmaster).
pub fn moved_away(
    sn: &str,
    takeovers: &[(journal::Entry, takeover::Plan)],
) -> BTreeMap<String, (String, Option<String>)> {
    let mark = takeover_mark(sn);
    let mut out = BTreeMap::new();
    for (e, plan) in takeovers {
        if e.state == run_state::ROLLED_BACK || !e.command.ends_with(&mark) {
            continue;
        }
        for m in plan
            .nodes
            .iter()
            .filter(|m| m.old_sn.as_deref() == Some(sn))
        {
            out.insert(m.node.clone(), (m.new_sn.clone(), m.old_xm.clone()));
        }
    }
    out
}

/// Of the nodes moved away, those still on the SN they were moved to (`primary`: each node's
/// primary SN now), with the xcatmaster to give them back when they all had the same one.
pub fn to_move_back(
    away: &BTreeMap<String, (String, Option<String>)>,
    primary: &BTreeMap<String, String>,
) -> (Vec<String>, Option<String>) {
    let nodes: Vec<String> = away
        .iter()
        .filter(|(n, (to, _))| primary.get(*n) == Some(to))
        .map(|(n, _)| n.clone())
        .collect();
    let mut xms: BTreeSet<Option<&String>> = BTreeSet::new();
    for n in &nodes {
        xms.insert(away[n].1.as_ref());
    }
    let xm = match (xms.len(), xms.into_iter().next()) {
        (1, Some(Some(x))) => Some(x.clone()),
        _ => None,
    };
    (nodes, xm)
}

/// One line for the log: the journal entry, what moved, and how many steps are done.
fn summary(out: &takeover::Outcome, text: &str) -> String {
    let pending = out
        .steps
        .iter()
        .filter(|(_, r)| !r.state.finished())
        .count();
    format!(
        "journal entry {}: {text}; {} of {} steps done{}",
        out.journal_id,
        out.steps.len() - pending,
        out.steps.len(),
        if pending > 0 {
            format!(" ({pending} pending until their node or service node is back)")
        } else {
            String::new()
        }
    )
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

    fn adopted(&mut self) -> Result<Vec<takeover::adopt::Held>, String> {
        let snap = self.db.read().map_err(|e| e.to_string())?;
        let version = snap.version();
        if let Some((seen, at, held)) = &self.adopted_seen {
            let unchanged = match version {
                Some(_) => *seen == version,
                None => at.elapsed() < std::time::Duration::from_secs(5),
            };
            if unchanged {
                return Ok(held.clone());
            }
        }
        let held = takeover::adopt::held(&snap).map_err(|e| e.to_string())?;
        self.adopted_seen = Some((version, std::time::Instant::now(), held.clone()));
        Ok(held)
    }

    fn compute_addresses(&mut self) -> Result<BTreeMap<String, Vec<String>>, String> {
        let snap = self.db.read().map_err(|e| e.to_string())?;
        compute_addresses(&snap, self.env.as_ref()).map_err(|e| e.to_string())
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
            adopt_address: self.adopt_address,
            fenced: self.adopt_address,
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
        if dests.is_empty() {
            return Err("none of its nodes has a service node of its pool up to take it".into());
        }
        let mut text = dests.join(", ");
        for w in &plan.warnings {
            text.push_str(&format!("; warning: {w}"));
        }
        if dry {
            return Ok(text);
        }
        let meta = RunMeta {
            command: format!("{} {}", self.command, takeover_mark(sn)),
            noderange: String::new(),
            args: format!("-s {sn}"),
            ..self.meta.clone()
        };
        let out = self.apply_skipping(&mut plan, &meta, exclude)?;
        Ok(summary(&out, &text))
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

    fn move_back(
        &mut self,
        sn: &str,
        down: &[String],
        dry: bool,
    ) -> Result<Option<String>, String> {
        // Its pending cleanups first: it must not serve the nodes' old entries and new ones.
        let waiting = {
            let snap = self.db.read().map_err(|e| e.to_string())?;
            waiting_on(&snap, sn).map_err(|e| e.to_string())?
        };
        if !waiting.is_empty() && !dry {
            self.cleanup(sn)?;
            let snap = self.db.read().map_err(|e| e.to_string())?;
            let left = waiting_on(&snap, sn).map_err(|e| e.to_string())?;
            if !left.is_empty() {
                let ids: Vec<String> = left.iter().map(i64::to_string).collect();
                return Err(format!(
                    "its pending cleanups are not done yet (journal entries {})",
                    ids.join(", ")
                ));
            }
        }
        let (nodes, xm) = {
            let snap = self.db.read().map_err(|e| e.to_string())?;
            let mark = takeover_mark(sn);
            let mut takeovers = Vec::new();
            for e in journal::list(&snap).map_err(|e| e.to_string())? {
                if e.command.ends_with(&mark) {
                    let (e, plan, _) = journal::load(&snap, e.id).map_err(|e| e.to_string())?;
                    takeovers.push((e, plan));
                }
            }
            let away = moved_away(sn, &takeovers);
            let names: Vec<String> = away.keys().cloned().collect();
            let now = clusterdb::attrs::nodes_attribs(
                &snap,
                table("noderes").map_err(|e| e.to_string())?,
                &names,
                &["servicenode"],
            )
            .map_err(|e| e.to_string())?;
            let primary: BTreeMap<String, String> = now
                .into_iter()
                .filter_map(|(n, v)| {
                    let list = v.into_iter().next().flatten()?;
                    let first = list.split(',').next()?.trim().to_string();
                    Some((n, first))
                })
                .collect();
            to_move_back(&away, &primary)
        };
        if nodes.is_empty() {
            return Ok(None);
        }
        let req = Request {
            noderange: Some(nodes.join(",")),
            dest: Some(sn.to_string()),
            dest_n: xm,
            ..Default::default()
        };
        let mut plan = {
            let snap = self.db.read().map_err(|e| e.to_string())?;
            takeover::plan(&snap, &req, self.env.as_ref(), &NoderangeEnv::default())
                .map_err(|e| e.to_string())?
        };
        let text = format!("{} nodes to {sn}", plan.nodes.len());
        if dry {
            return Ok(Some(text));
        }
        let meta = RunMeta {
            command: format!("{} (moving nodes back to {sn})", self.command),
            noderange: nodes.join(","),
            args: format!("-d {sn}"),
            ..self.meta.clone()
        };
        let out = self.apply_skipping(&mut plan, &meta, down)?;
        Ok(Some(summary(&out, &text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use takeover::{MoveShape, NodeMove, Plan};

    fn entry(
        id: i64,
        command: &str,
        state: &str,
        moves: &[(&str, &str, &str)],
    ) -> (journal::Entry, Plan) {
        let e = journal::Entry {
            id,
            started: String::new(),
            finished: None,
            user: "root".into(),
            command: command.into(),
            state: state.into(),
            summary: String::new(),
        };
        let nodes = moves
            .iter()
            .map(|(n, from, to)| {
                NodeMove::new(
                    n.to_string(),
                    None,
                    MoveShape {
                        old_sn: Some(from.to_string()),
                        new_sn: to.to_string(),
                        old_xm: Some(format!("{from}-eth1")),
                        new_xm: format!("{to}-eth1"),
                        ..Default::default()
                    },
                )
            })
            .collect();
        let plan = Plan {
            read_at: None,
            request: Request::default(),
            nodes,
            steps: vec![],
            warnings: vec![],
            forced: vec![],
            notes: vec![],
            undoes: None,
        };
        (e, plan)
    }

    #[test]
    fn only_the_watchers_own_moves_of_nodes_still_where_it_put_them_go_back() {
        let w = "baton watch (pid 7) (automatic takeover of sn1)";
        let entries = vec![
            entry(
                1,
                w,
                run_state::PARTIAL,
                &[
                    ("cn1", "sn1", "sn2"),
                    ("cn2", "sn1", "sn3"),
                    ("cn3", "sn1", "sn2"),
                ],
            ),
            // Moved by hand: not the watcher's.
            entry(
                2,
                "baton snmove cn4 -d sn2",
                run_state::DONE,
                &[("cn4", "sn1", "sn2")],
            ),
            // Another SN's takeover.
            entry(
                3,
                "baton watch (pid 7) (automatic takeover of sn2)",
                run_state::DONE,
                &[("cn5", "sn2", "sn3")],
            ),
            // Rolled back: nothing of it to move back.
            entry(4, w, run_state::ROLLED_BACK, &[("cn6", "sn1", "sn3")]),
            // A later takeover of the same node wins.
            entry(5, w, run_state::DONE, &[("cn3", "sn1", "sn3")]),
        ];
        let away = moved_away("sn1", &entries);
        assert_eq!(
            away.keys().collect::<Vec<_>>(),
            ["cn1", "cn2", "cn3"],
            "{away:?}"
        );
        assert_eq!(away["cn3"].0, "sn3");
        // cn2 was moved on to sn2 by hand since: it stays.
        let primary: BTreeMap<String, String> = [("cn1", "sn2"), ("cn2", "sn2"), ("cn3", "sn3")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let (nodes, xm) = to_move_back(&away, &primary);
        assert_eq!(nodes, ["cn1", "cn3"]);
        assert_eq!(xm.as_deref(), Some("sn1-eth1"), "their xcatmaster before");
        // Different old xcatmasters: none given, the plan derives it.
        let mut mixed = away.clone();
        mixed.get_mut("cn3").unwrap().1 = Some("10.0.0.1".into());
        assert_eq!(to_move_back(&mixed, &primary).1, None);
        // Nothing left where the watcher put it.
        assert!(to_move_back(&away, &BTreeMap::new()).0.is_empty());
    }

    /// No network here: the plan below is made with `offline`.
    struct NoEnv;

    impl takeover::Env for NoEnv {
        fn resolve_local(&self, _: &str) -> Option<std::net::IpAddr> {
            None
        }
        fn resolve_dns(&self, _: &str) -> Option<std::net::IpAddr> {
            None
        }
        fn sn_addresses(&self, sn: &str) -> Result<Vec<std::net::IpAddr>, String> {
            Err(format!("{sn}: no network in this test"))
        }
        fn address_holder(&self, sn: &str, _: &str) -> Result<Option<String>, String> {
            Err(format!("{sn}: no network in this test"))
        }
    }

    /// Adopts every address; every other step waits.
    struct AdoptsOnly;

    impl StepRunner for AdoptsOnly {
        fn run(&mut self, _: &Plan, steps: &[takeover::Step]) -> Vec<StepResult> {
            steps
                .iter()
                .map(|s| {
                    let (state, o) = match s.kind {
                        takeover::StepKind::AdoptAddress => {
                            (StepState::Done, takeover::NodeOutcome::Done)
                        }
                        _ => (
                            StepState::Pending,
                            takeover::NodeOutcome::pending("not in this test"),
                        ),
                    };
                    let results = s.nodes.iter().map(|n| (n.clone(), o.clone())).collect();
                    StepResult {
                        state,
                        detail: s.describe(),
                        results,
                    }
                })
                .collect()
        }
    }

    /// The watcher reads the adopted addresses again when another run changed the journal
    /// (and not the journal's entries on every round otherwise).
    #[test]
    fn an_adoption_by_another_run_shows_in_the_next_round() {
        let dir = tempfile::tempdir().unwrap();
        let url = DbUrl::Sqlite(dir.path().join("c.db"));
        let mut other = ClusterDb::open(&url).unwrap();
        let snap = other.write().unwrap();
        let spec = clusterdb::sample::SampleSpec {
            nodes: 4,
            racks: 1,
            sns: 2,
        };
        for (t, csv) in spec.tables() {
            clusterdb::tabio::restore_into(&snap, t, &csv, false, t).unwrap();
        }
        snap.commit().unwrap();
        let runner: RunnerFactory = Box::new(|_| Err("no steps here".to_string()));
        let mut actions = DbActions::new(url, Box::new(NoEnv), runner, RunMeta::default()).unwrap();
        assert!(actions.adopted().unwrap().is_empty());
        assert!(actions.adopted().unwrap().is_empty(), "nothing changed");

        let req = Request {
            source: Some("sn1".into()),
            dest: Some("sn2".into()),
            offline: true,
            adopt_address: true,
            ..Default::default()
        };
        let mut plan = {
            let snap = other.read().unwrap();
            takeover::plan(&snap, &req, &NoEnv, &NoderangeEnv::default()).unwrap()
        };
        let adopted = plan
            .steps
            .iter()
            .find(|s| s.kind == takeover::StepKind::AdoptAddress);
        let address = adopted.unwrap().address.clone().unwrap().address;
        takeover::apply(&mut other, &mut plan, &RunMeta::default(), &mut AdoptsOnly).unwrap();
        let held = actions.adopted().unwrap();
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(
            (
                held[0].address.as_str(),
                held[0].owner.as_str(),
                held[0].holder.as_str()
            ),
            (address.as_str(), "sn1", "sn2")
        );
    }
}
