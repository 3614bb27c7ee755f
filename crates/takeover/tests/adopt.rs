//! `--adopt-address` in the journal: an adopted address is let go once every node using it is
//! re-pointed, or no longer the entry's to wait for (changed since, e.g. a dead node the
//! administrator moved elsewhere by hand): a resume then releases it instead of holding it for
//! a node that will never be re-pointed.

mod common;

use clusterdb::table;
use common::{meta, sample, Offline};
use takeover::journal::{self, StepState};
use takeover::{NodeOutcome, Plan, Request, Step, StepKind, StepResult, StepRunner};

/// Every step done, except the compute-node steps of `dead` (unreachable); records what ran.
#[derive(Default)]
struct Runner {
    dead: Option<String>,
    ran: Vec<StepKind>,
}

impl StepRunner for Runner {
    fn run(&mut self, _: &Plan, steps: &[Step]) -> Vec<StepResult> {
        steps
            .iter()
            .map(|s| {
                self.ran.push(s.kind);
                let cn = s.kind.side() == takeover::Side::Cn;
                let results = s
                    .nodes
                    .iter()
                    .map(|n| match (&self.dead, cn) {
                        (Some(d), true) if d == n => (n.clone(), NodeOutcome::unreachable("down")),
                        _ => (n.clone(), NodeOutcome::Done),
                    })
                    .collect::<std::collections::BTreeMap<_, _>>();
                let state = match results.values().all(NodeOutcome::is_done) {
                    true => StepState::Done,
                    false => StepState::Pending,
                };
                StepResult {
                    state,
                    detail: s.describe(),
                    results,
                }
            })
            .collect()
    }
}

fn state(db: &mut clusterdb::ClusterDb, kind: &str) -> StepState {
    let snap = db.read().unwrap();
    let (_, _, steps) = journal::load(&snap, 1).unwrap();
    steps.iter().find(|s| s.kind == kind).unwrap().state
}

#[test]
fn a_node_changed_by_hand_no_longer_keeps_the_address_adopted() {
    given_up("cn0001,cn0004", 2);
}

/// The same when that node was the address's only user: the release still runs (it is about
/// the address, not the node).
#[test]
fn the_last_user_changed_by_hand_still_lets_the_address_go() {
    given_up("cn0004", 1);
}

fn given_up(range: &str, users: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut db) = sample(&dir);
    let req = Request {
        noderange: Some(range.into()),
        dest: Some("sn3".into()),
        offline: true,
        adopt_address: true,
        ..Default::default()
    };
    let mut plan = {
        let snap = db.read().unwrap();
        takeover::plan(&snap, &req, &Offline, &Default::default()).unwrap()
    };
    let adopt = plan.steps.iter().find(|s| s.kind == StepKind::AdoptAddress);
    let using = &adopt.unwrap().nodes;
    assert_eq!(using.len(), users, "one old address: {using:?}");
    let mut r = Runner {
        dead: Some("cn0004".into()),
        ..Default::default()
    };
    takeover::apply(&mut db, &mut plan, &meta("snmove"), &mut r).unwrap();
    assert_eq!(state(&mut db, "release-address"), StepState::Pending);

    // Still unreachable: still held.
    takeover::resume(&mut db, 1, &mut r).unwrap();
    assert_eq!(state(&mut db, "release-address"), StepState::Pending);

    // The administrator gives the dead node up (moves it by hand): the address goes.
    let snap = db.write().unwrap();
    snap.tx()
        .update(
            table("noderes").unwrap(),
            &[("node", "cn0004")],
            &[("servicenode", Some("sn2".into()))],
        )
        .unwrap();
    snap.commit().unwrap();
    let mut r = Runner::default();
    takeover::resume(&mut db, 1, &mut r).unwrap();
    assert!(r.ran.contains(&StepKind::ReleaseAddress), "{:?}", r.ran);
    assert_eq!(state(&mut db, "release-address"), StepState::Done);
}
