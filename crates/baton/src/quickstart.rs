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
    println!("Created a sample cluster in {}:", db_describe(url));
    println!(
        "  management node mn (10.0.0.254); service nodes sn1-sn{} (group service)",
        spec.sns
    );
    println!(
        "  {} compute nodes {}-{} in {} racks (groups {}-{}, compute, all)",
        spec.nodes,
        spec.node_name(1),
        last,
        spec.racks,
        spec.rack_name(1),
        spec.rack_name(spec.racks)
    );
    println!("  each rack is served by a pool of two service nodes (noderes.servicenode on the rack's row)");
    println!("  node IPs come from a value expression on the compute row of the hosts table");
    println!();
    println!("Try next:");
    println!("  baton nodels {}", spec.rack_name(1));
    println!(
        "  baton nodels compute@{} noderes.servicenode",
        spec.rack_name(2.min(spec.racks))
    );
    println!(
        "  baton lsdef {} -i servicenode,xcatmaster,conserver,ip,bmc",
        spec.node_name(1)
    );
    println!("  baton lsdef -t group {}", spec.rack_name(1));
    println!("  baton tabdump noderes");
    if a.no_demo {
        return Ok(());
    }
    demo(&mut db)
}

/// The takeover on the sample: the plan, the move (database only: the sample's service nodes do
/// not exist), and the journal.
fn demo(db: &mut ClusterDb) -> Result<(), Failure> {
    let req = takeover::Request {
        source: Some("sn1".into()),
        ignore_nodes: true,
        offline: true,
        ..Default::default()
    };
    let mut plan = {
        let snap = db.read()?;
        takeover::plan(&snap, &req, &NoNetwork, &NoderangeEnv::default())?
    };
    println!();
    println!("A takeover of sn1's nodes, planned from the addresses in the database:");
    println!();
    println!("$ baton snmove -s sn1 --dry-run --offline");
    print!("{}", takeover::report::plan_text(&plan));
    println!();
    println!("$ baton snmove -s sn1 -i --offline --yes");
    let meta = crate::snmove::run_meta(
        "snmove",
        None,
        &["-s".into(), "sn1".into(), "-i".into(), "--offline".into()],
    );
    let outcome = takeover::apply(db, &mut plan, &meta, &mut takeover::UnimplementedSteps)?;
    println!(
        "Journal entry {}: {} nodes switched in the database. The sample's service nodes do not exist,",
        outcome.journal_id,
        plan.nodes.len()
    );
    println!("so the service-node steps stay pending (a real run does them over ssh):");
    for (s, r) in &outcome.steps {
        println!("  {:>3}. [{}] {}", s.id, r.state.as_str(), s.describe());
    }
    println!();
    println!("$ baton journal");
    crate::journalcmds::journal_list(db, false)?;
    println!();
    println!("Then: baton journal {id}; baton rollback {id} --yes; baton nodels rack01 noderes.servicenode", id = outcome.journal_id);
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
}

fn db_describe(url: &DbUrl) -> String {
    url.to_string()
}
