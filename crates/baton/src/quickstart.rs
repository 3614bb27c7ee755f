//! `baton quickstart`: a sample cluster to try baton on, and what to try next.

use crate::cli::QuickstartArgs;
use crate::exit::Failure;
use clusterdb::sample::SampleSpec;
use clusterdb::{tabio, ClusterDb, DbUrl, NoderangeEnv};

pub fn run(url: &DbUrl, a: QuickstartArgs) -> Result<(), Failure> {
    if a.nodes == 0 || a.nodes > 1_000_000 {
        return Err(Failure::usage("--nodes must be between 1 and 1000000"));
    }
    if a.racks == 0 || a.racks > a.nodes {
        return Err(Failure::usage(
            "--racks must be between 1 and the number of nodes",
        ));
    }
    let spec = SampleSpec {
        nodes: a.nodes,
        racks: a.racks,
        ..SampleSpec::default()
    };
    let mut db = ClusterDb::open(url)?;
    let snap = db.write()?;
    let has_nodes = !snap.index()?.nodes.is_empty();
    let is_sample = snap.site("baton-sample")?.as_deref() == Some("yes");
    if has_nodes && !is_sample && !a.force {
        return Err(Failure::usage(format!(
            "{} already holds a cluster that is not a baton sample; quickstart would replace its \
             tables. Use --db with another file, or --force.",
            db_describe(url)
        )));
    }
    // Start from empty tables (and journal), so nothing of an earlier sample remains.
    let tables = clusterdb::tabio::table_names().into_iter().chain([
        "baton_journal",
        "baton_journal_step",
        "baton_lease",
    ]);
    for table in tables {
        if table != "auditlog" && table != "eventlog" {
            snap.tx().delete_all(clusterdb::table(table)?)?;
        }
    }
    for (table, csv) in spec.tables() {
        tabio::restore_into(&snap, table, &csv, false, &format!("sample {table}.csv"))?;
    }
    snap.commit()?;

    let last = spec.node_name(spec.nodes);
    outln!("Created a sample cluster in {}:", db_describe(url));
    outln!(
        "  management node mn (10.0.0.254); service nodes sn1-sn{} (group service)",
        spec.sns
    );
    outln!(
        "  {} compute nodes {}-{} in {} racks (groups {}-{}, compute, all)",
        spec.nodes,
        spec.node_name(1),
        last,
        spec.racks,
        spec.rack_name(1),
        spec.rack_name(spec.racks)
    );
    outln!("  each rack is served by a pool of two service nodes (noderes.servicenode on the rack's row)");
    outln!("  node IPs come from a value expression on the compute row of the hosts table");
    if !a.no_demo {
        show_plan(&mut db)?;
    }
    outln!();
    outln!("Try next (the walk-through of README.md; the sample's service nodes do not exist,");
    outln!("so snmove plans from the addresses in the database with --offline, and the steps");
    outln!("on the nodes are skipped):");
    for line in walkthrough(&spec) {
        outln!("  {line}");
    }
    Ok(())
}

/// The commands README.md walks through on the sample, in order (tests run each of them).
fn walkthrough(spec: &SampleSpec) -> Vec<String> {
    let (rack1, rack2) = (spec.rack_name(1), spec.rack_name(2.min(spec.racks)));
    let node1 = spec.node_name(1);
    vec![
        format!("baton nodels {rack1}"),
        format!("baton nodels compute@{rack2} noderes.servicenode"),
        format!("baton lsdef {node1}"),
        format!("baton lsdef -t group {rack1}"),
        "baton snmove -s sn1 --offline --dry-run".to_string(),
        "baton snmove -s sn1 --offline --yes".to_string(),
        "baton journal 1".to_string(),
        format!("baton nodels {rack1} noderes.servicenode"),
        "baton rollback 1 --yes".to_string(),
    ]
}

/// The plan of a takeover of sn1's nodes (nothing changes).
fn show_plan(db: &mut ClusterDb) -> Result<(), Failure> {
    let req = takeover::Request {
        source: Some("sn1".into()),
        offline: true,
        ..Default::default()
    };
    let plan = {
        let snap = db.read()?;
        takeover::plan(&snap, &req, &NoNetwork, &NoderangeEnv::default())?
    };
    outln!();
    outln!(
        "A takeover of sn1's nodes, planned from the addresses in the database (nothing changes):"
    );
    outln!();
    outln!("$ baton snmove -s sn1 --offline --dry-run");
    out!("{}", takeover::report::plan_text(&plan));
    Ok(())
}

/// Resolution for the sample cluster: its names are in the hosts table only.
struct NoNetwork;

impl takeover::Env for NoNetwork {
    fn resolve_local(&self, _: &str) -> Option<std::net::IpAddr> {
        None
    }
    fn resolve_dns(&self, _: &str) -> Option<std::net::IpAddr> {
        None
    }
    fn sn_addresses(&self, sn: &str) -> Result<Vec<std::net::IpAddr>, String> {
        Err(format!("{sn} is a sample service node"))
    }
    fn address_holder(&self, sn: &str, _: &str) -> Result<Option<String>, String> {
        Err(format!("{sn} is a sample service node"))
    }
}

fn db_describe(url: &DbUrl) -> String {
    url.to_string()
}
