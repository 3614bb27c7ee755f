//! xCAT's cluster database: the schema of every xCAT table, storage backends behind one small
//! interface ([`backend::Backend`]), group inheritance and table value expressions exactly as
//! xCAT's `Table.pm` applies them, noderange evaluation against the tables, tabdump/tabrestore in
//! xCAT's CSV format, and the lsdef/chdef object layer.
//!
//! Invariant: every read a command makes goes through one [`Snapshot`] (one transaction), so it
//! sees one consistent state of the database; every write is committed in one transaction or
//! not at all.

pub mod attrs;
pub mod backend;
pub mod conninfo;
pub mod ddl;
pub mod files;
pub mod hosts;
pub mod index;
mod keycache;
pub mod lock;
pub mod migrate;
pub mod mysqldb;
pub mod objects;
pub mod objwrite;
pub mod pg;
pub mod rowobjects;
pub mod sample;
pub mod schema;
pub mod selection;
pub mod sqlite;
pub mod stanza;
pub mod tabedit;
pub mod tabio;
pub mod templates;
pub mod url;
pub mod xcatsqlite;

use backend::{Backend, Filter, Tx, Value};
use schema::{schema, TableSpec};
use std::cell::{OnceCell, RefCell};
pub use url::DbUrl;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Store(String),
    #[error("{0}")]
    Url(String),
    #[error("{0} is not supported yet by this version of baton")]
    Unsupported(String),
    #[error("no table named '{0}' in the xCAT schema")]
    UnknownTable(String),
    #[error("{0} not a valid table.column description")]
    UnknownColumn(String),
    #[error("{0}")]
    Noderange(#[from] noderange::NoderangeError),
    #[error("table {}, column {}, node {}: {}", .0.table, .0.column, .0.node, .0.source)]
    Expr(Box<ExprFailure>),
    #[error("{}", .0.join("\n"))]
    Csv(Vec<String>),
    #[error("{0}")]
    Invalid(String),
    /// An object that was named does not exist (xCAT's "Could not find an object named ...").
    #[error("{0}")]
    Missing(String),
    /// An object to create exists already.
    #[error("{0}")]
    Exists(String),
}

/// A table value expression that could not be evaluated, and where it was.
#[derive(Debug)]
pub struct ExprFailure {
    pub table: String,
    pub column: String,
    pub node: String,
    pub source: valexpr::ExprError,
}

pub type Result<T> = std::result::Result<T, Error>;

/// Look a table up in the schema, or fail naming it.
pub fn table(name: &str) -> Result<&'static TableSpec> {
    schema()
        .table(name)
        .ok_or_else(|| Error::UnknownTable(name.to_string()))
}

/// A cluster database, opened on some backend.
pub struct ClusterDb {
    backend: Box<dyn Backend>,
}

impl ClusterDb {
    /// Open the database at `url`, creating the file and every missing table on first use
    /// (in xCAT's SQLite layout, a table's file is created by the first write that needs it).
    pub fn open(url: &DbUrl) -> Result<Self> {
        let server = |p: &conninfo::ServerParams| -> Result<Box<dyn Backend>> {
            Ok(match p.engine {
                conninfo::Engine::Postgres => Box::new(pg::PgBackend::connect(p)?),
                conninfo::Engine::Mysql => Box::new(mysqldb::MysqlBackend::connect(p)?),
            })
        };
        let mut backend: Box<dyn Backend> = match url {
            DbUrl::Sqlite(p) => Box::new(sqlite::SqliteBackend::open(p)?),
            DbUrl::Postgres(u) | DbUrl::Mysql(u) => server(&conninfo::parse_server_url(u)?)?,
            DbUrl::XcatSqlite(d) => Box::new(xcatsqlite::XcatSqliteBackend::open(d)?),
            DbUrl::XcatCfgloc(path) => match conninfo::read_cfgloc(path)? {
                conninfo::Cfgloc::Server(p) => server(&p)?,
                conninfo::Cfgloc::SqliteDir(d) => {
                    Box::new(xcatsqlite::XcatSqliteBackend::open(&d)?)
                }
            },
        };
        backend.ensure_schema()?;
        Ok(ClusterDb { backend })
    }

    pub fn describe(&self) -> String {
        self.backend.describe()
    }

    /// See [`backend::Backend::try_session_lock`]; [`lock::try_session_lock`] picks the kind.
    pub fn try_session_lock(&mut self, name: &str) -> Result<bool> {
        self.backend.try_session_lock(name)
    }

    /// A read-only snapshot: every read through it sees the same state.
    pub fn read(&mut self) -> Result<Snapshot<'_>> {
        Snapshot::new(self.backend.begin(false)?)
    }

    /// A write transaction (holding the write lock from the start); `commit` makes it durable.
    pub fn write(&mut self) -> Result<Snapshot<'_>> {
        Snapshot::new(self.backend.begin(true)?)
    }
}

/// One transaction plus the indexes built lazily from it (node list, groups, site).
pub struct Snapshot<'a> {
    tx: RefCell<Box<dyn Tx + 'a>>,
    index: OnceCell<index::NodeIndex>,
    site: OnceCell<std::collections::HashMap<String, String>>,
    version: Option<backend::DataVersion>,
}

impl<'a> Snapshot<'a> {
    fn new(mut tx: Box<dyn Tx + 'a>) -> Result<Self> {
        // First, before any read: a commit by another connection after this point changes it.
        let version = tx.data_version()?;
        Ok(Snapshot {
            tx: RefCell::new(tx),
            index: OnceCell::new(),
            site: OnceCell::new(),
            version,
        })
    }

    /// The store's data version when this snapshot began (see [`Tx::data_version`]): two
    /// snapshots of one [`ClusterDb`] with the same `Some` value saw the same data.
    pub fn version(&self) -> Option<backend::DataVersion> {
        self.version
    }

    pub fn commit(self) -> Result<()> {
        self.tx.into_inner().commit()
    }

    /// Direct access to the transaction, for table-level work.
    pub fn tx(&self) -> std::cell::RefMut<'_, Box<dyn Tx + 'a>> {
        self.tx.borrow_mut()
    }

    /// Forget cached indexes after writing through [`Snapshot::tx`].
    pub fn invalidate(&mut self) {
        self.index = OnceCell::new();
        self.site = OnceCell::new();
    }

    pub fn select(
        &self,
        table: &TableSpec,
        columns: &[&str],
        filter: Filter<'_>,
    ) -> Result<Vec<Vec<Value>>> {
        self.tx.borrow_mut().select(table, columns, filter)
    }

    /// The node list and group memberships (loaded once per snapshot).
    pub fn index(&self) -> Result<&index::NodeIndex> {
        if let Some(i) = self.index.get() {
            return Ok(i);
        }
        let built = index::NodeIndex::load(self)?;
        Ok(self.index.get_or_init(|| built))
    }

    /// A `site` table value; empty values read as unset, as in xCAT.
    pub fn site(&self, key: &str) -> Result<Option<String>> {
        if self.site.get().is_none() {
            let rows = self.select(table("site")?, &["key", "value"], Filter::Enabled)?;
            let mut map = std::collections::HashMap::new();
            for r in rows {
                if let (Some(k), Some(v)) = (&r[0], &r[1]) {
                    if !v.is_empty() {
                        map.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            let _ = self.site.set(map);
        }
        Ok(self.site.get().and_then(|m| m.get(key).cloned()))
    }

    /// Expand a noderange the way xCAT commands do: unknown names are an error.
    pub fn noderange(&self, range: &str, opts: &NoderangeEnv) -> Result<Vec<String>> {
        let o = self.noderange_options(opts)?;
        let src = index::DbSource { snap: self };
        Ok(noderange::resolve(&src, range, &o)?)
    }

    /// Expand a noderange without failing on unknown names (the caller decides).
    pub fn expand(&self, range: &str, opts: &NoderangeEnv) -> Result<noderange::Expansion> {
        let o = self.noderange_options(opts)?;
        let src = index::DbSource { snap: self };
        Ok(noderange::expand(&src, range, &o)?)
    }

    fn noderange_options(&self, env: &NoderangeEnv) -> Result<noderange::Options> {
        Ok(noderange::Options {
            verify: env.verify,
            excludenodes: self.site("excludenodes")?,
            prefix: env.prefix.clone(),
            suffix: env.suffix.clone(),
            ..Default::default()
        })
    }
}

/// What noderange evaluation takes from the process environment.
#[derive(Debug, Clone)]
pub struct NoderangeEnv {
    pub verify: bool,
    pub prefix: String,
    pub suffix: String,
}

impl Default for NoderangeEnv {
    fn default() -> Self {
        NoderangeEnv {
            verify: true,
            prefix: "node".into(),
            suffix: String::new(),
        }
    }
}

impl NoderangeEnv {
    /// `XCAT_NODE_PREFIX` / `XCAT_NODE_SUFFIX` as xCAT reads them.
    pub fn from_env() -> Self {
        NoderangeEnv {
            verify: true,
            prefix: std::env::var("XCAT_NODE_PREFIX").unwrap_or_else(|_| "node".into()),
            suffix: std::env::var("XCAT_NODE_SUFFIX").unwrap_or_default(),
        }
    }
}
