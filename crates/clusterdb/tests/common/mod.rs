//! Test databases on every backend: embedded SQLite, xCAT's SQLite directory, PostgreSQL and
//! MariaDB/MySQL.
//!
//! The servers are throw-away: started once per test process from Debian's packages (a temp
//! data dir, a free loopback port, the unix socket in the temp dir), each test getting a
//! database of its own, and stopped when the process exits (an `atexit` hook stops them by PID
//! and removes the temp dir; if the process dies, the kernel kills them: `PR_SET_PDEATHSIG`).
//! `BATON_TEST_PG` / `BATON_TEST_MYSQL` name an existing server instead (a URL whose user may
//! create databases, e.g. `postgres://postgres:pw@127.0.0.1:5432/postgres`). When neither the
//! binaries nor the variable are there, the test prints `SKIPPED: <reason>` and passes.
//!
//! Shared by `crates/clusterdb/tests/*.rs` and `crates/baton/tests/backends.rs` (`#[path]`).
#![allow(dead_code)]

use clusterdb::{ClusterDb, DbUrl};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    XcatSqlite,
    Postgres,
    Mysql,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Sqlite, Kind::XcatSqlite, Kind::Postgres, Kind::Mysql];
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::XcatSqlite => "xcat-sqlite",
            Kind::Postgres => "postgres",
            Kind::Mysql => "mysql",
        }
    }
}

/// A database of its own for one test.
pub struct TestDb {
    pub kind: Kind,
    /// The URL (with its password: for the process under test only).
    pub url: String,
    /// The admin URL of the server, for tests that look at it directly.
    pub server: Option<String>,
    pub dir: tempfile::TempDir,
    drop_db: Option<(Kind, String, String)>,
}

impl TestDb {
    pub fn db_url(&self) -> DbUrl {
        DbUrl::parse(&self.url).unwrap()
    }
    pub fn open(&self) -> ClusterDb {
        ClusterDb::open(&self.db_url()).unwrap_or_else(|e| panic!("open {}: {e}", self.kind.name()))
    }
    /// The password in the URL, if any (to check it never shows).
    pub fn password(&self) -> Option<String> {
        let rest = self.url.split_once("://")?.1;
        let cred = rest.rsplit_once('@')?.0;
        cred.split_once(':').map(|(_, p)| p.to_string())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Only on a server we did not start (a throw-away server goes away whole).
        if let Some((kind, admin, name)) = self.drop_db.take() {
            let _ = admin_exec(kind, &admin, &drop_sql(kind, &name));
        }
    }
}

fn drop_sql(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        _ => format!("DROP DATABASE IF EXISTS `{name}`"),
    }
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty database on `kind`; `None` (after printing SKIPPED) when no server is
/// available for it.
pub fn new_db(kind: Kind) -> Option<TestDb> {
    let dir = tempfile::tempdir().unwrap();
    let (url, server, drop_db) = match kind {
        Kind::Sqlite => (
            format!("sqlite:{}", dir.path().join("cluster.db").display()),
            None,
            None,
        ),
        Kind::XcatSqlite => (
            format!("xcat-sqlite:{}", dir.path().join("xcat").display()),
            None,
            None,
        ),
        Kind::Postgres | Kind::Mysql => {
            let srv = match server(kind) {
                Ok(s) => s,
                Err(why) => {
                    skip(kind, why);
                    return None;
                }
            };
            let name = format!(
                "baton_t{}_{}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::SeqCst)
            );
            let create = match kind {
                Kind::Postgres => format!("CREATE DATABASE \"{name}\""),
                _ => format!("CREATE DATABASE `{name}`"),
            };
            admin_exec(kind, &srv.admin, &create)
                .unwrap_or_else(|e| panic!("{}: {create}: {e}", kind.name()));
            let url = with_db(&srv.admin, &name);
            let drop_db = (!srv.owned).then(|| (kind, srv.admin.clone(), name));
            (url, Some(srv.admin.clone()), drop_db)
        }
    };
    Some(TestDb {
        kind,
        url,
        server,
        dir,
        drop_db,
    })
}

fn skip(kind: Kind, why: &str) {
    let line = format!("SKIPPED: {} backend tests: {why}", kind.name());
    eprintln!("{line}");
    println!("{line}");
}

/// `scheme://cred@host:port/olddb?x` → same with `db`.
fn with_db(url: &str, db: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (auth, _) = rest.split_once('/').unwrap_or((rest, ""));
    format!("{scheme}://{auth}/{db}")
}

/// Run one SQL statement as the server's admin.
pub fn admin_exec(kind: Kind, admin: &str, sql: &str) -> Result<(), String> {
    match kind {
        Kind::Postgres => {
            let mut c =
                postgres::Client::connect(admin, postgres::NoTls).map_err(|e| e.to_string())?;
            c.batch_execute(sql).map_err(|e| format!("{e:?}"))
        }
        Kind::Mysql => {
            use mysql::prelude::Queryable;
            let opts = mysql::Opts::from_url(admin).map_err(|e| e.to_string())?;
            let mut c = mysql::Conn::new(opts).map_err(|e| e.to_string())?;
            c.query_drop(sql).map_err(|e| e.to_string())
        }
        _ => Ok(()),
    }
}

pub struct Server {
    /// URL of the server's admin database, password included.
    pub admin: String,
    /// Started by this process (and stopped at its exit).
    owned: bool,
}

fn server(kind: Kind) -> Result<&'static Server, &'static str> {
    static PG: OnceLock<Result<Server, String>> = OnceLock::new();
    static MY: OnceLock<Result<Server, String>> = OnceLock::new();
    let cell = match kind {
        Kind::Postgres => &PG,
        _ => &MY,
    };
    let r = cell.get_or_init(|| {
        let var = match kind {
            Kind::Postgres => "BATON_TEST_PG",
            _ => "BATON_TEST_MYSQL",
        };
        if let Ok(url) = std::env::var(var) {
            if !url.is_empty() {
                return Ok(Server {
                    admin: url,
                    owned: false,
                });
            }
        }
        match kind {
            Kind::Postgres => start_postgres(),
            _ => start_mariadb(),
        }
    });
    match r {
        Ok(s) => Ok(s),
        Err(why) if why.starts_with("missing:") => Err(why.as_str()),
        Err(why) => panic!("{} test server: {why}", kind.name()),
    }
}

// ---- process management ---------------------------------------------------------------

struct Running {
    pid: i32,
    stop_signal: i32,
    dir: PathBuf,
}

static RUNNING: Mutex<Vec<Running>> = Mutex::new(Vec::new());

extern "C" fn stop_all() {
    let Ok(mut list) = RUNNING.lock() else { return };
    for r in list.drain(..) {
        unsafe {
            libc::kill(r.pid, r.stop_signal);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mut status = 0;
            let done = unsafe { libc::waitpid(r.pid, &mut status, libc::WNOHANG) };
            if done == r.pid || done < 0 {
                break;
            }
            if Instant::now() > deadline {
                unsafe {
                    libc::kill(-r.pid, libc::SIGKILL);
                    libc::waitpid(r.pid, &mut status, 0);
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever the server left in its process group.
        unsafe {
            libc::kill(-r.pid, libc::SIGKILL);
        }
        let _ = std::fs::remove_dir_all(&r.dir);
    }
}

/// Spawn a server in its own process group from a thread that lives as long as the process,
/// with PR_SET_PDEATHSIG so that the kernel kills it if the process dies without `atexit`.
fn spawn_server(mut cmd: Command, stop_signal: i32, dir: &Path) -> Result<i32, String> {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| unsafe {
        libc::atexit(stop_all);
    });
    cmd.process_group(0);
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = cmd.spawn().map(|c| c.id() as i32);
        let ok = r.is_ok();
        let _ = tx.send(r);
        if ok {
            loop {
                std::thread::park();
            }
        }
    });
    let pid = rx
        .recv()
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot start: {e}"))?;
    RUNNING.lock().unwrap().push(Running {
        pid,
        stop_signal,
        dir: dir.to_path_buf(),
    });
    Ok(pid)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn log_tail(path: &Path) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn wait_until(what: &str, log: &Path, mut ready: impl FnMut() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("{what} did not start in 90 s:\n{}", log_tail(log)))
}

/// uid and gid of a system user, from /etc/passwd.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

fn run_logged(mut cmd: Command, log: &Path, what: &str) -> Result<(), String> {
    let f = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let out = cmd
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .status()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({out}):\n{}", log_tail(log)))
    }
}

// ---- PostgreSQL ----------------------------------------------------------------------

const PASSWORD: &str = "b4ton-test-pw";

fn pg_bindir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").exists() && b.join("postgres").exists())
        .collect();
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

fn start_postgres() -> Result<Server, String> {
    let Some(bin) = pg_bindir() else {
        return Err(
            "missing: no PostgreSQL server binaries (/usr/lib/postgresql/*/bin; \
                    apt-get install postgresql) and BATON_TEST_PG is not set"
                .into(),
        );
    };
    // postgres refuses to run as root: run it as the `postgres` system user.
    let ids = if is_root() {
        Some(user_ids("postgres").ok_or("missing: no `postgres` system user to run the server")?)
    } else {
        None
    };
    let tmp = tempfile::Builder::new()
        .prefix("baton-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    let data = tmp.join("data");
    let pwfile = tmp.join("pw");
    std::fs::write(&pwfile, PASSWORD).map_err(|e| e.to_string())?;
    if let Some((uid, gid)) = ids {
        for p in [&tmp, &pwfile] {
            std::os::unix::fs::chown(p, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        }
    }
    let as_pg = |prog: PathBuf| {
        let mut c = Command::new(prog);
        if let Some((uid, gid)) = ids {
            c.uid(uid).gid(gid);
        }
        c.current_dir(&tmp);
        c
    };
    let mut init = as_pg(bin.join("initdb"));
    init.arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        .args(["-E", "UTF8", "--locale=C", "--no-sync"]);
    run_logged(init, &tmp.join("initdb.log"), "initdb")?;
    let port = free_port();
    let log = tmp.join("postgres.log");
    let logf = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    if let Some((uid, gid)) = ids {
        std::os::unix::fs::chown(&log, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
    }
    let mut pg = as_pg(bin.join("postgres"));
    pg.arg("-D")
        .arg(&data)
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(&tmp)
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=64MB",
        ])
        .stdin(Stdio::null())
        .stdout(logf.try_clone().unwrap())
        .stderr(logf);
    spawn_server(pg, libc::SIGINT, &tmp)?;
    let admin = format!("postgres://postgres:{PASSWORD}@127.0.0.1:{port}/postgres");
    wait_until("postgres", &log, || {
        postgres::Client::connect(&admin, postgres::NoTls).is_ok()
    })?;
    Ok(Server { admin, owned: true })
}

// ---- MariaDB / MySQL --------------------------------------------------------------------

fn which(names: &[&str]) -> Option<PathBuf> {
    for n in names {
        for d in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
            let p = Path::new(d).join(n);
            if p.exists() {
                return Some(p);
            }
        }
    }
    None
}

fn start_mariadb() -> Result<Server, String> {
    let (Some(install), Some(server)) = (
        which(&["mariadb-install-db", "mysql_install_db"]),
        which(&["mariadbd", "mysqld"]),
    ) else {
        return Err(
            "missing: no MariaDB server binaries (mariadb-install-db, mariadbd; \
                    apt-get install mariadb-server) and BATON_TEST_MYSQL is not set"
                .into(),
        );
    };
    let tmp = tempfile::Builder::new()
        .prefix("baton-my-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    let data = tmp.join("data");
    let sock = tmp.join("sock");
    let user = if is_root() {
        vec!["--user=root".to_string()]
    } else {
        vec![]
    };
    let mut init = Command::new(install);
    init.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(&user)
        .args([
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
        ])
        .current_dir(&tmp);
    run_logged(init, &tmp.join("install-db.log"), "mariadb-install-db")?;
    let port = free_port();
    let log = tmp.join("mariadb.log");
    let mut srv = Command::new(server);
    srv.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--port={port}"))
        .arg(format!("--socket={}", sock.display()))
        .arg(format!("--pid-file={}", tmp.join("pid").display()))
        .arg(format!("--log-error={}", log.display()))
        .args(&user)
        .args([
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=128M",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-doublewrite=0",
            "--max-connections=200",
            "--max-allowed-packet=256M",
            "--character-set-server=utf8mb4",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    spawn_server(srv, libc::SIGTERM, &tmp)?;
    // root has no password over the socket; create a password user for TCP.
    let root_sock = format!("mysql://root@localhost/mysql?socket={}", sock.display());
    let mut conn = None;
    wait_until("mariadbd", &log, || {
        let Ok(o) = mysql::Opts::from_url(&root_sock) else {
            return false;
        };
        match mysql::Conn::new(mysql::OptsBuilder::from_opts(o).prefer_socket(true)) {
            Ok(c) => {
                conn = Some(c);
                true
            }
            Err(_) => false,
        }
    })?;
    use mysql::prelude::Queryable;
    let mut c = conn.unwrap();
    c.query_drop(format!(
        "CREATE USER 'baton'@'%' IDENTIFIED BY '{PASSWORD}'; \
         GRANT ALL PRIVILEGES ON *.* TO 'baton'@'%' WITH GRANT OPTION"
    ))
    .map_err(|e| e.to_string())?;
    let admin = format!("mysql://baton:{PASSWORD}@127.0.0.1:{port}/mysql");
    let _ = std::io::stderr().flush();
    Ok(Server { admin, owned: true })
}

/// A named case of a backend suite.
pub type Case = fn(&TestDb);

/// Run every case on a fresh database of `kind` (one server start per process); nothing when the
/// backend is not available (the harness has said SKIPPED).
pub fn run_cases(kind: Kind, cases: &[(&str, Case)]) {
    let Some(probe) = new_db(kind) else { return };
    drop(probe);
    for (name, case) in cases {
        eprintln!("[{}] {name}", kind.name());
        let db = new_db(kind).unwrap();
        case(&db);
    }
}
