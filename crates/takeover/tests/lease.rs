//! One actor per node: a run holds a lease on its entry and nodes while its steps run; a second
//! run on them is refused and changes nothing; a dead holder's lease is broken. And resume and
//! rollback leave nodes moved since by a later entry alone.

mod common;

use clusterdb::backend::Filter;
use clusterdb::{attrs, tabio, table, ClusterDb};
use common::{done, meta, plan, sample};
use takeover::journal::{self, run_state, StepState};
use takeover::{Outcome, Plan, Step, StepResult, StepRunner, TakeoverError};

/// Every step done, and the nodes each step was given.
#[derive(Default)]
struct Record {
    seen: Vec<(String, Vec<String>)>,
}

impl StepRunner for Record {
    fn run(&mut self, _: &Plan, steps: &[Step]) -> Vec<StepResult> {
        steps
            .iter()
            .map(|s| {
                self.seen.push((s.kind.name().to_string(), s.nodes.clone()));
                done(s)
            })
            .collect()
    }
}

/// Leaves every step pending: the entry ends partial.
struct Pending;

impl StepRunner for Pending {
    fn run(&mut self, _: &Plan, steps: &[Step]) -> Vec<StepResult> {
        steps
            .iter()
            .map(|s| StepResult {
                state: StepState::Pending,
                detail: s.describe(),
                results: Default::default(),
            })
            .collect()
    }
}

/// While its first batch runs, another actor (its own connection) tries something.
struct Meanwhile<F: FnMut() -> Result<Outcome, TakeoverError>> {
    other: F,
    got: Option<Result<Outcome, TakeoverError>>,
}

impl<F: FnMut() -> Result<Outcome, TakeoverError>> StepRunner for Meanwhile<F> {
    fn run(&mut self, _: &Plan, steps: &[Step]) -> Vec<StepResult> {
        if self.got.is_none() {
            self.got = Some((self.other)());
        }
        steps.iter().map(done).collect()
    }
}

fn busy(got: Option<Result<Outcome, TakeoverError>>) -> String {
    match got {
        Some(Err(TakeoverError::Busy(m))) => m,
        Some(Err(e)) => panic!("expected a refusal, got {e}"),
        Some(Ok(o)) => panic!("the second actor ran entry {}", o.journal_id),
        None => panic!("no step ran"),
    }
}

fn leases(db: &mut ClusterDb) -> usize {
    let snap = db.read().unwrap();
    snap.select(table("baton_lease").unwrap(), &["id"], Filter::All)
        .unwrap()
        .len()
}

fn servicenode(db: &mut ClusterDb, node: &str) -> Option<String> {
    let snap = db.read().unwrap();
    let t = table("noderes").unwrap();
    attrs::nodes_attribs(&snap, t, &[node.to_string()], &["servicenode"])
        .unwrap()
        .get(node)
        .and_then(|v| v[0].clone())
        .map(|l| l.split(',').next().unwrap_or_default().to_string())
}

fn state(db: &mut ClusterDb, id: i64) -> String {
    let snap = db.read().unwrap();
    journal::load(&snap, id).unwrap().0.state
}

#[test]
fn a_second_run_on_the_same_nodes_while_steps_run_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (url, mut db) = sample(&dir);
    let mut first = plan(&mut db, "cn0001-cn0004", "sn3");
    let second_url = url.clone();
    let mut runner = Meanwhile {
        other: move || {
            let mut db2 = ClusterDb::open(&second_url).unwrap();
            let mut p = plan(&mut db2, "cn0004-cn0006", "sn2");
            takeover::apply(
                &mut db2,
                &mut p,
                &meta("snmove second"),
                &mut Record::default(),
            )
        },
        got: None,
    };
    let before = {
        let snap = db.read().unwrap();
        tabio::tabdump(&snap, "noderes").unwrap()
    };
    let out = takeover::apply(&mut db, &mut first, &meta("snmove first"), &mut runner).unwrap();
    let msg = busy(runner.got);
    let pid = std::process::id().to_string();
    for want in [
        "1 nodes (cn0004)",
        "`snmove first`",
        "journal entry 1",
        &pid,
    ] {
        assert!(msg.contains(want), "{want} missing in: {msg}");
    }
    assert!(out.complete());
    // The refused run changed nothing but the first run's own rows, and left no entry.
    let snap = db.read().unwrap();
    assert_eq!(journal::list(&snap).unwrap().len(), 1);
    let now = tabio::tabdump(&snap, "noderes").unwrap();
    drop(snap);
    assert_ne!(now, before);
    assert_eq!(servicenode(&mut db, "cn0005").as_deref(), Some("sn1"));
    assert_eq!(leases(&mut db), 0, "released at the end");
}

#[test]
fn resume_beside_resume_or_rollback_of_the_same_entry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (url, mut db) = sample(&dir);
    for (range, other) in [("cn0001-cn0003", "resume"), ("cn0004-cn0006", "rollback")] {
        let mut p = plan(&mut db, range, "sn2");
        let id = takeover::apply(&mut db, &mut p, &meta("snmove"), &mut Pending)
            .unwrap()
            .journal_id;
        assert_eq!(state(&mut db, id), run_state::PARTIAL);
        let u = url.clone();
        let mut runner = Meanwhile {
            other: move || {
                let mut db2 = ClusterDb::open(&u).unwrap();
                if other == "resume" {
                    takeover::resume(&mut db2, id, &mut Record::default())
                } else {
                    takeover::rollback(&mut db2, id, &meta("rollback"), &mut Record::default())
                }
            },
            got: None,
        };
        takeover::resume(&mut db, id, &mut runner).unwrap();
        let msg = busy(runner.got);
        let first = &range[..6];
        assert!(
            msg.contains(&format!("journal entry {id}")) && msg.contains(first),
            "{msg}"
        );
        assert_eq!(leases(&mut db), 0);
        assert_eq!(
            state(&mut db, id),
            run_state::DONE,
            "{other}: not rolled back"
        );
        assert_eq!(servicenode(&mut db, first).as_deref(), Some("sn2"));
    }
}

/// A lease row as a run of process `pid` (started at `pstart`) on this host would leave.
fn plant_lease(db: &mut ClusterDb, pid: u32, pstart: &str, nodes: &str) {
    let me = takeover::lease::Holder::me();
    let snap = db.write().unwrap();
    snap.tx()
        .insert(
            table("baton_lease").unwrap(),
            &[
                "entries", "nodes", "host", "boot", "pid", "pstart", "command",
            ],
            &[
                Some("9".into()),
                Some(nodes.into()),
                Some(me.host),
                Some(me.boot),
                Some(pid.to_string()),
                Some(pstart.into()),
                Some("snmove other".into()),
            ],
        )
        .unwrap();
    snap.commit().unwrap();
}

fn start_time(pid: u32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(')').unwrap().1;
    rest.split_whitespace().nth(19).unwrap().to_string()
}

#[test]
fn a_live_holder_refuses_and_a_dead_one_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    let (_url, mut db) = sample(&dir);
    let mut child = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let pid = child.id();
    plant_lease(&mut db, pid, &start_time(pid), "cn0002,cn0003");
    let mut p = plan(&mut db, "cn0003", "sn2");
    let err = takeover::apply(&mut db, &mut p, &meta("snmove"), &mut Record::default());
    child.kill().unwrap();
    child.wait().unwrap();
    let msg = match err {
        Err(TakeoverError::Busy(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(
        msg.contains(&format!("PID {pid}")) && msg.contains("cn0003") && msg.contains("entry 9"),
        "{msg}"
    );
    assert_eq!(servicenode(&mut db, "cn0003").as_deref(), Some("sn1"));
    // The same row, its process gone: broken, and the run goes on.
    let out = takeover::apply(&mut db, &mut p, &meta("snmove"), &mut Record::default()).unwrap();
    assert!(out.complete());
    assert_eq!(servicenode(&mut db, "cn0003").as_deref(), Some("sn2"));
    assert_eq!(leases(&mut db), 0);
    // A reused PID (this process, another start time) is not the holder either.
    plant_lease(&mut db, std::process::id(), "1", "cn0004");
    let mut p = plan(&mut db, "cn0004", "sn2");
    takeover::apply(&mut db, &mut p, &meta("snmove"), &mut Record::default()).unwrap();
    assert_eq!(leases(&mut db), 0);
}

/// Entry 1 moves cn0003 to sn2 and stays partial; entry 2 moves it on to sn3. Resuming entry 1
/// must not act on cn0003 (it would point it at sn2 while the database names sn3).
fn moved_by_a_later_entry(dir: &tempfile::TempDir) -> ClusterDb {
    let (_, mut db) = sample(dir);
    let mut p = plan(&mut db, "cn0001-cn0003", "sn2");
    takeover::apply(&mut db, &mut p, &meta("snmove 1"), &mut Pending).unwrap();
    let mut p = plan(&mut db, "cn0003", "sn3");
    takeover::apply(&mut db, &mut p, &meta("snmove 2"), &mut Record::default()).unwrap();
    db
}

#[test]
fn resume_skips_nodes_moved_since_by_a_later_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = moved_by_a_later_entry(&dir);
    {
        let snap = db.read().unwrap();
        let entries = journal::list(&snap).unwrap();
        let sup = takeover::stale::superseded(&snap, &entries).unwrap();
        assert_eq!(sup[&1], "superseded: cn0003 by entry 2");
    }
    let mut r = Record::default();
    let out = takeover::resume(&mut db, 1, &mut r).unwrap();
    assert!(out.complete(), "nothing else is left to do");
    assert!(!r.seen.is_empty());
    for (kind, nodes) in &r.seen {
        assert!(
            !nodes.contains(&"cn0003".to_string()),
            "{kind} ran on cn0003"
        );
    }
    assert_eq!(state(&mut db, 1), run_state::SUPERSEDED);
    assert_eq!(servicenode(&mut db, "cn0003").as_deref(), Some("sn3"));
    let snap = db.read().unwrap();
    let (_, _, steps) = journal::load(&snap, 1).unwrap();
    let rec = steps
        .iter()
        .find(|s| s.nodes.contains(&"cn0003".into()))
        .unwrap();
    assert!(
        rec.results["cn0003"]
            .to_string()
            .contains("moved since by journal entry 2"),
        "{:?}",
        rec.results
    );
}

#[test]
fn resume_force_acts_on_moved_nodes_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = moved_by_a_later_entry(&dir);
    // Once skipped by a plain resume, then forced.
    takeover::resume(&mut db, 1, &mut Record::default()).unwrap();
    assert_eq!(state(&mut db, 1), run_state::SUPERSEDED);
    let mut r = Record::default();
    let mut m = meta("baton resume 1 --force");
    m.force = true;
    takeover::resume_as(&mut db, 1, &m, &mut r).unwrap();
    assert!(r
        .seen
        .iter()
        .any(|(_, n)| n.contains(&"cn0003".to_string())));
    assert_eq!(state(&mut db, 1), run_state::DONE);
}

#[test]
fn rollback_leaves_nodes_moved_since_where_the_later_entry_put_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = moved_by_a_later_entry(&dir);
    let mut r = Record::default();
    takeover::rollback(&mut db, 1, &meta("rollback 1"), &mut r).unwrap();
    assert_eq!(servicenode(&mut db, "cn0001").as_deref(), Some("sn1"));
    assert_eq!(servicenode(&mut db, "cn0003").as_deref(), Some("sn3"));
    for (kind, nodes) in &r.seen {
        assert!(
            !nodes.contains(&"cn0003".to_string()),
            "{kind} ran on cn0003"
        );
    }
    // A node changed by hand (no entry did it) still refuses the whole rollback.
    let dir2 = tempfile::tempdir().unwrap();
    let (_, mut db) = sample(&dir2);
    let mut p = plan(&mut db, "cn0001-cn0002", "sn2");
    takeover::apply(&mut db, &mut p, &meta("snmove"), &mut Record::default()).unwrap();
    let snap = db.write().unwrap();
    snap.tx()
        .update(
            table("noderes").unwrap(),
            &[("node", "cn0002")],
            &[("servicenode", Some("sn3".into()))],
        )
        .unwrap();
    snap.commit().unwrap();
    let err = takeover::rollback(&mut db, 1, &meta("rollback 1"), &mut Record::default());
    match err {
        Err(TakeoverError::Conflict(m)) => {
            assert!(m.starts_with("cn0002: servicenode is now sn3"), "{m}")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(servicenode(&mut db, "cn0001").as_deref(), Some("sn2"));
}
