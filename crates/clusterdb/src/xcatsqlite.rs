//! xCAT's own SQLite layout (`SQLite:/etc/xcat` in cfgloc): one database file per table,
//! `<DIR>/<table>.sqlite`, each holding one table of that name. baton works on the files in
//! place, beside a running xCAT:
//!
//! - a missing file is an empty table: reads find no rows (and [`Tx::table_exists`] says no),
//!   the first write creates it, with mode 0600 (xCAT's umask 0077) and xCAT's DDL;
//! - a file lacking columns of the schema reads them as NULL; a write transaction adds them
//!   (`ALTER TABLE ... ADD COLUMN`, as xCAT's updateschema); extra columns are ignored;
//! - the journal mode of xCAT's files is left as it is (rollback journal, which xCAT's
//!   DBD::SQLite expects); baton never switches a file to WAL.
//!
//! Transactions span files with one connection per file. (ATTACH would put them under one
//! transaction, but SQLite refuses ATTACH inside a transaction, so tables cannot be attached
//! as a transaction reaches them, and attaching all 75 exceeds the bundled SQLite's
//! SQLITE_MAX_ATTACHED of 10.) The file of baton's journal table, `baton_journal.sqlite`,
//! serves as baton's lock:
//!
//! - a write transaction first takes it `BEGIN EXCLUSIVE`, then every file it touches (read
//!   or written) `BEGIN EXCLUSIVE` too: baton writers queue one behind the other, and nobody
//!   (xCAT included) changes a file the transaction has read until it ends;
//! - a read transaction first takes a shared lock on it (waiting for a baton writer to end),
//!   then reads each file in a deferred transaction: it sees no baton write half-done. Writes
//!   by xCAT itself, one file at a time, can still be seen in one file and not yet in another,
//!   as with xCAT's own commands;
//! - commit: every file but the lock file is committed, then the lock file (so the journal
//!   entry of a takeover is committed last). An error before the commit leaves every file
//!   unchanged. The commit itself is one SQLite commit per file: the files are already locked
//!   exclusively, so no reader can make one fail, but a crash or an I/O error in the middle of
//!   the sequence can leave the files committed so far changed and the others not. xCAT's own
//!   commands have the same property (they commit table by table).

use crate::backend::{Backend, Filter, Row, Tx, Value};
use crate::ddl::{self, Dialect};
use crate::schema::TableSpec;
use crate::sqlite::{
    delete_on, filter_clause, insert_keys_on, insert_rows_on, read_rows, row_count_on, sql,
    update_in_on, update_on,
};
use crate::{Error, Result};
use rusqlite::{params_from_iter, Connection, OpenFlags};
use std::collections::{HashMap, HashSet};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const D: Dialect = Dialect::XcatSqlite;
/// The file whose lock serializes baton's transactions: baton's own journal table.
const LOCK_TABLE: &str = "baton_journal";

pub struct XcatSqliteBackend {
    dir: PathBuf,
    conns: HashMap<String, Connection>,
}

impl XcatSqliteBackend {
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.exists() {
            crate::files::private_dir(dir)?;
        } else if !dir.is_dir() {
            return Err(Error::Store(format!(
                "xcat-sqlite:{}: not a directory",
                dir.display()
            )));
        }
        Ok(XcatSqliteBackend {
            dir: dir.to_path_buf(),
            conns: HashMap::new(),
        })
    }

    /// The file of a table.
    pub fn file(&self, table: &str) -> PathBuf {
        self.dir.join(format!("{table}.sqlite"))
    }
}

impl Backend for XcatSqliteBackend {
    fn describe(&self) -> String {
        format!("xcat-sqlite:{}", self.dir.display())
    }

    /// Nothing up front: xCAT creates a table's file on first use, and so does baton (in the
    /// first write transaction that touches it).
    fn ensure_schema(&mut self) -> Result<()> {
        Ok(())
    }

    fn begin(&mut self, write: bool) -> Result<Box<dyn Tx + '_>> {
        let mut tx = XTx {
            dir: &self.dir,
            conns: &mut self.conns,
            write,
            open: Vec::new(),
            cols: HashMap::new(),
            done: false,
        };
        let lock = crate::table(LOCK_TABLE)?;
        tx.touch(lock)?;
        let opened = tx.open.iter().any(|t| t == LOCK_TABLE);
        if !write && opened {
            // Take the shared lock now (a deferred transaction takes it at its first read) and
            // hold it to the end: no baton writer commits while this reader reads.
            tx.conns[LOCK_TABLE]
                .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
                .map_err(|e| file_err(tx.dir, LOCK_TABLE, e))?;
        }
        Ok(Box::new(tx))
    }
}

fn file_err(dir: &Path, table: &str, e: rusqlite::Error) -> Error {
    Error::Store(format!("{}/{table}.sqlite: {e}", dir.display()))
}

struct XTx<'a> {
    dir: &'a Path,
    conns: &'a mut HashMap<String, Connection>,
    write: bool,
    /// Tables whose file is in this transaction, in the order they were reached.
    open: Vec<String>,
    /// The columns each table's file has; `None`: no file (read transactions only).
    cols: HashMap<String, Option<HashSet<String>>>,
    done: bool,
}

fn open_conn(path: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(Duration::from_secs(30))?;
    Ok(c)
}

fn table_columns(c: &Connection, table: &str) -> rusqlite::Result<HashSet<String>> {
    let mut st = c.prepare(&format!("PRAGMA table_info({})", ddl::quote(D, table)))?;
    let rows = st.query_map([], |r| r.get::<_, String>(1))?;
    rows.collect()
}

impl XTx<'_> {
    /// Bring the table's file into the transaction (creating it in a write transaction).
    fn touch(&mut self, t: &TableSpec) -> Result<()> {
        if self.cols.contains_key(&t.name) {
            return Ok(());
        }
        let path = self.dir.join(format!("{}.sqlite", t.name));
        let e = |err| file_err(self.dir, &t.name, err);
        if !path.exists() {
            if !self.write {
                self.cols.insert(t.name.clone(), None);
                return Ok(());
            }
            // xCAT creates table files with umask 0077.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(_) => {}
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(err) => {
                    return Err(Error::Store(format!(
                        "cannot create {}: {err}",
                        path.display()
                    )))
                }
            }
        }
        if !self.conns.contains_key(&t.name) {
            let c = open_conn(&path).map_err(e)?;
            self.conns.insert(t.name.clone(), c);
        }
        let c = &self.conns[&t.name];
        let begin = if self.write {
            "BEGIN EXCLUSIVE"
        } else {
            "BEGIN DEFERRED"
        };
        c.execute_batch(begin).map_err(e)?;
        self.open.push(t.name.clone());
        let mut have = table_columns(c, &t.name).map_err(e)?;
        if self.write {
            if have.is_empty() {
                // A new (or empty) file: xCAT's CREATE TABLE, bare column names; quoted if
                // this SQLite cannot take one of them bare.
                if c.execute_batch(&ddl::create_table(D, t, false)).is_err() {
                    c.execute_batch(&ddl::create_table(D, t, true)).map_err(e)?;
                }
            } else {
                for col in t.columns.iter().filter(|col| !have.contains(*col)) {
                    c.execute_batch(&format!(
                        "ALTER TABLE {} ADD COLUMN {} TEXT",
                        ddl::quote(D, &t.name),
                        ddl::quote(D, col)
                    ))
                    .map_err(e)?;
                }
            }
            have = table_columns(c, &t.name).map_err(e)?;
        }
        let exists = !have.is_empty();
        self.cols.insert(t.name.clone(), exists.then_some(have));
        Ok(())
    }

    /// The connection and column set of a table present in the store, or None.
    fn file(&mut self, t: &TableSpec) -> Result<Option<(&Connection, &HashSet<String>)>> {
        self.touch(t)?;
        match self.cols.get(&t.name) {
            Some(Some(cols)) => Ok(Some((&self.conns[&t.name], cols))),
            _ => Ok(None),
        }
    }

    /// The connection of a table for writing (a write transaction always has the file).
    fn file_for_write(&mut self, t: &TableSpec) -> Result<&Connection> {
        if !self.write {
            return Err(Error::Store(format!(
                "{}: write in a read transaction",
                t.name
            )));
        }
        match self.file(t)? {
            Some((c, _)) => Ok(c),
            None => Err(Error::Store(format!("{}: no table file", t.name))),
        }
    }

    fn finish(&mut self, commit: bool) -> Result<()> {
        // The lock file last: a baton reader never sees part of a commit.
        let mut order: Vec<String> = self
            .open
            .iter()
            .filter(|t| *t != LOCK_TABLE)
            .cloned()
            .collect();
        if self.open.iter().any(|t| t == LOCK_TABLE) {
            order.push(LOCK_TABLE.to_string());
        }
        let mut first_err = None;
        let mut committed = Vec::new();
        for t in &order {
            let c = &self.conns[t];
            let r = if commit && first_err.is_none() {
                c.execute_batch("COMMIT")
            } else {
                c.execute_batch("ROLLBACK")
            };
            match r {
                Ok(()) if commit && first_err.is_none() => committed.push(t.clone()),
                Ok(()) => {}
                Err(err) => {
                    if c.is_autocommit() {
                        // Nothing left open on this file.
                    } else {
                        let _ = c.execute_batch("ROLLBACK");
                    }
                    if first_err.is_none() {
                        first_err = Some(file_err(self.dir, t, err));
                    }
                }
            }
        }
        self.open.clear();
        match first_err {
            None => Ok(()),
            Some(Error::Store(m)) if !committed.is_empty() => Err(Error::Store(format!(
                "{m}; the tables {} were committed before the failure",
                committed.join(", ")
            ))),
            Some(e) => Err(e),
        }
    }
}

impl Drop for XTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.finish(false);
        }
    }
}

impl Tx for XTx<'_> {
    fn table_exists(&mut self, table: &TableSpec) -> Result<bool> {
        Ok(self.file(table)?.is_some())
    }

    fn row_count(&mut self, table: &TableSpec) -> Result<Option<usize>> {
        match self.file(table)? {
            Some((c, _)) => row_count_on(c, table).map(Some),
            None => Ok(Some(0)),
        }
    }

    fn select(
        &mut self,
        table: &TableSpec,
        columns: &[&str],
        filter: Filter<'_>,
    ) -> Result<Vec<Row>> {
        let dir = self.dir;
        let Some((c, have)) = self.file(table)? else {
            return Ok(Vec::new());
        };
        // Columns an old file lacks read as NULL.
        let col = |name: &str| {
            if have.contains(name) {
                ddl::quote(D, name)
            } else {
                "NULL".to_string()
            }
        };
        let cols: Vec<String> = columns.iter().map(|n| col(n)).collect();
        let mut q = format!(
            "SELECT {} FROM {}",
            cols.join(","),
            ddl::quote(D, &table.name)
        );
        let enabled = if have.contains("disable") {
            ddl::enabled(D)
        } else {
            "1".to_string()
        };
        let (clause, params) = filter_clause(filter, &enabled, &col)?;
        q.push_str(&clause);
        let e = |err| file_err(dir, &table.name, err);
        let mut st = c.prepare_cached(&q).map_err(e)?;
        read_rows(&mut st, &params, columns.len()).map_err(e)
    }

    fn insert(&mut self, table: &TableSpec, columns: &[&str], values: &[Value]) -> Result<()> {
        let auto = table.autoincrement();
        let (cols, vals): (Vec<&str>, Vec<&Value>) = columns
            .iter()
            .zip(values)
            .filter(|(c, _)| Some(**c) != auto)
            .map(|(c, v)| (*c, v))
            .unzip();
        let q = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            ddl::quote(D, &table.name),
            cols.iter()
                .map(|c| ddl::quote(D, c))
                .collect::<Vec<_>>()
                .join(","),
            (1..=cols.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let c = self.file_for_write(table)?;
        let mut st = c.prepare_cached(&q).map_err(sql)?;
        st.execute(params_from_iter(vals.iter()))
            .map_err(|e| Error::Store(format!("cannot insert into {}: {e}", table.name)))?;
        Ok(())
    }

    fn insert_returning_id(
        &mut self,
        table: &TableSpec,
        columns: &[&str],
        values: &[Value],
    ) -> Result<i64> {
        self.insert(table, columns, values)?;
        Ok(self.file_for_write(table)?.last_insert_rowid())
    }

    fn insert_rows(&mut self, table: &TableSpec, columns: &[&str], rows: &[Row]) -> Result<usize> {
        let c = self.file_for_write(table)?;
        insert_rows_on(c, table, columns, rows)
    }

    fn update(
        &mut self,
        table: &TableSpec,
        key: &[(&str, &str)],
        set: &[(&str, Value)],
    ) -> Result<usize> {
        let c = self.file_for_write(table)?;
        update_on(c, table, key, set)
    }

    fn update_in(
        &mut self,
        table: &TableSpec,
        column: &str,
        keys: &[String],
        set: &[(&str, Value)],
    ) -> Result<usize> {
        let c = self.file_for_write(table)?;
        update_in_on(c, table, column, keys, set)
    }

    fn insert_keys(
        &mut self,
        table: &TableSpec,
        column: &str,
        keys: &[String],
        set: &[(&str, Value)],
    ) -> Result<usize> {
        let c = self.file_for_write(table)?;
        insert_keys_on(c, table, column, keys, set)
    }

    fn delete(&mut self, table: &TableSpec, key: &[(&str, &str)]) -> Result<usize> {
        let c = self.file_for_write(table)?;
        delete_on(c, table, key)
    }

    fn delete_all(&mut self, table: &TableSpec) -> Result<usize> {
        let q = format!("DELETE FROM {}", ddl::quote(D, &table.name));
        let c = self.file_for_write(table)?;
        c.execute(&q, []).map_err(sql)
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.done = true;
        self.finish(true)
    }
}
