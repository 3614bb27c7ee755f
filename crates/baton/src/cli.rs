//! Command-line grammar. The help texts are the man page: keep them accurate.

use crate::exit::Failure;
use clap::{Args, Parser, Subcommand};
use clusterdb::DbUrl;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
DATABASE:
  The cluster database is chosen by --db, else $BATON_DB, else an embedded SQLite file in
  your data directory (~/.local/share/baton/cluster.db), created with every xCAT table on
  first use. URL forms: sqlite:PATH, xcat-sqlite:DIR, xcat-cfgloc:PATH, postgres://..., mysql://...

NODERANGES:
  Every NORANGE is an xCAT noderange: node1,node2  node1-node10  node[01-10]  rack[1-2]n[1-3]
  node5+3  a group  all,-rack1  compute@rack2  /regex  ^file  groups==compute  nodehm.mgt=~ipmi
  ( ... ). XCAT_NODE_PREFIX and XCAT_NODE_SUFFIX are honoured for bare numbers.

EXIT STATUS:
  0 everything asked for was done; 1 the operation failed; 2 usage or validation error
  (nothing was changed); 3 a pre-flight check failed (nothing was changed); 4 a partial run:
  the database was switched but some steps are not done (`baton resume ID` finishes them).

EXAMPLES:
  baton quickstart                        a sample cluster to try everything on
  baton nodels rack01 noderes.servicenode
  baton snmove -s sn1 --dry-run           what a takeover of sn1's nodes would do
  baton snmove -s sn1 -d sn2 --yes        do it, journaled
  baton journal; baton resume ID; baton rollback ID

Start with `baton quickstart`.";

const INIT_HELP: &str = "\
WHAT IT DOES
  Creates every xCAT table (and baton's journal) in the database named by --db or $BATON_DB;
  existing tables and rows are kept. A database named by --db or $BATON_DB must exist for
  every other command: init (or quickstart) creates it.

EXAMPLES
  baton --db sqlite:/var/lib/baton/cluster.db init
  BATON_DB=postgres://xcatadm@mn/xcatdb baton init";

const QUICKSTART_HELP: &str = "\
WHAT IT DOES
  Fills the database with a sample cluster (service nodes sn1-sn3, compute nodes in racks,
  pools of two service nodes per rack) and prints the plan of a takeover of sn1's nodes;
  nothing is moved. The sample's nodes do not exist: snmove plans with --offline, and moves,
  resumes and rollbacks on the sample skip the steps on the nodes, saying so. It refuses a
  database that holds a cluster that is not a baton sample, unless --force.

EXAMPLES
  baton quickstart
  baton quickstart --nodes 20000 --racks 100 --no-demo
  baton --db sqlite:/tmp/try.db quickstart";

const RESUME_HELP: &str = "\
WHAT IT DOES
  Runs again every step of journal entry ID that is not done (pending, failed, or `unknown`:
  possibly started by a run that was killed), for the nodes it is not done for. Steps are
  idempotent: running one twice gives the same state. The database is not changed again. An
  old SN's cleanup of a node runs only once the node's new SN has confirmed its entries. Ctrl-C
  stops after the running steps (exit 4).

EXIT STATUS
  0 every step is now done; 4 some steps are still not done (the entry keeps them); 1 or 2
  when the entry cannot be resumed.

EXAMPLES
  baton journal                 # find the partial entry
  baton resume 7
  baton resume 7 --delegate never --fanout 32";

const ROLLBACK_HELP: &str = "\
WHAT IT DOES
  Restores every value journal entry ID changed (byte for byte, in one transaction that
  first checks nobody changed them since), records the rollback as a new journal entry, and
  re-points the nodes back at their old service node with the same steps as a move.

EXIT STATUS
  0 restored and every step done; 4 restored but some steps are not done (`baton resume` the
  new entry); 1 nothing restored (for example a value changed since the move).

EXAMPLES
  baton rollback 7
  baton rollback 7 --yes --json";

const STATUS_HELP: &str = "\
WHAT IT DOES
  Prints each service node, whether it answered the watcher's last probes, and how many nodes
  name it as their primary service node; and whether a watcher is running. Without a
  watcher, the counts come from the database alone.

EXAMPLES
  baton status
  baton status --json
  baton status --state-file /run/baton/watch.json";

const RMDEF_HELP: &str = "\
WHAT IT DOES
  Removes object definitions, all in one transaction: nodes (a noderange) with their rows in
  the node tables, or groups (-t group) with the group's own rows.

EXAMPLES
  baton rmdef cn0042
  baton rmdef -t group oldrack
  baton rmdef -t node rack07";

const COMPLETIONS_HELP: &str = "\
EXAMPLES
  baton completions bash > /etc/bash_completion.d/baton
  baton completions zsh > /usr/local/share/zsh/site-functions/_baton
  baton completions fish > ~/.config/fish/completions/baton.fish
  baton completions bash --snmove > /etc/bash_completion.d/snmove";

#[derive(Parser, Debug)]
#[command(
    name = "baton",
    version,
    about = "Hand the compute nodes of a failed or retiring service node to another, without rebooting them",
    long_about = "baton manages an xCAT-compatible cluster database and moves compute nodes between \
service nodes. It reads and writes xCAT's own tables, noderanges and CSV formats, so it can work \
on an existing xCAT database, or on its own embedded SQLite database.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Cluster database URL (sqlite:PATH, xcat-sqlite:DIR, xcat-cfgloc:PATH, postgres://, mysql://)
    #[arg(
        long,
        global = true,
        env = "BATON_DB",
        value_name = "URL",
        hide_env_values = true
    )]
    pub db: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create every xCAT table in the cluster database (done on first use anyway)
    #[command(after_help = INIT_HELP)]
    Init,
    /// Print a table in xCAT's CSV format, or list the table names
    Tabdump(TabdumpArgs),
    /// Load a table from xCAT CSV (the table is the file name up to its first dot)
    Tabrestore(TabrestoreArgs),
    /// List the nodes of a noderange, optionally with table attributes
    Nodels(NodelsArgs),
    /// Show object definitions (nodes, groups, site, networks) as xCAT's lsdef does
    Lsdef(LsdefArgs),
    /// Change object definitions; a node or group that does not exist is created (a node needs groups=)
    Chdef(DefArgs),
    /// Create object definitions
    Mkdef(DefArgs),
    /// Remove object definitions
    #[command(after_help = RMDEF_HELP)]
    Rmdef(RmdefArgs),
    /// Add, change or delete table rows chosen by key columns (xCAT's chtab/tabch)
    #[command(visible_alias = "tabch")]
    Chtab(crate::rowcmds::ChtabArgs),
    /// Change or delete table rows of a noderange
    Nodech(crate::rowcmds::NodechArgs),
    /// Add nodes with table values
    Nodeadd(crate::rowcmds::NodeaddArgs),
    /// Remove nodes from every table
    Noderm(crate::rowcmds::NodermArgs),
    /// Print table values of the row chosen by key columns
    Gettab(crate::rowcmds::GettabArgs),
    /// List the tables that hold a row for a node (or one of its groups)
    Tabgrep(crate::rowcmds::TabgrepArgs),
    /// Remove audit or event log records
    Tabprune(crate::rowcmds::TabpruneArgs),
    /// Back up every table as CSV files in a directory
    #[command(name = "dumpxCATdb")]
    Dumpxcatdb(crate::rowcmds::DumpArgs),
    /// Restore the tables from a dumpxCATdb directory, in one transaction
    #[command(name = "restorexCATdb")]
    Restorexcatdb(crate::rowcmds::RestoreArgs),
    /// Create a sample cluster in the database and show what to try next
    #[command(after_help = QUICKSTART_HELP)]
    Quickstart(QuickstartArgs),
    /// Move compute nodes to another service node (xCAT's snmove, plus plans and a journal)
    Snmove(crate::snmove::SnmoveArgs),
    /// List takeover runs, or show one with the state of each step
    Journal(crate::journalcmds::JournalArgs),
    /// Run the steps of a takeover that are not done yet
    #[command(after_help = RESUME_HELP)]
    Resume(crate::journalcmds::RunIdArgs),
    /// Restore the values a takeover changed, and re-point the nodes back
    #[command(after_help = ROLLBACK_HELP)]
    Rollback(crate::journalcmds::RunIdArgs),
    /// Watch the service nodes; take over the nodes of one that fails, spread over their pools
    Watch(crate::watchcmd::WatchArgs),
    /// Show each service node's health and how many nodes it serves
    #[command(after_help = STATUS_HELP)]
    Status(crate::watchcmd::StatusArgs),
    /// Copy a cluster database to another backend (e.g. embedded SQLite to PostgreSQL)
    Migrate(crate::migrate::MigrateArgs),
    /// Write the nodes' DHCP reservations on their service nodes (ISC dhcpd or Kea)
    Makedhcp(crate::svccmds::MakedhcpArgs),
    /// Write the nodes' boot files (pxelinux, grub2, xnba) on their service nodes
    Nodeset(crate::svccmds::NodesetArgs),
    /// Write the nodes' console entries in conserver.cf (conserver host and management node)
    Makeconservercf(crate::svccmds::MakeconservercfArgs),
    /// Network-boot nodes through their BMC (IPMI); -d: only their xcatmaster answers
    Rnetboot(crate::rnetboot::RnetbootArgs),
    /// Power nodes on, off, reset or boot, or show their power state, through their BMC (xCAT's rpower)
    Rpower(crate::rpower::RpowerArgs),
    /// Power a service node off through its own BMC and confirm it is off (a fence)
    Fence(crate::fence::FenceArgs),
    /// Write man pages (baton.1, baton-snmove.1, ..., snmove.1) into a directory
    #[command(
        after_help = "EXAMPLES\n  baton man /usr/local/share/man/man1\n  baton man ./man && man ./man/baton-snmove.1"
    )]
    Man(ManArgs),
    /// Print a shell completion script
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Node, group or service-node names, for the completion scripts
    #[command(hide = true)]
    CompleteNames(crate::complete::CompleteNamesArgs),
    /// Run compute-node steps for the management node (on a service node; see --delegate)
    #[command(hide = true)]
    Agent(crate::agent::AgentArgs),
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Directory to write the pages into
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell
    pub shell: clap_complete::Shell,
    /// Complete the `snmove` command instead of `baton`
    #[arg(long)]
    pub snmove: bool,
}

/// Man pages for baton, each subcommand, and snmove.
pub fn man(a: ManArgs) -> Result<(), Failure> {
    use clap::CommandFactory;
    std::fs::create_dir_all(&a.dir)
        .map_err(|e| Failure::failed(format!("{}: {e}", a.dir.display())))?;
    let write = |name: &str, cmd: clap::Command| -> Result<(), Failure> {
        let path = a.dir.join(format!("{name}.1"));
        let page = crate::manpage::render(cmd, name).map_err(|e| Failure::failed(e.to_string()))?;
        std::fs::write(&path, page)
            .map_err(|e| Failure::failed(format!("{}: {e}", path.display())))?;
        outln!("{}", path.display());
        Ok(())
    };
    let root = Cli::command();
    write("baton", root.clone())?;
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("baton-{}", sub.get_name());
        write(&name, sub.clone().name(name.clone()))?;
    }
    write("snmove", crate::snmove::SnmoveCommand::command())
}

pub fn completions(a: CompletionsArgs) -> Result<(), Failure> {
    use clap::CommandFactory;
    let (mut cmd, name) = if a.snmove {
        (crate::snmove::SnmoveCommand::command(), "snmove")
    } else {
        (Cli::command(), "baton")
    };
    // Into a buffer first: clap_complete panics when its writer fails (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, name, &mut script);
    out!("{}", String::from_utf8_lossy(&script));
    out!("{}", crate::complete::dynamic_part(a.shell, name));
    Ok(())
}

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  baton tabdump
  baton tabdump noderes > noderes.csv
  baton tabdump -w 'groups=~all%' -w 'statustime>=2011-04-18' nodelist
  baton tabdump -d site")]
pub struct TabdumpArgs {
    /// Only rows matching ATTR<op>VAL (==, !=, =~ LIKE pattern, !~, <, <=, >, >=); repeat for AND
    #[arg(short = 'w', value_name = "ATTR==VAL")]
    pub wheres: Vec<String>,
    /// Describe the table's columns (or, without a table, every table)
    #[arg(short = 'd')]
    pub describe: bool,
    /// Write to this file instead of standard output
    #[arg(short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Only the last N records (auditlog, eventlog)
    #[arg(short = 'n', long = "lines", value_name = "N")]
    pub lines: Option<usize>,
    /// Table to print; without it, the table names are listed
    pub table: Option<String>,
}

#[derive(Args, Debug)]
#[command(after_help = "\
The whole restore is one transaction: on any error (bad header, unknown column, unbalanced
quotes, too many fields, a duplicate key) every error is reported with its line and the table
is left exactly as it was.

Examples:
  baton tabdump nodelist > nodelist.csv; baton tabrestore nodelist.csv
  baton tabrestore -a hosts.extra.csv")]
pub struct TabrestoreArgs {
    /// Add rows instead of replacing the table's contents
    #[arg(short = 'a', long = "addrows")]
    pub add: bool,
    /// CSV file, named after its table (nodelist.csv, hosts.csv.bak, ...)
    pub file: PathBuf,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Attributes are TABLE.COLUMN (noderes.servicenode), a whole TABLE, or the short names groups,
tags (nodelist.groups) and mgt (nodehm.mgt). Values are inherited from groups and evaluated as
xCAT does. An argument TABLE.COLUMN==VALUE (also !=, =~, !~) filters the nodes instead.

Examples:
  baton nodels compute
  baton nodels rack01 noderes.servicenode
  baton nodels all noderes.servicenode==sn1,sn2 noderes.xcatmaster")]
pub struct NodelsArgs {
    /// Show hidden nodes too
    #[arg(short = 'S')]
    pub show_hidden: bool,
    /// Always print `node: table.column: value`
    #[arg(short = 'H', long = "with-fieldname")]
    pub with_header: bool,
    /// Say which group each inherited value comes from
    #[arg(short = 'b', long = "blame")]
    pub blame: bool,
    /// Noderange (all nodes when omitted)
    pub noderange: Option<String>,
    /// Attributes to print, or filters
    pub attrs: Vec<String>,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Node attributes are shown inherited and evaluated; group attributes raw, as stored.

Examples:
  baton lsdef cn0001
  baton lsdef rack01 -i servicenode,xcatmaster
  baton lsdef -t group rack01
  baton lsdef -t site
  baton lsdef compute -i servicenode --json
  baton lsdef -t node -w mgt==ipmi -s
  baton lsdef cn0001 -z > cn0001.stanza")]
pub struct LsdefArgs {
    /// Object types, comma-separated: node, group, site, network, policy, osimage, ...
    #[arg(short = 't', long = "type", default_value = "node")]
    pub kind: String,
    /// Object names (a noderange for nodes)
    #[arg(short = 'o', long = "objects")]
    pub objects: Option<String>,
    /// Only these attributes (comma-separated); shown even when unset
    #[arg(short = 'i', value_delimiter = ',')]
    pub attrs: Vec<String>,
    /// Compact output: `name: attr=value`
    #[arg(short = 'c', long = "compress")]
    pub compact: bool,
    /// Every attribute of each object (the default when names are given)
    #[arg(short = 'l', long = "long")]
    pub long: bool,
    /// Only the names: `name  (type)`
    #[arg(short = 's', long = "short")]
    pub short: bool,
    /// A stanza file, as mkdef -z and chdef -z read
    #[arg(short = 'z', long = "stanza")]
    pub stanza: bool,
    /// Only objects whose attributes match (attr==val, attr!=val, attr=~re, attr!~re); repeat for AND
    #[arg(short = 'w', value_name = "ATTR==VAL")]
    pub wheres: Vec<String>,
    /// Show hidden nodes too
    #[arg(short = 'S')]
    pub show_hidden: bool,
    /// Every object of every type (but the audit and event logs)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Only the network interface attributes (nicips.eth0=..., ...)
    #[arg(long)]
    pub nics: bool,
    /// List the node templates, or show one
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    pub template: Option<String>,
    /// With -i: where each attribute is stored (xCAT's `lsdef -h -i ATTR`)
    #[arg(long = "attr-help", requires = "attrs")]
    pub attr_help: bool,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
    /// Object names (noderange for nodes); all objects when omitted
    pub names: Option<String>,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Values are written on the object's own row (the node's row, or the group's row), as xCAT does;
group rows supply inherited values to their members. An empty value (attr=) clears it.

Examples:
  baton chdef cn0001 servicenode=sn2,sn1 xcatmaster=sn2-eth1
  baton chdef -p cn0001 groups=gpu
  baton mkdef -t node -o cn9999 groups=compute,all
  baton mkdef -t group -o gpu members=cn0001,cn0002
  baton chdef -t site domain=cluster.example
  baton chdef -t node -o cn9999 groups=compute,all     (creates cn9999)
  baton mkdef -t group -o ipmi -d -w mgt==ipmi
  baton chdef -t group -o gpu -p members=cn[0003-0004]
  baton chdef cn0001 nicips.ib0=10.41.0.101
  baton chdef cn0001 -n cn0001a
  baton lsdef cn0001 -z | sed s/cn0001/cn0002/ | baton mkdef -z")]
pub struct DefArgs {
    /// Object type: node, group, site, network, policy, osimage, ...
    #[arg(short = 't', long = "type", default_value = "node")]
    pub kind: String,
    /// Object names (a noderange for nodes)
    #[arg(short = 'o', long = "objects")]
    pub objects: Option<String>,
    /// Append to list attributes (and to a group's members or selection)
    #[arg(short = 'p', long = "plus", conflicts_with = "minus")]
    pub plus: bool,
    /// Remove from list attributes (and from a group's members or selection)
    #[arg(short = 'm', long = "minus")]
    pub minus: bool,
    /// mkdef: replace an existing definition
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// A dynamic group: its members are the nodes matching -w
    #[arg(short = 'd', long = "dynamic")]
    pub dynamic: bool,
    /// Selection criteria of a group (attr==val, attr!=val, attr=~re, attr!~re); repeat for AND
    #[arg(short = 'w', value_name = "ATTR==VAL")]
    pub wheres: Vec<String>,
    /// chdef: rename the node to NEWNAME (in every table)
    #[arg(short = 'n', value_name = "NEWNAME")]
    pub new_name: Option<String>,
    /// Read the objects from a stanza file (the argument, else standard input)
    #[arg(short = 'z', long = "stanza")]
    pub stanza: bool,
    /// mkdef: start from a node template (lsdef --template lists them) or an existing node
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,
    /// [NAMES] attr=value ...
    pub words: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmdefArgs {
    /// Object type: node, group, network, policy, osimage, ...
    #[arg(short = 't', long = "type", default_value = "node")]
    pub kind: String,
    /// Object names (a noderange for nodes)
    #[arg(short = 'o', long = "objects")]
    pub objects: Option<String>,
    /// Object names (a noderange for nodes)
    pub names: Option<String>,
}

#[derive(Args, Debug)]
pub struct QuickstartArgs {
    /// Number of compute nodes in the sample cluster
    #[arg(long, default_value_t = 300)]
    pub nodes: usize,
    /// Number of rack groups (rack01...) the compute nodes are spread over
    #[arg(long, default_value_t = 10)]
    pub racks: usize,
    /// Replace the tables of a database that holds something else than a sample cluster
    #[arg(long)]
    pub force: bool,
    /// Do not show the plan of a takeover of sn1's nodes after creating the cluster
    #[arg(long)]
    pub no_demo: bool,
}

/// A database named by --db or BATON_DB must exist: a typo must not create an empty cluster
/// that later commands write into. Only `init`, `quickstart` and `migrate --to` create one.
pub fn require_existing(url: &DbUrl) -> Result<(), Failure> {
    match url.missing_path() {
        Some(path) => Err(Failure::usage(format!(
            "the database {} does not exist ({url}); check the path, or create it with \
             `baton --db {url} init`",
            path.display()
        ))),
        None => Ok(()),
    }
}

/// The database URL from --db / BATON_DB, else the embedded default.
pub fn db_url(arg: Option<&str>) -> Result<DbUrl, Failure> {
    match arg {
        Some("") => Err(Failure::usage(
            "--db (or BATON_DB) is empty: give a database URL, or leave it unset for the embedded default",
        )),
        Some(s) => Ok(DbUrl::parse(s)?),
        None => Ok(DbUrl::default_location()),
    }
}

/// A database file that every user can read holds BMC and passwd passwords: say so.
pub fn warn_if_world_readable(url: &DbUrl) {
    use std::os::unix::fs::PermissionsExt;
    let (DbUrl::Sqlite(p) | DbUrl::XcatCfgloc(p)) = url else {
        return;
    };
    if std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o004 != 0) {
        errln!(
            "Warning: {} is readable by every user and can hold passwords (ipmi, passwd): chmod 600 it",
            p.display()
        );
    }
}
