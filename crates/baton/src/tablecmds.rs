//! init, tabdump, tabrestore.

use crate::cli::{TabdumpArgs, TabrestoreArgs};
use crate::exit::Failure;
use clusterdb::{tabio, ClusterDb, DbUrl};
use std::io::Write;

pub fn init(url: &DbUrl) -> Result<(), Failure> {
    let db = ClusterDb::open(url)?;
    outln!(
        "The cluster database {} has every xCAT table.",
        db.describe()
    );
    Ok(())
}

pub fn tabdump(url: &DbUrl, a: TabdumpArgs) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let Some(table) = a.table else {
        for t in tabio::table_names() {
            writeln!(out, "{t}")?;
        }
        return Ok(());
    };
    // Check the name before touching (and perhaps creating) the database.
    clusterdb::table(&table)?;
    let mut db = ClusterDb::open(url)?;
    let snap = db.read()?;
    out.write_all(tabio::tabdump(&snap, &table)?.as_bytes())?;
    Ok(())
}

pub fn tabrestore(url: &DbUrl, a: TabrestoreArgs) -> Result<(), Failure> {
    let table = tabio::table_for_file(&a.file)?;
    let text = std::fs::read_to_string(&a.file)
        .map_err(|e| Failure::usage(format!("{}: {e}", a.file.display())))?;
    let mut db = ClusterDb::open(url)?;
    let origin = a.file.display().to_string();
    tabio::tabrestore(&mut db, table, &text, a.add, &origin)?;
    Ok(())
}
