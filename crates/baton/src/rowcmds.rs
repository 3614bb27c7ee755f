//! xCAT's row-level table commands: chtab (tabch), nodech, nodeadd, noderm, gettab, tabgrep,
//! tabprune, and the database backup and restore dumpxCATdb / restorexCATdb. Same syntax and
//! messages as xCAT's `tabutils.pm` and scripts; each command is one transaction.

use crate::exit::Failure;
use clap::Args;
use clusterdb::selection::Criterion;
use clusterdb::tabedit::{self, NodechSet, Prune};
use clusterdb::{tabio, ClusterDb, DbUrl, Error, NoderangeEnv, Snapshot};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
#[command(after_help = "\
Usage: chtab keycolname=keyvalue[,keycolname=keyvalue...] tablename.colname=newvalue [...]
       chtab keycolname=keyvalue tablename.colname+=newvalue
       chtab -d keycolname=keyvalue[,...] tablename [tablename...]

Examples:
  chtab key=domain site.value=cluster.example
  chtab node=compute 'ipmi.bmc=/\\z/-bmc/'
  chtab -d node=compute ipmi")]
pub struct ChtabArgs {
    /// Delete the rows matching the keys from the tables
    #[arg(short = 'd', long = "delete")]
    pub delete: bool,
    /// KEY=VALUE[,KEY=VALUE...] then TABLE.COLUMN=VALUE ... (or TABLE ... with -d)
    #[arg(required = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Usage: nodech <noderange> table.column=value [...]
       nodech {-d | --delete} <noderange> <table> [...]

table.column may be a short name (groups, tags, mgt); `,=` adds to a list, `^=` removes from
it, `=@value` assigns a value that starts with `=`; an empty value blanks the node's value
even where a group sets one. Arguments table.column==value (also !=, =~, !~) select nodes.

Examples:
  nodech cn01 groups,=gpu nodehm.mgt=ipmi
  nodech -d cn01 ipmi")]
pub struct NodechArgs {
    /// Delete the nodes' rows from the tables
    #[arg(short = 'd', long = "delete")]
    pub delete: bool,
    /// The nodes to change
    pub noderange: String,
    /// table.column=value ... (tables with -d)
    #[arg(required = true)]
    pub words: Vec<String>,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Usage: nodeadd <noderange> groups=<groupnames> [table.column=value] [...]

Example:
  nodeadd cn[01-04] groups=compute,all nodehm.mgt=ipmi")]
pub struct NodeaddArgs {
    /// The nodes to add
    pub noderange: String,
    /// groups=... table.column=value ...
    #[arg(required = true)]
    pub words: Vec<String>,
}

#[derive(Args, Debug)]
#[command(after_help = "Usage: noderm noderange\n\nExample:\n  noderm cn[05-08]")]
pub struct NodermArgs {
    /// The nodes to remove (from every table with a node column)
    pub noderange: String,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Usage: gettab [-H|--with-fieldname] key=value,...  table.attribute ...

Example:
  gettab key=master site.value")]
pub struct GettabArgs {
    /// Always print `table.attribute: value`
    #[arg(short = 'H', long = "with-fieldname")]
    pub with_header: bool,
    /// KEY=VALUE[,KEY=VALUE...]
    pub keys: String,
    /// table.attribute ...
    #[arg(required = true)]
    pub attrs: Vec<String>,
}

#[derive(Args, Debug)]
#[command(after_help = "Usage: tabgrep nodename\n\nExample:\n  tabgrep cn01")]
pub struct TabgrepArgs {
    /// The node (the first of a noderange)
    pub node: String,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Usage: tabprune <tablename> [-V] -a
       tabprune <tablename> [-V] -n <# of records>
       tabprune <tablename> [-V] -i <recid>
       tabprune <tablename> [-V] -p <percent>
       tabprune <tablename> [-V] -d <# of days>
       tables supported: eventlog, auditlog

Example:
  tabprune auditlog -d 30")]
pub struct TabpruneArgs {
    /// eventlog or auditlog
    pub table: String,
    /// Print the removed records (CSV)
    #[arg(short = 'V')]
    pub verbose: bool,
    /// Remove every record
    #[arg(short = 'a')]
    pub all: bool,
    /// Remove the oldest N records
    #[arg(short = 'n', long = "number")]
    pub number: Option<usize>,
    /// Remove the oldest P percent
    #[arg(short = 'p', long = "percent")]
    pub percent: Option<usize>,
    /// Remove the records up to this recid
    #[arg(short = 'i', long = "recid")]
    pub recid: Option<u64>,
    /// Remove the records older than D days
    #[arg(short = 'd', long = "days")]
    pub days: Option<u64>,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Writes every xCAT table as DIR/TABLE.csv (tabdump's format). The audit and event logs are left
out without -a, and so are the tables named in site.skiptables (or $XCAT_SKIPTABLES).

Example:
  dumpxCATdb -p /var/backup/xcatdb")]
pub struct DumpArgs {
    /// Directory to write the CSV files into (created if missing)
    #[arg(short = 'p', long = "path", required = true)]
    pub path: PathBuf,
    /// Also the auditlog and eventlog tables
    #[arg(short = 'a')]
    pub all: bool,
    /// Say which tables are dumped and skipped
    #[arg(short = 'V')]
    pub verbose: bool,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Restores every TABLE.csv file of DIR in ONE transaction: on any error nothing is changed. The
audit and event logs are left out without -a, and so are the tables in site.skiptables.

Example:
  restorexCATdb -p /var/backup/xcatdb")]
pub struct RestoreArgs {
    /// Directory holding the CSV files
    #[arg(short = 'p', long = "path", required = true)]
    pub path: PathBuf,
    /// Also the auditlog and eventlog tables
    #[arg(short = 'a')]
    pub all: bool,
    /// Say which files are restored and skipped
    #[arg(short = 'V')]
    pub verbose: bool,
}

/// `table.column==value` and the like: a node filter of nodech/nodels.
fn filter_word(
    w: &str,
) -> Option<Result<(&'static clusterdb::schema::TableSpec, String, Criterion), Failure>> {
    let op = ["==", "!=", "=~", "!~"]
        .iter()
        .filter_map(|op| w.find(op))
        .min()?;
    if w[..op].contains('=') {
        return None;
    }
    Some((|| {
        let (spec, col) = tabedit::table_column(&w[..op])?;
        let c = Criterion::selection(&format!("{col}{}", &w[op..]))?;
        Ok((spec, col, c))
    })())
}

const CHTAB_USAGE: &str = "\
Usage: chtab keycolname=keyvalue[,keycolname=keyvalue...] tablename.colname=newvalue [...]
       chtab -d keycolname=keyvalue[,keycolname=keyvalue...] tablename [tablename...]
       chtab [-h|--help] [-v|--version]";

pub fn chtab(url: &DbUrl, a: ChtabArgs) -> Result<(), Failure> {
    if let Some(bad) = a.words.iter().find(|w| w.starts_with('-')) {
        return Err(Failure::usage(format!(
            "unknown option {bad}\n{CHTAB_USAGE}"
        )));
    }
    let mut words = a.words.into_iter();
    let first = words.next().unwrap_or_default();
    let first_is_set = first.split_once('=').is_some_and(|(l, _)| l.contains('.'));
    let (keys, rest): (Vec<(String, String)>, Vec<String>) = if first_is_set && !a.delete {
        (Vec::new(), std::iter::once(first).chain(words).collect())
    } else {
        (tabedit::parse_keys(&first)?, words.collect())
    };
    if rest.is_empty() {
        return Err(Failure::usage(
            "Missing table name.\nCheck man tabch or tabch -h",
        ));
    }
    let mut db = ClusterDb::open(url)?;
    let mut snap = db.write()?;
    if a.delete {
        let mut tables = Vec::new();
        let mut errors = Vec::new();
        for t in &rest {
            match tabedit::xcat_table(t) {
                Ok(s) => tables.push(s),
                Err(e) => errors.push(e.to_string()),
            }
        }
        if !errors.is_empty() {
            return Err(Failure::usage(errors.join("\n")));
        }
        tabedit::chtab_delete(&mut snap, &keys, &tables)?;
    } else {
        // As xCAT: the keys are checked against each table before the columns.
        for w in &rest {
            let t = w.split_once('.').map_or(w.as_str(), |(t, _)| t);
            tabedit::check_keys(tabedit::xcat_table(t)?, &keys)?;
        }
        let sets = rest
            .iter()
            .map(|w| tabedit::parse_column_set(w))
            .collect::<Result<Vec<_>, Error>>()?;
        tabedit::chtab(&mut snap, &keys, &sets)?;
    }
    snap.commit()?;
    Ok(())
}

/// The nodes of a command's noderange; unknown names are an error (xCAT's message).
fn nodes_of(snap: &Snapshot<'_>, range: &str, verify: bool) -> Result<Vec<String>, Failure> {
    let env = NoderangeEnv {
        verify,
        ..NoderangeEnv::from_env()
    };
    let nodes = snap.noderange(range, &env)?;
    if nodes.is_empty() {
        return Err(Failure::usage(format!(
            "Invalid nodes and/or groups in noderange: {range}"
        )));
    }
    Ok(nodes)
}

pub fn nodech(url: &DbUrl, a: NodechArgs) -> Result<(), Failure> {
    let mut db = ClusterDb::open(url)?;
    let mut snap = db.write()?;
    let mut nodes = nodes_of(&snap, &a.noderange, true)?;
    if a.delete {
        if let Some(bad) = a.words.iter().find(|w| w.contains(['=', '.'])) {
            return Err(Failure::usage(format!(
                "{bad}: . and = not valid in delete mode."
            )));
        }
        let tables = a
            .words
            .iter()
            .map(|t| tabedit::xcat_table(t))
            .collect::<Result<Vec<_>, Error>>()?;
        tabedit::nodech_delete(&mut snap, &nodes, &tables)?;
    } else {
        let mut sets: Vec<NodechSet> = Vec::new();
        let mut crits = Vec::new();
        for w in &a.words {
            match filter_word(w) {
                Some(c) => crits.push(c?),
                None => sets.push(tabedit::parse_nodech_set(w)?),
            }
        }
        nodes = tabedit::filter_nodes(&snap, nodes, &crits)?;
        tabedit::nodech(&mut snap, &nodes, &sets)?;
    }
    snap.commit()?;
    Ok(())
}

pub fn nodeadd(url: &DbUrl, a: NodeaddArgs) -> Result<(), Failure> {
    let sets = a
        .words
        .iter()
        .map(|w| tabedit::parse_nodech_set(w))
        .collect::<Result<Vec<_>, Error>>()?;
    if !sets
        .iter()
        .any(|s| s.table.name == "nodelist" && s.column == "groups")
    {
        return Err(Failure::usage(
            "Usage: nodeadd <noderange> groups=<groupnames> [table.column=value] [...]",
        ));
    }
    let mut db = ClusterDb::open(url)?;
    let mut snap = db.write()?;
    let nodes = nodes_of(&snap, &a.noderange, false)?;
    tabedit::nodech(&mut snap, &nodes, &sets)?;
    snap.commit()?;
    Ok(())
}

pub fn noderm(url: &DbUrl, a: NodermArgs) -> Result<(), Failure> {
    let mut db = ClusterDb::open(url)?;
    let mut snap = db.write()?;
    let nodes = nodes_of(&snap, &a.noderange, true)?;
    clusterdb::objects::remove_nodes(&mut snap, &nodes)?;
    snap.commit()?;
    Ok(())
}

pub fn gettab(url: &DbUrl, a: GettabArgs) -> Result<(), Failure> {
    let keys = tabedit::parse_keys(&a.keys)?;
    let mut wanted = Vec::new();
    for w in &a.attrs {
        let (t, c) = w
            .split_once('.')
            .ok_or_else(|| Failure::usage(format!("{w} is not table.attribute")))?;
        let spec = tabedit::xcat_table(t)?;
        if let Some((k, _)) = keys.iter().find(|(k, _)| !spec.has_column(k)) {
            return Err(Failure::usage(format!("Unknown key {k} to {t}")));
        }
        wanted.push((spec, c.to_string()));
    }
    let label = a.with_header || wanted.len() > 1;
    let mut db = ClusterDb::open(url)?;
    let snap = db.read()?;
    let mut out = std::io::stdout().lock();
    for (spec, col) in wanted {
        if !spec.has_column(&col) {
            continue; // xCAT prints nothing for an unknown attribute
        }
        let rows = tabedit::rows_with(&snap, spec, &keys, &[col.as_str()])?;
        if let Some(r) = rows.first() {
            let v = r[0].as_deref().unwrap_or_default();
            if label {
                writeln!(out, "{}.{col}: {v}", spec.name)?;
            } else {
                writeln!(out, "{v}")?;
            }
        }
    }
    Ok(())
}

pub fn tabgrep(url: &DbUrl, a: TabgrepArgs) -> Result<(), Failure> {
    let mut db = ClusterDb::open(url)?;
    let snap = db.read()?;
    let nodes = nodes_of(&snap, &a.node, true)?;
    let mut out = std::io::stdout().lock();
    for t in tabedit::tabgrep(&snap, &nodes[0])? {
        writeln!(out, "{t}")?;
    }
    Ok(())
}

/// `-d DAYS`: the records older than that many days, by their time column.
fn older_than(snap: &Snapshot<'_>, table: &str, days: u64) -> Result<Prune, Failure> {
    let spec = clusterdb::table(table)?;
    let timecol = if table == "auditlog" {
        "audittime"
    } else {
        "eventtime"
    };
    let cutoff = chrono_cutoff(days);
    let rows = snap.select(spec, &["recid", timecol], clusterdb::backend::Filter::All)?;
    let max = rows
        .iter()
        .filter(|r| r[1].as_deref().is_some_and(|t| t < cutoff.as_str()))
        .filter_map(|r| r[0].as_deref().and_then(|v| v.parse::<u64>().ok()))
        .max();
    Ok(max.map_or(Prune::Oldest(0), Prune::UpTo))
}

/// `YYYY-MM-DD` of `days` days ago (xCAT's log times start with the date).
fn chrono_cutoff(days: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let day = (now / 86_400).saturating_sub(days) as i64;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn tabprune(url: &DbUrl, a: TabpruneArgs) -> Result<(), Failure> {
    if !matches!(a.table.as_str(), "eventlog" | "auditlog") {
        return Err(Failure::usage(format!(
            "Table {} not supported, see tabprune -h for supported tables.",
            a.table
        )));
    }
    let given = [
        a.all,
        a.number.is_some(),
        a.percent.is_some(),
        a.recid.is_some(),
        a.days.is_some(),
    ];
    match given.iter().filter(|g| **g).count() {
        0 => {
            return Err(Failure::usage(
                "One option -p or -i or -n or -a or -d must be supplied.",
            ))
        }
        1 => {}
        _ => {
            return Err(Failure::usage(
                "Only one option -p or -i or -n or -a maybe used at a time.",
            ))
        }
    }
    let mut db = ClusterDb::open(url)?;
    let mut snap = db.write()?;
    let what = match (a.number, a.percent, a.recid, a.days) {
        (Some(n), ..) => Prune::Oldest(n),
        (_, Some(p), ..) => Prune::Percent(p),
        (_, _, Some(r), _) => Prune::UpTo(r),
        (.., Some(d)) => older_than(&snap, &a.table, d)?,
        _ => Prune::All,
    };
    let removed = tabedit::tabprune(&mut snap, &a.table, what)?;
    snap.commit()?;
    let mut out = std::io::stdout().lock();
    if a.verbose {
        let spec = clusterdb::table(&a.table)?;
        let mut text = String::new();
        tabcsv::write_header(&mut text, &spec.columns);
        for r in &removed {
            let f: Vec<Option<&str>> = r.iter().map(|v| v.as_deref()).collect();
            tabcsv::write_record(&mut text, &f);
        }
        out.write_all(text.as_bytes())?;
    } else {
        writeln!(out, "tabprune of {} complete.", a.table)?;
    }
    Ok(())
}

/// Tables dumpxCATdb/restorexCATdb leave out: the logs without -a, and site.skiptables.
fn skipped(snap: &Snapshot<'_>, all: bool) -> Result<Vec<String>, Failure> {
    let mut skip: Vec<String> = match std::env::var("XCAT_SKIPTABLES") {
        Ok(v) => v,
        Err(_) => snap.site("skiptables")?.unwrap_or_default(),
    }
    .split(',')
    .map(|s| s.trim().to_string())
    .filter(|s| !s.is_empty())
    .collect();
    if !all {
        skip.extend(["auditlog".to_string(), "eventlog".to_string()]);
    }
    Ok(skip)
}

pub fn dump(url: &DbUrl, a: DumpArgs) -> Result<(), Failure> {
    std::fs::create_dir_all(&a.path)
        .map_err(|e| Failure::failed(format!("{}: {e}", a.path.display())))?;
    let mut db = ClusterDb::open(url)?;
    let snap = db.read()?;
    let skip = skipped(&snap, a.all)?;
    for t in tabio::table_names() {
        if skip.iter().any(|s| s == t) {
            if a.verbose {
                outln!("Skipping {t}");
            }
            continue;
        }
        let path = a.path.join(format!("{t}.csv"));
        std::fs::write(&path, tabio::tabdump(&snap, t)?)
            .map_err(|e| Failure::failed(format!("{}: {e}", path.display())))?;
        if a.verbose {
            outln!("Dumping {t}");
        }
    }
    outln!("Backup Complete.");
    Ok(())
}

/// The CSV files of a backup directory with their tables, sorted by name.
fn backup_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, Failure> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| Failure::failed(format!("Unable to read directory {}: {e}", dir.display())))?;
    let mut files: Vec<(String, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(n, _)| n.ends_with(".csv"))
        .collect();
    files.sort();
    Ok(files)
}

pub fn restore(url: &DbUrl, a: RestoreArgs) -> Result<(), Failure> {
    let files = backup_files(&a.path)?;
    if files.is_empty() {
        return Err(Failure::failed(format!(
            "{}: no .csv file to restore",
            a.path.display()
        )));
    }
    let mut db = ClusterDb::open(url)?;
    let snap = db.write()?;
    let skip = skipped(&snap, a.all)?;
    let mut errors = Vec::new();
    for (name, path) in &files {
        let table = name.split('.').next().unwrap_or_default();
        if skip.iter().any(|s| s == table) {
            if a.verbose {
                outln!("Skipping {name}");
            }
            continue;
        }
        let table = tabio::table_for_file(path)?;
        let text = clusterdb::files::read_text(path, clusterdb::files::LARGE)
            .map_err(|e| Failure::failed(format!("{}: {e}", path.display())))?;
        match tabio::restore_into(&snap, table, &text, false, &path.display().to_string()) {
            Ok(_) if a.verbose => outln!("Restoring {name}."),
            Ok(_) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        errors.push("Restore Failed: nothing was changed.".into());
        return Err(Failure::usage(errors.join("\n")));
    }
    snap.commit()?;
    outln!("Restore of Database Complete.");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn cutoff_dates() {
        assert_eq!(super::chrono_cutoff(0).len(), 10);
        assert!(super::chrono_cutoff(365) < super::chrono_cutoff(0));
    }
}
