//! Connection parameters for database servers, from a `postgres://` / `mysql://` URL or from
//! xCAT's `cfgloc` line. A password is held in a [`Secret`], whose `Display` and `Debug` print
//! `***`: nothing that holds one can leak it into a log, an error or `--json` output.

use crate::{Error, Result};
use std::fmt;
use std::path::{Path, PathBuf};

/// A password. Printing it (`{}` or `{:?}`) gives `***`; only [`Secret::expose`] gives the text.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Option<String>);

impl Secret {
    pub fn new(s: Option<String>) -> Self {
        Secret(s.filter(|s| !s.is_empty()))
    }
    /// The password itself, for the driver only.
    pub fn expose(&self) -> Option<&str> {
        self.0.as_deref()
    }
    /// Replace every occurrence of the password in `msg` (driver messages, defensively).
    pub fn scrub(&self, msg: &str) -> String {
        match self.expose() {
            Some(p) if p.len() >= 3 => msg.replace(p, "***"),
            _ => msg.to_string(),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "***" } else { "(none)" })
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Which server engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Mysql,
}

/// Where and how to connect to a PostgreSQL or MySQL/MariaDB server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerParams {
    pub engine: Engine,
    /// Host name or address; `None`: the local server through its default unix socket.
    pub host: Option<String>,
    pub port: Option<u16>,
    /// A unix socket: PostgreSQL's socket directory, or MySQL's socket file.
    pub socket: Option<PathBuf>,
    pub dbname: String,
    pub user: Option<String>,
    pub password: Secret,
}

impl ServerParams {
    /// `postgres://user@host:port/db` or `mysql://...`: never the password.
    pub fn describe(&self) -> String {
        let scheme = match self.engine {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
        };
        let user = self
            .user
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let host = match (&self.host, &self.socket) {
            (Some(h), _) => h.clone(),
            (None, Some(s)) => s.display().to_string(),
            (None, None) => "localhost".into(),
        };
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("{scheme}://{user}{host}{port}/{}", self.dbname)
    }

    /// The user, or the default of the engine.
    pub fn user_or_default(&self) -> String {
        self.user.clone().unwrap_or_else(|| match self.engine {
            Engine::Postgres => "postgres".into(),
            Engine::Mysql => "root".into(),
        })
    }
}

/// Decode `%XX` escapes (user, password and database name in URLs).
fn percent_decode(s: &str) -> std::result::Result<String, ()> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or(())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// Parse `postgres://[user[:password]@][host][:port]/dbname[?host=/socket/dir]` or
/// `mysql://[user[:password]@][host][:port]/dbname[?socket=/path]` (also `postgresql://`,
/// `mariadb://`). Errors never contain the password.
pub fn parse_server_url(url: &str) -> Result<ServerParams> {
    let shown = crate::url::redact(url);
    let bad = |why: &str| Error::Url(format!("{shown}: {why}"));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("not a URL (scheme://...)"))?;
    let engine = match scheme {
        "postgres" | "postgresql" => Engine::Postgres,
        "mysql" | "mariadb" => Engine::Mysql,
        _ => return Err(bad("unknown scheme")),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a, p),
        None => (rest, ""),
    };
    let (cred, hostport) = match authority.rsplit_once('@') {
        Some((c, h)) => (Some(c), h),
        None => (None, authority),
    };
    let (user, password) = match cred {
        None => (None, None),
        Some(c) => {
            let (u, p) = match c.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (c, None),
            };
            let u = percent_decode(u).map_err(|_| bad("bad %-escape in the user name"))?;
            let p = match p {
                Some(p) => {
                    Some(percent_decode(p).map_err(|_| bad("bad %-escape in the password"))?)
                }
                None => None,
            };
            (Some(u).filter(|u| !u.is_empty()), p)
        }
    };
    let (host, port) = split_host_port(hostport).map_err(|why| bad(&why))?;
    let dbname = percent_decode(path).map_err(|_| bad("bad %-escape in the database name"))?;
    if dbname.is_empty() || dbname.contains('/') {
        return Err(bad(
            "needs a database name: scheme://user:password@host:port/dbname",
        ));
    }
    let mut socket = None;
    let mut host = host;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v).map_err(|_| bad("bad %-escape in a parameter"))?;
        match (engine, k) {
            // libpq's convention: a host starting with / is a socket directory.
            (Engine::Postgres, "host") if v.starts_with('/') => {
                socket = Some(PathBuf::from(v));
                host = None;
            }
            (Engine::Postgres, "host") => host = Some(v),
            (Engine::Mysql, "socket") => socket = Some(PathBuf::from(v)),
            _ => return Err(bad(&format!("unknown parameter '{k}'"))),
        }
    }
    Ok(ServerParams {
        engine,
        host,
        port,
        socket,
        dbname,
        user,
        password: Secret::new(password),
    })
}

fn split_host_port(s: &str) -> std::result::Result<(Option<String>, Option<u16>), String> {
    if s.is_empty() {
        return Ok((None, None));
    }
    // [v6addr]:port
    if let Some(r) = s.strip_prefix('[') {
        let (h, after) = r.split_once(']').ok_or("unbalanced [ in the host")?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().map_err(|_| format!("bad port '{p}'"))?),
            None if after.is_empty() => None,
            None => return Err("bad host".into()),
        };
        return Ok((Some(h.to_string()), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => {
            let port = p.parse().map_err(|_| format!("bad port '{p}'"))?;
            Ok((Some(h.to_string()).filter(|h| !h.is_empty()), Some(port)))
        }
        None => Ok((Some(s.to_string()), None)),
    }
}

/// What an xCAT `cfgloc` line designates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cfgloc {
    Server(ServerParams),
    /// `SQLite:DIR` (or a bare directory): xCAT's one-file-per-table layout.
    SqliteDir(PathBuf),
}

/// Parse xCAT's cfgloc line: `Pg:dbname=xcatdb;host=mn|xcatadm|password`,
/// `mysql:dbname=xcatdb;host=mn;port=3306|xcatadmin|password` or `SQLite:/etc/xcat`; the
/// password may be empty or missing. Errors never contain the password.
pub fn parse_cfgloc(line: &str, origin: &str) -> Result<Cfgloc> {
    let line = line.trim_end_matches(['\n', '\r']);
    let bad = |why: String| Error::Url(format!("cfgloc {origin}: {why}"));
    let mut fields = line.splitn(3, '|');
    let dsn = fields.next().unwrap_or("").trim();
    let user = fields.next().map(str::to_string).filter(|u| !u.is_empty());
    let password = Secret::new(fields.next().map(str::to_string));
    if dsn.is_empty() {
        return Err(bad("the file is empty".into()));
    }
    // xCAT: a value without ':' is a SQLite directory.
    let Some((engine, rest)) = dsn.split_once(':') else {
        return Ok(Cfgloc::SqliteDir(PathBuf::from(dsn)));
    };
    let engine = match engine {
        "Pg" => Engine::Postgres,
        "mysql" => Engine::Mysql,
        "SQLite" => {
            if rest.is_empty() {
                return Err(bad("SQLite: needs a directory".into()));
            }
            return Ok(Cfgloc::SqliteDir(PathBuf::from(rest)));
        }
        "DB2" | "CSV" => {
            return Err(Error::Unsupported(format!(
                "the {engine} database engine (cfgloc {origin})"
            )))
        }
        other => {
            return Err(bad(format!(
                "unknown database engine '{other}' (Pg, mysql or SQLite)"
            )))
        }
    };
    let (mut dbname, mut host, mut port, mut socket) = (None, None, None, None);
    for pair in rest.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "dbname" | "database" | "db" => dbname = Some(v.to_string()),
            "host" | "hostname" => host = Some(v.to_string()).filter(|h| !h.is_empty()),
            "port" => {
                port = Some(
                    v.parse::<u16>()
                        .map_err(|_| bad(format!("bad port '{v}'")))?,
                )
            }
            "mysql_socket" => socket = Some(PathBuf::from(v)),
            // Other DBI attributes (sslmode, mysql_* options) do not change where the data is.
            _ => {}
        }
    }
    if engine == Engine::Postgres {
        if let Some(h) = host.as_deref().filter(|h| h.starts_with('/')) {
            socket = Some(PathBuf::from(h));
            host = None;
        }
    }
    let dbname = dbname
        .filter(|d| !d.is_empty())
        .ok_or_else(|| bad("no dbname= in the data source".into()))?;
    Ok(Cfgloc::Server(ServerParams {
        engine,
        host,
        port,
        socket,
        dbname,
        user,
        password,
    }))
}

/// Read the first line of a cfgloc file, as xCAT does.
pub fn read_cfgloc(path: &Path) -> Result<Cfgloc> {
    let text = crate::files::read_text(path, crate::files::SMALL)
        .map_err(|e| Error::Store(format!("cannot read cfgloc {}: {e}", path.display())))?;
    let first = text.lines().next().unwrap_or("");
    parse_cfgloc(first, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_never_show_the_password() {
        let p = parse_server_url("postgres://xcatadm:s%40cret@mn:5433/xcatdb").unwrap();
        assert_eq!(p.engine, Engine::Postgres);
        assert_eq!(p.host.as_deref(), Some("mn"));
        assert_eq!(p.port, Some(5433));
        assert_eq!(p.dbname, "xcatdb");
        assert_eq!(p.user.as_deref(), Some("xcatadm"));
        assert_eq!(p.password.expose(), Some("s@cret"));
        let dbg = format!("{p:?} {}", p.describe());
        assert!(!dbg.contains("s@cret") && !dbg.contains("cret"), "{dbg}");
        let m = parse_server_url("mysql://root@127.0.0.1/x?socket=/tmp/s").unwrap();
        assert_eq!(m.engine, Engine::Mysql);
        assert_eq!(m.socket.as_deref(), Some(Path::new("/tmp/s")));
        assert_eq!(m.password.expose(), None);
        let s = parse_server_url("postgresql:///xcatdb?host=/run/pg").unwrap();
        assert_eq!(s.host, None);
        assert_eq!(s.socket.as_deref(), Some(Path::new("/run/pg")));
        let v6 = parse_server_url("postgres://u:p@[::1]:5432/d").unwrap();
        assert_eq!(v6.host.as_deref(), Some("::1"));
        for bad in [
            "postgres://u:topsecret@h:notaport/db",
            "postgres://u:topsecret@h/",
            "mysql://u:topsecret@h/db?bogus=1",
        ] {
            let e = parse_server_url(bad).unwrap_err().to_string();
            assert!(!e.contains("topsecret"), "{e}");
        }
    }

    #[test]
    fn cfgloc_forms() {
        let c = parse_cfgloc("Pg:dbname=xcatdb;host=10.3.5.100|xcatadm|pw0rd\n", "f").unwrap();
        let Cfgloc::Server(p) = c else { panic!() };
        assert_eq!(
            (p.engine, p.host.as_deref(), p.dbname.as_str()),
            (Engine::Postgres, Some("10.3.5.100"), "xcatdb")
        );
        assert_eq!(p.user.as_deref(), Some("xcatadm"));
        assert_eq!(p.password.expose(), Some("pw0rd"));
        assert!(!format!("{p:?}").contains("pw0rd"));
        let Cfgloc::Server(m) =
            parse_cfgloc("mysql:dbname=xcatdb;host=mn;port=3307|xcatadmin|", "f").unwrap()
        else {
            panic!()
        };
        assert_eq!((m.engine, m.port), (Engine::Mysql, Some(3307)));
        assert_eq!(m.password.expose(), None);
        let Cfgloc::Server(n) = parse_cfgloc("Pg:dbname=x;host=mn|xcatadm", "f").unwrap() else {
            panic!()
        };
        assert_eq!(n.password, Secret::default());
        assert_eq!(
            parse_cfgloc("SQLite:/etc/xcat", "f").unwrap(),
            Cfgloc::SqliteDir("/etc/xcat".into())
        );
        assert_eq!(
            parse_cfgloc("/opt/xcat/cfg", "f").unwrap(),
            Cfgloc::SqliteDir("/opt/xcat/cfg".into())
        );
        let e = parse_cfgloc("Pg:host=mn|u|hunter22", "f")
            .unwrap_err()
            .to_string();
        assert!(e.contains("dbname") && !e.contains("hunter22"), "{e}");
        let e = parse_cfgloc("Oracle:x|u|hunter22", "f")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter22"), "{e}");
        assert!(matches!(
            parse_cfgloc("DB2:xcatdb|xcatdb|pw", "f"),
            Err(Error::Unsupported(_))
        ));
    }
}
