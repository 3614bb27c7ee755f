//! `baton snmove` and the `snmove` command: xCAT's flags, plus --dry-run, --json, --yes,
//! --force and --offline.

use crate::exit::{Failure, PARTIAL};
use clap::{Args, Parser};
use clusterdb::{ClusterDb, DbUrl, NoderangeEnv};
use remote::resolve::SystemResolver;
use remote::Ssh;
use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use takeover::{Outcome, Request, RunMeta};

const SNMOVE_HELP: &str = "\
WHAT IT DOES
  Moves compute nodes to another service node without rebooting them. First a plan is made
  from one consistent view of the database: for every node, the new servicenode (the new SN
  first, the rest of the list kept), xcatmaster, and tftpserver, nfsserver, monserver and
  conserver where they pointed at the old SN; then the service-node steps (consoles, DHCP, boot
  files) and the compute-node steps (xcatinfo, default route, syslog/setupntp/mkresolvconf and
  -P scripts). --dry-run prints that plan. Otherwise every database change is made in one
  transaction, which first checks that nothing in the plan changed meanwhile, and is recorded
  in the journal (`baton journal`); then the steps run, each result recorded.

SELECTING NODES
  NORANGE selects the nodes; -s SN1 alone selects every node whose primary service node (the
  first entry of servicenode) is exactly SN1. The new SN is -d, or else each node's second
  servicenode entry (so a repeated move toggles between the two), or with --spread SN,SN,... the
  listed SN that is least loaded (nodes it serves as their primary; --capacity SN=N weights
  that and caps it): the nodes are placed one by one so the loads end up even, the same way
  `baton watch` spreads a failed SN's nodes over their pools. The new xcatmaster is -D, or
  else the new SN's address on the node's network (networks table), read from the SN with
  `ip -o addr` over ssh, or with --offline from the database (hosts.ip, hosts.otherinterfaces,
  nics.nicips).

AIX NODES (nodetype.os = AIX; all moved nodes AIX or none)
  Instead of DHCP and boot files: niminit against the new SN for standalone (diskful) images
  (nimimage.nimtype), XCATSERVER in /etc/xcatinfo (other keys kept), `route change default`
  only where the old SN is the node's only default gateway (netstat -rn), and `bootlist -m
  normal DEV ... bserver=NEW`. With site.sharedinstall=no, statelite rows (statemnt) naming the
  old SN are rewritten for the moved nodes in the same transaction, and each node's persistent
  directory DIR/NODE is copied with rsync, run on the old SN, to the new SN (pending until the
  old SN is reachable). -l does only that copy and changes nothing else. Rows and nfsserver
  values naming another (external NFS) server are left alone; such nodes are not rebooted.

PRE-FLIGHT CHECKS (before anything changes; --force overrides)
  The destination is a defined service node (nodelist and servicenode tables), it is reachable
  over ssh (not checked with --offline), it is not the node's current service node, and it has
  an address on each moved node's network.

REACHING THE COMPUTE NODES
  All of a node's steps run in one ssh session, --fanout nodes at a time, each within
  --node-timeout. With --delegate auto (the default) the management node asks each new SN
  once (`baton agent probe` over ssh) whether baton is installed there; if it is, the SN gets
  its nodes' work in one ssh session (as JSON on standard input), fans out to them itself and
  streams each node's result back, and the results are journaled as for a direct run. An SN
  without baton is noted on stderr and its nodes are reached from the management node, through
  the SN (ssh -J) unless --direct. --delegate always never falls back: nodes of an SN that is
  down or lacks baton are pending with the reason, and `baton resume ID` runs them later.
  --delegate never (or --direct) reaches every node from the management node.

ENVIRONMENT
  BATON_DB     the cluster database URL (as --db)
  BATON_SSH    the ssh command (default `ssh`), e.g. `ssh -F /etc/baton/ssh_config`
  BATON_AGENT  baton's path on the service nodes, for --delegate (default `baton` from PATH)
  BATON_CONSERVER_CF   the management node's conserver.cf (default /etc/conserver.cf; empty:
               left alone; when BATON_SSH is not ssh, left alone unless this is set)
  BATON_CONSERVER_PID  the pid file of the management node's conserver (default: the one
               `conserver -V` names, then /run/conserver/conserver.pid, /var/run/conserver.pid)
  XCAT_NODE_PREFIX, XCAT_NODE_SUFFIX   noderange prefix and suffix for bare numbers

WHEN THINGS FAIL
  Make before break: a node leaves its old SN's DHCP, boot and console configs only after its
  new SN confirmed its entries; otherwise the old SN keeps serving it (cleanup pending, with
  the reason) until `baton resume ID`. A step reads `unknown` in the journal from the moment it
  may have started until its result is recorded. Ctrl-C or SIGTERM after the commit: the
  running steps finish and are recorded, no new ones start, exit 4 (press again to abort at
  once); before the commit nothing changes. Nothing baton starts outlives it.

ADOPTING THE OLD SN'S ADDRESS (--adopt-address)
  For a service node that is down: before anything else, a destination takes over its compute
  address (an extra /32 address on the interface on that network, announced by gratuitous ARP),
  so every one of its nodes gets syslog, NTP, DNS, TFTP and its default route answered at once,
  while they are re-pointed one by one behind it. The address is let go once every node that
  used it is confirmed re-pointed (pending until then: `baton resume ID`; a node that will never
  be re-pointed, dead for good, stops counting once it is moved or changed by hand). When the old SN
  comes back, its cleanup keeps its compute address down while the destination still holds it,
  and brings it back after. Preconditions: the old SN's nodes and the destination share one
  layer-2 segment; the old SN is down (checked: no host may answer ARP for its address, with
  `arping -D` from the destination; --force does not override this); iputils-arping on the
  service nodes; the services listen on the wildcard address (checked: syslog, NTP, DNS, TFTP and HTTP
  bound only to other addresses fail the step, naming the port, and the address is let go;
  a BIND named is asked to rescan its interfaces first). Not with -i or -l. A rollback hands the
  address back to its owner.

EXIT STATUS
  0 done; 1 failed (nothing changed, e.g. a concurrent edit); 2 usage or validation error
  (nothing changed); 3 a pre-flight check failed, or another run (snmove, resume, rollback,
  baton watch) holds some of the nodes (nothing changed); 4 the database was switched
  but some steps are not done, the run was interrupted, or an error came after the commit:
  `baton resume ID` finishes them.

EXAMPLES
  snmove -s sn1 --dry-run              what would move where, and the steps
  snmove -s sn1 -d sn2 -D sn2-eth1     all of sn1's nodes to sn2
  snmove -s sn1 --spread sn2,sn3       sn1's nodes shared out between sn2 and sn3
  snmove rack01 -i                     rack01 to its backup SNs, database only
  snmove -s sn1 --json --yes           for scripts
  snmove rack01 -d sn2 --wait --yes    after the run that holds rack01's nodes ends
  snmove -s sn1 -d sn2 --adopt-address sn1 is dead: sn2 answers on sn1's address at once";

/// The flags of xCAT's snmove, and baton's own.
#[derive(Args, Debug, Default)]
#[command(disable_version_flag = true, after_help = SNMOVE_HELP)]
pub struct SnmoveArgs {
    /// Source service node, as the management node knows it; alone, selects its nodes
    #[arg(short = 's', long = "source", value_name = "SN1", value_parser = sn_name)]
    pub source: Option<String>,
    /// Source service node as the compute nodes know it (the old xcatmaster)
    #[arg(short = 'S', long = "sourcen", value_name = "SN1N", value_parser = sn_name)]
    pub source_n: Option<String>,
    /// Destination service node, as the management node knows it
    #[arg(short = 'd', long = "dest", value_name = "SN2", value_parser = sn_name)]
    pub dest: Option<String>,
    /// Destination service node as the compute nodes know it (the new xcatmaster)
    #[arg(short = 'D', long = "destn", value_name = "SN2N", value_parser = sn_name)]
    pub dest_n: Option<String>,
    /// Extra postscripts to run on the nodes (comma-separated), or `all`
    #[arg(short = 'P', long = "postscripts", value_name = "SCRIPTS|all")]
    pub postscripts: Option<String>,
    /// Do not touch the compute nodes (database and service nodes only)
    #[arg(short = 'i', long = "ignorenodes")]
    pub ignore_nodes: bool,
    /// AIX only: sync statelite persistent directories, move nothing
    #[arg(short = 'l', long = "liteonly")]
    pub liteonly: bool,
    /// AIX with a shared install: do not re-target dump devices (accepted; baton does not
    /// re-target them at all)
    #[arg(short = 'n', long = "noretarget")]
    pub noretarget: bool,
    /// Verbose output: the move's phases (planned, committed, each wave of steps) with their
    /// times, on standard error
    #[arg(short = 'V', long = "verbose")]
    pub verbose: bool,
    /// Print the version and exit
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the plan or the result as JSON
    #[arg(long)]
    pub json: bool,
    /// Do not ask for confirmation on a terminal
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Go on when a pre-flight check fails
    #[arg(long)]
    pub force: bool,
    /// Plan from the addresses recorded in the database; do not contact the destination SNs
    #[arg(long)]
    pub offline: bool,
    /// Hold the old SN's compute address on the destination until its nodes are re-pointed
    /// (the old SN must be down; see ADOPTING below)
    #[arg(long)]
    pub adopt_address: bool,
    /// When another run (snmove, resume, rollback, baton watch) holds some of the nodes, wait
    /// for it to end instead of exiting 3
    #[arg(long)]
    pub wait: bool,
    /// Spread the nodes over these service nodes, evening out their loads (instead of -d)
    #[arg(long, value_name = "SN,SN,...", value_delimiter = ',', conflicts_with_all = ["dest", "dest_n"], value_parser = sn_name)]
    pub spread: Vec<String>,
    #[command(flatten)]
    pub balance: BalanceArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// The nodes to move (an xCAT noderange); with -s alone, sn1's nodes
    #[arg(value_name = "NORANGE")]
    pub args: Vec<String>,
}

/// Limits for spreading nodes over service nodes (snmove --spread, baton watch).
#[derive(Args, Debug, Clone, Default)]
pub struct BalanceArgs {
    /// Most nodes a service node should serve when spreading (e.g. sn2=500,sn3=250); full SNs
    /// get nodes only when every candidate is full
    #[arg(long, value_name = "SN=N,...", value_delimiter = ',', value_parser = parse_capacity)]
    pub capacity: Vec<(String, usize)>,
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("'{s}' is not a whole number of 1 or more")),
    }
}

/// A service node name given on the command line: never empty (an empty -d or --spread entry
/// would otherwise be dropped without a word).
fn sn_name(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("an empty service node name".into());
    }
    Ok(s.to_string())
}

fn parse_capacity(s: &str) -> Result<(String, usize), String> {
    let (sn, n) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not SN=N (e.g. sn2=500)"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("'{s}': the capacity of {sn} is not a whole number"))?;
    if !remote::is_valid_host(sn.trim()) {
        return Err(format!("'{s}': '{sn}' is not a valid service node name"));
    }
    Ok((sn.trim().to_string(), n))
}

/// How steps reach the nodes (also for resume and rollback).
#[derive(Args, Debug, Clone)]
pub struct ExecArgs {
    /// Nodes worked on at once
    #[arg(long, default_value_t = 64, value_name = "N", value_parser = at_least_one)]
    pub fanout: usize,
    /// Seconds one node may take for all its steps (connection included)
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub node_timeout: u64,
    /// Connect to compute nodes directly, not through their new service node (ssh -J);
    /// implies --delegate never
    #[arg(long)]
    pub direct: bool,
    /// Let each new service node's baton run its nodes' steps (`auto`: where `baton agent
    /// probe` answers on the SN, else directly from here)
    #[arg(long, value_enum, default_value_t = Delegate::Auto, value_name = "WHEN")]
    pub delegate: Delegate,
}

/// `--delegate`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delegate {
    Auto,
    Always,
    Never,
}

impl Default for ExecArgs {
    fn default() -> Self {
        ExecArgs {
            fanout: 64,
            node_timeout: 120,
            direct: false,
            delegate: Delegate::Auto,
        }
    }
}

impl ExecArgs {
    /// Who fans out to the compute nodes. The service nodes' baton is `$BATON_AGENT`, or
    /// `baton` from their PATH.
    fn delegation(&self) -> Result<steps::delegate::Delegation, Failure> {
        use steps::delegate::Mode;
        let mode = match (self.delegate, self.direct) {
            (Delegate::Always, true) => {
                return Err(Failure::usage(
                    "--direct and --delegate always contradict each other: the first has the management node reach every compute node itself",
                ))
            }
            (Delegate::Never, _) | (Delegate::Auto, true) => Mode::Never,
            (Delegate::Auto, false) => Mode::Auto,
            (Delegate::Always, false) => Mode::Always,
        };
        let agent = std::env::var("BATON_AGENT")
            .ok()
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| "baton".into());
        Ok(steps::delegate::Delegation::new(mode, &agent))
    }
}

/// The service-node runner: DHCP, boot files and consoles over ssh, reading what it needs
/// from the database (a fresh snapshot per batch, so it sees the committed move). Site
/// templates come from `$BATON_TEMPLATES` or /etc/baton/templates; the management node's
/// conserver.cf is `$BATON_CONSERVER_CF` (empty: left alone) or /etc/conserver.cf (left alone
/// when `BATON_SSH` is a stand-in); its console step may take `--node-timeout` at most.
pub fn sn_runner(url: &DbUrl, exec: &ExecArgs) -> Result<steps::sn::SnRunner, Failure> {
    let dir = std::env::var_os("BATON_TEMPLATES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| steps::sn::TEMPLATE_DIR.into());
    let templates = steps::sn::load_templates(&dir).map_err(Failure::usage)?;
    let mut paths = steps::sn::Paths::default();
    match std::env::var_os("BATON_CONSERVER_CF") {
        Some(cf) => paths.mn_conserver_cf = (!cf.is_empty()).then(|| cf.into()),
        // The other steps reach their hosts through BATON_SSH; when that is a stand-in (not
        // ssh), this host's own conserver.cf is not the one the steps mean either.
        None => {
            if let Some(prog) = stand_in_ssh() {
                errln!(
                    "Note: BATON_SSH runs {prog}, not ssh: this host's /etc/conserver.cf is left alone (set BATON_CONSERVER_CF to the management node's conserver.cf to have it edited)"
                );
                paths.mn_conserver_cf = None;
            }
        }
    }
    let mut fanout =
        remote::fanout::FanOut::new(Ssh::from_env().map_err(|e| Failure::usage(e.to_string()))?);
    fanout.command_timeout = std::time::Duration::from_secs(exec.node_timeout.max(1));
    let url = url.clone();
    let mn_timeout = std::time::Duration::from_secs(exec.node_timeout.max(1));
    Ok(steps::sn::SnRunner {
        fanout,
        templates,
        // One connection for every batch (opened at the first), a fresh snapshot each time.
        loader: {
            let mut conn: Option<ClusterDb> = None;
            Box::new(move |nodes: &[String]| {
                let db = match &mut conn {
                    Some(db) => db,
                    None => conn.insert(ClusterDb::open(&url).map_err(|e| e.to_string())?),
                };
                let snap = db.read().map_err(|e| e.to_string())?;
                steps::sn::load_facts_for_moves(&snap, nodes).map_err(|e| e.to_string())
            })
        },
        paths,
        rearm_installs: false,
        cleanup: steps::sn::Parts::ALL,
        mn_only_consoles: false,
        takeover_cleanup: true,
        cleanup_mn_consoles: false,
        local_shell: vec!["sh".into()],
        mn_timeout,
    })
}

/// The program BATON_SSH runs when it is not ssh (a test's stand-in, a wrapper).
fn stand_in_ssh() -> Option<String> {
    let cmd = std::env::var("BATON_SSH").ok()?;
    let prog = cmd.split_whitespace().next()?.to_string();
    let name = std::path::Path::new(&prog)
        .file_name()?
        .to_string_lossy()
        .into_owned();
    (name != "ssh").then_some(prog)
}

/// A site value that goes into the nodes' configuration files as part of a line.
fn site_line(snap: &clusterdb::Snapshot<'_>, key: &str) -> Result<Option<String>, Failure> {
    match snap.site(key)? {
        Some(v) if v.chars().any(char::is_control) => Err(Failure::usage(format!(
            "site.{key} holds a newline or another control character: it would become a line of its own in every node's configuration; fix it (chtab key={key} site.value=...) and run again"
        ))),
        v => Ok(v),
    }
}

/// The step runner: service-node and compute-node steps over ssh, with a progress bar on a
/// terminal.
pub fn runner(url: &DbUrl, db: &mut ClusterDb, exec: &ExecArgs) -> Result<steps::Runner, Failure> {
    let site = {
        let snap = db.read()?;
        let installdir = snap
            .site("installdir")?
            .unwrap_or_else(|| "/install".into());
        steps::cn::SiteInfo {
            domain: site_line(&snap, "domain")?,
            nameservers: site_line(&snap, "nameservers")?,
            ntpservers: site_line(&snap, "ntpservers")?,
            postscripts_dir: std::path::Path::new(&installdir).join("postscripts"),
        }
    };
    if exec.fanout == 0 {
        return Err(Failure::usage("--fanout must be at least 1"));
    }
    let mut fanout =
        remote::fanout::FanOut::new(Ssh::from_env().map_err(|e| Failure::usage(e.to_string()))?);
    fanout.fanout = exec.fanout;
    fanout.command_timeout = std::time::Duration::from_secs(exec.node_timeout.max(1));
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let progress: steps::cn::Progress = Box::new(move |what: &str, done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
            b.set_message(what.to_string());
            if done == total {
                b.finish_and_clear();
            }
        }
    });
    Ok(steps::Runner {
        cn: steps::cn::CnRunner {
            fanout,
            site,
            jump_via_sn: !exec.direct,
            delegation: exec.delegation()?,
            progress,
            notice: Box::new(|m: &str| errln!("Note: {m}")),
        },
        sn: sn_runner(url, exec)?,
    })
}

/// The runner for a takeover, resume or rollback: the real one, or on `baton quickstart`'s
/// sample cluster (site `baton-sample=yes`), one that skips every step and says why.
pub fn step_runner(
    url: &DbUrl,
    db: &mut ClusterDb,
    exec: &ExecArgs,
) -> Result<Box<dyn takeover::StepRunner>, Failure> {
    {
        // Checked before anything changes, on the sample cluster too.
        let snap = db.read()?;
        for key in ["domain", "nameservers", "ntpservers"] {
            site_line(&snap, key)?;
        }
    }
    let sample = db.read()?.site("baton-sample")?.as_deref() == Some("yes");
    if sample {
        errln!("Note: this is baton's sample cluster: the steps on its nodes are skipped");
        return Ok(Box::new(takeover::SampleSteps));
    }
    Ok(Box::new(runner(url, db, exec)?))
}

/// `snmove` as its own command.
#[derive(Parser, Debug)]
#[command(
    name = "snmove",
    about = "Move compute nodes from one service node to a backup service node (xCAT-compatible)",
    disable_version_flag = true
)]
pub struct SnmoveCommand {
    /// Cluster database URL
    #[arg(long, env = "BATON_DB", value_name = "URL", hide_env_values = true)]
    pub db: Option<String>,
    #[command(flatten)]
    pub args: SnmoveArgs,
}

/// Name resolution and service-node queries for planning.
pub struct CliEnv {
    resolver: SystemResolver,
    ssh: Ssh,
}

impl CliEnv {
    pub fn new() -> Result<Self, Failure> {
        Ok(CliEnv {
            resolver: SystemResolver::new(true),
            ssh: Ssh::from_env().map_err(|e| Failure::usage(e.to_string()))?,
        })
    }
}

impl takeover::Env for CliEnv {
    fn resolve_local(&self, name: &str) -> Option<IpAddr> {
        self.resolver.from_hosts_file(name)
    }
    fn resolve_dns(&self, name: &str) -> Option<IpAddr> {
        self.resolver.from_dns(name)
    }
    fn sn_addresses(&self, sn: &str) -> Result<Vec<IpAddr>, String> {
        let out = self
            .ssh
            .run(sn, &["ip", "-o", "addr"])
            .map_err(|e| e.to_string())?;
        Ok(remote::parse_ip_addr(&out))
    }
    fn address_holder(&self, sn: &str, address: &str) -> Result<Option<String>, String> {
        let args = [
            "sh",
            "-c",
            steps::sn::SN_SCRIPT,
            "baton",
            "dad",
            "0",
            address,
        ];
        let out = self.ssh.run(sn, &args).map_err(|e| e.to_string())?;
        steps::sn::address_check(&out)
    }
}

/// Who is running this, from where, for the journal and auditlog.
pub fn run_meta(command: &str, noderange: Option<&str>, args: &[String]) -> RunMeta {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(user_from_passwd)
        .unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    // A database URL on the command line keeps its password out of the journal and auditlog.
    let redacted: Vec<String> = args.iter().map(|a| clusterdb::url::redact(a)).collect();
    let words: Vec<&str> = redacted.iter().map(String::as_str).collect();
    RunMeta {
        user,
        command: format!("{command} {}", remote::quote_command(&words))
            .trim()
            .to_string(),
        host,
        noderange: noderange.unwrap_or_default().to_string(),
        args: remote::quote_command(&words),
        force: false,
        stop: None,
    }
}

/// The name of this process's real user, from /proc and /etc/passwd.
fn user_from_passwd() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2] == uid).then(|| f[0].to_string())
    })
}

/// Ask on a terminal; never when standard input is not one.
pub fn confirm(question: &str, yes: bool) -> Result<(), Failure> {
    if yes || !std::io::stdin().is_terminal() {
        return Ok(());
    }
    err!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    if matches!(line.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Failure::failed("cancelled; nothing was changed"))
    }
}

pub fn run(url: &DbUrl, a: SnmoveArgs) -> Result<(), Failure> {
    if a.version {
        outln!("baton {} (snmove)", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    if a.args.len() > 1 {
        return Err(Failure::usage(format!(
            "Too many parameters: {} (give one noderange; see snmove --help)",
            a.args.join(" ")
        )));
    }
    if a.verbose {
        crate::verbose_log();
    }
    let req = Request {
        noderange: a.args.first().cloned(),
        source: a.source.clone(),
        source_n: a.source_n.clone(),
        dest: a.dest.clone(),
        dest_n: a.dest_n.clone(),
        postscripts: a.postscripts.clone(),
        ignore_nodes: a.ignore_nodes,
        liteonly: a.liteonly,
        noretarget: a.noretarget,
        offline: a.offline,
        force: a.force,
        spread: a
            .spread
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        capacity: a.balance.capacity.iter().cloned().collect(),
        adopt_address: a.adopt_address,
        ..Default::default()
    };
    takeover::plan::check_request(&req)?;
    a.exec.delegation()?;
    let env = CliEnv::new()?;
    let mut db = ClusterDb::open(url)?;
    let mut plan = {
        let snap = db.read()?;
        takeover::plan(&snap, &req, &env, &NoderangeEnv::from_env())?
    };
    // xCAT's line, but only in backup mode (no -d) and once the request proved valid.
    if req.dest.is_none() && req.spread.is_empty() && !a.liteonly && !a.json {
        outln!("Moving nodes to their backup service nodes.");
    }
    if a.dry_run {
        if a.json {
            print_json(&serde_json::json!({ "plan": plan }))?;
        } else {
            out!("{}", takeover::report::plan_text(&plan));
        }
        return Ok(());
    }
    if !a.json {
        for w in plan
            .forced
            .iter()
            .map(|f| format!("forced past a failed pre-flight check: {f}"))
            .chain(plan.warnings.clone())
        {
            errln!("Warning: {w}");
        }
    }
    if !a.json {
        for n in &plan.notes {
            errln!("Note: {n}");
        }
    }
    if !a.yes && std::io::stdin().is_terminal() {
        out!("{}", takeover::report::plan_text(&plan));
        confirm(
            &format!("Move {}?", takeover::report::nodes(plan.nodes.len())),
            false,
        )?;
    }
    if !a.json && !a.liteonly {
        outln!("Setting new values in the xCAT database.");
    }
    // `baton [--db URL] snmove ARGS` is recorded as `snmove [--db URL] ARGS`: said once.
    let mut words: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = words.iter().position(|w| w == "snmove") {
        words.remove(i);
    }
    let mut meta = run_meta("snmove", req.noderange.as_deref(), &words);
    let mut runner = step_runner(url, &mut db, &a.exec)?;
    meta.stop = crate::interrupt::stop_on_signals();
    let outcome = retry_busy(a.wait, || {
        takeover::apply(&mut db, &mut plan, &meta, runner.as_mut())
    })?;
    report_outcome(&outcome, a.json, Some(&plan))
}

/// Run `f`; with `wait`, while another run holds the entry or nodes (see takeover's lease),
/// say so once and try again every two seconds (each attempt re-checks everything).
pub fn retry_busy<T>(
    wait: bool,
    mut f: impl FnMut() -> Result<T, takeover::TakeoverError>,
) -> Result<T, takeover::TakeoverError> {
    let mut said = false;
    loop {
        match f() {
            Err(takeover::TakeoverError::Busy(m)) if wait => {
                if !said {
                    let holder = m.split(" Wait for it").next().unwrap_or(&m);
                    errln!("Waiting: {holder}");
                    said = true;
                }
                std::thread::sleep(std::time::Duration::from_secs(2));
            }
            r => return r,
        }
    }
}

fn print_json(v: &serde_json::Value) -> Result<(), Failure> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Failure::failed(e.to_string()))?;
    outln!("{s}");
    Ok(())
}

/// What happened to each step, and the exit status that follows.
pub fn report_outcome(
    o: &Outcome,
    json: bool,
    plan: Option<&takeover::Plan>,
) -> Result<(), Failure> {
    let unfinished = o.steps.iter().filter(|(_, r)| !r.state.finished()).count();
    if json {
        let steps: Vec<serde_json::Value> = o
            .steps
            .iter()
            .map(|(s, r)| {
                serde_json::json!({
                    "id": s.id, "kind": s.kind, "sn": s.sn, "nodes": s.nodes,
                    "state": r.state, "detail": r.detail, "results": r.results,
                })
            })
            .collect();
        let left: Vec<usize> = o.left.iter().map(|s| s.id).collect();
        let mut v = serde_json::json!({
            "journal_id": o.journal_id, "complete": o.complete(), "steps": steps,
            "interrupted": !left.is_empty(), "not_started": left,
        });
        if let Some(p) = plan {
            v["plan"] = serde_json::to_value(p).map_err(|e| Failure::failed(e.to_string()))?;
        }
        print_json(&v)?;
    } else {
        match plan {
            Some(p) if p.request.liteonly => outln!(
                "Journal entry {}: statelite directories of {} (-l: nothing moved).",
                o.journal_id,
                takeover::report::nodes(p.nodes.iter().filter(|n| !n.statelite.is_empty()).count())
            ),
            Some(p) => outln!(
                "Journal entry {}: {} switched in the database.",
                o.journal_id,
                takeover::report::nodes(p.nodes.len())
            ),
            None => {}
        }
        for (s, r) in &o.steps {
            outln!("  {:>3}. [{}] {}", s.id, r.state.as_str(), r.detail);
        }
        for s in &o.left {
            outln!(
                "  {:>3}. [pending] {}: not started (interrupted)",
                s.id,
                s.describe()
            );
        }
    }
    if !o.left.is_empty() {
        return Err(Failure {
            message: format!(
                "interrupted: {} of {} steps not started, {unfinished} started but not done (journal entry {}); `baton resume {}` runs them",
                o.left.len(),
                o.steps.len() + o.left.len(),
                o.journal_id,
                o.journal_id
            ),
            code: PARTIAL,
        });
    }
    if unfinished == 0 {
        return Ok(());
    }
    Err(Failure {
        message: format!(
            "{unfinished} of {} steps are not done (journal entry {}); `baton resume {}` runs them again",
            o.steps.len(),
            o.journal_id,
            o.journal_id
        ),
        code: PARTIAL,
    })
}
