//! The storage interface every backend implements. Callers (the attribute resolver, tabdump,
//! takeover) only see these traits, so a new backend (PostgreSQL, MySQL, xCAT's SQLite
//! directory) plugs in without touching them.

use crate::schema::TableSpec;
use crate::Result;

/// A column value: `None` is SQL NULL. xCAT reads `''` and NULL alike as "unset".
pub type Value = Option<String>;
/// One row, in the order of the columns asked for.
pub type Row = Vec<Value>;

/// The SQL condition xCAT uses to hide commented-out rows.
pub const ENABLED_SQL: &str = "(\"disable\" IS NULL OR \"disable\" IN ('0','no','NO','No','nO'))";

/// Is a row with this `disable` value visible to normal reads?
pub fn is_enabled(disable: Option<&str>) -> bool {
    matches!(disable, None | Some("0" | "no" | "NO" | "No" | "nO"))
}

/// Which rows a select returns.
#[derive(Debug, Clone, Copy)]
pub enum Filter<'a> {
    /// Every enabled row.
    Enabled,
    /// Every row, disabled ones too (tabdump).
    All,
    /// Enabled rows whose `column` is one of `keys`; one query whatever the number of keys.
    In { column: &'a str, keys: &'a [String] },
    /// Enabled rows whose `column` equals `value`.
    Eq { column: &'a str, value: &'a str },
}

/// A transaction. Reads inside one transaction see one consistent snapshot; writes become
/// visible to others only at `commit`. Dropping without commit rolls back.
pub trait Tx {
    /// Does the table exist in the store? (xCAT's SQLite layout can lack tables.)
    fn table_exists(&mut self, table: &TableSpec) -> Result<bool>;
    /// Rows of `table`, only the `columns` asked for, in the store's natural order.
    fn select(
        &mut self,
        table: &TableSpec,
        columns: &[&str],
        filter: Filter<'_>,
    ) -> Result<Vec<Row>>;
    /// Insert one row. Columns not listed are NULL; an auto-increment column is assigned.
    fn insert(&mut self, table: &TableSpec, columns: &[&str], values: &[Value]) -> Result<()>;
    /// Insert one row into a table with an auto-increment column and return the new id.
    fn insert_returning_id(
        &mut self,
        table: &TableSpec,
        columns: &[&str],
        values: &[Value],
    ) -> Result<i64>;
    /// Insert rows exactly as given, auto-increment values included, for copying a whole
    /// database (`baton migrate`): ids are kept (journal steps refer to their run's id,
    /// auditlog rows keep their recid) and the auto-increment counter continues after the
    /// largest id present (PostgreSQL's SERIAL sequence is moved explicitly). One call may carry
    /// many rows, so a server backend can send them in a few statements. Returns rows inserted.
    fn insert_rows(&mut self, table: &TableSpec, columns: &[&str], rows: &[Row]) -> Result<usize>;
    /// Set `set` on every row whose `key` columns equal the given values; returns rows changed.
    fn update(
        &mut self,
        table: &TableSpec,
        key: &[(&str, &str)],
        set: &[(&str, Value)],
    ) -> Result<usize>;
    /// Set `set` on every row (disabled ones too) whose `column` is one of `keys`: one statement
    /// whatever the number of keys, so moving many nodes with the same new values is one round
    /// trip on a server. Returns rows changed.
    fn update_in(
        &mut self,
        table: &TableSpec,
        column: &str,
        keys: &[String],
        set: &[(&str, Value)],
    ) -> Result<usize>;
    /// How many rows `table` holds (disabled ones too), when the store can say cheaply;
    /// `None` otherwise. Readers use it to choose between reading a table whole or by keys.
    fn row_count(&mut self, table: &TableSpec) -> Result<Option<usize>> {
        let _ = table;
        Ok(None)
    }
    /// Insert one row per key of `keys`: `column` holds the key, `set` is the same for every
    /// row. A backend may do it in one statement; by default the rows go to `insert_rows`.
    fn insert_keys(
        &mut self,
        table: &TableSpec,
        column: &str,
        keys: &[String],
        set: &[(&str, Value)],
    ) -> Result<usize> {
        let mut cols = vec![column];
        cols.extend(set.iter().map(|(c, _)| *c));
        let rows: Vec<Row> = keys
            .iter()
            .map(|k| {
                let mut row = Vec::with_capacity(cols.len());
                row.push(Some(k.clone()));
                row.extend(set.iter().map(|(_, v)| v.clone()));
                row
            })
            .collect();
        self.insert_rows(table, &cols, &rows)
    }
    /// Delete every row whose `key` columns equal the given values; returns rows deleted.
    fn delete(&mut self, table: &TableSpec, key: &[(&str, &str)]) -> Result<usize>;
    /// Delete every row of the table.
    fn delete_all(&mut self, table: &TableSpec) -> Result<usize>;
    fn commit(self: Box<Self>) -> Result<()>;
    /// The store's data version, read in this transaction; `None` when the store cannot tell.
    /// Two equal values read on one connection mean nothing was written in between, by this
    /// connection or any other, so what was read at the first still holds at the second.
    fn data_version(&mut self) -> Result<Option<DataVersion>> {
        Ok(None)
    }
    /// [`Backend::try_session_lock`] from inside a transaction (the lock outlives it): None
    /// when the store has no such locks (file databases).
    fn try_session_lock(&mut self, name: &str) -> Result<Option<bool>> {
        let _ = name;
        Ok(None)
    }
    /// Release a lock taken with [`Tx::try_session_lock`] (nothing on file databases).
    fn session_unlock(&mut self, name: &str) -> Result<()> {
        let _ = name;
        Ok(())
    }
}

/// See [`Tx::data_version`]: SQLite's `PRAGMA data_version` (bumped by other connections'
/// commits) with the connection's own count of changed rows, tagged with the connection (the
/// numbers of two connections say nothing about each other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataVersion {
    pub connection: u64,
    pub others: i64,
    pub own: u64,
}

pub trait Backend: Send {
    /// A description for messages; never contains a password.
    fn describe(&self) -> String;
    /// Create every missing table and column of the schema.
    fn ensure_schema(&mut self) -> Result<()>;
    /// Start a transaction. `write` transactions take the store's write lock up front, so two
    /// writers serialize instead of failing half-way.
    fn begin(&mut self, write: bool) -> Result<Box<dyn Tx + '_>>;
    /// Take the lock `name` for as long as this connection lives, without waiting: Ok(false)
    /// when another session holds it. Database servers only (file databases use
    /// [`crate::lock`]'s file lock).
    fn try_session_lock(&mut self, name: &str) -> Result<bool> {
        let _ = name;
        Err(crate::Error::Unsupported(format!(
            "a session lock on {}",
            self.describe()
        )))
    }
    /// Release a lock taken with [`Backend::try_session_lock`].
    fn session_unlock(&mut self, name: &str) -> Result<()> {
        let _ = name;
        Ok(())
    }
}
