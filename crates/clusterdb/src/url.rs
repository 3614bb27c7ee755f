//! Database locations: `sqlite:PATH` (the embedded default), `postgres://...`, `mysql://...`
//! (MariaDB too), `xcat-sqlite:DIR` (xCAT's one-file-per-table layout) and `xcat-cfgloc:PATH`
//! (xCAT's cfgloc file). `Display` and `Debug` never show a password.

use crate::{Error, Result};
use std::fmt;
use std::path::PathBuf;

#[derive(Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// baton's embedded database: one SQLite file.
    Sqlite(PathBuf),
    /// `postgres://user:pass@host:port/db`
    Postgres(String),
    /// `mysql://user:pass@host:port/db` (MariaDB too)
    Mysql(String),
    /// xCAT's own SQLite layout: one `<table>.sqlite` file per table in DIR.
    XcatSqlite(PathBuf),
    /// xCAT's cfgloc file (`Pg:dbname=...;host=...|user|password`).
    XcatCfgloc(PathBuf),
}

impl DbUrl {
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::Url(format!("{}: {why}", redact(s)));
        if let Some(p) = s.strip_prefix("sqlite:") {
            let p = p.strip_prefix("//").unwrap_or(p);
            if p.is_empty() {
                return Err(bad(
                    "sqlite: needs a file path, e.g. sqlite:/var/lib/baton/cluster.db",
                ));
            }
            return Ok(DbUrl::Sqlite(PathBuf::from(p)));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(s.to_string()));
        }
        if s.starts_with("mysql://") || s.starts_with("mariadb://") {
            return Ok(DbUrl::Mysql(s.to_string()));
        }
        if let Some(p) = s.strip_prefix("xcat-sqlite:") {
            if p.is_empty() {
                return Err(bad(
                    "xcat-sqlite: needs a directory, e.g. xcat-sqlite:/etc/xcat",
                ));
            }
            return Ok(DbUrl::XcatSqlite(PathBuf::from(p)));
        }
        if let Some(p) = s.strip_prefix("xcat-cfgloc:") {
            if p.is_empty() {
                return Err(bad(
                    "xcat-cfgloc: needs a file, e.g. xcat-cfgloc:/etc/xcat/cfgloc",
                ));
            }
            return Ok(DbUrl::XcatCfgloc(PathBuf::from(p)));
        }
        Err(bad(
            "unknown database URL; use sqlite:PATH, postgres://..., mysql://..., \
             xcat-sqlite:DIR or xcat-cfgloc:PATH",
        ))
    }

    /// The file or directory this URL names, when it does not exist: opening it would create a
    /// new, empty database there (server URLs name no local path).
    pub fn missing_path(&self) -> Option<&std::path::Path> {
        match self {
            DbUrl::Sqlite(p) | DbUrl::XcatSqlite(p) | DbUrl::XcatCfgloc(p) => {
                (!p.exists()).then_some(p.as_path())
            }
            DbUrl::Postgres(_) | DbUrl::Mysql(_) => None,
        }
    }

    /// The embedded default: `$XDG_DATA_HOME/baton/cluster.db` (`~/.local/share/baton/cluster.db`).
    pub fn default_location() -> Self {
        let base = dirs::data_dir().unwrap_or_else(|| PathBuf::from("."));
        DbUrl::Sqlite(base.join("baton").join("cluster.db"))
    }
}

/// Hide a password in `scheme://user:password@host` and in a `password=` (or `pass...=`)
/// query parameter, for messages and records.
pub fn redact(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return s.to_string();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let mut out = match rest.rsplit_once('@') {
        Some((cred, host)) => match cred.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://{rest}"),
        },
        None => format!("{scheme}://{rest}"),
    };
    if let Some(q) = query {
        let pairs: Vec<String> = q
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.to_ascii_lowercase().contains("pass") => format!("{k}=***"),
                _ => p.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// [`redact`] applied to each whitespace-separated word of a command line.
pub fn redact_words(s: &str) -> String {
    s.split_whitespace()
        .map(redact)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Same as `Display`: the password is hidden.
impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbUrl({self})")
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbUrl::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            DbUrl::Postgres(u) | DbUrl::Mysql(u) => f.write_str(&redact(u)),
            DbUrl::XcatSqlite(p) => write!(f, "xcat-sqlite:{}", p.display()),
            DbUrl::XcatCfgloc(p) => write!(f, "xcat-cfgloc:{}", p.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            DbUrl::parse("sqlite:/tmp/x.db").unwrap(),
            DbUrl::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            DbUrl::parse("sqlite:rel.db").unwrap(),
            DbUrl::Sqlite("rel.db".into())
        );
        assert!(matches!(
            DbUrl::parse("postgres://u:p@h/db").unwrap(),
            DbUrl::Postgres(_)
        ));
        assert!(matches!(
            DbUrl::parse("mysql://u@h/db").unwrap(),
            DbUrl::Mysql(_)
        ));
        assert!(matches!(
            DbUrl::parse("xcat-sqlite:/etc/xcat").unwrap(),
            DbUrl::XcatSqlite(_)
        ));
        assert!(matches!(
            DbUrl::parse("xcat-cfgloc:/etc/xcat/cfgloc").unwrap(),
            DbUrl::XcatCfgloc(_)
        ));
        assert!(DbUrl::parse("sqlite:").is_err());
        assert!(DbUrl::parse("/some/path").is_err());
    }

    #[test]
    fn passwords_never_show() {
        let u = DbUrl::parse("postgres://xcatadm:s3cret@mn:5432/xcatdb").unwrap();
        assert_eq!(u.to_string(), "postgres://xcatadm:***@mn:5432/xcatdb");
        assert!(!format!("{u:?}").contains("s3cret"));
        let e = DbUrl::parse("foo://a:s3cret@b").unwrap_err().to_string();
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn passwords_are_hidden_in_every_form() {
        for (raw, want) in [
            (
                "postgres://u:S3cret@h:5432/db",
                "postgres://u:***@h:5432/db",
            ),
            (
                "postgres://u@h/db?password=S3cret",
                "postgres://u@h/db?password=***",
            ),
            (
                "mysql://u:S3cret@h/db?socket=/s&PassWord=S3cret",
                "mysql://u:***@h/db?socket=/s&PassWord=***",
            ),
            (
                "--db=postgres://u:S3cret@h/db",
                "--db=postgres://u:***@h/db",
            ),
            ("sqlite:/tmp/x.db", "sqlite:/tmp/x.db"),
        ] {
            assert_eq!(redact(raw), want);
        }
        let line = "snmove --db postgres://u:S3cret@h/db compute@rack2 -d sn2";
        let r = redact_words(line);
        assert!(!r.contains("S3cret") && r.contains("compute@rack2"), "{r}");
    }
}
