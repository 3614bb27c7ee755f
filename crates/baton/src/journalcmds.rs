//! journal, resume, rollback.

use crate::exit::Failure;
use crate::snmove::{confirm, report_outcome, retry_busy, run_meta};
use clap::Args;
use clusterdb::{ClusterDb, DbUrl};
use std::io::Write;
use takeover::journal;

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  baton journal\n  baton journal 3\n  baton journal 3 --json")]
pub struct JournalArgs {
    /// A run to show in full
    pub id: Option<i64>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RunIdArgs {
    /// The journal entry (see `baton journal`)
    pub id: i64,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
    /// Do not ask for confirmation on a terminal
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Act also on nodes moved since the entry (by a later entry or by hand); without it they
    /// are skipped (resume) or left where they are (rollback)
    #[arg(long)]
    pub force: bool,
    /// When another run holds the entry or its nodes, wait for it to end instead of exiting 3
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub exec: crate::snmove::ExecArgs,
}

/// Stored text as it is printed: control characters (a terminal's escape sequences among them)
/// escaped, never sent raw to the terminal.
fn shown(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let e: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            e
        })
        .collect()
}

fn json_out(v: &impl serde::Serialize) -> Result<(), Failure> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Failure::failed(e.to_string()))?;
    outln!("{s}");
    Ok(())
}

/// The list of runs, as `baton journal` prints it.
pub fn journal_list(db: &mut ClusterDb, json: bool) -> Result<(), Failure> {
    let snap = db.read()?;
    let entries = journal::list(&snap)?;
    let superseded = takeover::stale::superseded(&snap, &entries)?;
    if json {
        let list: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                if let Some(s) = superseded.get(&e.id) {
                    v["superseded"] = serde_json::Value::String(s.clone());
                }
                v
            })
            .collect();
        return json_out(&list);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:>4}  {:19}  {:11}  {:8}  COMMAND / SUMMARY",
        "ID", "STARTED", "STATE", "USER"
    )?;
    for e in entries {
        writeln!(
            out,
            "{:>4}  {:19}  {:11}  {:8}  {}",
            e.id,
            e.started,
            e.state,
            shown(&e.user),
            shown(&e.command)
        )?;
        writeln!(
            out,
            "{:>4}  {:19}  {:11}  {:8}  {}",
            "",
            "",
            "",
            "",
            shown(&e.summary)
        )?;
        if let Some(s) = superseded.get(&e.id) {
            writeln!(out, "{:>4}  {:19}  {:11}  {:8}  {s}", "", "", "", "")?;
        }
    }
    Ok(())
}

pub fn journal(url: &DbUrl, a: JournalArgs) -> Result<(), Failure> {
    let mut db = ClusterDb::open(url)?;
    let Some(id) = a.id else {
        return journal_list(&mut db, a.json);
    };
    let snap = db.read()?;
    let mut out = std::io::stdout().lock();
    let (entry, plan, steps) = journal::load(&snap, id)?;
    if a.json {
        return json_out(&serde_json::json!({ "entry": entry, "steps": steps, "plan": plan }));
    }
    writeln!(out, "Journal entry {}: {}", entry.id, entry.state)?;
    if let Some(s) = takeover::stale::superseded(&snap, std::slice::from_ref(&entry))?.get(&id) {
        writeln!(out, "  {s} (`baton resume {id}` skips those nodes)")?;
    }
    writeln!(out, "  command:  {}", shown(&entry.command))?;
    writeln!(out, "  user:     {}", shown(&entry.user))?;
    writeln!(out, "  started:  {}", entry.started)?;
    writeln!(
        out,
        "  finished: {}",
        entry.finished.as_deref().unwrap_or("-")
    )?;
    writeln!(out, "  summary:  {}", shown(&entry.summary))?;
    if let Some(undone) = plan.undoes {
        writeln!(
            out,
            "  undoes:   journal entry {undone} (this entry is its rollback)"
        )?;
    }
    writeln!(out, "Steps:")?;
    for s in &steps {
        writeln!(
            out,
            "  {:>3}. [{}] {}",
            s.step,
            s.state.as_str(),
            shown(&s.detail)
        )?;
        let pending: Vec<&String> = s
            .results
            .iter()
            .filter(|(_, r)| !r.is_done())
            .map(|(n, _)| n)
            .collect();
        if !pending.is_empty() {
            let names: Vec<&str> = pending.iter().map(|s| s.as_str()).collect();
            writeln!(out, "       not done on: {}", shown(&names.join(",")))?;
        }
    }
    Ok(())
}

pub fn resume(url: &DbUrl, a: RunIdArgs) -> Result<(), Failure> {
    let mut db = ClusterDb::open(url)?;
    let mut meta = run_meta("baton resume", None, &[a.id.to_string()]);
    meta.force = a.force;
    let mut runner = crate::snmove::step_runner(url, &mut db, &a.exec)?;
    meta.stop = crate::interrupt::stop_on_signals();
    let outcome = retry_busy(a.wait, || {
        takeover::resume_as(&mut db, a.id, &meta, runner.as_mut())
    })?;
    report_outcome(&outcome, a.json, None)
}

pub fn rollback(url: &DbUrl, a: RunIdArgs) -> Result<(), Failure> {
    let mut db = ClusterDb::open(url)?;
    confirm(
        &format!("Restore the values changed by journal entry {}?", a.id),
        a.yes,
    )?;
    let words: Vec<String> = vec![a.id.to_string()];
    let mut meta = run_meta("baton rollback", None, &words);
    meta.force = a.force;
    let mut runner = crate::snmove::step_runner(url, &mut db, &a.exec)?;
    meta.stop = crate::interrupt::stop_on_signals();
    let outcome = retry_busy(a.wait, || {
        takeover::rollback(&mut db, a.id, &meta, runner.as_mut())
    })?;
    if !a.json {
        outln!(
            "Journal entry {} rolled back (recorded as entry {}).",
            a.id,
            outcome.journal_id
        );
    }
    report_outcome(&outcome, a.json, None)
}
