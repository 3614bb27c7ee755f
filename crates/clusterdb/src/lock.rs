//! A lock held for a process's lifetime, so only one `baton watch` acts on a cluster. On
//! PostgreSQL it is a session advisory lock and on MySQL/MariaDB a `GET_LOCK`, both on a
//! connection of their own: every watcher that shares the database sees it, wherever it runs,
//! and the server drops it when the connection dies. For SQLite files (embedded, or xCAT's
//! directory) it is `flock(2)` on a file beside the database: such a database is only ever used
//! from the one host that has the file, the kernel drops the lock when the process dies (a lock
//! row could outlive a crashed watcher), and taking it never writes to the database.

use crate::{conninfo, ClusterDb, DbUrl, Error, Result};
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;

/// Held while it lives.
pub struct SessionLock {
    /// What holds it: an open file with the flock, or the database connection.
    _hold: Hold,
    pub describe: String,
}

enum Hold {
    File(#[allow(dead_code)] std::fs::File),
    Db(#[allow(dead_code)] ClusterDb),
}

/// A stable 64-bit key for a lock name (PostgreSQL advisory locks take a bigint): FNV-1a of
/// `baton-session:<name>`.
pub fn key_of(name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("baton-session:{name}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// The lock file of a file database.
fn lock_file(url: &DbUrl, name: &str) -> Result<Option<PathBuf>> {
    Ok(match url {
        DbUrl::Sqlite(p) => {
            let mut s = p.clone().into_os_string();
            s.push(format!(".{name}.lock"));
            Some(PathBuf::from(s))
        }
        DbUrl::XcatSqlite(d) => Some(d.join(format!("baton-{name}.lock"))),
        DbUrl::XcatCfgloc(p) => match conninfo::read_cfgloc(p)? {
            conninfo::Cfgloc::SqliteDir(d) => Some(d.join(format!("baton-{name}.lock"))),
            conninfo::Cfgloc::Server(_) => None,
        },
        DbUrl::Postgres(_) | DbUrl::Mysql(_) => None,
    })
}

/// Take the lock `name` for the database at `url` without waiting: None when another process
/// holds it.
pub fn try_session_lock(url: &DbUrl, name: &str) -> Result<Option<SessionLock>> {
    if let Some(path) = lock_file(url, name)? {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Store(format!("cannot create {}: {e}", dir.display())))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::Store(format!("cannot open {}: {e}", path.display())))?;
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Ok(None);
            }
            return Err(Error::Store(format!("flock {}: {e}", path.display())));
        }
        return Ok(Some(SessionLock {
            _hold: Hold::File(file),
            describe: format!("flock on {}", path.display()),
        }));
    }
    let mut db = ClusterDb::open(url)?;
    if !db.try_session_lock(name)? {
        return Ok(None);
    }
    let describe = format!("session lock '{name}' on {}", db.describe());
    Ok(Some(SessionLock {
        _hold: Hold::Db(db),
        describe,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let url = DbUrl::Sqlite(dir.path().join("c.db"));
        let a = try_session_lock(&url, "watch").unwrap().expect("first");
        assert!(a.describe.contains("c.db.watch.lock"), "{}", a.describe);
        assert!(try_session_lock(&url, "watch").unwrap().is_none());
        assert!(
            try_session_lock(&url, "other").unwrap().is_some(),
            "names are separate"
        );
        drop(a);
        assert!(try_session_lock(&url, "watch").unwrap().is_some());
        let xd = DbUrl::XcatSqlite(dir.path().join("xcat"));
        std::fs::create_dir(dir.path().join("xcat")).unwrap();
        let _b = try_session_lock(&xd, "watch").unwrap().unwrap();
        assert!(try_session_lock(&xd, "watch").unwrap().is_none());
    }

    #[test]
    fn keys_are_stable() {
        assert_eq!(key_of("watch"), key_of("watch"));
        assert_ne!(key_of("watch"), key_of("watch2"));
    }
}
