//! tabdump and tabrestore in xCAT's exact CSV format (see the `tabcsv` crate for the format).

use crate::backend::{Filter, Value};
use crate::schema::{schema, TableSpec};
use crate::{table, ClusterDb, Error, Result, Snapshot};
use std::path::Path;

/// The whole table as xCAT's `tabdump` prints it: header, then every row (disabled ones too)
/// in the store's natural order.
pub fn tabdump(snap: &Snapshot<'_>, name: &str) -> Result<String> {
    let spec = table(name)?;
    let cols: Vec<&str> = spec.columns.iter().map(String::as_str).collect();
    let mut out = String::new();
    tabcsv::write_header(&mut out, &cols);
    if !snap.tx().table_exists(spec)? {
        return Ok(out);
    }
    for row in snap.select(spec, &cols, Filter::All)? {
        let fields: Vec<Option<&str>> = row.iter().map(|v| v.as_deref()).collect();
        tabcsv::write_record(&mut out, &fields);
    }
    Ok(out)
}

/// The table names, one per line, as `tabdump` with no argument lists them.
pub fn table_names() -> Vec<&'static str> {
    schema().tables.keys().map(String::as_str).collect()
}

/// The table a tabrestore file goes to: its file name up to the first dot.
pub fn table_for_file(path: &Path) -> Result<&'static str> {
    let base = path
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| Error::Invalid(format!("{}: not a file name", path.display())))?;
    let name = base.split('.').next().unwrap_or(base);
    schema()
        .tables
        .get_key_value(name)
        .map(|(k, _)| k.as_str())
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{}: the file name must be a table name (e.g. nodelist.csv); there is no table '{name}'",
                path.display()
            ))
        })
}

/// Outcome of a restore.
#[derive(Debug)]
pub struct Restored {
    pub table: &'static str,
    pub rows: usize,
}

/// Load `text` into `table_name`. Without `add`, the table's rows are replaced; with `add`, rows
/// are added (a record equal to an existing row in every listed column is left as is). All in one
/// transaction: any error leaves the table exactly as it was.
pub fn tabrestore(
    db: &mut ClusterDb,
    table_name: &str,
    text: &str,
    add: bool,
    origin: &str,
) -> Result<Restored> {
    let snap = db.write()?;
    let rows = restore_into(&snap, table_name, text, add, origin)?;
    snap.commit()?;
    Ok(Restored {
        table: table(table_name)?.name.as_str(),
        rows,
    })
}

/// The body of [`tabrestore`] inside a caller's transaction (several tables can be restored in
/// one). Returns the number of records; on error nothing must be committed.
/// Values a table cannot hold, before anything is written: a NUL byte anywhere, an empty key.
fn check_records(spec: &TableSpec, parsed: &tabcsv::Parsed, origin: &str) -> Result<()> {
    let mut bad = Vec::new();
    for rec in &parsed.records {
        // Data lines start after the header: the first is line 2 of the file.
        let at = format!("{origin}: line {}", rec.line + 2);
        let mut key: Vec<(&str, bool)> = Vec::new();
        for (c, v) in parsed.columns.iter().zip(&rec.fields) {
            let v = v.as_deref();
            if v.is_some_and(|v| v.contains('\0')) {
                bad.push(format!("{at}: {c} holds a NUL byte"));
            }
            if spec.primary_key.contains(c) {
                key.push((c, v.is_none_or(|v| v.trim().is_empty())));
            }
        }
        // Some keys have parts that may be empty (passwd's username, a switch's port); a key
        // with no part at all names no row.
        if !key.is_empty() && key.iter().all(|(_, empty)| *empty) {
            let names: Vec<&str> = key.iter().map(|(c, _)| *c).collect();
            bad.push(format!("{at}: the key {} is empty", names.join(",")));
        }
    }
    match bad.is_empty() {
        true => Ok(()),
        false => Err(Error::Csv(bad)),
    }
}

pub fn restore_into(
    snap: &Snapshot<'_>,
    table_name: &str,
    text: &str,
    add: bool,
    origin: &str,
) -> Result<usize> {
    let spec = table(table_name)?;
    let known: Vec<&str> = spec.columns.iter().map(String::as_str).collect();
    // A byte order mark (some editors write one) is not part of the header.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let parsed = tabcsv::parse(text, table_name, &known)
        .map_err(|errs| Error::Csv(errs.iter().map(|e| format!("{origin}: {e}")).collect()))?;
    let auto = spec.autoincrement();
    // Auto-increment values are never restored: the database assigns new ones.
    let keep: Vec<usize> = (0..parsed.columns.len())
        .filter(|&i| Some(parsed.columns[i].as_str()) != auto)
        .collect();
    let cols: Vec<&str> = keep.iter().map(|&i| parsed.columns[i].as_str()).collect();

    check_records(spec, &parsed, origin)?;
    let mut tx = snap.tx();
    if !add {
        tx.delete_all(spec)?;
    }
    let mut errors = Vec::new();
    for rec in &parsed.records {
        let values: Vec<Value> = keep.iter().map(|&i| rec.fields[i].clone()).collect();
        // xCAT's setAttribs(record, record): a row equal in every listed column is updated in
        // place (NULL never compares equal), anything else is inserted.
        let exists = add && !cols.is_empty() && !values.iter().any(Option::is_none) && {
            let key: Vec<(&str, &str)> = cols
                .iter()
                .zip(&values)
                .map(|(c, v)| (*c, v.as_deref().unwrap_or("")))
                .collect();
            let set: Vec<(&str, Value)> =
                key.iter().map(|(c, v)| (*c, Some(v.to_string()))).collect();
            tx.update(spec, &key, &set)? > 0
        };
        if !exists {
            if let Err(e) = tx.insert(spec, &cols, &values) {
                errors.push(format!("{origin}: record {}: {e}", rec.line));
            }
        }
    }
    if !errors.is_empty() {
        return Err(Error::Csv(errors));
    }
    Ok(parsed.records.len())
}
