//! Safe when a takeover goes wrong: the old service node keeps a node until the new one has
//! its entries (make before break), the journal says at every instant what may have run, a
//! stop request ends the run after the running steps, and an error after the commit names the
//! entry to resume.

mod common;

use clusterdb::ClusterDb;
use common::{done, meta, plan, sample};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use takeover::journal::{self, run_state, StepState};
use takeover::{Plan, Request, Step, StepKind, StepResult, StepRunner, TakeoverError};

/// Steps of `failing` kind fail on `node` (and on every node when `node` is None, without
/// per-node results: an unreachable SN); everything else is done. Records what it was given.
struct FailOn {
    kind: StepKind,
    node: Option<&'static str>,
    seen: Vec<(StepKind, Vec<String>)>,
}

impl FailOn {
    fn new(kind: StepKind, node: Option<&'static str>) -> Self {
        FailOn {
            kind,
            node,
            seen: Vec::new(),
        }
    }
    fn given(&self, kind: StepKind) -> Vec<String> {
        let mut v: Vec<String> = self
            .seen
            .iter()
            .filter(|(k, _)| *k == kind)
            .flat_map(|(_, n)| n.clone())
            .collect();
        v.sort();
        v
    }
}

impl StepRunner for FailOn {
    fn run(&mut self, _: &Plan, steps: &[Step]) -> Vec<StepResult> {
        steps
            .iter()
            .map(|s| {
                self.seen.push((s.kind, s.nodes.clone()));
                if s.kind != self.kind {
                    return done(s);
                }
                match self.node {
                    None => StepResult {
                        state: StepState::Pending,
                        detail: format!("{}: unreachable", s.sn),
                        results: BTreeMap::new(),
                    },
                    Some(bad) => {
                        let mut r = done(s);
                        if let Some(v) = r.results.get_mut(bad) {
                            *v = takeover::NodeOutcome::failed("read-only file system");
                            r.state = StepState::Failed;
                        }
                        r
                    }
                }
            })
            .collect()
    }
}

fn step_record(db: &mut ClusterDb, id: i64, kind: StepKind) -> journal::StepRecord {
    let snap = db.read().unwrap();
    let steps = journal::load(&snap, id).unwrap().2;
    steps
        .into_iter()
        .find(|s| s.kind == kind.name())
        .unwrap_or_else(|| panic!("no {} step", kind.name()))
}

#[test]
fn a_node_whose_new_sn_entries_failed_keeps_its_old_sn_until_resume_finishes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut db) = sample(&dir);
    let mut p = plan(&mut db, "cn0001-cn0003", "sn3");
    let mut runner = FailOn::new(StepKind::Dhcp, Some("cn0002"));
    let out = takeover::apply(&mut db, &mut p, &meta("snmove"), &mut runner).unwrap();
    assert!(!out.complete());
    // The cleanup ran for the two nodes the new SN serves, not for the third.
    assert_eq!(runner.given(StepKind::CleanupOldSn), ["cn0001", "cn0003"]);
    let cleanup = step_record(&mut db, out.journal_id, StepKind::CleanupOldSn);
    assert_eq!(cleanup.state, StepState::Pending, "{cleanup:?}");
    let kept = cleanup.results["cn0002"].to_string();
    assert!(
        kept.starts_with(&format!("pending: {}", takeover::gate::NODE_KEPT))
            && kept.contains("read-only"),
        "{kept}"
    );
    assert_eq!(cleanup.results["cn0001"], takeover::NodeOutcome::Done);

    // Once the new SN has it, resume removes it from the old one: that node only.
    let mut healthy = FailOn::new(StepKind::Niminit, None);
    let out = takeover::resume(&mut db, out.journal_id, &mut healthy).unwrap();
    assert!(out.complete());
    assert_eq!(healthy.given(StepKind::Dhcp), ["cn0002"]);
    assert_eq!(healthy.given(StepKind::CleanupOldSn), ["cn0002"]);
}

#[test]
fn an_unreachable_new_sn_leaves_the_old_sn_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut db) = sample(&dir);
    let mut p = plan(&mut db, "cn0001-cn0003", "sn3");
    let mut runner = FailOn::new(StepKind::Dhcp, None);
    let out = takeover::apply(&mut db, &mut p, &meta("snmove"), &mut runner).unwrap();
    assert!(runner.given(StepKind::CleanupOldSn).is_empty());
    let cleanup = step_record(&mut db, out.journal_id, StepKind::CleanupOldSn);
    assert_eq!(cleanup.state, StepState::Pending);
    assert_eq!(cleanup.results.len(), 3, "{cleanup:?}");
    assert!(cleanup.detail.contains("not run"), "{}", cleanup.detail);
}

#[test]
fn with_ignore_nodes_the_cleanup_still_waits_for_the_new_sn() {
    // -i: the new SN's steps and the old SN's cleanup are the only steps, side by side; the
    // cleanup must still come after them, not beside them.
    let dir = tempfile::tempdir().unwrap();
    let (_, mut db) = sample(&dir);
    let snap = db.read().unwrap();
    let req = Request {
        ignore_nodes: true,
        ..common::request("cn0001-cn0003", "sn3")
    };
    let mut p = takeover::plan(&snap, &req, &common::Offline, &Default::default()).unwrap();
    drop(snap);
    let mut runner = FailOn::new(StepKind::Niminit, None);
    let out = takeover::apply(&mut db, &mut p, &meta("snmove -i"), &mut runner).unwrap();
    assert!(out.complete(), "{:?}", out.steps);
    assert_eq!(
        runner.given(StepKind::CleanupOldSn),
        ["cn0001", "cn0002", "cn0003"]
    );
}

/// Reads the journal from its own connection each time it is given a batch.
struct Observer {
    url: clusterdb::DbUrl,
    states: Vec<Vec<(String, StepState)>>,
    stop: Option<Arc<AtomicBool>>,
}

impl StepRunner for Observer {
    fn run(&mut self, _: &Plan, steps: &[Step]) -> Vec<StepResult> {
        let mut db = ClusterDb::open(&self.url).unwrap();
        let snap = db.read().unwrap();
        let id = journal::list(&snap).unwrap().last().unwrap().id;
        let recs = journal::load(&snap, id).unwrap().2;
        self.states
            .push(recs.iter().map(|r| (r.kind.clone(), r.state)).collect());
        if let Some(s) = &self.stop {
            s.store(true, Ordering::SeqCst);
        }
        steps.iter().map(done).collect()
    }
}

#[test]
fn while_steps_run_the_journal_says_which_may_have_started_and_which_are_done() {
    let dir = tempfile::tempdir().unwrap();
    let (url, mut db) = sample(&dir);
    let mut p = plan(&mut db, "cn0001-cn0003", "sn3");
    let mut runner = Observer {
        url,
        states: Vec::new(),
        stop: None,
    };
    takeover::apply(&mut db, &mut p, &meta("snmove"), &mut runner).unwrap();
    // The first batch: the steps handed over read unknown, none done yet.
    let first = &runner.states[0];
    assert!(
        first.iter().any(|(_, s)| *s == StepState::Unknown),
        "{first:?}"
    );
    assert!(
        first.iter().all(|(_, s)| *s != StepState::Done),
        "{first:?}"
    );
    // The cleanup, last: everything before it already recorded done, itself unknown.
    let last = runner.states.last().unwrap();
    for (kind, s) in last {
        let want = if kind == "cleanup-old-sn" {
            StepState::Unknown
        } else {
            StepState::Done
        };
        assert_eq!(*s, want, "{kind}: {last:?}");
    }
}

#[test]
fn a_stop_request_ends_the_run_after_the_running_steps_and_resume_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (url, mut db) = sample(&dir);
    let mut p = plan(&mut db, "cn0001-cn0003", "sn3");
    let stop = Arc::new(AtomicBool::new(false));
    let m = takeover::RunMeta {
        stop: Some(stop.clone()),
        ..meta("snmove")
    };
    let mut runner = Observer {
        url,
        states: Vec::new(),
        stop: Some(stop),
    };
    let out = takeover::apply(&mut db, &mut p, &m, &mut runner).unwrap();
    // The first wave (the new SN's entries, and the nodes beside them) finished; the cleanup
    // after it never started.
    assert!(!out.steps.is_empty(), "the running wave is recorded");
    assert!(
        out.left.iter().any(|s| s.kind == StepKind::CleanupOldSn),
        "{:?}",
        out.left
    );
    assert!(out
        .steps
        .iter()
        .all(|(s, _)| s.kind != StepKind::CleanupOldSn));
    assert!(!out.complete());
    let snap = db.read().unwrap();
    let (entry, _, recs) = journal::load(&snap, out.journal_id).unwrap();
    drop(snap);
    assert_eq!(entry.state, run_state::PARTIAL);
    for s in &out.left {
        let rec = recs.iter().find(|r| r.step == s.id).unwrap();
        assert_eq!(rec.state, StepState::Pending, "{rec:?}");
    }
    let out = takeover::resume(
        &mut db,
        out.journal_id,
        &mut FailOn::new(StepKind::Niminit, None),
    )
    .unwrap();
    assert!(out.complete());
}

#[test]
fn a_stop_request_before_the_commit_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut db) = sample(&dir);
    let mut p = plan(&mut db, "cn0001-cn0003", "sn3");
    let m = takeover::RunMeta {
        stop: Some(Arc::new(AtomicBool::new(true))),
        ..meta("snmove")
    };
    let r = takeover::apply(
        &mut db,
        &mut p,
        &m,
        &mut FailOn::new(StepKind::Niminit, None),
    );
    assert!(matches!(r, Err(TakeoverError::Interrupted)), "{r:?}");
    let snap = db.read().unwrap();
    assert!(journal::list(&snap).unwrap().is_empty());
}

/// Breaks the journal's step table while the steps run: recording their results fails.
struct BreaksJournal(std::path::PathBuf);

impl StepRunner for BreaksJournal {
    fn run(&mut self, _: &Plan, steps: &[Step]) -> Vec<StepResult> {
        let c = rusqlite::Connection::open(&self.0).unwrap();
        c.execute_batch("DROP TABLE IF EXISTS baton_journal_step")
            .unwrap();
        steps.iter().map(done).collect()
    }
}

#[test]
fn an_error_after_the_commit_names_the_entry_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut db) = sample(&dir);
    let mut p = plan(&mut db, "cn0001-cn0003", "sn3");
    let r = takeover::apply(
        &mut db,
        &mut p,
        &meta("snmove"),
        &mut BreaksJournal(dir.path().join("c.db")),
    );
    match r {
        Err(e @ TakeoverError::AfterCommit { id: 1, .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("baton resume 1"), "{msg}");
        }
        other => panic!("expected an after-commit error naming entry 1, got {other:?}"),
    }
}
