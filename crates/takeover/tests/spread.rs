//! Spreading on the sample cluster (300 nodes in 10 racks; sn1 serves racks 1, 4, 7 and 10 as
//! primary, 120 nodes; sn2 and sn3 serve 90 each): the balancer's destinations go into the plan,
//! and the loads end up even.

mod common;

use clusterdb::sample::SampleSpec;
use clusterdb::{tabio, ClusterDb, DbUrl, NoderangeEnv};
use common::Offline;
use std::collections::BTreeMap;
use takeover::{Plan, Request, RunMeta, TakeoverError, UnimplementedSteps};

fn sample() -> (tempfile::TempDir, ClusterDb) {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ClusterDb::open(&DbUrl::Sqlite(dir.path().join("c.db"))).unwrap();
    let snap = db.write().unwrap();
    for (t, csv) in SampleSpec::default().tables() {
        tabio::restore_into(&snap, t, &csv, false, t).unwrap();
    }
    snap.commit().unwrap();
    (dir, db)
}

fn plan(db: &mut ClusterDb, req: &Request) -> Result<Plan, TakeoverError> {
    let snap = db.read().unwrap();
    takeover::plan(&snap, req, &Offline, &NoderangeEnv::default())
}

fn from_sn1(f: impl FnOnce(&mut Request)) -> Request {
    let mut r = Request {
        source: Some("sn1".into()),
        offline: true,
        ..Default::default()
    };
    f(&mut r);
    r
}

fn to(plan: &Plan) -> BTreeMap<String, usize> {
    plan.destinations().into_iter().collect()
}

#[test]
fn spread_over_two_sns_evens_the_loads() {
    let (_d, mut db) = sample();
    let before = takeover::sn_loads(&db.read().unwrap()).unwrap();
    assert_eq!(before["sn1"], 120);
    let mut p = plan(
        &mut db,
        &from_sn1(|r| r.spread = vec!["sn2".into(), "sn3".into()]),
    )
    .unwrap();
    assert_eq!(to(&p), [("sn2".into(), 60), ("sn3".into(), 60)].into());
    // Each node's own servicenode list starts with its new SN, and its xcatmaster follows it.
    for n in &p.nodes {
        let sn = n.changes.iter().find(|c| c.attr == "servicenode").unwrap();
        assert!(sn.new.as_deref().unwrap().starts_with(&n.new_sn), "{n:?}");
        assert!(
            n.new_xm.ends_with(&n.new_sn[2..]),
            "{}: {}",
            n.node,
            n.new_xm
        );
    }
    // One set of service-node steps per destination.
    let dhcp: Vec<&str> = p
        .steps
        .iter()
        .filter(|s| s.kind == takeover::StepKind::Dhcp)
        .map(|s| s.sn.as_str())
        .collect();
    assert_eq!(dhcp, ["sn2", "sn3"]);
    takeover::apply(
        &mut db,
        &mut p,
        &RunMeta::default(),
        &mut UnimplementedSteps,
    )
    .unwrap();
    let after = takeover::sn_loads(&db.read().unwrap()).unwrap();
    assert_eq!(after.get("sn1"), None);
    assert_eq!((after["sn2"], after["sn3"]), (150, 150));
}

#[test]
fn spreading_is_deterministic() {
    let (_d, mut db) = sample();
    let req = from_sn1(|r| r.spread = vec!["sn3".into(), "sn2".into()]);
    let a = plan(&mut db, &req).unwrap();
    let b = plan(&mut db, &req).unwrap();
    let pairs = |p: &Plan| -> Vec<(String, String)> {
        p.nodes
            .iter()
            .map(|n| (n.node.clone(), n.new_sn.clone()))
            .collect()
    };
    assert_eq!(pairs(&a), pairs(&b));
}

#[test]
fn excluded_and_full_service_nodes() {
    let (_d, mut db) = sample();
    let p = plan(
        &mut db,
        &from_sn1(|r| {
            r.spread = vec!["sn2".into(), "sn3".into()];
            r.exclude = vec!["sn3".into()];
        }),
    )
    .unwrap();
    assert_eq!(to(&p), [("sn2".into(), 120)].into());

    // Twice sn3's capacity for sn2: filled in proportion, 200 and 100 in the end.
    let p = plan(
        &mut db,
        &from_sn1(|r| {
            r.spread = vec!["sn2".into(), "sn3".into()];
            r.capacity = [("sn3".into(), 100), ("sn2".into(), 200)].into();
        }),
    )
    .unwrap();
    assert_eq!(to(&p)["sn3"], 10);
    assert_eq!(to(&p)["sn2"], 110);
}

#[test]
fn pool_spreading_leaves_nodes_whose_pool_is_failing() {
    let (_d, mut db) = sample();
    // Every node of sn1 has the pool sn1,sn2: with sn2 failing, nothing can move.
    let err = plan(
        &mut db,
        &from_sn1(|r| {
            r.spread_pool = true;
            r.exclude = vec!["sn2".into()];
        }),
    )
    .unwrap_err();
    assert!(matches!(err, TakeoverError::Validation(_)), "{err}");
    assert!(
        err.to_string()
            .contains("cn0001: not moved: no service node of its pool is left to take it"),
        "{err}"
    );
    let p = plan(&mut db, &from_sn1(|r| r.spread_pool = true)).unwrap();
    assert_eq!(to(&p), [("sn2".into(), 120)].into());
}

#[test]
fn spread_with_dest_or_bad_names_is_refused() {
    let (_d, mut db) = sample();
    for (req, want) in [
        (
            from_sn1(|r| {
                r.spread = vec!["sn2".into()];
                r.dest = Some("sn3".into());
            }),
            "--spread and -d cannot be used together",
        ),
        (
            from_sn1(|r| r.spread = vec!["sn2;reboot".into()]),
            "'sn2;reboot' is not a valid service node name",
        ),
        (
            from_sn1(|r| r.spread = vec!["sn1".into()]),
            "Could not determine a backup service node for node cn0001",
        ),
    ] {
        let err = plan(&mut db, &req).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
}
