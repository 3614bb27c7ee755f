//! The attribute-inheritance conformance corpus (expected values produced by xCAT's own
//! Table.pm), plus inheritance cases it does not cover: hierarchicalattrs, disabled nodes,
//! value expressions on group rows, one query for a whole noderange.

use clusterdb::backend::Value;
use clusterdb::{attrs, table, ClusterDb, DbUrl};
use serde_json::Value as Json;
use std::collections::BTreeMap;

fn fresh() -> (tempfile::TempDir, ClusterDb) {
    let dir = tempfile::tempdir().unwrap();
    let db = ClusterDb::open(&DbUrl::Sqlite(dir.path().join("c.db"))).unwrap();
    (dir, db)
}

/// Insert JSON rows (objects of column → value) into their tables, in one transaction.
fn load(db: &mut ClusterDb, tables: &serde_json::Map<String, Json>) {
    let snap = db.write().unwrap();
    for (t, rows) in tables {
        let spec = table(t).unwrap();
        for row in rows.as_array().unwrap() {
            let obj = row.as_object().unwrap();
            let cols: Vec<&str> = obj.keys().map(String::as_str).collect();
            let vals: Vec<Value> = obj
                .values()
                .map(|v| v.as_str().map(str::to_string))
                .collect();
            snap.tx().insert(spec, &cols, &vals).unwrap();
        }
    }
    snap.commit().unwrap();
}

#[test]
fn conformance_corpus() {
    let corpus: Vec<Json> =
        serde_json::from_str(include_str!("data/attribute-inheritance-examples.json")).unwrap();
    assert!(corpus.len() >= 7);
    let mut failures = Vec::new();
    for case in &corpus {
        let id = case["id"].as_str().unwrap();
        let (_dir, mut db) = fresh();
        load(&mut db, case["tables"].as_object().unwrap());
        let snap = db.read().unwrap();
        let spec = table(case["table"].as_str().unwrap()).unwrap();
        let node = case["node"].as_str().unwrap();
        let cols: Vec<&str> = case["attrs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let got = attrs::node_attribs(&snap, spec, node, &cols).unwrap();
        let got: BTreeMap<String, String> = got.into_iter().collect();
        // `null` (no row anywhere) and `{}` (rows, but nothing set) both mean: no value.
        let want: BTreeMap<String, String> = match &case["expect"] {
            Json::Null => BTreeMap::new(),
            Json::Object(m) => m
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect(),
            other => panic!("{id}: bad expect {other}"),
        };
        if got != want {
            failures.push(format!("{id}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn tables(json: &str) -> serde_json::Map<String, Json> {
    serde_json::from_str::<Json>(json)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

#[test]
fn hierarchicalattrs_concatenate_every_level() {
    let (_d, mut db) = fresh();
    load(
        &mut db,
        &tables(
            r#"{"site":[{"key":"hierarchicalattrs","value":"postscripts"}],
                "nodelist":[{"node":"n1","groups":"compute,all"}],
                "postscripts":[{"node":"n1","postscripts":"a,b"},{"node":"compute","postscripts":"b,c"},
                               {"node":"all","postscripts":"d","postbootscripts":"x"}]}"#,
        ),
    );
    let snap = db.read().unwrap();
    let got = attrs::node_attribs(
        &snap,
        table("postscripts").unwrap(),
        "n1",
        &["postscripts", "postbootscripts"],
    )
    .unwrap();
    assert_eq!(got["postscripts"], "a,b,c,d");
    // postbootscripts is not hierarchical: the first level that has it wins.
    assert_eq!(got.get("postbootscripts").map(String::as_str), Some("x"));
}

#[test]
fn expressions_on_group_rows_use_the_node_name() {
    let (_d, mut db) = fresh();
    load(
        &mut db,
        &tables(
            r#"{"nodelist":[{"node":"node12","groups":"compute"},{"node":"node7","groups":"compute"}],
                "hosts":[{"node":"compute","ip":"|node(\\d+)|10.0.0.($1+0)|"}],
                "ipmi":[{"node":"compute","bmc":"/\\z/-bmc/"}]}"#,
        ),
    );
    let snap = db.read().unwrap();
    let nodes = vec!["node12".to_string(), "node7".to_string()];
    let ips = attrs::nodes_attribs(&snap, table("hosts").unwrap(), &nodes, &["ip"]).unwrap();
    assert_eq!(ips["node12"][0].as_deref(), Some("10.0.0.12"));
    assert_eq!(ips["node7"][0].as_deref(), Some("10.0.0.7"));
    let bmc = attrs::node_attribs(&snap, table("ipmi").unwrap(), "node7", &["bmc"]).unwrap();
    assert_eq!(bmc["bmc"], "node7-bmc");
}

#[test]
fn nodelist_never_inherits_and_disabled_nodes_do_not_exist() {
    let (_d, mut db) = fresh();
    load(
        &mut db,
        &tables(
            r#"{"nodelist":[{"node":"n1","groups":"g"},{"node":"g","status":"booted"},{"node":"n2","groups":"g","disable":"1"}],
                "noderes":[{"node":"g","servicenode":"sn1"}]}"#,
        ),
    );
    let snap = db.read().unwrap();
    let st = attrs::node_attribs(&snap, table("nodelist").unwrap(), "n1", &["status"]).unwrap();
    assert!(st.is_empty(), "nodelist must not inherit: {st:?}");
    let idx = snap.index().unwrap();
    assert!(idx.contains("n1") && !idx.contains("n2"));
    let err = snap
        .noderange("n2", &Default::default())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Invalid nodes and/or groups in noderange: n2");
}

#[test]
fn unknown_column_is_an_error() {
    let (_d, mut db) = fresh();
    let snap = db.read().unwrap();
    let e = attrs::nodes_attribs(&snap, table("noderes").unwrap(), &[], &["nosuch"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "noderes.nosuch not a valid table.column description"
    );
}

#[test]
fn bad_expression_names_table_column_and_node() {
    let (_d, mut db) = fresh();
    load(
        &mut db,
        &tables(
            r#"{"nodelist":[{"node":"n1","groups":"g"}],"hosts":[{"node":"g","ip":"|n(\\d+|x|"}]}"#,
        ),
    );
    let snap = db.read().unwrap();
    let e = attrs::node_attribs(&snap, table("hosts").unwrap(), "n1", &["ip"])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("hosts") && e.contains("ip") && e.contains("n1"),
        "{e}"
    );
}

/// A node list large enough to be shared out over the cores: every node's values, in node
/// order, the same as read one node at a time; [`attrs::nodes_attribs_each`] hands each node
/// over once, in order.
#[test]
fn large_node_lists_read_in_parts_keep_node_order() {
    let (_d, mut db) = fresh();
    let nodes: Vec<String> = (1..=25_000).map(|i| format!("node{i:05}")).collect();
    {
        let snap = db.write().unwrap();
        let g = |s: &str| Some(s.to_string());
        snap.tx()
            .insert_keys(
                table("nodelist").unwrap(),
                "node",
                &nodes,
                &[("groups", g("compute"))],
            )
            .unwrap();
        let hosts = table("hosts").unwrap();
        let ip = g(r"|node(\d+)|10.0.($1/256).($1%256)|");
        snap.tx()
            .insert(hosts, &["node", "ip"], &[g("compute"), ip])
            .unwrap();
        snap.tx()
            .insert(hosts, &["node", "ip"], &[g("node00007"), g("192.168.0.7")])
            .unwrap();
        let noderes = table("noderes").unwrap();
        snap.tx()
            .insert(noderes, &["node", "servicenode"], &[g("compute"), g("sn1")])
            .unwrap();
        snap.commit().unwrap();
    }
    let snap = db.read().unwrap();
    let hosts = table("hosts").unwrap();
    let list = attrs::nodes_attribs_list(&snap, hosts, &nodes, &["ip"]).unwrap();
    assert_eq!(list.len(), nodes.len());
    for i in [0, 6, 12_499, 12_500, 24_999] {
        let one = attrs::node_attribs(&snap, hosts, &nodes[i], &["ip"]).unwrap();
        assert_eq!(list[i][0].as_ref(), one.get("ip"), "{}", nodes[i]);
    }
    assert_eq!(list[6][0].as_deref(), Some("192.168.0.7"));
    assert_eq!(list[24_999][0].as_deref(), Some("10.0.97.168"));
    let groups = attrs::groups_of(&snap, &nodes).unwrap();
    let mut seen = Vec::new();
    attrs::nodes_attribs_each(&snap, hosts, &nodes, &groups, &["ip"], |i, v| {
        assert_eq!(v[0].as_deref(), list[i][0].as_deref());
        seen.push(i);
    })
    .unwrap();
    assert!(seen.iter().copied().eq(0..nodes.len()));
    let sn = attrs::nodes_attribs_list(&snap, table("noderes").unwrap(), &nodes, &[]).unwrap();
    assert_eq!(sn.len(), nodes.len());
}
