//! Copying a whole cluster database from one backend to another (`baton migrate`): every xCAT
//! table and baton's journal tables, every row (disabled ones too), auto-increment ids kept, in
//! ONE transaction on the target, from one snapshot of the source.

use crate::backend::{Filter, Row};
use crate::schema::{schema, TableSpec};
use crate::{ClusterDb, Error, Result, Snapshot};

/// Rows copied into one table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableCount {
    pub table: String,
    pub rows: usize,
}

fn all_rows(snap: &Snapshot<'_>, t: &TableSpec) -> Result<Vec<Row>> {
    if !snap.tx().table_exists(t)? {
        return Ok(Vec::new());
    }
    let cols: Vec<&str> = t.columns.iter().map(String::as_str).collect();
    snap.select(t, &cols, Filter::All)
}

fn count(snap: &Snapshot<'_>, t: &TableSpec) -> Result<usize> {
    if !snap.tx().table_exists(t)? {
        return Ok(0);
    }
    Ok(snap.select(t, &[t.columns[0].as_str()], Filter::All)?.len())
}

/// Row counts of every table (xCAT's, then baton's), disabled rows included.
pub fn counts(db: &mut ClusterDb) -> Result<Vec<TableCount>> {
    let snap = db.read()?;
    schema()
        .all_tables()
        .map(|t| {
            Ok(TableCount {
                table: t.name.clone(),
                rows: count(&snap, t)?,
            })
        })
        .collect()
}

/// Copy `from` into `to`. A target holding any row is refused unless `force` (then its rows
/// are replaced). The counts are checked inside the transaction and again after the commit.
pub fn migrate(from: &mut ClusterDb, to: &mut ClusterDb, force: bool) -> Result<Vec<TableCount>> {
    let target = to.describe();
    let src = from.read()?;
    let dst = to.write()?;
    let tables: Vec<&TableSpec> = schema().all_tables().collect();
    let mut nonempty = Vec::new();
    for t in &tables {
        let n = count(&dst, t)?;
        if n > 0 {
            nonempty.push(format!("{} ({n} rows)", t.name));
        }
    }
    if !nonempty.is_empty() {
        if !force {
            return Err(Error::Invalid(format!(
                "the target {target} is not empty: {}; use --force to replace its contents",
                nonempty.join(", ")
            )));
        }
        for t in &tables {
            if dst.tx().table_exists(t)? {
                dst.tx().delete_all(t)?;
            }
        }
    }
    let mut copied = Vec::new();
    for t in &tables {
        let rows = all_rows(&src, t)?;
        let cols: Vec<&str> = t.columns.iter().map(String::as_str).collect();
        let n = dst.tx().insert_rows(t, &cols, &rows)?;
        let have = count(&dst, t)?;
        if n != rows.len() || have != rows.len() {
            return Err(Error::Store(format!(
                "{}: {} rows read but {have} in the target; nothing was copied",
                t.name,
                rows.len()
            )));
        }
        copied.push(TableCount {
            table: t.name.clone(),
            rows: rows.len(),
        });
    }
    drop(src);
    dst.commit()?;
    let after = counts(to)?;
    for (want, got) in copied.iter().zip(&after) {
        if want != got {
            return Err(Error::Store(format!(
                "{}: {} rows copied but {} found after the commit",
                want.table, want.rows, got.rows
            )));
        }
    }
    Ok(copied)
}
