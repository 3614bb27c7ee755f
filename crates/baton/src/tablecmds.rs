//! init, tabdump, tabrestore.

use crate::cli::{TabdumpArgs, TabrestoreArgs};
use crate::exit::Failure;
use clusterdb::selection::Criterion;
use clusterdb::{tabedit, tabio, ClusterDb, DbUrl};
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
    let Some(table) = a.table else {
        let mut out = std::io::stdout().lock();
        if a.file.is_some() {
            return Err(Failure::usage("table name missing from the command input."));
        }
        for t in tabio::table_names() {
            if a.describe {
                writeln!(out, "{t}:\t{}", describe(clusterdb::table(t)?))?;
            } else {
                writeln!(out, "{t}")?;
            }
        }
        return Ok(());
    };
    // Check the name before touching (and perhaps creating) the database.
    let spec = clusterdb::table(&table)?;
    if a.describe {
        let mut out = std::io::stdout().lock();
        for c in &spec.columns {
            let tab = if c.len() < 7 { "\t\t" } else { "\t" };
            writeln!(out, "{c}:{tab}{}", column_kind(spec, c))?;
        }
        return Ok(());
    }
    if a.lines.is_some() && !a.wheres.is_empty() {
        return Err(Failure::usage(
            "You  cannot use the -n and -w flag together. ",
        ));
    }
    let clauses = a
        .wheres
        .iter()
        .map(|w| Criterion::clause(w))
        .collect::<Result<Vec<_>, _>>()?;
    let mut db = ClusterDb::open(url)?;
    let snap = db.read()?;
    let text = if clauses.is_empty() && a.lines.is_none() {
        tabio::tabdump(&snap, &table)?
    } else {
        let mut rows = tabedit::rows_where(&snap, spec, &clauses)?;
        if let Some(n) = a.lines {
            rows = rows.split_off(rows.len().saturating_sub(n));
        }
        let mut text = String::new();
        tabcsv::write_header(&mut text, &spec.columns);
        for r in &rows {
            let f: Vec<Option<&str>> = r.iter().map(|v| v.as_deref()).collect();
            tabcsv::write_record(&mut text, &f);
        }
        text
    };
    match &a.file {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| Failure::failed(format!("{}: {e}", path.display())))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(())
}

/// What `tabdump -d` says of a table (baton's schema has no descriptions: the key and columns).
fn describe(spec: &clusterdb::schema::TableSpec) -> String {
    format!(
        "key {}; columns {}",
        spec.primary_key.join(","),
        spec.columns.join(",")
    )
}

/// What `tabdump -d TABLE` says of a column.
fn column_kind(spec: &clusterdb::schema::TableSpec, c: &str) -> String {
    let mut kind = if spec.is_key(c) {
        "key column"
    } else {
        "column"
    }
    .to_string();
    if spec.name == "site" && c == "key" {
        kind.push_str(
            ": the name of a site attribute, such as master, domain, xcatdport, xcatiport, \
             installdir, tftpdir, dhcplease, skiptables, excludenodes, sharedinstall",
        );
    }
    if spec.inherit_column() == Some(c) {
        kind.push_str(" (a node or group name)");
    }
    if let Some(t) = spec.column_types.get(c) {
        kind.push_str(&format!(", {t}"));
    }
    kind
}

pub fn tabrestore(url: &DbUrl, a: TabrestoreArgs) -> Result<(), Failure> {
    let table = tabio::table_for_file(&a.file)?;
    let text = clusterdb::files::read_text(&a.file, clusterdb::files::LARGE)
        .map_err(|e| Failure::usage(format!("{}: {e}", a.file.display())))?;
    let mut db = ClusterDb::open(url)?;
    let origin = a.file.display().to_string();
    tabio::tabrestore(&mut db, table, &text, a.add, &origin)?;
    Ok(())
}
