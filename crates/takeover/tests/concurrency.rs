//! Two takeovers planned from the same state: the first to commit wins, the second finds a
//! planned old value changed, names the node and attribute, and changes nothing.

mod common;

use clusterdb::sample::SampleSpec;
use clusterdb::{tabio, ClusterDb, DbUrl, NoderangeEnv};
use common::Offline;
use takeover::{Request, RunMeta, TakeoverError, UnimplementedSteps};

fn sample(nodes: usize) -> (tempfile::TempDir, ClusterDb) {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ClusterDb::open(&DbUrl::Sqlite(dir.path().join("c.db"))).unwrap();
    let snap = db.write().unwrap();
    for (t, csv) in (SampleSpec {
        nodes,
        racks: 2,
        sns: 3,
    })
    .tables()
    {
        tabio::restore_into(&snap, t, &csv, false, t).unwrap();
    }
    snap.commit().unwrap();
    (dir, db)
}

fn request(range: &str, dest: &str) -> Request {
    Request {
        noderange: Some(range.into()),
        dest: Some(dest.into()),
        offline: true,
        ..Default::default()
    }
}

#[test]
fn the_second_of_two_overlapping_plans_changes_nothing() {
    let (_d, mut db) = sample(40);
    let env = NoderangeEnv::default();
    let (mut a, mut b) = {
        let snap = db.read().unwrap();
        let a = takeover::plan(&snap, &request("rack01", "sn2"), &Offline, &env).unwrap();
        let b = takeover::plan(&snap, &request("cn0015-cn0025", "sn3"), &Offline, &env).unwrap();
        (a, b)
    };
    let before_b = {
        let snap = db.read().unwrap();
        tabio::tabdump(&snap, "noderes").unwrap()
    };
    takeover::apply(
        &mut db,
        &mut a,
        &RunMeta::default(),
        &mut UnimplementedSteps,
    )
    .unwrap();
    let after_a = {
        let snap = db.read().unwrap();
        tabio::tabdump(&snap, "noderes").unwrap()
    };
    assert_ne!(before_b, after_a);
    let err = takeover::apply(
        &mut db,
        &mut b,
        &RunMeta::default(),
        &mut UnimplementedSteps,
    )
    .unwrap_err();
    match err {
        TakeoverError::Conflict(msg) => {
            // The first overlapping node, and the attribute that moved under it.
            assert!(
                msg.starts_with("cn0015: ") && msg.contains(" changed since the plan was made ("),
                "{msg}"
            )
        }
        other => panic!("expected a conflict, got {other}"),
    }
    let snap = db.read().unwrap();
    assert_eq!(
        tabio::tabdump(&snap, "noderes").unwrap(),
        after_a,
        "the loser changed nothing"
    );
    assert_eq!(
        takeover::journal::list(&snap).unwrap().len(),
        1,
        "and left no journal entry"
    );
}

#[test]
fn an_edit_of_a_planned_statelite_row_aborts_the_move_and_changes_nothing() {
    use clusterdb::{attrs, objects, table};
    let (_d, mut db) = sample(10);
    let env = NoderangeEnv::default();
    let nodes: Vec<String> = {
        let snap = db.read().unwrap();
        snap.noderange("rack01", &env).unwrap()
    };
    {
        // rack01 is AIX, its persistent files on its service node (a literal statemnt).
        let snap = db.write().unwrap();
        let xm = attrs::node_attribs(&snap, table("noderes").unwrap(), &nodes[0], &["xcatmaster"])
            .unwrap()["xcatmaster"]
            .clone();
        {
            let mut tx = snap.tx();
            for n in &nodes {
                objects::upsert(
                    &mut **tx,
                    table("nodetype").unwrap(),
                    "node",
                    n,
                    &[("os", Some("AIX".into()))],
                )
                .unwrap();
            }
            objects::upsert(
                &mut **tx,
                table("statelite").unwrap(),
                "node",
                "rack01",
                &[("statemnt", Some(format!("{xm}:/statelite")))],
            )
            .unwrap();
        }
        snap.commit().unwrap();
    }
    let mut plan = {
        let snap = db.read().unwrap();
        takeover::plan(&snap, &request("rack01", "sn3"), &Offline, &env).unwrap()
    };
    assert!(plan.nodes.iter().all(|n| n
        .changes
        .iter()
        .any(|c| c.table == "statelite"
            && c.new.as_deref().is_some_and(|v| v.ends_with(":/statelite")))));
    // Someone re-points the statelite row meanwhile.
    {
        let snap = db.write().unwrap();
        objects::upsert(
            &mut **snap.tx(),
            table("statelite").unwrap(),
            "node",
            "rack01",
            &[("statemnt", Some("nfs9:/statelite".into()))],
        )
        .unwrap();
        snap.commit().unwrap();
    }
    let dump = |db: &mut ClusterDb| {
        let snap = db.read().unwrap();
        ["noderes", "statelite"].map(|t| tabio::tabdump(&snap, t).unwrap())
    };
    let before = dump(&mut db);
    let err = takeover::apply(
        &mut db,
        &mut plan,
        &RunMeta::default(),
        &mut UnimplementedSteps,
    )
    .unwrap_err();
    match err {
        TakeoverError::Conflict(msg) => assert!(
            msg.contains(": statemnt changed since the plan was made (")
                && msg.contains("nfs9:/statelite"),
            "{msg}"
        ),
        other => panic!("expected a conflict, got {other}"),
    }
    assert_eq!(dump(&mut db), before, "nothing changed");
}

/// The commit may skip re-reading the planned values only when the database provably did not
/// change; an edit through another connection between plan and commit must still be caught.
#[test]
fn an_edit_by_another_process_between_plan_and_commit_aborts_the_move() {
    use clusterdb::{objects, table};
    let (dir, mut db) = sample(20);
    let env = NoderangeEnv::default();
    let mut plan = {
        let snap = db.read().unwrap();
        takeover::plan(&snap, &request("rack01", "sn3"), &Offline, &env).unwrap()
    };
    let node = plan.nodes[3].node.clone();
    {
        let mut other = ClusterDb::open(&DbUrl::Sqlite(dir.path().join("c.db"))).unwrap();
        let snap = other.write().unwrap();
        objects::upsert(
            &mut **snap.tx(),
            table("noderes").unwrap(),
            "node",
            &node,
            &[("servicenode", Some("sn9".into()))],
        )
        .unwrap();
        snap.commit().unwrap();
    }
    let before = {
        let snap = db.read().unwrap();
        tabio::tabdump(&snap, "noderes").unwrap()
    };
    let err = takeover::apply(
        &mut db,
        &mut plan,
        &RunMeta::default(),
        &mut UnimplementedSteps,
    )
    .unwrap_err();
    match err {
        TakeoverError::Conflict(msg) => assert!(
            msg.starts_with(&format!(
                "{node}: servicenode changed since the plan was made ("
            )),
            "{msg}"
        ),
        other => panic!("expected a conflict, got {other}"),
    }
    let snap = db.read().unwrap();
    assert_eq!(tabio::tabdump(&snap, "noderes").unwrap(), before);
    assert!(takeover::journal::list(&snap).unwrap().is_empty());
}
