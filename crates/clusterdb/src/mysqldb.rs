//! MySQL / MariaDB backend: xCAT's tables in one database, as xCAT's `mysqlsetup` and
//! `Table.pm` create them (column names in backquotes, keys VARCHAR(128), recid
//! `INTEGER AUTO_INCREMENT`), so xCAT's own commands keep working on the same database.
//!
//! Transactions (InnoDB):
//! - a read transaction is `START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT` at
//!   REPEATABLE READ: one snapshot for all its reads;
//! - a write transaction first takes the named lock `GET_LOCK('baton-write:<db>')`, so baton
//!   writers queue one behind the other, and reads with `LOCK IN SHARE MODE`: it reads the
//!   latest committed rows and keeps them (and the gaps between them) from changing until its
//!   commit, whoever the other writer is (xCAT included).
//!
//! Key lists (`Filter::In`) travel as one JSON array parameter unpacked by `JSON_TABLE`
//! (MariaDB 10.6+, MySQL 8.0.4+): one statement whatever the number of keys, with no temporary
//! table to fill. The connection reports matched rows as affected (`CLIENT_FOUND_ROWS`), so an
//! update that sets a row to the values it already has still counts it, as in SQLite.

use crate::backend::{Backend, Filter, Row, Tx, Value};
use crate::conninfo::ServerParams;
use crate::ddl::{self, Dialect};
use crate::keycache::{learn_keys, learning_key, KeyCache};
use crate::schema::{schema, TableSpec};
use crate::{Error, Result};
use mysql::consts::CapabilityFlags;
use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder, Params};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const D: Dialect = Dialect::Mysql;
/// Seconds a writer waits for another baton writer.
const LOCK_WAIT: u32 = 120;
/// At most this many placeholders in one statement (the protocol allows 65,535).
const MAX_PARAMS: usize = 30_000;

pub struct MysqlBackend {
    params: ServerParams,
    conn: Conn,
    lock_name: String,
    /// The server's `max_allowed_packet`: a larger statement would be cut off by the server.
    max_packet: usize,
}

fn q(s: &str) -> String {
    ddl::quote(D, s)
}

fn value(v: &Value) -> mysql::Value {
    match v {
        Some(s) => mysql::Value::Bytes(s.as_bytes().to_vec()),
        None => mysql::Value::NULL,
    }
}

fn text(v: mysql::Value) -> Value {
    use mysql::Value as V;
    match v {
        V::NULL => None,
        V::Bytes(b) => Some(
            String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
        V::Int(i) => Some(i.to_string()),
        V::UInt(u) => Some(u.to_string()),
        V::Float(f) => Some(f.to_string()),
        V::Double(f) => Some(f.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// Server errors that end the whole transaction (InnoDB rolls it back), not just a statement.
fn aborts_transaction(e: &mysql::Error) -> bool {
    match e {
        mysql::Error::MySqlError(m) => !matches!(m.code, 1062 | 1048 | 1406 | 1366 | 1452),
        _ => true,
    }
}

impl MysqlBackend {
    pub fn connect(params: &ServerParams) -> Result<Self> {
        let mut o = OptsBuilder::new()
            .user(Some(params.user_or_default()))
            .pass(params.password.expose())
            .db_name(Some(&params.dbname))
            .prefer_socket(false)
            .tcp_connect_timeout(Some(Duration::from_secs(10)))
            .stmt_cache_size(128)
            .additional_capabilities(CapabilityFlags::CLIENT_FOUND_ROWS)
            .init(vec![
                "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                "SET autocommit = 0",
            ]);
        match (&params.host, &params.socket) {
            (_, Some(s)) => o = o.socket(Some(s.display().to_string())),
            (Some(h), None) => o = o.ip_or_hostname(Some(h)),
            (None, None) => o = o.socket(Some("/run/mysqld/mysqld.sock")),
        }
        if let Some(p) = params.port {
            o = o.tcp_port(p);
        }
        let conn = Conn::new(o).map_err(|e| {
            Error::Store(
                params
                    .password
                    .scrub(&format!("cannot connect to {}: {e}", params.describe())),
            )
        })?;
        // GET_LOCK names are server-wide (at most 64 characters): one lock per database.
        let mut lock_name = format!("baton-write:{}", params.dbname);
        if lock_name.chars().count() > 64 {
            lock_name = lock_name.chars().take(64).collect();
        }
        let mut b = MysqlBackend {
            params: params.clone(),
            conn,
            lock_name,
            max_packet: usize::MAX,
        };
        let max: Option<u64> = b
            .conn
            .query_first("SELECT @@max_allowed_packet")
            .map_err(|e| b.err(e))?;
        b.max_packet = max.map_or(usize::MAX, |m| m as usize);
        Ok(b)
    }

    fn err(&self, e: mysql::Error) -> Error {
        Error::Store(self.params.password.scrub(&e.to_string()))
    }

    fn existing_columns(&mut self) -> Result<HashMap<String, HashSet<String>>> {
        let rows: Vec<(String, String)> = self
            .conn
            .query(
                "SELECT CAST(table_name AS CHAR), CAST(column_name AS CHAR) \
                 FROM information_schema.columns WHERE table_schema = DATABASE()",
            )
            .map_err(|e| self.err(e))?;
        let mut have: HashMap<String, HashSet<String>> = HashMap::new();
        for (t, c) in rows {
            have.entry(t).or_default().insert(c);
        }
        Ok(have)
    }

    fn lock(&mut self) -> Result<()> {
        let got: Option<Option<i64>> = self
            .conn
            .exec_first(
                "SELECT GET_LOCK(?, ?)",
                (self.lock_name.as_str(), LOCK_WAIT),
            )
            .map_err(|e| self.err(e))?;
        match got.flatten() {
            Some(1) => Ok(()),
            _ => Err(Error::Store(format!(
                "{}: another baton command held the write lock for {LOCK_WAIT} s",
                self.params.describe()
            ))),
        }
    }

    /// GET_LOCK names are server-wide (at most 64 characters): one per database.
    fn session_lock_name(&self, name: &str) -> String {
        format!("baton-{name}:{}", self.params.dbname)
            .chars()
            .take(64)
            .collect()
    }

    fn unlock(&mut self) {
        let _ = self
            .conn
            .exec_drop("DO RELEASE_LOCK(?)", (self.lock_name.as_str(),));
    }

    fn ensure_locked(&mut self) -> Result<()> {
        let have = self.existing_columns()?;
        for t in schema().all_tables() {
            match have.get(&t.name) {
                None => {
                    let sql = ddl::create_table(D, t, false);
                    self.conn.query_drop(sql).map_err(|e| self.err(e))?;
                }
                Some(cols) => {
                    for c in t.columns.iter().filter(|c| !cols.contains(*c)) {
                        // As xCAT's updateschema: missing columns are added as TEXT.
                        let sql = format!(
                            "ALTER TABLE {} ADD COLUMN {} {}",
                            q(&t.name),
                            q(c),
                            ddl::text_type(D, t)
                        );
                        self.conn.query_drop(sql).map_err(|e| self.err(e))?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl Backend for MysqlBackend {
    fn describe(&self) -> String {
        self.params.describe()
    }

    fn try_session_lock(&mut self, name: &str) -> Result<bool> {
        let lock = self.session_lock_name(name);
        let got: Option<Option<i64>> = self
            .conn
            .exec_first("SELECT GET_LOCK(?, 0)", (lock,))
            .map_err(|e| self.err(e))?;
        Ok(got.flatten() == Some(1))
    }

    fn session_unlock(&mut self, name: &str) -> Result<()> {
        let lock = self.session_lock_name(name);
        self.conn
            .exec_drop("DO RELEASE_LOCK(?)", (lock,))
            .map_err(|e| self.err(e))
    }

    fn ensure_schema(&mut self) -> Result<()> {
        let have = self.existing_columns()?;
        let complete = schema().all_tables().all(|t| {
            have.get(&t.name)
                .is_some_and(|cols| t.columns.iter().all(|c| cols.contains(c)))
        });
        let _ = self.conn.query_drop("COMMIT");
        if complete {
            return Ok(());
        }
        // DDL commits implicitly; the lock keeps two first runs from both creating.
        self.lock()?;
        let r = self.ensure_locked();
        let _ = self.conn.query_drop("COMMIT");
        self.unlock();
        r
    }

    fn begin(&mut self, write: bool) -> Result<Box<dyn Tx + '_>> {
        // End whatever implicit transaction a previous statement opened (autocommit is off).
        self.conn.query_drop("COMMIT").map_err(|e| self.err(e))?;
        if write {
            self.lock()?;
            if let Err(e) = self.conn.query_drop("START TRANSACTION") {
                self.unlock();
                return Err(self.err(e));
            }
        } else {
            self.conn
                .query_drop("START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT")
                .map_err(|e| self.err(e))?;
        }
        Ok(Box::new(MysqlTx {
            b: self,
            write,
            failed: None,
            cache: KeyCache::default(),
            done: false,
        }))
    }
}

struct MysqlTx<'a> {
    b: &'a mut MysqlBackend,
    write: bool,
    failed: Option<String>,
    /// Keys known to exist or not (write transactions).
    cache: KeyCache,
    done: bool,
}

fn where_key(key: &[(&str, &str)]) -> String {
    key.iter()
        .map(|(c, _)| format!("{} = ?", q(c)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

impl MysqlTx<'_> {
    fn check(&self) -> Result<()> {
        match &self.failed {
            Some(m) => Err(Error::Store(format!(
                "the transaction was aborted by an earlier error: {m}"
            ))),
            None => Ok(()),
        }
    }

    fn fail(&mut self, t: &TableSpec, e: mysql::Error) -> Error {
        if let mysql::Error::MySqlError(m) = &e {
            if m.code == 1062 {
                return ddl::duplicate_key(t);
            }
        }
        let msg = self.b.params.password.scrub(&e.to_string());
        if aborts_transaction(&e) && self.failed.is_none() {
            self.failed = Some(msg.clone());
        }
        Error::Store(msg)
    }

    /// Run a statement that returns no rows; the number of rows matched.
    fn exec(&mut self, t: &TableSpec, sql: &str, params: Vec<mysql::Value>) -> Result<u64> {
        self.check()?;
        let size = sql.len()
            + params
                .iter()
                .map(|v| match v {
                    mysql::Value::Bytes(b) => b.len() + 9,
                    _ => 9,
                })
                .sum::<usize>();
        if size >= self.b.max_packet {
            // The server would drop the connection; say why instead.
            let msg = format!(
                "a statement on {} needs {size} bytes, over the server's max_allowed_packet ({}); \
                 raise it (e.g. max_allowed_packet=1G in the [mysqld] section)",
                t.name, self.b.max_packet
            );
            self.failed.get_or_insert(msg.clone());
            return Err(Error::Store(msg));
        }
        let r = if params.is_empty() {
            self.b.conn.query_drop(sql)
        } else {
            self.b.conn.exec_drop(sql, Params::Positional(params))
        };
        match r {
            Ok(()) => Ok(self.b.conn.affected_rows()),
            Err(e) => Err(self.fail(t, e)),
        }
    }
}

impl Drop for MysqlTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.b.conn.query_drop("ROLLBACK");
            if self.write {
                self.b.unlock();
            }
        }
    }
}

impl Tx for MysqlTx<'_> {
    fn try_session_lock(&mut self, name: &str) -> Result<Option<bool>> {
        Backend::try_session_lock(&mut *self.b, name).map(Some)
    }

    fn session_unlock(&mut self, name: &str) -> Result<()> {
        Backend::session_unlock(&mut *self.b, name)
    }

    fn table_exists(&mut self, table: &TableSpec) -> Result<bool> {
        self.check()?;
        let n: Option<i64> = self
            .b
            .conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name = ?",
                (table.name.as_str(),),
            )
            .map_err(|e| self.b.err(e))?;
        Ok(n.unwrap_or(0) > 0)
    }

    fn select(
        &mut self,
        table: &TableSpec,
        columns: &[&str],
        filter: Filter<'_>,
    ) -> Result<Vec<Row>> {
        self.check()?;
        let enabled = ddl::enabled(D);
        // A write transaction learns which keys exist (see keycache): it asks for the key and
        // the `disable` test as columns, and filters disabled rows itself.
        let learn = if self.write {
            learning_key(table, &filter)
        } else {
            None
        };
        let mut cols: Vec<String> = columns.iter().map(|c| q(c)).collect();
        if let Some(kc) = learn {
            cols.push(q(kc));
            cols.push(format!("CASE WHEN {enabled} THEN '1' ELSE '0' END"));
        }
        let mut sql = format!("SELECT {} FROM {}", cols.join(","), q(&table.name));
        let mut conds = Vec::new();
        if learn.is_none() && !matches!(filter, Filter::All) {
            conds.push(enabled.clone());
        }
        let mut params = Vec::new();
        match filter {
            Filter::All | Filter::Enabled => {}
            Filter::Eq { column, value } => {
                conds.push(format!("{} = ?", q(column)));
                params.push(mysql::Value::from(value));
            }
            Filter::In { column, keys } => {
                // One statement for any number of keys: one JSON array, unpacked server-side.
                conds.push(format!(
                    "{} IN (SELECT jt.k FROM JSON_TABLE(?, '$[*]' \
                     COLUMNS (k VARCHAR(1024) PATH '$')) AS jt)",
                    q(column)
                ));
                let json = serde_json::to_string(keys).map_err(|e| Error::Store(e.to_string()))?;
                params.push(mysql::Value::from(json));
            }
        }
        if !conds.is_empty() {
            sql.push_str(&format!(" WHERE {}", conds.join(" AND ")));
        }
        sql.push_str(&ddl::order_by(D, table));
        if self.write {
            sql.push_str(" LOCK IN SHARE MODE");
        }
        let res = if params.is_empty() {
            self.b.conn.query_iter(&sql).map(|r| {
                r.map(|row| row.map(|row| row.unwrap().into_iter().map(text).collect()))
                    .collect::<std::result::Result<Vec<Row>, _>>()
            })
        } else {
            self.b
                .conn
                .exec_iter(&sql, Params::Positional(params))
                .map(|r| {
                    r.map(|row| row.map(|row| row.unwrap().into_iter().map(text).collect()))
                        .collect::<std::result::Result<Vec<Row>, _>>()
                })
        };
        match res.and_then(|r| r) {
            Ok(rows) if learn.is_some() => Ok(learn_keys(
                &mut self.cache,
                table,
                &filter,
                rows,
                columns.len(),
            )),
            Ok(rows) => Ok(rows),
            Err(e) => Err(self.fail(table, e)),
        }
    }

    fn insert(&mut self, table: &TableSpec, columns: &[&str], values: &[Value]) -> Result<()> {
        self.check()?;
        ddl::check_insert(table, columns, values)?;
        let auto = table.autoincrement();
        let (cols, vals): (Vec<&str>, Vec<mysql::Value>) = columns
            .iter()
            .zip(values)
            .filter(|(c, _)| Some(**c) != auto)
            .map(|(c, v)| (*c, value(v)))
            .unzip();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            q(&table.name),
            cols.iter().map(|c| q(c)).collect::<Vec<_>>().join(","),
            vec!["?"; cols.len()].join(",")
        );
        self.exec(table, &sql, vals)?;
        self.cache.inserted(table, columns, values);
        Ok(())
    }

    fn insert_returning_id(
        &mut self,
        table: &TableSpec,
        columns: &[&str],
        values: &[Value],
    ) -> Result<i64> {
        self.insert(table, columns, values)?;
        Ok(self.b.conn.last_insert_id() as i64)
    }

    fn insert_rows(&mut self, table: &TableSpec, columns: &[&str], rows: &[Row]) -> Result<usize> {
        self.check()?;
        self.cache.forget(table);
        if columns.is_empty() || rows.is_empty() {
            return Ok(0);
        }
        // An explicit AUTO_INCREMENT value moves InnoDB's counter past it by itself.
        let tuple = format!("({})", vec!["?"; columns.len()].join(","));
        let per = (MAX_PARAMS / columns.len()).max(1);
        let mut done = 0;
        for chunk in rows.chunks(per) {
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                q(&table.name),
                columns.iter().map(|c| q(c)).collect::<Vec<_>>().join(","),
                vec![tuple.as_str(); chunk.len()].join(",")
            );
            let params: Vec<mysql::Value> =
                chunk.iter().flat_map(|r| r.iter().map(value)).collect();
            done += self.exec(table, &sql, params)? as usize;
        }
        Ok(done)
    }

    fn update(
        &mut self,
        table: &TableSpec,
        key: &[(&str, &str)],
        set: &[(&str, Value)],
    ) -> Result<usize> {
        self.check()?;
        if self.cache.known_absent(table, key) {
            return Ok(0);
        }
        self.cache.updated(table, set);
        let sets: Vec<String> = set.iter().map(|(c, _)| format!("{} = ?", q(c))).collect();
        let sql = format!(
            "UPDATE {} SET {} WHERE {}",
            q(&table.name),
            sets.join(", "),
            where_key(key)
        );
        let mut params: Vec<mysql::Value> = set.iter().map(|(_, v)| value(v)).collect();
        params.extend(key.iter().map(|(_, v)| mysql::Value::from(*v)));
        Ok(self.exec(table, &sql, params)? as usize)
    }

    fn update_in(
        &mut self,
        table: &TableSpec,
        column: &str,
        keys: &[String],
        set: &[(&str, Value)],
    ) -> Result<usize> {
        self.check()?;
        if keys.is_empty() {
            return Ok(0);
        }
        self.cache.updated(table, set);
        let sets: Vec<String> = set.iter().map(|(c, _)| format!("{} = ?", q(c))).collect();
        let sql = format!(
            "UPDATE {} SET {} WHERE {} IN (SELECT jt.k FROM JSON_TABLE(?, '$[*]' \
             COLUMNS (k VARCHAR(1024) PATH '$')) AS jt)",
            q(&table.name),
            sets.join(", "),
            q(column)
        );
        let mut params: Vec<mysql::Value> = set.iter().map(|(_, v)| value(v)).collect();
        let json = serde_json::to_string(keys).map_err(|e| Error::Store(e.to_string()))?;
        params.push(mysql::Value::from(json));
        Ok(self.exec(table, &sql, params)? as usize)
    }

    fn delete(&mut self, table: &TableSpec, key: &[(&str, &str)]) -> Result<usize> {
        let sql = format!("DELETE FROM {} WHERE {}", q(&table.name), where_key(key));
        let params = key.iter().map(|(_, v)| mysql::Value::from(*v)).collect();
        self.cache.deleted(table, key);
        Ok(self.exec(table, &sql, params)? as usize)
    }

    fn delete_all(&mut self, table: &TableSpec) -> Result<usize> {
        let sql = format!("DELETE FROM {}", q(&table.name));
        self.cache.deleted_all(table);
        Ok(self.exec(table, &sql, Vec::new())? as usize)
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.check()?;
        self.done = true;
        let r = self.b.conn.query_drop("COMMIT");
        if r.is_err() {
            let _ = self.b.conn.query_drop("ROLLBACK");
        }
        if self.write {
            self.b.unlock();
        }
        r.map_err(|e| self.b.err(e))
    }
}
