//! One actor per node: a run (snmove, resume, rollback, watch's takeover) holds a lease on its
//! journal entries and its nodes for as long as its steps run. The lease is a `baton_lease` row
//! written in the same transaction as the run's commit (every backend serializes baton's write
//! transactions, so checking for other leases and inserting ours cannot interleave with another
//! run doing the same). A second run on the same entry or nodes is refused, naming the entry,
//! the holder and the nodes.
//!
//! A holder that died without releasing its lease is detected and its lease broken (with a
//! message): on the same machine (same boot id) its PID is gone, or belongs to a process started
//! at another time (a reused PID); otherwise, on PostgreSQL and MariaDB, the holder's session
//! lock (taken on its own database connection in the same transaction) is free, which the
//! server guarantees once the holder's connection is gone. SQLite databases are files on one
//! host, so there a lease from before a restart of that host is dead.

use crate::{Result, TakeoverError};
use clusterdb::backend::{Filter, Tx, Value};
use clusterdb::table;
use std::collections::HashSet;

const COLS: [&str; 8] = [
    "id", "entries", "nodes", "host", "boot", "pid", "pstart", "command",
];

/// The process that runs steps: who a lease names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub host: String,
    /// The kernel's boot id and the PID namespace (`BOOTID:pid:[INODE]`): PIDs compare only
    /// within one namespace of one boot; a lease from before a reboot is dead whatever its PID.
    pub boot: String,
    pub pid: u32,
    /// The process's start time (clock ticks since boot), so a reused PID is not mistaken for it.
    pub pstart: String,
}

impl Holder {
    /// This process.
    pub fn me() -> Self {
        let pid = std::process::id();
        Holder {
            host: read_trim("/proc/sys/kernel/hostname"),
            boot: format!(
                "{}:{}",
                read_trim("/proc/sys/kernel/random/boot_id"),
                std::fs::read_link("/proc/self/ns/pid")
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
            pid,
            pstart: start_time(pid).unwrap_or_default(),
        }
    }

    /// The session lock that says, to other hosts, that this holder's connection is alive.
    fn lock_name(&self) -> String {
        let key = clusterdb::lock::key_of(&format!(
            "{}:{}:{}:{}",
            self.host, self.boot, self.pid, self.pstart
        ));
        format!("lease-{key:016x}")
    }
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name (which may hold spaces and parentheses): fields 3 onwards.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(19).map(str::to_string)
}

/// A lease held by this process; give it back with [`release`].
#[derive(Debug)]
pub struct Lease {
    id: i64,
    lock: String,
}

/// Another run's lease as read from its row.
#[derive(Debug)]
struct Other {
    id: i64,
    entries: Vec<i64>,
    nodes: Vec<String>,
    holder: Holder,
    command: String,
}

fn other_of(r: &[Value]) -> Other {
    let s = |i: usize| r[i].clone().unwrap_or_default();
    Other {
        id: s(0).parse().unwrap_or(0),
        entries: s(1).split(',').filter_map(|e| e.parse().ok()).collect(),
        nodes: s(2)
            .split(',')
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect(),
        holder: Holder {
            host: s(3),
            boot: s(4),
            pid: s(5).parse().unwrap_or(0),
            pstart: s(6),
        },
        command: s(7),
    }
}

/// Is the holder of a lease still running? Err(reason) means dead.
fn alive(tx: &mut dyn Tx, me: &Holder, h: &Holder) -> Result<std::result::Result<(), String>> {
    // The boot id is random per boot: equal means this machine as it runs now, and with the
    // same PID namespace, PIDs that mean the same processes.
    if h.boot == me.boot {
        return Ok(match start_time(h.pid) {
            None => Err(format!("process {} is gone", h.pid)),
            Some(t) if t != h.pstart => Err(format!(
                "process {} is gone (its PID now belongs to another process)",
                h.pid
            )),
            Some(_) => Ok(()),
        });
    }
    // Another machine, or this one before a restart: on a database server, the holder's
    // session lock tells (whatever the host names: two hosts may share one).
    let name = h.lock_name();
    Ok(match tx.try_session_lock(&name)? {
        Some(true) => {
            tx.session_unlock(&name)?;
            Err(format!(
                "its connection to the database is gone (host {})",
                h.host
            ))
        }
        Some(false) => Ok(()),
        // A database file is used from the one host that has it: unless the holder runs in
        // another PID namespace of this boot (a container), whose PIDs cannot be checked from
        // here, it was this host before a restart.
        None if same_boot(h, me) => Ok(()),
        None => Err(format!(
            "{} was restarted since (a database file is only used from the host that has it)",
            h.host
        )),
    })
}

/// Same kernel boot, another PID namespace?
fn same_boot(h: &Holder, me: &Holder) -> bool {
    let boot = |b: &str| b.split(':').next().unwrap_or_default().to_string();
    boot(&h.boot) == boot(&me.boot)
}

/// What two runs share, for the message: entries and the first few nodes.
fn overlap(o: &Other, entries: &[i64], nodes: &HashSet<&str>) -> Option<String> {
    let shared_entries: Vec<String> = o
        .entries
        .iter()
        .filter(|e| entries.contains(e))
        .map(i64::to_string)
        .collect();
    let shared: Vec<&str> = o
        .nodes
        .iter()
        .map(String::as_str)
        .filter(|n| nodes.contains(n))
        .collect();
    if shared_entries.is_empty() && shared.is_empty() {
        return None;
    }
    let mut what = Vec::new();
    if !shared_entries.is_empty() {
        what.push(format!("journal entry {}", shared_entries.join(",")));
    }
    if !shared.is_empty() {
        let more = shared.len().saturating_sub(10);
        let mut list = shared[..shared.len().min(10)].join(",");
        if more > 0 {
            list.push_str(&format!(" and {more} more"));
        }
        what.push(format!("{} nodes ({list})", shared.len()));
    }
    Some(what.join(" and "))
}

/// Take the lease on `entries` and `nodes` inside the write transaction `tx` (commit it to
/// make the lease visible). Refuses, changing nothing, when a live run holds any of them;
/// breaks dead runs' leases, returning a message for each.
pub fn take(
    tx: &mut dyn Tx,
    entries: &[i64],
    nodes: &[String],
    command: &str,
) -> Result<(Lease, Vec<String>)> {
    take_as(tx, &Holder::me(), entries, nodes, command)
}

/// [`take`] on behalf of `me` (tests stand in for a run on another host).
pub fn take_as(
    tx: &mut dyn Tx,
    me: &Holder,
    entries: &[i64],
    nodes: &[String],
    command: &str,
) -> Result<(Lease, Vec<String>)> {
    let spec = table("baton_lease")?;
    let wanted: HashSet<&str> = nodes.iter().map(String::as_str).collect();
    let mut notes = Vec::new();
    for o in tx
        .select(spec, &COLS, Filter::All)?
        .iter()
        .map(|r| other_of(r))
    {
        let Some(what) = overlap(&o, entries, &wanted) else {
            continue;
        };
        let h = &o.holder;
        match alive(tx, me, h)? {
            Ok(()) => {
                return Err(TakeoverError::Busy(format!(
                    "{what} are in use by another run: `{}` (journal entry {}, host {}, PID {}); nothing was changed. Wait for it to end, or stop it and run this again.",
                    o.command,
                    o.entries.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
                    h.host,
                    h.pid
                )))
            }
            Err(why) => {
                tx.delete(spec, &[("id", &o.id.to_string())])?;
                notes.push(format!(
                    "broke the lease of `{}` (journal entry {}, host {}, PID {}) on {what}: {why}",
                    o.command,
                    o.entries
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    h.host,
                    h.pid
                ));
            }
        }
    }
    let lock = me.lock_name();
    // Held on this connection before the row is visible, so no one sees the row unlocked.
    tx.try_session_lock(&lock)?;
    let id = tx.insert_returning_id(
        spec,
        &[
            "entries", "nodes", "host", "boot", "pid", "pstart", "started", "command",
        ],
        &[
            Some(
                entries
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Some(nodes.join(",")),
            Some(me.host.clone()),
            Some(me.boot.clone()),
            Some(me.pid.to_string()),
            Some(me.pstart.clone()),
            Some(crate::journal::now()),
            Some(command.to_string()),
        ],
    )?;
    Ok((Lease { id, lock }, notes))
}

/// Record one more entry under a lease (a rollback's own entry, known after the lease is taken).
pub fn add_entry(tx: &mut dyn Tx, lease: &Lease, entries: &[i64]) -> Result<()> {
    let list: Vec<String> = entries.iter().map(i64::to_string).collect();
    tx.update(
        table("baton_lease")?,
        &[("id", &lease.id.to_string())],
        &[("entries", Some(list.join(",")))],
    )?;
    Ok(())
}

/// Give the lease back (its own small transaction).
pub fn release(db: &mut clusterdb::ClusterDb, lease: Lease) -> Result<()> {
    let snap = db.write()?;
    {
        let mut tx = snap.tx();
        tx.delete(table("baton_lease")?, &[("id", &lease.id.to_string())])?;
        tx.session_unlock(&lease.lock)?;
    }
    snap.commit()?;
    Ok(())
}

/// Release after a run, keeping the run's own error first: a lease that cannot be deleted is
/// broken by the next run (this process will be gone by then).
pub fn release_after<T>(db: &mut clusterdb::ClusterDb, lease: Lease, r: Result<T>) -> Result<T> {
    let released = release(db, lease);
    match (r, released) {
        (Ok(v), Ok(())) => Ok(v),
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let me = Holder::me();
        assert!(!me.pstart.is_empty() && !me.host.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let mut db =
            clusterdb::ClusterDb::open(&clusterdb::DbUrl::Sqlite(dir.path().join("c.db"))).unwrap();
        let snap = db.write().unwrap();
        let mut tx = snap.tx();
        assert!(alive(&mut **tx, &me, &me).unwrap().is_ok());
        let reused = Holder {
            pstart: "1".into(),
            ..me.clone()
        };
        let why = alive(&mut **tx, &me, &reused).unwrap().unwrap_err();
        assert!(why.contains("another process"), "{why}");
        let rebooted = Holder {
            boot: "x".into(),
            ..me.clone()
        };
        assert!(alive(&mut **tx, &me, &rebooted).unwrap().is_err());
        // A container of this boot: its PIDs mean nothing here, so its lease is not broken.
        let boot_id = me.boot.split(':').next().unwrap().to_string();
        let contained = Holder {
            boot: format!("{boot_id}:pid:[1]"),
            pid: u32::MAX,
            ..me.clone()
        };
        assert!(alive(&mut **tx, &me, &contained).unwrap().is_ok());
    }

    #[test]
    fn overlap_names_entries_and_nodes() {
        let o = Other {
            id: 1,
            entries: vec![7],
            nodes: (1..=12).map(|i| format!("cn{i}")).collect(),
            holder: Holder::me(),
            command: "snmove".into(),
        };
        let all: Vec<String> = (1..=12).map(|i| format!("cn{i}")).collect();
        let wanted: HashSet<&str> = all.iter().map(String::as_str).collect();
        let m = overlap(&o, &[7], &wanted).unwrap();
        assert!(m.starts_with("journal entry 7 and 12 nodes (cn1,"), "{m}");
        assert!(m.ends_with("and 2 more)"), "{m}");
        assert!(overlap(&o, &[8], &HashSet::from(["cn13"])).is_none());
    }
}
