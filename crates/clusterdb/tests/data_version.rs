//! The embedded SQLite store's data version: what lets a commit skip re-reading values it read
//! earlier on the same connection. It must change on any write in between, by this connection
//! or another one, and only then.

use clusterdb::{objects, table, ClusterDb, DbUrl};

fn set_os(db: &mut ClusterDb, node: &str, os: &str) {
    let snap = db.write().unwrap();
    objects::upsert(
        &mut **snap.tx(),
        table("nodetype").unwrap(),
        "node",
        node,
        &[("os", Some(os.into()))],
    )
    .unwrap();
    snap.commit().unwrap();
}

fn version(db: &mut ClusterDb) -> clusterdb::backend::DataVersion {
    db.read()
        .unwrap()
        .version()
        .expect("SQLite tells its data version")
}

#[test]
fn the_data_version_changes_on_every_commit_and_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let url = DbUrl::Sqlite(dir.path().join("c.db"));
    let mut a = ClusterDb::open(&url).unwrap();
    let mut b = ClusterDb::open(&url).unwrap();
    set_os(&mut a, "cn1", "rhels9");

    let v1 = version(&mut a);
    assert_eq!(version(&mut a), v1, "nothing written: the same version");
    let w = a.write().unwrap().version();
    assert_eq!(
        w,
        Some(v1),
        "a write transaction that has written nothing yet"
    );

    set_os(&mut b, "cn1", "rocky9");
    let v2 = version(&mut a);
    assert_ne!(v2, v1, "another connection committed");

    set_os(&mut a, "cn2", "rhels9");
    let v3 = version(&mut a);
    assert_ne!(v3, v2, "this connection committed");
    assert_eq!(version(&mut a), v3);

    // Another connection's version never equals this one's, whatever its numbers.
    let mut c = ClusterDb::open(&url).unwrap();
    assert_ne!(version(&mut c), v3);
}
