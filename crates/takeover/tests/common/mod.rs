//! Shared by the takeover tests: planning without a network, a sample cluster, a runner's
//! results.
#![allow(dead_code)] // each test file uses its own part

use clusterdb::sample::SampleSpec;
use clusterdb::{tabio, ClusterDb, DbUrl, NoderangeEnv};
use takeover::journal::StepState;
use takeover::{Plan, Request, RunMeta, Step, StepResult};

use std::net::IpAddr;

/// Resolves nothing and reaches no service node: plans use `--offline` addresses.
pub struct Offline;

impl takeover::Env for Offline {
    fn resolve_local(&self, _: &str) -> Option<IpAddr> {
        None
    }
    fn resolve_dns(&self, _: &str) -> Option<IpAddr> {
        None
    }
    fn sn_addresses(&self, sn: &str) -> Result<Vec<IpAddr>, String> {
        Err(format!("{sn}: offline test"))
    }
    fn address_holder(&self, sn: &str, _: &str) -> Result<Option<String>, String> {
        Err(format!("{sn}: offline"))
    }
}

/// A sample cluster of 12 nodes on 3 service nodes in SQLite.
pub fn sample(dir: &tempfile::TempDir) -> (DbUrl, ClusterDb) {
    let url = DbUrl::Sqlite(dir.path().join("c.db"));
    let mut db = ClusterDb::open(&url).unwrap();
    let snap = db.write().unwrap();
    let spec = SampleSpec {
        nodes: 12,
        racks: 2,
        sns: 3,
    };
    for (t, csv) in spec.tables() {
        tabio::restore_into(&snap, t, &csv, false, t).unwrap();
    }
    snap.commit().unwrap();
    (url, db)
}

pub fn request(range: &str, dest: &str) -> Request {
    Request {
        noderange: Some(range.into()),
        dest: Some(dest.into()),
        offline: true,
        ..Default::default()
    }
}

pub fn plan(db: &mut ClusterDb, range: &str, dest: &str) -> Plan {
    let snap = db.read().unwrap();
    takeover::plan(
        &snap,
        &request(range, dest),
        &Offline,
        &NoderangeEnv::default(),
    )
    .unwrap()
}

pub fn meta(command: &str) -> RunMeta {
    RunMeta {
        command: command.into(),
        ..RunMeta::default()
    }
}

/// The step done on every node.
pub fn done(s: &Step) -> StepResult {
    StepResult {
        state: StepState::Done,
        detail: s.describe(),
        results: s
            .nodes
            .iter()
            .map(|n| (n.clone(), takeover::NodeOutcome::Done))
            .collect(),
    }
}
