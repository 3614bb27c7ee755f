//! PostgreSQL backend: xCAT's tables in one database, exactly as xCAT's `pgsqlsetup` and
//! `Table.pm` create them (column names quoted, keys VARCHAR(128), recid SERIAL), so xCAT's own
//! commands keep working on the same database.
//!
//! Transactions:
//! - a read transaction is `REPEATABLE READ READ ONLY`: one snapshot for all its reads;
//! - a write transaction is `READ COMMITTED` and first takes the transaction-scoped advisory
//!   lock [`WRITE_LOCK`] (`pg_advisory_xact_lock`), so baton writers queue one behind the
//!   other; each table it touches is then locked `IN SHARE ROW EXCLUSIVE MODE` before its first
//!   statement on it, so nobody else (xCAT included) can change that table until the commit:
//!   what the transaction read is still current when it commits.
//!
//! Natural order: PostgreSQL has no rowid (a seq scan returns heap order, which updates
//! change), so rows come back in primary-key order.

use crate::backend::{Backend, Filter, Row, Tx, Value};
use crate::conninfo::ServerParams;
use crate::ddl::{self, Dialect};
use crate::keycache::{learn_keys, learning_key, KeyCache};
use crate::schema::{schema, TableSpec};
use crate::{Error, Result};
use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const D: Dialect = Dialect::Postgres;

/// The advisory lock every baton write transaction holds (`"baton"` in ASCII).
pub const WRITE_LOCK: i64 = 0x0062_6174_6f6e;

/// At most this many parameters in one statement (the protocol allows 65,535).
const MAX_PARAMS: usize = 30_000;

pub struct PgBackend {
    params: ServerParams,
    client: Client,
    stmts: HashMap<String, Statement>,
}

fn q(s: &str) -> String {
    ddl::quote(D, s)
}

impl PgBackend {
    pub fn connect(params: &ServerParams) -> Result<Self> {
        let mut cfg = postgres::Config::new();
        cfg.user(&params.user_or_default())
            .dbname(&params.dbname)
            .application_name("baton")
            .connect_timeout(Duration::from_secs(10));
        if let Some(pw) = params.password.expose() {
            cfg.password(pw);
        }
        match (&params.host, &params.socket) {
            (Some(h), _) => {
                cfg.host(h);
            }
            (None, Some(s)) => {
                cfg.host_path(s);
            }
            (None, None) => {
                cfg.host_path("/var/run/postgresql");
            }
        }
        if let Some(p) = params.port {
            cfg.port(p);
        }
        let client = cfg.connect(NoTls).map_err(|e| {
            Error::Store(params.password.scrub(&format!(
                "cannot connect to {}: {}",
                params.describe(),
                full_error(&e)
            )))
        })?;
        Ok(PgBackend {
            params: params.clone(),
            client,
            stmts: HashMap::new(),
        })
    }

    fn err(&self, e: postgres::Error) -> Error {
        Error::Store(self.params.password.scrub(&full_error(&e)))
    }

    /// (table, column) pairs of the current schema.
    fn existing_columns(&mut self) -> Result<HashMap<String, HashSet<String>>> {
        let rows = self
            .client
            .query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema()",
                &[],
            )
            .map_err(|e| self.err(e))?;
        let mut have: HashMap<String, HashSet<String>> = HashMap::new();
        for r in rows {
            have.entry(r.get(0)).or_default().insert(r.get(1));
        }
        Ok(have)
    }
}

/// The driver's message with the server's detail (the `Display` of `postgres::Error` alone
/// is only "db error").
fn full_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                s.push_str(&format!(" ({d})"));
            }
            s
        }
        None => {
            // The causes (connection refused, timeout...) are in the source chain.
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(c) = src {
                let text = c.to_string();
                if !s.contains(&text) {
                    s.push_str(": ");
                    s.push_str(&text);
                }
                src = c.source();
            }
            s
        }
    }
}

fn missing(
    have: &HashMap<String, HashSet<String>>,
) -> Vec<(&'static TableSpec, Option<Vec<&'static str>>)> {
    let mut out = Vec::new();
    for t in schema().all_tables() {
        match have.get(&t.name) {
            None => out.push((t, None)),
            Some(cols) => {
                let m: Vec<&str> = t
                    .columns
                    .iter()
                    .filter(|c| !cols.contains(*c))
                    .map(String::as_str)
                    .collect();
                if !m.is_empty() {
                    out.push((t, Some(m)));
                }
            }
        }
    }
    out
}

impl Backend for PgBackend {
    fn describe(&self) -> String {
        self.params.describe()
    }

    fn ensure_schema(&mut self) -> Result<()> {
        // Fast path: everything is there (one query).
        if missing(&self.existing_columns()?).is_empty() {
            return Ok(());
        }
        // Create under the write lock, so two first runs do not both create.
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| Error::Store(self.params.password.scrub(&full_error(&e))))?;
        let scrub = |e: postgres::Error| Error::Store(self.params.password.scrub(&full_error(&e)));
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .map_err(scrub)?;
        let rows = tx
            .query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema()",
                &[],
            )
            .map_err(scrub)?;
        let mut have: HashMap<String, HashSet<String>> = HashMap::new();
        for r in rows {
            have.entry(r.get(0)).or_default().insert(r.get(1));
        }
        for (t, cols) in missing(&have) {
            match cols {
                None => tx
                    .batch_execute(&ddl::create_table(D, t, false))
                    .map_err(scrub)?,
                // As xCAT's updateschema: missing columns are added as TEXT.
                Some(cols) => {
                    for c in cols {
                        tx.batch_execute(&format!(
                            "ALTER TABLE {} ADD COLUMN {} TEXT",
                            q(&t.name),
                            q(c)
                        ))
                        .map_err(scrub)?;
                    }
                }
            }
        }
        tx.commit().map_err(scrub)
    }

    fn begin(&mut self, write: bool) -> Result<Box<dyn Tx + '_>> {
        let sql = if write {
            format!(
                "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = '120s'; \
                 SELECT pg_advisory_xact_lock({WRITE_LOCK})"
            )
        } else {
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".to_string()
        };
        if let Err(e) = self.client.batch_execute(&sql) {
            let _ = self.client.batch_execute("ROLLBACK");
            return Err(self.err(e));
        }
        Ok(Box::new(PgTx {
            b: self,
            write,
            locked: HashSet::new(),
            failed: None,
            cache: KeyCache::default(),
            done: false,
        }))
    }

    fn try_session_lock(&mut self, name: &str) -> Result<bool> {
        let key = crate::lock::key_of(name);
        let row = self
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .map_err(|e| self.err(e))?;
        Ok(row.get::<_, bool>(0))
    }

    fn session_unlock(&mut self, name: &str) -> Result<()> {
        let key = crate::lock::key_of(name);
        self.client
            .query_one("SELECT pg_advisory_unlock($1)", &[&key])
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

struct PgTx<'a> {
    b: &'a mut PgBackend,
    write: bool,
    /// Tables locked by this write transaction.
    locked: HashSet<String>,
    /// The first error: the server has aborted the transaction, so commit must fail.
    failed: Option<String>,
    /// Keys known to exist or not (write transactions).
    cache: KeyCache,
    done: bool,
}

/// A parameter placeholder for `col`: text, or the integer auto-increment column from text.
fn param(t: &TableSpec, col: &str, n: usize) -> String {
    if t.autoincrement() == Some(col) {
        format!("CAST(${n}::text AS BIGINT)")
    } else {
        format!("${n}::text")
    }
}

fn where_key(t: &TableSpec, key: &[(&str, &str)], first: usize) -> String {
    key.iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{} = {}", q(c), param(t, c, first + i)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

impl PgTx<'_> {
    fn check(&self) -> Result<()> {
        match &self.failed {
            Some(m) => Err(Error::Store(format!(
                "the transaction was aborted by an earlier error: {m}"
            ))),
            None => Ok(()),
        }
    }

    fn fail(&mut self, e: postgres::Error) -> Error {
        let msg = self.b.params.password.scrub(&full_error(&e));
        if self.failed.is_none() {
            self.failed = Some(msg.clone());
        }
        Error::Store(msg)
    }

    /// In a write transaction, lock the table before the first statement on it.
    fn touch(&mut self, t: &TableSpec) -> Result<()> {
        self.check()?;
        if self.write && !self.locked.contains(&t.name) {
            let sql = format!("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE", q(&t.name));
            if let Err(e) = self.b.client.batch_execute(&sql) {
                return Err(self.fail(e));
            }
            self.locked.insert(t.name.clone());
        }
        Ok(())
    }

    fn prepare(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.b.stmts.get(sql) {
            return Ok(s.clone());
        }
        match self.b.client.prepare(sql) {
            Ok(s) => {
                self.b.stmts.insert(sql.to_string(), s.clone());
                Ok(s)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let st = self.prepare(sql)?;
        match self.b.client.execute(&st, params) {
            Ok(n) => Ok(n),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<postgres::Row>> {
        let st = self.prepare(sql)?;
        match self.b.client.query(&st, params) {
            Ok(r) => Ok(r),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn insert_sql(t: &TableSpec, cols: &[&str]) -> String {
        format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
            q(&t.name),
            cols.iter().map(|c| q(c)).collect::<Vec<_>>().join(","),
            cols.iter()
                .enumerate()
                .map(|(i, c)| param(t, c, i + 1))
                .collect::<Vec<_>>()
                .join(",")
        )
    }

    fn insert_filtered<'v>(
        &mut self,
        t: &TableSpec,
        columns: &[&'v str],
        values: &'v [Value],
    ) -> Result<(Vec<&'v str>, Vec<&'v Value>)> {
        self.touch(t)?;
        ddl::check_insert(t, columns, values)?;
        let auto = t.autoincrement();
        Ok(columns
            .iter()
            .zip(values)
            .filter(|(c, _)| Some(**c) != auto)
            .map(|(c, v)| (*c, v))
            .unzip())
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.b.client.batch_execute("ROLLBACK");
        }
    }
}

impl Tx for PgTx<'_> {
    fn try_session_lock(&mut self, name: &str) -> Result<Option<bool>> {
        Backend::try_session_lock(&mut *self.b, name).map(Some)
    }

    fn session_unlock(&mut self, name: &str) -> Result<()> {
        Backend::session_unlock(&mut *self.b, name)
    }

    fn table_exists(&mut self, table: &TableSpec) -> Result<bool> {
        self.check()?;
        let rows = self.query(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_name = $1::text",
            &[&table.name],
        )?;
        Ok(!rows.is_empty())
    }

    fn select(
        &mut self,
        table: &TableSpec,
        columns: &[&str],
        filter: Filter<'_>,
    ) -> Result<Vec<Row>> {
        self.touch(table)?;
        let enabled = ddl::enabled(D);
        // A write transaction learns which keys exist (see keycache): it asks for the key and
        // the `disable` test as columns, and filters disabled rows itself.
        let learn = if self.write {
            learning_key(table, &filter)
        } else {
            None
        };
        let mut cols: Vec<String> = columns.iter().map(|c| format!("{}::text", q(c))).collect();
        if let Some(kc) = learn {
            cols.push(format!("{}::text", q(kc)));
            cols.push(format!("CASE WHEN {enabled} THEN '1' ELSE '0' END"));
        }
        let mut sql = format!("SELECT {} FROM {}", cols.join(","), q(&table.name));
        let mut conds = Vec::new();
        if learn.is_none() && !matches!(filter, Filter::All) {
            conds.push(enabled.clone());
        }
        let keys_ref;
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
        match filter {
            Filter::All | Filter::Enabled => {}
            Filter::Eq { column, ref value } => {
                conds.push(format!("{} = {}", q(column), param(table, column, 1)));
                params.push(value);
            }
            Filter::In { column, keys } => {
                // One statement for any number of keys: the list is one text[] parameter.
                let lhs = if table.autoincrement() == Some(column) {
                    format!("{}::text", q(column))
                } else {
                    q(column)
                };
                conds.push(format!("{lhs} = ANY($1::text[])"));
                keys_ref = keys;
                params.push(&keys_ref);
            }
        }
        if !conds.is_empty() {
            sql.push_str(&format!(" WHERE {}", conds.join(" AND ")));
        }
        sql.push_str(&ddl::order_by(D, table));
        let rows = self.query(&sql, &params)?;
        let n = columns.len();
        let width = if learn.is_some() { n + 2 } else { n };
        let mut out: Vec<Row> = rows
            .iter()
            .map(|r| (0..width).map(|i| r.get::<_, Option<String>>(i)).collect())
            .collect();
        if learn.is_some() {
            out = learn_keys(&mut self.cache, table, &filter, out, n);
        }
        Ok(out)
    }

    fn insert(&mut self, table: &TableSpec, columns: &[&str], values: &[Value]) -> Result<()> {
        let (cols, vals) = self.insert_filtered(table, columns, values)?;
        let sql = Self::insert_sql(table, &cols);
        let params: Vec<&(dyn ToSql + Sync)> =
            vals.iter().map(|v| *v as &(dyn ToSql + Sync)).collect();
        if self.execute(&sql, &params)? == 0 {
            return Err(ddl::duplicate_key(table));
        }
        self.cache.inserted(table, columns, values);
        Ok(())
    }

    fn insert_returning_id(
        &mut self,
        table: &TableSpec,
        columns: &[&str],
        values: &[Value],
    ) -> Result<i64> {
        let auto = table
            .autoincrement()
            .ok_or_else(|| Error::Store(format!("{} has no auto-increment column", table.name)))?;
        let (cols, vals) = self.insert_filtered(table, columns, values)?;
        let sql = format!(
            "{} RETURNING {}::bigint",
            Self::insert_sql(table, &cols),
            q(auto)
        );
        let params: Vec<&(dyn ToSql + Sync)> =
            vals.iter().map(|v| *v as &(dyn ToSql + Sync)).collect();
        let rows = self.query(&sql, &params)?;
        self.cache.inserted(table, columns, values);
        match rows.first() {
            Some(r) => Ok(r.get::<_, i64>(0)),
            None => Err(ddl::duplicate_key(table)),
        }
    }

    fn insert_rows(&mut self, table: &TableSpec, columns: &[&str], rows: &[Row]) -> Result<usize> {
        self.touch(table)?;
        self.cache.forget(table);
        if columns.is_empty() || rows.is_empty() {
            return Ok(0);
        }
        let per = (MAX_PARAMS / columns.len()).max(1);
        let mut done = 0;
        for chunk in rows.chunks(per) {
            let tuples: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let ps: Vec<String> = columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| param(table, c, r * columns.len() + i + 1))
                        .collect();
                    format!("({})", ps.join(","))
                })
                .collect();
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                q(&table.name),
                columns.iter().map(|c| q(c)).collect::<Vec<_>>().join(","),
                tuples.join(",")
            );
            let params: Vec<&(dyn ToSql + Sync)> = chunk
                .iter()
                .flat_map(|r| r.iter().map(|v| v as &(dyn ToSql + Sync)))
                .collect();
            // Not cached: a copy runs each statement once.
            let res = self.b.client.execute(sql.as_str(), &params);
            done += res.map_err(|e| self.fail(e))? as usize;
        }
        if let Some(auto) = table.autoincrement() {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence($1::text, $2::text), \
                 COALESCE((SELECT MAX({c}) FROM {t}), 1), \
                 (SELECT MAX({c}) FROM {t}) IS NOT NULL)",
                c = q(auto),
                t = q(&table.name)
            );
            let res = self.b.client.query(sql.as_str(), &[&q(&table.name), &auto]);
            res.map_err(|e| self.fail(e))?;
        }
        Ok(done)
    }

    fn update(
        &mut self,
        table: &TableSpec,
        key: &[(&str, &str)],
        set: &[(&str, Value)],
    ) -> Result<usize> {
        self.touch(table)?;
        if self.cache.known_absent(table, key) {
            return Ok(0);
        }
        self.cache.updated(table, set);
        let sets: Vec<String> = set
            .iter()
            .enumerate()
            .map(|(i, (c, _))| format!("{} = {}", q(c), param(table, c, key.len() + i + 1)))
            .collect();
        let sql = format!(
            "UPDATE {} SET {} WHERE {}",
            q(&table.name),
            sets.join(", "),
            where_key(table, key, 1)
        );
        let mut params: Vec<&(dyn ToSql + Sync)> =
            key.iter().map(|(_, v)| v as &(dyn ToSql + Sync)).collect();
        params.extend(set.iter().map(|(_, v)| v as &(dyn ToSql + Sync)));
        Ok(self.execute(&sql, &params)? as usize)
    }

    fn update_in(
        &mut self,
        table: &TableSpec,
        column: &str,
        keys: &[String],
        set: &[(&str, Value)],
    ) -> Result<usize> {
        self.touch(table)?;
        if keys.is_empty() {
            return Ok(0);
        }
        self.cache.updated(table, set);
        let sets: Vec<String> = set
            .iter()
            .enumerate()
            .map(|(i, (c, _))| format!("{} = {}", q(c), param(table, c, i + 2)))
            .collect();
        let sql = format!(
            "UPDATE {} SET {} WHERE {} = ANY($1::text[])",
            q(&table.name),
            sets.join(", "),
            q(column)
        );
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&keys];
        params.extend(set.iter().map(|(_, v)| v as &(dyn ToSql + Sync)));
        Ok(self.execute(&sql, &params)? as usize)
    }

    fn delete(&mut self, table: &TableSpec, key: &[(&str, &str)]) -> Result<usize> {
        self.touch(table)?;
        let sql = format!(
            "DELETE FROM {} WHERE {}",
            q(&table.name),
            where_key(table, key, 1)
        );
        self.cache.deleted(table, key);
        let params: Vec<&(dyn ToSql + Sync)> =
            key.iter().map(|(_, v)| v as &(dyn ToSql + Sync)).collect();
        Ok(self.execute(&sql, &params)? as usize)
    }

    fn delete_all(&mut self, table: &TableSpec) -> Result<usize> {
        self.touch(table)?;
        let sql = format!("DELETE FROM {}", q(&table.name));
        self.cache.deleted_all(table);
        Ok(self.execute(&sql, &[])? as usize)
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.check()?;
        // COMMIT of an aborted transaction silently rolls back: `failed` is checked above.
        self.done = true;
        self.b.client.batch_execute("COMMIT").map_err(|e| {
            let _ = self.b.client.batch_execute("ROLLBACK");
            self.b.err(e)
        })
    }
}
