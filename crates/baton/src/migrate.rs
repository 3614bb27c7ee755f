//! `baton migrate --from URL --to URL`: copy a cluster database between backends.

use crate::exit::Failure;
use clap::Args;
use clusterdb::{migrate, ClusterDb, DbUrl};
use std::io::Write;

#[derive(Args, Debug)]
#[command(after_help = "\
Every xCAT table and baton's journal tables are copied, every row (disabled ones too), with
auditlog and journal ids kept, in ONE transaction on the target: on any error the target is
left as it was. The row counts are checked inside the transaction and again after the commit.
A target that holds any row is refused unless --force (its rows are then replaced). --db is
not used. Passwords are never printed.

Examples:
  baton migrate --from sqlite:/var/lib/baton/cluster.db --to postgres://xcatadm:PW@mn/xcatdb
  baton migrate --from xcat-cfgloc:/etc/xcat/cfgloc --to sqlite:/root/xcat-copy.db
  baton migrate --from xcat-sqlite:/etc/xcat --to mysql://xcatadmin:PW@mn/xcatdb --force")]
pub struct MigrateArgs {
    /// Database to copy from (sqlite:PATH, xcat-sqlite:DIR, xcat-cfgloc:PATH, postgres://, mysql://)
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// Database to copy into (its tables are created as xCAT creates them)
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Replace the contents of a target that is not empty
    #[arg(long)]
    pub force: bool,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: MigrateArgs) -> Result<(), Failure> {
    let from_url = DbUrl::parse(&a.from)?;
    let to_url = DbUrl::parse(&a.to)?;
    crate::cli::require_existing(&from_url)?;
    if from_url == to_url {
        return Err(Failure::usage(format!(
            "--from and --to are the same database ({from_url})"
        )));
    }
    let mut from = ClusterDb::open(&from_url)?;
    let mut to = ClusterDb::open(&to_url)?;
    let (src, dst) = (from.describe(), to.describe());
    let copied = migrate::migrate(&mut from, &mut to, a.force)?;
    let total: usize = copied.iter().map(|c| c.rows).sum();
    let mut out = std::io::stdout().lock();
    if a.json {
        let tables: serde_json::Map<String, serde_json::Value> = copied
            .iter()
            .map(|c| (c.table.clone(), c.rows.into()))
            .collect();
        let v = serde_json::json!({
            "from": src,
            "to": dst,
            "tables": tables,
            "rows": total,
            "checked": true,
        });
        let s = serde_json::to_string_pretty(&v).map_err(|e| Failure::failed(e.to_string()))?;
        writeln!(out, "{s}")?;
        return Ok(());
    }
    writeln!(out, "Copied {src} to {dst} (one transaction):")?;
    let width = copied.iter().map(|c| c.table.len()).max().unwrap_or(0);
    let mut empty = 0;
    for c in &copied {
        if c.rows == 0 {
            empty += 1;
            continue;
        }
        writeln!(out, "  {:width$}  {:>9}", c.table, c.rows)?;
    }
    writeln!(
        out,
        "{} tables ({empty} of them empty), {total} rows; the counts match after the commit.",
        copied.len()
    )?;
    Ok(())
}
