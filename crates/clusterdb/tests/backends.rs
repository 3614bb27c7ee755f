//! The database test suite on every backend: embedded SQLite, xCAT's SQLite directory,
//! PostgreSQL and MariaDB (servers started by `common`, or named by BATON_TEST_PG /
//! BATON_TEST_MYSQL). One test per backend runs every case in order, so that under nextest
//! (one process per test) each server is started once.

mod common;

use clusterdb::backend::{Filter, Value};
use clusterdb::sample::SampleSpec;
use clusterdb::{attrs, migrate, objects, tabio, table, ClusterDb, DbUrl};
use common::{Case, Kind, TestDb};
use serde_json::Value as Json;
use std::collections::BTreeMap;

const CASES: &[(&str, Case)] = &[
    ("conformance corpus", conformance_corpus),
    (
        "hierarchicalattrs",
        hierarchicalattrs_concatenate_every_level,
    ),
    (
        "expressions on group rows",
        expressions_on_group_rows_use_the_node_name,
    ),
    (
        "nodelist and disabled nodes",
        nodelist_never_inherits_and_disabled_nodes_do_not_exist,
    ),
    (
        "tabdump/tabrestore round trip",
        tabrestore_then_tabdump_round_trips,
    ),
    (
        "failed restore changes nothing",
        a_failed_restore_changes_nothing,
    ),
    ("key lists are one query", key_lists_of_any_size),
    ("one session lock holder", one_session_lock_holder),
    (
        "updates count matched rows",
        updates_count_rows_matched_not_changed,
    ),
    ("update by key list", update_by_key_list),
    ("insert by key list", insert_by_key_list),
    ("auto-increment ids", auto_increment_ids),
    ("concurrent writers serialize", concurrent_writers_serialize),
    (
        "write sees other commits",
        a_write_transaction_sees_what_others_committed,
    ),
    (
        "uncommitted is invisible",
        uncommitted_writes_are_invisible_and_dropped,
    ),
    ("chdef and lsdef", chdef_then_lsdef),
    ("xCAT's own layout", xcat_layout),
    ("cfgloc", cfgloc_opens_the_same_database),
    ("passwords never show", passwords_never_show),
    ("migrate there and back", migrate_there_and_back),
];

fn suite(kind: Kind) {
    common::run_cases(kind, CASES)
}

#[test]
fn sqlite() {
    suite(Kind::Sqlite)
}

#[test]
fn xcat_sqlite() {
    suite(Kind::XcatSqlite)
}

#[test]
fn postgres() {
    suite(Kind::Postgres)
}

#[test]
fn mysql() {
    suite(Kind::Mysql)
}

// ---- helpers ------------------------------------------------------------------------------

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

fn tables(json: &str) -> serde_json::Map<String, Json> {
    serde_json::from_str::<Json>(json)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

/// Empty every table (one transaction).
fn wipe(db: &mut ClusterDb) {
    let snap = db.write().unwrap();
    for t in tabio::table_names() {
        let spec = table(t).unwrap();
        if snap.tx().table_exists(spec).unwrap() {
            snap.tx().delete_all(spec).unwrap();
        }
    }
    snap.commit().unwrap();
}

fn sample(db: &mut ClusterDb, nodes: usize) {
    let snap = db.write().unwrap();
    for (t, csv) in (SampleSpec {
        nodes,
        racks: 4,
        sns: 3,
    })
    .tables()
    {
        tabio::restore_into(&snap, t, &csv, false, t).unwrap();
    }
    snap.commit().unwrap();
}

fn dump(db: &mut ClusterDb, t: &str) -> String {
    let snap = db.read().unwrap();
    tabio::tabdump(&snap, t).unwrap()
}

/// The header, then the records sorted: equal for the same rows in any order.
fn sorted(dump: &str) -> Vec<String> {
    let mut lines: Vec<String> = dump.lines().map(str::to_string).collect();
    lines[1..].sort();
    lines
}

/// What tabdump prints for an empty table.
fn header(t: &str) -> String {
    let cols: Vec<&str> = table(t)
        .unwrap()
        .columns
        .iter()
        .map(String::as_str)
        .collect();
    let mut s = String::new();
    tabcsv::write_header(&mut s, &cols);
    s
}

fn site(db: &mut ClusterDb, key: &str) -> Option<String> {
    db.read().unwrap().site(key).unwrap()
}

fn set_site(db: &mut ClusterDb, key: &str, value: &str) {
    let mut snap = db.write().unwrap();
    objects::set_site(&mut snap, &[(key.to_string(), value.to_string())]).unwrap();
    snap.commit().unwrap();
}

// ---- cases --------------------------------------------------------------------------------

fn conformance_corpus(t: &TestDb) {
    let corpus: Vec<Json> =
        serde_json::from_str(include_str!("data/attribute-inheritance-examples.json")).unwrap();
    let mut db = t.open();
    let mut failures = Vec::new();
    for case in &corpus {
        let id = case["id"].as_str().unwrap();
        wipe(&mut db);
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
        let got: BTreeMap<String, String> = attrs::node_attribs(&snap, spec, node, &cols)
            .unwrap()
            .into_iter()
            .collect();
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

fn hierarchicalattrs_concatenate_every_level(t: &TestDb) {
    let mut db = t.open();
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
    assert_eq!(got.get("postbootscripts").map(String::as_str), Some("x"));
}

fn expressions_on_group_rows_use_the_node_name(t: &TestDb) {
    let mut db = t.open();
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

fn nodelist_never_inherits_and_disabled_nodes_do_not_exist(t: &TestDb) {
    let mut db = t.open();
    load(
        &mut db,
        &tables(
            r#"{"nodelist":[{"node":"n1","groups":"g"},{"node":"g","status":"booted"},{"node":"n2","groups":"g","disable":"1"},
                            {"node":"n3","groups":"g","disable":"no"}],
                "noderes":[{"node":"g","servicenode":"sn1"},{"node":"n3","servicenode":"sn9","disable":"yes"}]}"#,
        ),
    );
    let snap = db.read().unwrap();
    let st = attrs::node_attribs(&snap, table("nodelist").unwrap(), "n1", &["status"]).unwrap();
    assert!(st.is_empty(), "nodelist must not inherit: {st:?}");
    let idx = snap.index().unwrap();
    assert!(idx.contains("n1") && !idx.contains("n2") && idx.contains("n3"));
    let sn = attrs::node_attribs(&snap, table("noderes").unwrap(), "n3", &["servicenode"]).unwrap();
    assert_eq!(sn["servicenode"], "sn1", "a disabled row gives no value");
    let err = snap
        .noderange("n2", &Default::default())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Invalid nodes and/or groups in noderange: n2");
}

fn tabrestore_then_tabdump_round_trips(t: &TestDb) {
    let mut db = t.open();
    let csv = "#node,groups,status,statustime,appstatus,appstatustime,primarysn,hidden,updatestatus,updatestatustime,zonename,comments,disable\n\
               \"n1\",\"compute,all\",,,,,,,,,,\"a \"\"quoted\"\" comment\",\n\
               \"n0\",\"\",,,,,,,,,,,\"1\"\n\
               \"g1\",\"all\",\"é ü\",,,,,,,,,,\n";
    tabio::tabrestore(&mut db, "nodelist", csv, false, "nodelist.csv").unwrap();
    let got = dump(&mut db, "nodelist");
    // tabdump writes '' unquoted, like NULL.
    let want = csv.replace("\"n0\",\"\",", "\"n0\",,");
    match t.kind {
        // SQLite keeps insertion (rowid) order, as xCAT's tabdump shows it.
        Kind::Sqlite | Kind::XcatSqlite => assert_eq!(got, want),
        // Servers return key order (see ddl::order_by); the bytes of each row are the same.
        _ => {
            assert_eq!(sorted(&got), sorted(&want));
            assert_eq!(
                got.lines().nth(1).unwrap(),
                "\"g1\",\"all\",\"é ü\",,,,,,,,,,"
            );
        }
    }
    // '' and NULL stay apart in the store.
    {
        let snap = db.read().unwrap();
        let rows = snap
            .select(
                table("nodelist").unwrap(),
                &["groups", "status"],
                Filter::All,
            )
            .unwrap();
        assert!(rows.contains(&vec![Some(String::new()), None]), "{rows:?}");
    }
    // Restoring what was dumped gives the same dump.
    tabio::tabrestore(&mut db, "nodelist", &got, false, "nodelist.csv").unwrap();
    assert_eq!(dump(&mut db, "nodelist"), got);
}

fn a_failed_restore_changes_nothing(t: &TestDb) {
    let mut db = t.open();
    sample(&mut db, 20);
    let before = dump(&mut db, "nodelist");
    let bad = "#node,groups\n\"x1\",\"all\"\n\"x1\",\"dup\"\n\"x2\",\"all\"\n";
    let e = tabio::tabrestore(&mut db, "nodelist", bad, false, "nodelist.csv")
        .unwrap_err()
        .to_string();
    assert!(e.contains("UNIQUE constraint failed: nodelist.node"), "{e}");
    assert!(
        e.contains("record 1: "),
        "the duplicate is named by its record: {e}"
    );
    assert_eq!(e.lines().count(), 1, "only the bad record is reported: {e}");
    assert_eq!(dump(&mut db, "nodelist"), before);
    // A NOT NULL column missing: the same message on every backend.
    let e = tabio::tabrestore(
        &mut db,
        "statelite",
        "#node,image\n\"n1\",\"img\"\n",
        true,
        "s.csv",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("NOT NULL constraint failed: statelite.statemnt"),
        "{e}"
    );
    // The connection is still usable for a good restore.
    tabio::tabrestore(
        &mut db,
        "nodelist",
        "#node,groups\n\"y1\",\"all\"\n",
        true,
        "n.csv",
    )
    .unwrap();
    assert!(dump(&mut db, "nodelist").contains("\"y1\",\"all\""));
}

fn key_lists_of_any_size(t: &TestDb) {
    let mut db = t.open();
    let n = 12_000;
    {
        let snap = db.write().unwrap();
        let spec = table("noderes").unwrap();
        let mut tx = snap.tx();
        for i in 0..n {
            let dis = (i % 1000 == 7).then(|| "1".to_string());
            tx.insert(
                spec,
                &["node", "servicenode", "disable"],
                &[Some(format!("k{i:05}")), Some(format!("sn{}", i % 3)), dis],
            )
            .unwrap();
        }
        drop(tx);
        snap.commit().unwrap();
    }
    let keys: Vec<String> = (0..n)
        .step_by(2)
        .map(|i| format!("k{i:05}"))
        .chain([
            "nosuch".to_string(),
            "k'; DROP TABLE noderes; --".to_string(),
        ])
        .collect();
    let snap = db.read().unwrap();
    let rows = snap
        .select(
            table("noderes").unwrap(),
            &["node", "servicenode"],
            Filter::In {
                column: "node",
                keys: &keys,
            },
        )
        .unwrap();
    // Every even key, minus the disabled ones (i % 1000 == 7 is odd: none are even).
    assert_eq!(rows.len(), n / 2);
    assert_eq!(rows[0][0].as_deref(), Some("k00000"));
    let eq = snap
        .select(
            table("noderes").unwrap(),
            &["servicenode"],
            Filter::Eq {
                column: "node",
                value: "k00007",
            },
        )
        .unwrap();
    assert!(eq.is_empty(), "k00007 is disabled");
    let all = snap
        .select(table("noderes").unwrap(), &["node"], Filter::All)
        .unwrap();
    assert_eq!(all.len(), n);
    let enabled = snap
        .select(table("noderes").unwrap(), &["node"], Filter::Enabled)
        .unwrap();
    assert_eq!(enabled.len(), n - n / 1000);
}

fn updates_count_rows_matched_not_changed(t: &TestDb) {
    let mut db = t.open();
    load(
        &mut db,
        &tables(r#"{"noderes":[{"node":"n1","servicenode":"sn1"}]}"#),
    );
    let snap = db.write().unwrap();
    let spec = table("noderes").unwrap();
    let n = snap
        .tx()
        .update(
            spec,
            &[("node", "n1")],
            &[("servicenode", Some("sn1".into()))],
        )
        .unwrap();
    assert_eq!(n, 1, "an update to the same value still matched the row");
    // So an upsert of an unchanged value does not try to insert a duplicate.
    objects::upsert(
        &mut **snap.tx(),
        spec,
        "node",
        "n1",
        &[("servicenode", Some("sn1".into()))],
    )
    .unwrap();
    objects::upsert(
        &mut **snap.tx(),
        spec,
        "node",
        "n2",
        &[("servicenode", Some("sn2".into()))],
    )
    .unwrap();
    assert_eq!(snap.tx().delete(spec, &[("node", "nosuch")]).unwrap(), 0);
    snap.commit().unwrap();
    assert_eq!(
        dump(&mut db, "noderes")
            .lines()
            .filter(|l| l.contains("\"sn"))
            .count(),
        2
    );
}

fn update_by_key_list(t: &TestDb) {
    let mut db = t.open();
    load(
        &mut db,
        &tables(
            r#"{"noderes":[{"node":"n1","servicenode":"sn1"},{"node":"n2","servicenode":"sn1","disable":"1"},{"node":"n3","servicenode":"sn1","xcatmaster":"m3"}]}"#,
        ),
    );
    let snap = db.write().unwrap();
    let spec = table("noderes").unwrap();
    // Many keys in one statement (more than any server's parameter limit), one of them absent;
    // disabled rows are written too, and the columns not set keep their values.
    let mut keys: Vec<String> = (4..70_000).map(|i| format!("absent{i}")).collect();
    keys.extend(["n1", "n2", "n3", "nosuch"].map(String::from));
    let set = [
        ("servicenode", Some("sn2,sn1".to_string())),
        ("tftpserver", None),
    ];
    assert_eq!(snap.tx().update_in(spec, "node", &keys, &set).unwrap(), 3);
    assert_eq!(snap.tx().update_in(spec, "node", &[], &set).unwrap(), 0);
    snap.commit().unwrap();
    let d = sorted(&dump(&mut db, "noderes"));
    assert_eq!(d.len(), 4, "{d:?}");
    assert!(d[1].starts_with("\"n1\",\"sn2,sn1\","), "{d:?}");
    assert!(d[2].starts_with("\"n2\",\"sn2,sn1\","), "{d:?}");
    assert!(
        d[3].starts_with("\"n3\",\"sn2,sn1\",,,,,,,,,,,\"m3\""),
        "{d:?}"
    );
}

fn insert_by_key_list(t: &TestDb) {
    let mut db = t.open();
    load(
        &mut db,
        &tables(r#"{"nodehm":[{"node":"n0","conserver":"sn1","serialspeed":"9600"}]}"#),
    );
    let spec = table("nodehm").unwrap();
    let keys: Vec<String> = (1..=30_000).map(|i| format!("n{i}")).collect();
    let set = [("conserver", Some("sn2".to_string())), ("mgt", None)];
    {
        let snap = db.write().unwrap();
        assert_eq!(
            snap.tx().insert_keys(spec, "node", &keys, &set).unwrap(),
            30_000
        );
        assert_eq!(snap.tx().insert_keys(spec, "node", &[], &set).unwrap(), 0);
        snap.commit().unwrap();
    }
    let d = sorted(&dump(&mut db, "nodehm"));
    assert_eq!(d.len(), 30_002, "the header, n0 and every key");
    let n0 = d
        .iter()
        .find(|l| l.starts_with("\"n0\","))
        .expect("n0 kept");
    assert!(n0.contains("\"sn1\"") && n0.contains("\"9600\""), "{n0}");
    for k in ["n1", "n29999", "n30000"] {
        let line = d
            .iter()
            .find(|l| l.starts_with(&format!("\"{k}\",")))
            .unwrap_or_else(|| panic!("{k} missing"));
        assert!(line.contains("\"sn2\""), "{line}");
        assert!(!line.contains("9600"), "{line}");
    }
    // A key that exists already: the whole call fails and the transaction is not committed.
    let snap = db.write().unwrap();
    let err = snap
        .tx()
        .insert_keys(spec, "node", &["n5".to_string()], &set)
        .unwrap_err();
    assert!(err.to_string().contains("nodehm"), "{err}");
}

fn auto_increment_ids(t: &TestDb) {
    let mut db = t.open();
    let spec = table("auditlog").unwrap();
    let snap = db.write().unwrap();
    let a = snap
        .tx()
        .insert_returning_id(
            spec,
            &["userid", "command"],
            &[Some("root".into()), Some("a".into())],
        )
        .unwrap();
    let b = snap
        .tx()
        .insert_returning_id(
            spec,
            &["userid", "command"],
            &[Some("root".into()), Some("b".into())],
        )
        .unwrap();
    assert!(b > a && a >= 1, "{a} {b}");
    // Rows copied with their ids keep them, and the counter continues after them.
    snap.tx()
        .insert_rows(
            spec,
            &["recid", "command"],
            &[vec![Some("100".into()), Some("c".into())]],
        )
        .unwrap();
    let c = snap
        .tx()
        .insert_returning_id(spec, &["command"], &[Some("d".into())])
        .unwrap();
    assert_eq!(c, 101);
    // A key on the integer column.
    let rows = snap
        .select(
            spec,
            &["recid", "command"],
            Filter::Eq {
                column: "recid",
                value: "100",
            },
        )
        .unwrap();
    assert_eq!(rows, vec![vec![Some("100".into()), Some("c".into())]]);
    let n = snap
        .tx()
        .update(
            spec,
            &[("recid", &c.to_string())],
            &[("status", Some("ok".into()))],
        )
        .unwrap();
    assert_eq!(n, 1);
    snap.commit().unwrap();
    let d = dump(&mut db, "auditlog");
    let ids: Vec<&str> = d
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            &*format!("\"{a}\""),
            &*format!("\"{b}\""),
            "\"100\"",
            "\"101\""
        ]
    );
}

/// Writers that read a value and write it back plus one lose no increment: write
/// transactions serialize, and each reads what the one before committed.
fn concurrent_writers_serialize(t: &TestDb) {
    let mut db = t.open();
    set_site(&mut db, "counter", "0");
    let url = t.db_url();
    let (threads, rounds) = (4, 8);
    std::thread::scope(|s| {
        for _ in 0..threads {
            let url = url.clone();
            s.spawn(move || {
                let mut db = ClusterDb::open(&url).unwrap();
                for _ in 0..rounds {
                    let mut snap = db.write().unwrap();
                    let v: u64 = snap.site("counter").unwrap().unwrap().parse().unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    objects::set_site(&mut snap, &[("counter".into(), (v + 1).to_string())])
                        .unwrap();
                    snap.commit().unwrap();
                }
            });
        }
    });
    assert_eq!(
        site(&mut db, "counter"),
        Some((threads * rounds).to_string())
    );
}

fn a_write_transaction_sees_what_others_committed(t: &TestDb) {
    let mut a = t.open();
    let mut b = t.open();
    set_site(&mut a, "k", "1");
    std::thread::scope(|s| {
        let snap = b.read().unwrap();
        assert_eq!(snap.site("k").unwrap().as_deref(), Some("1"));
        // Another writer commits meanwhile (in xCAT's SQLite layout it waits for the reader:
        // a rollback journal lets no writer commit under a reader).
        let writer = s.spawn(|| set_site(&mut a, "k", "2"));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let again = snap
            .select(
                table("site").unwrap(),
                &["value"],
                Filter::Eq {
                    column: "key",
                    value: "k",
                },
            )
            .unwrap();
        assert_eq!(
            again,
            vec![vec![Some("1".into())]],
            "one snapshot per read transaction"
        );
        drop(snap);
        writer.join().unwrap();
    });
    // The next write transaction sees the commit.
    let snap = b.write().unwrap();
    assert_eq!(snap.site("k").unwrap().as_deref(), Some("2"));
}

fn uncommitted_writes_are_invisible_and_dropped(t: &TestDb) {
    let mut a = t.open();
    let mut b = t.open();
    set_site(&mut a, "k", "1");
    {
        let mut snap = a.write().unwrap();
        objects::set_site(&mut snap, &[("k".into(), "2".into())]).unwrap();
        snap.tx()
            .insert(
                table("nodelist").unwrap(),
                &["node"],
                &[Some("ghost".into())],
            )
            .unwrap();
        // dropped without commit
    }
    assert_eq!(site(&mut b, "k").as_deref(), Some("1"));
    assert!(!dump(&mut b, "nodelist").contains("ghost"));
}

fn chdef_then_lsdef(t: &TestDb) {
    let mut db = t.open();
    sample(&mut db, 40);
    {
        let snap = db.read().unwrap();
        let n = snap.noderange("compute", &Default::default()).unwrap();
        assert_eq!(n.len(), 40);
        let a = objects::node_attrs(&snap, &["cn0001".to_string()], None).unwrap();
        let a = &a["cn0001"];
        assert_eq!(a.get("servicenode").map(String::as_str), Some("sn1,sn2"));
        assert_eq!(a.get("ip").map(String::as_str), Some("10.64.0.1"));
    }
    let mut snap = db.write().unwrap();
    let assigns = objects::parse_assignments(&["servicenode=sn3".to_string()]).unwrap();
    objects::set_node_attrs(
        &mut snap,
        &["cn0002".to_string()],
        &assigns,
        objects::Mode::Replace,
        false,
    )
    .unwrap();
    snap.commit().unwrap();
    let snap = db.read().unwrap();
    let want = ["servicenode".to_string()];
    let a = objects::node_attrs(&snap, &["cn0002".to_string()], Some(&want)).unwrap();
    assert_eq!(
        a["cn0002"].get("servicenode").map(String::as_str),
        Some("sn3")
    );
}

/// Only on xCAT's SQLite directory: a file per table, mode 0600, xCAT's DDL, rollback
/// journal; old files read with their missing columns NULL and get them on a write.
fn xcat_layout(t: &TestDb) {
    match t.kind {
        Kind::Sqlite => return,
        Kind::Postgres | Kind::Mysql => return server_schema_is_xcats(t),
        Kind::XcatSqlite => {}
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = t.dir.path().join("xcat");
    let mut db = t.open();
    // Reads create nothing.
    assert_eq!(dump(&mut db, "noderes"), header("noderes"));
    assert!(!dir.join("noderes.sqlite").exists());
    // An old nodelist file: fewer columns, and one xCAT dropped since.
    {
        let c = rusqlite::Connection::open(dir.join("nodelist.sqlite")).unwrap();
        c.execute_batch(
            "CREATE TABLE nodelist (node VARCHAR(128), groups TEXT, oldcol TEXT, comments TEXT, disable TEXT, PRIMARY KEY (node));
             INSERT INTO nodelist VALUES ('n1','all','x',NULL,NULL);",
        )
        .unwrap();
    }
    assert_eq!(
        dump(&mut db, "nodelist"),
        format!("{}\"n1\",\"all\",,,,,,,,,,,\n", header("nodelist"))
    );
    load(
        &mut db,
        &tables(
            r#"{"noderes":[{"node":"n1","servicenode":"sn1"}],"nodelist":[{"node":"n2","status":"booted"}]}"#,
        ),
    );
    let f = dir.join("noderes.sqlite");
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let c = rusqlite::Connection::open(&f).unwrap();
    let ddl: String = c
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name='noderes'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        ddl.starts_with("CREATE TABLE noderes ( node VARCHAR(128) , servicenode TEXT,"),
        "{ddl}"
    );
    let tables: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type='table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1, "one table per file");
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "xCAT's files stay in rollback-journal mode");
    // The write added nodelist's missing columns and kept the extra one.
    let n = rusqlite::Connection::open(dir.join("nodelist.sqlite")).unwrap();
    let cols: Vec<String> = n
        .prepare("PRAGMA table_info(nodelist)")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(1))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(cols.contains(&"oldcol".to_string()) && cols.contains(&"status".to_string()));
    assert!(dump(&mut db, "nodelist").contains("\"n2\",,\"booted\""));
}

/// On a server: xCAT's names and types.
fn server_schema_is_xcats(t: &TestDb) {
    let db = t.open();
    drop(db);
    let name = t.url.rsplit('/').next().unwrap().to_string();
    let q = match t.kind {
        Kind::Postgres => {
            let mut c = postgres::Client::connect(&t.url, postgres::NoTls).unwrap();
            let rows = c
                .query(
                    "SELECT table_name::text, column_name::text, data_type::text, \
                     COALESCE(character_maximum_length, 0)::int, is_nullable::text, \
                     COALESCE(column_default, '')::text \
                     FROM information_schema.columns WHERE table_schema = current_schema() \
                     AND table_name IN ('noderes','auditlog','statelite','site') \
                     ORDER BY table_name, ordinal_position",
                    &[],
                )
                .unwrap();
            rows.iter()
                .map(|r| {
                    format!(
                        "{}.{} {} {} {} {}",
                        r.get::<_, String>(0),
                        r.get::<_, String>(1),
                        r.get::<_, String>(2),
                        r.get::<_, i32>(3),
                        r.get::<_, String>(4),
                        r.get::<_, String>(5).split('(').next().unwrap()
                    )
                })
                .collect::<Vec<_>>()
        }
        Kind::Mysql => {
            use mysql::prelude::Queryable;
            let mut c = mysql::Conn::new(mysql::Opts::from_url(&t.url).unwrap()).unwrap();
            let rows: Vec<(String, String, String, String, String)> = c
                .exec(
                    "SELECT CAST(table_name AS CHAR), CAST(column_name AS CHAR), \
                     CAST(column_type AS CHAR), CAST(is_nullable AS CHAR), CAST(extra AS CHAR) \
                     FROM information_schema.columns WHERE table_schema = ? \
                     AND table_name IN ('noderes','auditlog','statelite','site') \
                     ORDER BY table_name, ordinal_position",
                    (name.as_str(),),
                )
                .unwrap();
            rows.into_iter()
                .map(|(t, c, ty, n, x)| format!("{t}.{c} {ty} {n} {x}").trim().to_string())
                .collect()
        }
        _ => unreachable!(),
    };
    let has = |s: &str| assert!(q.iter().any(|l| l == s), "no '{s}' in\n{}", q.join("\n"));
    match t.kind {
        Kind::Postgres => {
            has("auditlog.recid integer 0 NO nextval");
            has("auditlog.audittime text 0 YES ");
            has("noderes.node character varying 128 NO ");
            has("noderes.servicenode text 0 YES ");
            has("site.key character varying 128 NO ");
            has("statelite.statemnt text 0 NO ");
            has("statelite.disable text 0 YES ");
        }
        _ => {
            has("auditlog.recid int(11) NO auto_increment");
            has("noderes.node varchar(128) NO");
            has("noderes.servicenode text YES");
            has("site.value text YES");
            has("statelite.statemnt text NO");
        }
    }
    assert_eq!(
        q.iter().filter(|l| l.starts_with("noderes.")).count(),
        table("noderes").unwrap().columns.len()
    );
}

fn cfgloc_opens_the_same_database(t: &TestDb) {
    let mut db = t.open();
    set_site(&mut db, "domain", "cluster.example");
    let line = match t.kind {
        Kind::Sqlite => return,
        Kind::XcatSqlite => format!("SQLite:{}", t.dir.path().join("xcat").display()),
        Kind::Postgres | Kind::Mysql => {
            let p = clusterdb::conninfo::parse_server_url(&t.url).unwrap();
            format!(
                "{}:dbname={};host={};port={}|{}|{}",
                if t.kind == Kind::Postgres {
                    "Pg"
                } else {
                    "mysql"
                },
                p.dbname,
                p.host.unwrap(),
                p.port.unwrap(),
                p.user.unwrap(),
                p.password.expose().unwrap_or("")
            )
        }
    };
    let cfg = t.dir.path().join("cfgloc");
    std::fs::write(&cfg, format!("{line}\n")).unwrap();
    let url = DbUrl::parse(&format!("xcat-cfgloc:{}", cfg.display())).unwrap();
    let mut via = ClusterDb::open(&url).unwrap();
    assert_eq!(site(&mut via, "domain").as_deref(), Some("cluster.example"));
    if let Some(pw) = t.password() {
        assert!(!via.describe().contains(&pw), "{}", via.describe());
        assert!(!format!("{url:?} {url}").contains(&pw));
    }
}

fn passwords_never_show(t: &TestDb) {
    let Some(pw) = t.password() else { return };
    let db = t.open();
    assert!(!db.describe().contains(&pw), "{}", db.describe());
    let url = t.db_url();
    assert!(!format!("{url} {url:?}").contains(&pw));
    // A wrong password: the error names the server, not the password tried.
    let wrong = t.url.replace(&format!(":{pw}@"), ":Wr0ngPassw0rd@");
    let e = ClusterDb::open(&DbUrl::parse(&wrong).unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(!e.contains("Wr0ngPassw0rd") && !e.contains(&pw), "{e}");
    assert!(e.contains("cannot connect"), "{e}");
    // Through a cfgloc, too.
    let p = clusterdb::conninfo::parse_server_url(&wrong).unwrap();
    let line = format!(
        "{}:dbname={};host={};port={}|{}|Wr0ngPassw0rd",
        if t.kind == Kind::Postgres {
            "Pg"
        } else {
            "mysql"
        },
        p.dbname,
        p.host.unwrap(),
        p.port.unwrap(),
        p.user.unwrap()
    );
    let cfg = t.dir.path().join("cfgloc.bad");
    std::fs::write(&cfg, line).unwrap();
    let e = ClusterDb::open(&DbUrl::parse(&format!("xcat-cfgloc:{}", cfg.display())).unwrap())
        .err()
        .unwrap();
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("Wr0ngPassw0rd"), "{shown}");
}

/// sqlite → this backend → a fresh sqlite: every row, disabled ones and ids included.
fn migrate_there_and_back(t: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let src_url = DbUrl::Sqlite(dir.path().join("src.db"));
    let mut src = ClusterDb::open(&src_url).unwrap();
    sample(&mut src, 50);
    load(
        &mut src,
        &tables(r#"{"nodelist":[{"node":"off1","groups":"all","disable":"1"}]}"#),
    );
    let id = {
        let snap = src.write().unwrap();
        let spec = table("baton_journal").unwrap();
        snap.tx()
            .insert_returning_id(spec, &["state"], &[Some("done".into())])
            .unwrap();
        snap.tx().delete(spec, &[("id", "1")]).unwrap();
        let id = snap
            .tx()
            .insert_returning_id(spec, &["state"], &[Some("x".into())])
            .unwrap();
        snap.commit().unwrap();
        id
    };
    assert_eq!(id, 2);
    let mut mid = t.open();
    let copied = migrate::migrate(&mut src, &mut mid, false).unwrap();
    let nodelist = copied.iter().find(|c| c.table == "nodelist").unwrap();
    assert_eq!(
        nodelist.rows, 55,
        "50 compute nodes, 3 SNs, the MN and a disabled node"
    );
    assert_eq!(migrate::counts(&mut mid).unwrap(), copied);
    // A non-empty target is refused without --force.
    let e = migrate::migrate(&mut src, &mut mid, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not empty") && e.contains("--force"), "{e}");
    migrate::migrate(&mut src, &mut mid, true).unwrap();
    // Back into a fresh embedded file: byte-identical dumps.
    let back_url = DbUrl::Sqlite(dir.path().join("back.db"));
    let mut back = ClusterDb::open(&back_url).unwrap();
    migrate::migrate(&mut mid, &mut back, false).unwrap();
    for tname in ["nodelist", "noderes", "hosts", "site", "baton_journal"] {
        let a = dump(&mut src, tname);
        let b = dump(&mut back, tname);
        assert_eq!(sorted(&a), sorted(&b), "{tname}");
    }
    assert!(dump(&mut back, "nodelist").contains("\"off1\",\"all\""));
    let j = dump(&mut back, "baton_journal");
    assert!(j.lines().nth(1).unwrap().starts_with("\"2\","), "{j}");
}

/// The single-watcher lock: a second session is refused while the first lives, and gets it
/// once the first is gone (PostgreSQL advisory lock, MySQL GET_LOCK, flock for SQLite files).
fn one_session_lock_holder(t: &TestDb) {
    let url = t.db_url();
    let first = clusterdb::lock::try_session_lock(&url, "watch")
        .unwrap()
        .expect("the first session gets the lock");
    assert!(
        clusterdb::lock::try_session_lock(&url, "watch")
            .unwrap()
            .is_none(),
        "a second session is refused: {}",
        first.describe
    );
    let other = clusterdb::lock::try_session_lock(&url, "other").unwrap();
    assert!(other.is_some(), "another name is another lock");
    drop(first);
    assert!(clusterdb::lock::try_session_lock(&url, "watch")
        .unwrap()
        .is_some());
}
