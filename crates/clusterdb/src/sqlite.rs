//! Embedded SQLite backend: the whole cluster database in one file, in WAL mode.
//! Tables and columns are xCAT's own (same DDL as xCAT's `buildcreatestmt`), so the file can be
//! inspected with the `sqlite3` tool and reads like an xCAT table.

use crate::backend::{Backend, DataVersion, Filter, Row, Tx, Value, ENABLED_SQL};
use crate::schema::{schema, TableSpec};
use crate::{Error, Result};
use rusqlite::{params_from_iter, Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct SqliteBackend {
    path: PathBuf,
    conn: Connection,
    /// Unique in the process: data versions of different connections never compare equal.
    id: u64,
    /// Opened read-only (a file this process may not write: read-only media, another user's).
    read_only: bool,
}

/// May this process write `p`? (`access(2)`: the filesystem's read-only flag counts too.)
fn writable(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path; access(2) reads it and nothing else.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

static NEXT_CONNECTION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl SqliteBackend {
    /// Open (creating the file and its directory if needed); a file this process may not
    /// write (or whose directory it may not write, where SQLite keeps its WAL files) is opened
    /// read-only, so reading commands still work and writes fail naming a read-only database.
    pub fn open(path: &Path) -> Result<Self> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if path.exists() && !(writable(path) && dir.is_none_or(writable)) {
            return Self::open_read_only(path);
        }
        Self::open_read_write(path)
    }

    /// Read-only: `mode=ro`, or `immutable=1` where SQLite cannot create the WAL index beside
    /// the file (read-only media).
    fn open_read_only(path: &Path) -> Result<Self> {
        let file = path
            .to_string_lossy()
            .replace('%', "%25")
            .replace('?', "%3f")
            .replace('#', "%23");
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let usable = |c: &Connection| {
            c.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
                .is_ok()
        };
        let conn = match Connection::open_with_flags(format!("file:{file}?mode=ro"), flags) {
            Ok(c) if usable(&c) => c,
            _ => Connection::open_with_flags(format!("file:{file}?immutable=1"), flags).map_err(
                |e| Error::Store(format!("cannot open {} read-only: {e}", path.display())),
            )?,
        };
        conn.busy_timeout(Duration::from_secs(30)).map_err(sql)?;
        Ok(SqliteBackend {
            path: path.to_path_buf(),
            conn,
            id: NEXT_CONNECTION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            read_only: true,
        })
    }

    fn open_read_write(path: &Path) -> Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        // The file holds BMC and passwd passwords: only its owner reads it (SQLite gives its
        // -wal and -shm files the same mode).
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                crate::files::private_dir(dir)?;
            }
        }
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        match created {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(Error::Store(format!(
                    "cannot create {}: {e}",
                    path.display()
                )))
            }
            _ => {}
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::Store(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        Ok(SqliteBackend {
            path: path.to_path_buf(),
            conn,
            id: NEXT_CONNECTION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            read_only: false,
        })
    }
}

pub(crate) fn sql(e: rusqlite::Error) -> Error {
    Error::Store(e.to_string())
}

/// Quote an identifier. Identifiers only ever come from the schema, never from users.
pub(crate) fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// xCAT's CREATE TABLE for SQLite: keys VARCHAR(128), other columns TEXT (or their declared
/// type), NOT NULL where required, PRIMARY KEY clause unless there is an autoincrement column.
pub fn create_table_sql(t: &TableSpec) -> String {
    let auto = t.autoincrement();
    let mut cols = Vec::new();
    for c in &t.columns {
        let nn = if t.not_null.contains(c) {
            " NOT NULL"
        } else {
            ""
        };
        if Some(c.as_str()) == auto {
            cols.push(format!("{} INTEGER PRIMARY KEY AUTOINCREMENT", ident(c)));
        } else if t.is_key(c) {
            cols.push(format!("{} VARCHAR(128){nn}", ident(c)));
        } else {
            let ty = t.column_types.get(c).map(String::as_str).unwrap_or("TEXT");
            cols.push(format!("{} {ty}{nn}", ident(c)));
        }
    }
    if auto.is_none() && !t.primary_key.is_empty() {
        let pk: Vec<_> = t.primary_key.iter().map(|k| ident(k)).collect();
        cols.push(format!("PRIMARY KEY ({})", pk.join(",")));
    }
    format!(
        "CREATE TABLE IF NOT EXISTS {} ({})",
        ident(&t.name),
        cols.join(", ")
    )
}

impl Backend for SqliteBackend {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    fn ensure_schema(&mut self) -> Result<()> {
        if self.read_only {
            // Nothing can be added to a file opened read-only: its tables are read as they are.
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let existing: std::collections::HashSet<String> = {
            let mut st = tx
                .prepare("SELECT name FROM sqlite_master WHERE type='table'")
                .map_err(sql)?;
            let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(sql)?;
            rows.collect::<std::result::Result<_, _>>().map_err(sql)?
        };
        for t in schema().all_tables() {
            if !existing.contains(&t.name) {
                tx.execute_batch(&create_table_sql(t)).map_err(sql)?;
                continue;
            }
            // Older files may lack columns added to the schema since (xCAT's updateschema).
            let have: std::collections::HashSet<String> = {
                let mut st = tx
                    .prepare(&format!("PRAGMA table_info({})", ident(&t.name)))
                    .map_err(sql)?;
                let rows = st.query_map([], |r| r.get::<_, String>(1)).map_err(sql)?;
                rows.collect::<std::result::Result<_, _>>().map_err(sql)?
            };
            for c in t.columns.iter().filter(|c| !have.contains(*c)) {
                tx.execute_batch(&format!(
                    "ALTER TABLE {} ADD COLUMN {} TEXT",
                    ident(&t.name),
                    ident(c)
                ))
                .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)
    }

    fn begin(&mut self, write: bool) -> Result<Box<dyn Tx + '_>> {
        let behavior = if write {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        };
        let tx = self.conn.transaction_with_behavior(behavior).map_err(sql)?;
        Ok(Box::new(SqliteTx {
            tx,
            connection: self.id,
            last_insert: None,
        }))
    }
}

struct SqliteTx<'c> {
    tx: rusqlite::Transaction<'c>,
    connection: u64,
    /// The last INSERT statement's table, columns and SQL text: a restore inserts thousands of
    /// rows with the same columns, and building the text is most of the cost of each.
    last_insert: Option<(String, Vec<String>, String)>,
}

fn where_key(key: &[(&str, &str)]) -> String {
    key.iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{} = ?{}", ident(c), i + 1))
        .collect::<Vec<_>>()
        .join(" AND ")
}

impl Tx for SqliteTx<'_> {
    fn data_version(&mut self) -> Result<Option<DataVersion>> {
        // data_version changes when another connection commits (sqlite.org/pragma.html), and
        // only then; total_changes counts this connection's own row changes.
        let others: i64 = self
            .tx
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(sql)?;
        Ok(Some(DataVersion {
            connection: self.connection,
            others,
            own: self.tx.total_changes(),
        }))
    }

    fn table_exists(&mut self, table: &TableSpec) -> Result<bool> {
        let n: i64 = self
            .tx
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1",
                [&table.name],
                |r| r.get(0),
            )
            .map_err(sql)?;
        Ok(n > 0)
    }

    fn select(
        &mut self,
        table: &TableSpec,
        columns: &[&str],
        filter: Filter<'_>,
    ) -> Result<Vec<Row>> {
        let cols: Vec<String> = columns.iter().map(|c| ident(c)).collect();
        let mut q = format!("SELECT {} FROM {}", cols.join(","), ident(&table.name));
        let (clause, params) = filter_clause(filter, ENABLED_SQL, &|c| ident(c))?;
        q.push_str(&clause);
        let mut st = self.tx.prepare_cached(&q).map_err(sql)?;
        read_rows(&mut st, &params, columns.len()).map_err(sql)
    }

    fn insert(&mut self, table: &TableSpec, columns: &[&str], values: &[Value]) -> Result<()> {
        let auto = table.autoincrement();
        let same = self.last_insert.as_ref().is_some_and(|(t, c, _)| {
            *t == table.name
                && c.len() == columns.len()
                && c.iter().zip(columns).all(|(a, b)| a == b)
        });
        if !same {
            let cols: Vec<&str> = columns
                .iter()
                .copied()
                .filter(|c| Some(*c) != auto)
                .collect();
            let q = format!(
                "INSERT INTO {} ({}) VALUES ({})",
                ident(&table.name),
                cols.iter().map(|c| ident(c)).collect::<Vec<_>>().join(","),
                (1..=cols.len())
                    .map(|i| format!("?{i}"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            self.last_insert = Some((
                table.name.clone(),
                columns.iter().map(|c| c.to_string()).collect(),
                q,
            ));
        }
        let q = &self.last_insert.as_ref().unwrap().2;
        let vals = columns
            .iter()
            .zip(values)
            .filter(|(c, _)| Some(**c) != auto)
            .map(|(_, v)| v);
        let mut st = self.tx.prepare_cached(q).map_err(sql)?;
        st.execute(params_from_iter(vals))
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
        Ok(self.tx.last_insert_rowid())
    }

    fn insert_rows(&mut self, table: &TableSpec, columns: &[&str], rows: &[Row]) -> Result<usize> {
        insert_rows_on(&self.tx, table, columns, rows)
    }

    fn update(
        &mut self,
        table: &TableSpec,
        key: &[(&str, &str)],
        set: &[(&str, Value)],
    ) -> Result<usize> {
        update_on(&self.tx, table, key, set)
    }

    fn update_in(
        &mut self,
        table: &TableSpec,
        column: &str,
        keys: &[String],
        set: &[(&str, Value)],
    ) -> Result<usize> {
        update_in_on(&self.tx, table, column, keys, set)
    }

    fn row_count(&mut self, table: &TableSpec) -> Result<Option<usize>> {
        row_count_on(&self.tx, table).map(Some)
    }

    fn insert_keys(
        &mut self,
        table: &TableSpec,
        column: &str,
        keys: &[String],
        set: &[(&str, Value)],
    ) -> Result<usize> {
        insert_keys_on(&self.tx, table, column, keys, set)
    }

    fn delete(&mut self, table: &TableSpec, key: &[(&str, &str)]) -> Result<usize> {
        delete_on(&self.tx, table, key)
    }

    fn delete_all(&mut self, table: &TableSpec) -> Result<usize> {
        self.tx
            .execute(&format!("DELETE FROM {}", ident(&table.name)), [])
            .map_err(sql)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().map_err(sql)
    }
}

/// The `WHERE ... ORDER BY rowid` of a select, and its parameters; `enabled` is the condition
/// that hides disabled rows and `col` quotes a column name. Shared by both SQLite layouts.
pub(crate) fn filter_clause(
    filter: Filter<'_>,
    enabled: &str,
    col: &dyn Fn(&str) -> String,
) -> Result<(String, Vec<String>)> {
    let mut params: Vec<String> = Vec::new();
    let mut q = match filter {
        Filter::All => String::new(),
        Filter::Enabled => format!(" WHERE {enabled}"),
        Filter::Eq { column, value } => {
            params.push(value.to_string());
            format!(" WHERE {enabled} AND {} = ?1", col(column))
        }
        Filter::In { column, keys } => {
            // One statement for any number of keys: the list travels as one JSON array.
            params.push(serde_json::to_string(keys).map_err(|e| Error::Store(e.to_string()))?);
            format!(
                " WHERE {enabled} AND {} IN (SELECT value FROM json_each(?1))",
                col(column)
            )
        }
    };
    q.push_str(" ORDER BY rowid");
    Ok((q, params))
}

// The writes both SQLite layouts make the same way, on a connection: the embedded file's
// transaction or one of xCAT's table files (both quote identifiers alike).

/// Insert rows exactly as given. SQLite keeps an explicit INTEGER PRIMARY KEY and moves
/// AUTOINCREMENT's counter past it.
pub(crate) fn insert_rows_on(
    c: &Connection,
    table: &TableSpec,
    columns: &[&str],
    rows: &[Row],
) -> Result<usize> {
    let q = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        ident(&table.name),
        columns
            .iter()
            .map(|c| ident(c))
            .collect::<Vec<_>>()
            .join(","),
        (1..=columns.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut st = c.prepare_cached(&q).map_err(sql)?;
    for r in rows {
        st.execute(params_from_iter(r.iter()))
            .map_err(|e| Error::Store(format!("cannot insert into {}: {e}", table.name)))?;
    }
    Ok(rows.len())
}

pub(crate) fn update_on(
    c: &Connection,
    table: &TableSpec,
    key: &[(&str, &str)],
    set: &[(&str, Value)],
) -> Result<usize> {
    let sets: Vec<String> = set
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{} = ?{}", ident(c), key.len() + i + 1))
        .collect();
    let q = format!(
        "UPDATE {} SET {} WHERE {}",
        ident(&table.name),
        sets.join(", "),
        where_key(key)
    );
    let mut params: Vec<Value> = key.iter().map(|(_, v)| Some(v.to_string())).collect();
    params.extend(set.iter().map(|(_, v)| v.clone()));
    let mut st = c.prepare_cached(&q).map_err(sql)?;
    st.execute(params_from_iter(params.iter())).map_err(sql)
}

/// `UPDATE ... WHERE column IN (the keys as one JSON array)`: one statement for any number of
/// keys.
pub(crate) fn update_in_on(
    c: &Connection,
    table: &TableSpec,
    column: &str,
    keys: &[String],
    set: &[(&str, Value)],
) -> Result<usize> {
    let sets: Vec<String> = set
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{} = ?{}", ident(c), i + 2))
        .collect();
    let q = format!(
        "UPDATE {} SET {} WHERE {} IN (SELECT value FROM json_each(?1))",
        ident(&table.name),
        sets.join(", "),
        ident(column)
    );
    let mut params = vec![Some(
        serde_json::to_string(keys).map_err(|e| Error::Store(e.to_string()))?,
    )];
    params.extend(set.iter().map(|(_, v)| v.clone()));
    let mut st = c.prepare_cached(&q).map_err(sql)?;
    st.execute(params_from_iter(params.iter())).map_err(sql)
}

pub(crate) fn row_count_on(c: &Connection, table: &TableSpec) -> Result<usize> {
    let q = format!("SELECT count(*) FROM {}", ident(&table.name));
    let n: i64 = c.query_row(&q, [], |r| r.get(0)).map_err(sql)?;
    Ok(n.max(0) as usize)
}

/// One statement for any number of keys: SQLite expands the JSON key list itself.
pub(crate) fn insert_keys_on(
    c: &Connection,
    table: &TableSpec,
    column: &str,
    keys: &[String],
    set: &[(&str, Value)],
) -> Result<usize> {
    let mut cols = vec![ident(column)];
    cols.extend(set.iter().map(|(c, _)| ident(c)));
    let values: Vec<String> = (0..set.len()).map(|i| format!("?{}", i + 2)).collect();
    let q = format!(
        "INSERT INTO {} ({}) SELECT value{}{} FROM json_each(?1)",
        ident(&table.name),
        cols.join(","),
        if values.is_empty() { "" } else { ", " },
        values.join(", ")
    );
    let mut params = vec![Some(
        serde_json::to_string(keys).map_err(|e| Error::Store(e.to_string()))?,
    )];
    params.extend(set.iter().map(|(_, v)| v.clone()));
    let mut st = c.prepare_cached(&q).map_err(sql)?;
    st.execute(params_from_iter(params.iter()))
        .map_err(|e| Error::Store(format!("cannot insert into {}: {e}", table.name)))
}

pub(crate) fn delete_on(c: &Connection, table: &TableSpec, key: &[(&str, &str)]) -> Result<usize> {
    let q = format!(
        "DELETE FROM {} WHERE {}",
        ident(&table.name),
        where_key(key)
    );
    let mut st = c.prepare_cached(&q).map_err(sql)?;
    st.execute(params_from_iter(key.iter().map(|(_, v)| v)))
        .map_err(sql)
}

/// Every row of a prepared select, `n` columns each, as text.
pub(crate) fn read_rows(
    st: &mut rusqlite::CachedStatement<'_>,
    params: &[String],
    n: usize,
) -> rusqlite::Result<Vec<Row>> {
    let rows = st.query_map(params_from_iter(params.iter()), |r| {
        (0..n)
            .map(|i| value_of(r, i))
            .collect::<rusqlite::Result<Row>>()
    })?;
    rows.collect()
}

/// Read a column as text whatever its storage class (recid is an integer).
fn value_of(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Value> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(i)? {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    })
}
