//! SQL text shared by the server backends and xCAT's SQLite layout: identifier quoting, xCAT's
//! CREATE TABLE per engine (as `Table.pm`'s `buildcreatestmt` writes it), the `disable` filter,
//! and the checks every backend makes before an insert so that all of them reject the same rows
//! with the same message.

use crate::backend::Value;
use crate::schema::TableSpec;
use crate::{Error, Result};

/// The SQL dialect of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// xCAT's own SQLite files: column names unquoted, as xCAT writes them.
    XcatSqlite,
    Postgres,
    Mysql,
}

/// Quote an identifier (identifiers only ever come from the schema).
pub fn quote(d: Dialect, s: &str) -> String {
    match d {
        Dialect::Mysql => format!("`{}`", s.replace('`', "``")),
        Dialect::XcatSqlite | Dialect::Postgres => format!("\"{}\"", s.replace('"', "\"\"")),
    }
}

/// xCAT's row filter for normal reads: `disable` NULL or one of the spellings of "no".
pub fn enabled(d: Dialect) -> String {
    let c = quote(d, "disable");
    format!("({c} IS NULL OR {c} IN ('0','no','NO','No','nO'))")
}

/// xCAT's CREATE TABLE for the engine. Keys are VARCHAR(128), other columns TEXT or their
/// declared type, NOT NULL where required; the auto-increment column is
/// `INTEGER PRIMARY KEY AUTOINCREMENT` (SQLite, no separate key clause), `SERIAL` (Pg) or
/// `INTEGER AUTO_INCREMENT` (MySQL) with a separate PRIMARY KEY. Column names are quoted on
/// the servers ("col" for Pg, `col` for MySQL) and bare in SQLite, as xCAT does; `quote_all`
/// quotes them in SQLite too (for a column name this SQLite cannot take bare).
pub fn create_table(d: Dialect, t: &TableSpec, quote_all: bool) -> String {
    let q = |c: &str| match d {
        Dialect::XcatSqlite if !quote_all => c.to_string(),
        _ => quote(d, c),
    };
    let auto = t.autoincrement();
    let mut cols = Vec::new();
    for c in &t.columns {
        let nn = if t.not_null.contains(c) {
            " NOT NULL"
        } else {
            ""
        };
        if Some(c.as_str()) == auto {
            cols.push(match d {
                Dialect::XcatSqlite => format!("{} INTEGER PRIMARY KEY AUTOINCREMENT", q(c)),
                Dialect::Postgres => format!("{} SERIAL", q(c)),
                Dialect::Mysql => format!("{} INTEGER AUTO_INCREMENT", q(c)),
            });
        } else if let Some(ty) = t.column_types.get(c) {
            cols.push(format!("{} {ty}{nn}", q(c)));
        } else if t.is_key(c) {
            cols.push(format!("{} VARCHAR(128) {nn}", q(c)));
        } else {
            cols.push(format!("{} {}{nn}", q(c), text_type(d, t)));
        }
    }
    let sqlite_auto = d == Dialect::XcatSqlite && auto.is_some();
    if !sqlite_auto && !t.primary_key.is_empty() {
        let pk: Vec<String> = t.primary_key.iter().map(|k| q(k)).collect();
        cols.push(format!("PRIMARY KEY ({})", pk.join(",")));
    }
    let name = match d {
        Dialect::XcatSqlite => t.name.clone(),
        _ => quote(d, &t.name),
    };
    format!("CREATE TABLE {name} ( {} )", cols.join(", "))
}

/// The type of a non-key column: TEXT, as xCAT; but baton's journal keeps whole plans, which
/// outgrow MySQL's TEXT (64 KiB) from a few hundred nodes, so its tables use LONGTEXT there.
pub fn text_type(d: Dialect, t: &TableSpec) -> &'static str {
    if d == Dialect::Mysql && crate::schema::schema().baton_tables.contains_key(&t.name) {
        "LONGTEXT"
    } else {
        "TEXT"
    }
}

/// The "natural order" of a table on a server: its primary key. PostgreSQL has no rowid and
/// returns rows in heap order (an update moves a row), so baton orders by the key there, which
/// is also InnoDB's clustered order on MySQL; auditlog/eventlog order by recid, their insertion
/// order, as in SQLite.
pub fn order_by(d: Dialect, t: &TableSpec) -> String {
    if t.primary_key.is_empty() {
        return String::new();
    }
    // Qualified: the table's column, not a selected expression of the same name (`recid::text`).
    let table = quote(d, &t.name);
    let pk: Vec<String> = t
        .primary_key
        .iter()
        .map(|k| format!("{table}.{}", quote(d, k)))
        .collect();
    format!(" ORDER BY {}", pk.join(","))
}

/// Checks made before an insert, so that every backend rejects the same rows with SQLite's
/// messages (and a server transaction is not aborted by a statement that cannot succeed): the
/// key and NOT NULL columns must have a value.
pub fn check_insert(t: &TableSpec, columns: &[&str], values: &[Value]) -> Result<()> {
    let auto = t.autoincrement();
    for c in t.primary_key.iter().chain(&t.not_null) {
        if Some(c.as_str()) == auto {
            continue;
        }
        let given = columns
            .iter()
            .position(|x| x == c)
            .and_then(|i| values.get(i))
            .is_some_and(Option::is_some);
        if !given {
            return Err(Error::Store(format!(
                "cannot insert into {}: NOT NULL constraint failed: {}.{c}",
                t.name, t.name
            )));
        }
    }
    Ok(())
}

/// SQLite's message for a duplicate key, used by every backend.
pub fn duplicate_key(t: &TableSpec) -> Error {
    let cols: Vec<String> = t
        .primary_key
        .iter()
        .map(|k| format!("{}.{k}", t.name))
        .collect();
    Error::Store(format!(
        "cannot insert into {}: UNIQUE constraint failed: {}",
        t.name,
        cols.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table;

    #[test]
    fn ddl_is_xcats() {
        let st = table("statelite").unwrap();
        assert_eq!(
            create_table(Dialect::XcatSqlite, st, false),
            "CREATE TABLE statelite ( node VARCHAR(128)  NOT NULL, image TEXT, statemnt TEXT NOT NULL, \
             mntopts TEXT, comments TEXT, disable TEXT, PRIMARY KEY (node) )"
        );
        let au = table("auditlog").unwrap();
        let s = create_table(Dialect::XcatSqlite, au, false);
        assert!(
            s.starts_with(
                "CREATE TABLE auditlog ( recid INTEGER PRIMARY KEY AUTOINCREMENT, audittime TEXT"
            ),
            "{s}"
        );
        assert!(!s.contains("PRIMARY KEY ("), "{s}");
        let p = create_table(Dialect::Postgres, au, false);
        assert!(
            p.contains("\"recid\" SERIAL") && p.ends_with("PRIMARY KEY (\"recid\") )"),
            "{p}"
        );
        let m = create_table(Dialect::Mysql, table("site").unwrap(), false);
        assert_eq!(
            m,
            "CREATE TABLE `site` ( `key` VARCHAR(128) , `value` TEXT, `comments` TEXT, `disable` TEXT, PRIMARY KEY (`key`) )"
        );
        let m = create_table(Dialect::Mysql, au, false);
        assert!(m.contains("`recid` INTEGER AUTO_INCREMENT"), "{m}");
    }

    #[test]
    fn inserts_need_keys_and_required_columns() {
        let st = table("statelite").unwrap();
        let e = check_insert(st, &["node"], &[Some("n1".into())]).unwrap_err();
        assert!(e
            .to_string()
            .contains("NOT NULL constraint failed: statelite.statemnt"));
        assert!(check_insert(table("auditlog").unwrap(), &["userid"], &[None]).is_ok());
        assert!(check_insert(table("nodelist").unwrap(), &["groups"], &[None]).is_err());
    }
}
