//! Bringing a bed up and down, its state file, entering nodes, and fault injection.

use crate::db;
use crate::plan::{self, Dhcp, NodeInfo, Plan, Role, COMPUTE_PREFIX, MGMT_PREFIX};
use crate::render::{self, sh_quote};
use crate::sys::{self, NodeSpawn};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Default parent of the state dirs (`<root>/<bed name>`); `BATON_TESTBED_ROOT` overrides it.
pub const DEFAULT_STATE_ROOT: &str = "/run/baton-testbed";
/// Name of the state file inside the state dir.
pub const STATE_FILE: &str = "state.json";

/// The state root in force: `BATON_TESTBED_ROOT` or [`DEFAULT_STATE_ROOT`].
pub fn state_root() -> PathBuf {
    std::env::var_os("BATON_TESTBED_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_ROOT))
}

/// How to build a cluster bed.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bed name, `[a-z0-9]{1,10}`; namespaces are `bt-<name>-<node>`.
    pub name: String,
    /// Number of service nodes (1..=50).
    pub sns: usize,
    /// Number of compute nodes (0..=1000).
    pub cns: usize,
    /// DHCP server on the SNs.
    pub dhcp: Dhcp,
    /// A baton binary: when set, `up` runs `baton --db sqlite:<state>/baton.db init` and
    /// `tabrestore` for each CSV. Defaults to env `BATON_BIN`.
    pub baton_bin: Option<PathBuf>,
    /// Extra host paths bound into every node at the same path (e.g. a cargo target dir under
    /// `/tmp`, which nodes would otherwise not see). The state dir and the directory of
    /// `baton_bin` are always bound. Env `BATON_TESTBED_BINDS` (colon-separated) adds more.
    pub binds: Vec<PathBuf>,
    /// Second octet of all addresses (`10.B.x.y`); default derived from the name.
    pub octet: Option<u8>,
    /// DNS domain of the cluster.
    pub domain: String,
    /// Parent of the state dir; default [`state_root`].
    pub state_root: Option<PathBuf>,
    /// Replace a running bed of the same name instead of failing. True in [`Config::new`] (a
    /// test re-run after a killed run gets a fresh bed); the CLI sets it only with `--replace`.
    pub replace: bool,
    /// Print progress to stderr.
    pub verbose: bool,
}

impl Config {
    /// A config with defaults: ISC dhcpd, domain `cluster.test`, `BATON_BIN` from the
    /// environment.
    /// `BATON_TESTBED_TAG` (up to 2 characters of a-z0-9) is appended to the name, so that
    /// two checkouts can run the same end-to-end tests on one machine at once.
    pub fn new(name: &str, sns: usize, cns: usize) -> Config {
        let tag = std::env::var("BATON_TESTBED_TAG").unwrap_or_default();
        Config {
            name: format!("{name}{tag}"),
            sns,
            cns,
            dhcp: Dhcp::Isc,
            baton_bin: std::env::var_os("BATON_BIN").map(PathBuf::from),
            binds: vec![],
            octet: None,
            domain: "cluster.test".into(),
            state_root: None,
            replace: true,
            verbose: std::env::var_os("BATON_TESTBED_VERBOSE").is_some(),
        }
    }
    /// Same config with another DHCP server.
    pub fn dhcp(mut self, dhcp: Dhcp) -> Config {
        self.dhcp = dhcp;
        self
    }
}

/// Kind of bed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// mn + SNs + CNs with their daemons.
    Cluster,
    /// One namespace, one sshd, many loopback endpoints.
    Scale,
}

/// A daemon the bed starts in a node: how, and where its pid file is. The product can restart
/// one with `exec NODE -- sh -c '<command>'` after killing the pid in `pidfile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Daemon {
    /// Short name (`rsyslog`, `chrony`, `dhcpd`, `kea`, `tftpd`, `conserver`, `dnsmasq`).
    pub name: String,
    /// Shell command line that starts it (it detaches).
    pub command: String,
    /// Its pid file inside the node.
    pub pidfile: String,
}

/// Run-time facts about one node.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NodeRuntime {
    /// Inode of the node's network namespace (to find its processes even after a crash).
    pub netns_inode: Option<u64>,
    /// Pid (root PID namespace) of the `unshare` process that holds the node.
    pub init_pid: Option<u32>,
    /// Pid (root PID namespace) of the node's PID 1 (its sshd).
    pub pid1: Option<u32>,
    /// Daemons started in the node.
    pub daemons: Vec<Daemon>,
    /// Seconds the node took to come up (start to all daemons ready).
    pub up_seconds: Option<f64>,
}

/// The state file of a bed (`<state dir>/state.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Bed name.
    pub name: String,
    /// Kind.
    pub kind: Kind,
    /// False while `up` is still running (or if it crashed).
    pub complete: bool,
    /// The state dir.
    pub state_dir: PathBuf,
    /// Namespace prefix (`bt-<name>-`).
    pub netns_prefix: String,
    /// Namespace of the bridges.
    pub switch_netns: String,
    /// Address plan (nodes, addresses, pools).
    pub plan: Plan,
    /// DHCP server.
    pub dhcp: Dhcp,
    /// DHCP OMAPI secret (key `xcat_key`, hmac-md5).
    pub omapi_secret: String,
    /// Host paths bound into every node.
    pub binds: Vec<PathBuf>,
    /// Per-node run-time facts.
    pub nodes: BTreeMap<String, NodeRuntime>,
    /// `sqlite:<state>/baton.db` once baton has loaded the CSVs, else None.
    pub db_url: Option<String>,
    /// Directory of the tabrestore CSV files.
    pub db_dir: PathBuf,
    /// ssh client config for use inside mn.
    pub ssh_config: PathBuf,
    /// known_hosts with every node's host key.
    pub known_hosts: PathBuf,
    /// The client private key.
    pub identity: PathBuf,
    /// Scale beds: endpoint names and loopback addresses.
    pub endpoints: Vec<(String, Ipv4Addr)>,
    /// Phase timings of `up`, in seconds.
    pub timings: BTreeMap<String, f64>,
}

/// A running bed. Dropping it does NOT tear it down; use [`Bed::down`] or a [`BedGuard`].
#[derive(Debug)]
pub struct Bed {
    pub(crate) st: State,
}

/// Tears its bed down when dropped (also on panic). Derefs to [`Bed`].
#[derive(Debug)]
pub struct BedGuard(Option<Bed>);

impl BedGuard {
    /// Guards `bed`.
    pub fn new(bed: Bed) -> BedGuard {
        BedGuard(Some(bed))
    }
    /// Tears down now and reports.
    pub fn down(mut self) -> Result<DownReport> {
        self.0.take().expect("bed present").down()
    }
    /// Gives the bed back without tearing it down.
    pub fn into_inner(mut self) -> Bed {
        self.0.take().expect("bed present")
    }
}

impl std::ops::Deref for BedGuard {
    type Target = Bed;
    fn deref(&self) -> &Bed {
        self.0.as_ref().expect("bed present")
    }
}
impl std::ops::DerefMut for BedGuard {
    fn deref_mut(&mut self) -> &mut Bed {
        self.0.as_mut().expect("bed present")
    }
}
impl Drop for BedGuard {
    fn drop(&mut self) {
        if let Some(b) = self.0.take() {
            if let Err(e) = b.down() {
                eprintln!("baton-testbed: teardown failed: {e:#}");
            }
        }
    }
}

/// What `down` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DownReport {
    /// Namespaces deleted.
    pub namespaces: Vec<String>,
    /// Processes killed.
    pub killed: usize,
    /// Processes still there after the timeout (should be empty).
    pub survivors: Vec<u32>,
    /// Seconds taken.
    pub seconds: f64,
}

fn say(verbose: bool, msg: impl AsRef<str>) {
    if verbose {
        eprintln!("baton-testbed: {}", msg.as_ref());
    }
}

fn write(p: impl AsRef<Path>, text: impl AsRef<[u8]>) -> Result<()> {
    let p = p.as_ref();
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("mkdir {}", d.display()))?;
    }
    std::fs::write(p, text).with_context(|| format!("write {}", p.display()))
}

fn write_mode(p: impl AsRef<Path>, text: impl AsRef<[u8]>, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    write(&p, text)?;
    std::fs::set_permissions(p.as_ref(), std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn random_bytes(n: usize) -> Vec<u8> {
    use std::io::Read;
    let mut b = vec![0u8; n];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut b);
    }
    b
}

/// The daemons of a node, in start order.
pub fn daemons_of(node: &NodeInfo, dhcp: Dhcp) -> Vec<Daemon> {
    let d = |name: &str, command: &str, pidfile: &str| Daemon {
        name: name.into(),
        command: command.into(),
        pidfile: pidfile.into(),
    };
    let rsyslog = d(
        "rsyslog",
        "rsyslogd -i /run/rsyslogd.pid",
        "/run/rsyslogd.pid",
    );
    let chrony = d(
        "chrony",
        "chronyd -x -u root -f /etc/chrony/chrony.conf",
        "/run/chrony/chronyd.pid",
    );
    match node.role {
        Role::Sn => {
            let mut v = vec![rsyslog, chrony];
            v.push(match dhcp {
                Dhcp::Isc => d(
                    "dhcpd",
                    "dhcpd -4 -q -cf /etc/dhcp/dhcpd.conf -lf /var/lib/dhcp/dhcpd.leases -pf /run/dhcpd.pid eth1",
                    "/run/dhcpd.pid",
                ),
                Dhcp::Kea => d(
                    "kea",
                    "KEA_PIDFILE_DIR=/run/kea KEA_LOCKFILE_DIR=/run/lock/kea setsid -f kea-dhcp4 -c /etc/kea/kea-dhcp4.conf",
                    "/run/kea/kea-dhcp4.kea-dhcp4.pid",
                ),
            });
            v.push(d(
                "tftpd",
                "in.tftpd -l -a 0.0.0.0:69 -s -P /run/tftpd.pid /tftpboot",
                "/run/tftpd.pid",
            ));
            v.push(d(
                "conserver",
                "conserver -d -C /etc/conserver.cf",
                "/run/conserver/conserver.pid",
            ));
            v.push(d(
                "dnsmasq",
                "dnsmasq -C /etc/dnsmasq.conf",
                "/run/dnsmasq.pid",
            ));
            v
        }
        Role::Cn => vec![rsyslog, chrony],
        Role::Mn | Role::Scale => vec![],
    }
}

/// Ports a node's daemons listen on when ready: (TCP, UDP).
fn ready_ports(node: &NodeInfo) -> (Vec<u16>, Vec<u16>) {
    match node.role {
        Role::Sn => (
            vec![22, 53, 514, render::CONSERVER_PORT],
            vec![53, 67, 69, 123, 514],
        ),
        Role::Cn | Role::Mn | Role::Scale => (vec![], vec![]),
    }
}

/// The PID-1 script of a node: start the daemons (each detaches), then become sshd.
fn init_script(
    node: &NodeInfo,
    daemons: &[Daemon],
    sshd_config: &Path,
    ssh_config: &Path,
) -> String {
    let mut s = String::from("# baton-testbed node init (PID 1 of the node)\n");
    // root's own ssh client config is the bed's: plain `ssh NODE` works inside every node
    s.push_str(&format!(
        "mkdir -m 700 -p /root/.ssh && cp {} /root/.ssh/config && chmod 600 /root/.ssh/config\n",
        sh_quote(&ssh_config.to_string_lossy())
    ));
    if node.role == Role::Sn {
        s.push_str("echo 1 > /proc/sys/net/ipv4/ip_forward\nmkdir -p /run/kea /run/lock/kea /run/conserver /var/log/conserver /var/log/consoles /var/lib/kea /var/lib/dhcp\ntouch /var/lib/dhcp/dhcpd.leases\n");
    }
    s.push_str("mkdir -p /var/log/baton-tb\n");
    for d in daemons {
        s.push_str(&format!(
            "{} >>/var/log/baton-tb/{}.log 2>&1 </dev/null\n",
            d.command, d.name
        ));
    }
    s.push_str(&format!(
        "exec /usr/sbin/sshd -D -e -f {}\n",
        sh_quote(&sshd_config.to_string_lossy())
    ));
    s
}

impl State {
    fn path(&self) -> PathBuf {
        self.state_dir.join(STATE_FILE)
    }
    /// Writes the state file atomically.
    pub fn save(&self) -> Result<()> {
        let tmp = self.state_dir.join(".state.json.tmp");
        write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(&tmp, self.path())?;
        Ok(())
    }
    fn node_dir(&self, node: &str) -> PathBuf {
        self.state_dir.join("nodes").join(node)
    }
}

impl Bed {
    /// Brings a cluster bed up: namespaces and links, keys, every node's files, the nodes and
    /// their daemons (waiting until all listen), ssh config and known_hosts, the DB CSVs (and
    /// the baton DB if a baton binary is configured). On failure it cleans up after itself.
    pub fn up(cfg: Config) -> Result<Bed> {
        plan::check_name(&cfg.name).map_err(|e| anyhow!(e))?;
        crate::require_for(&[cfg.dhcp]).map_err(|e| anyhow!("cannot build a bed: {e}"))?;
        let root = cfg.state_root.clone().unwrap_or_else(state_root);
        prepare_name(&cfg.name, &root, cfg.replace, cfg.verbose)?;
        let octet = cfg.octet.unwrap_or_else(|| plan::default_octet(&cfg.name));
        let plan =
            Plan::new(&cfg.name, octet, cfg.sns, cfg.cns, &cfg.domain).map_err(|e| anyhow!(e))?;
        let st = new_state(&cfg.name, Kind::Cluster, &root, plan, cfg.dhcp, &cfg)?;
        let mut bed = Bed { st };
        match bed.build(&cfg) {
            Ok(()) => Ok(bed),
            Err(e) => {
                let _ = cleanup_in(&cfg.name, &root);
                Err(e)
            }
        }
    }

    /// Same as [`Bed::up`], wrapped in a guard that tears the bed down when dropped.
    pub fn up_guarded(cfg: Config) -> Result<BedGuard> {
        Ok(BedGuard::new(Bed::up(cfg)?))
    }

    /// Loads a running bed by name from the default state root.
    pub fn load(name: &str) -> Result<Bed> {
        Bed::load_from(name, &state_root())
    }

    /// Loads a running bed by name from `root`.
    pub fn load_from(name: &str, root: &Path) -> Result<Bed> {
        plan::check_name(name).map_err(|e| anyhow!(e))?;
        let p = root.join(name).join(STATE_FILE);
        let text =
            std::fs::read(&p).with_context(|| format!("no bed {name:?} ({})", p.display()))?;
        let st: State =
            serde_json::from_slice(&text).with_context(|| format!("parse {}", p.display()))?;
        Ok(Bed { st })
    }

    /// Tears the bed down: kills every process in its namespaces, deletes the namespaces and
    /// the state dir. Works on a half-built bed too.
    pub fn down(self) -> Result<DownReport> {
        let root = self
            .st
            .state_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(state_root);
        cleanup_in(&self.st.name, &root)
    }

    /// The state (plan, pids, paths).
    pub fn state(&self) -> &State {
        &self.st
    }
    /// Bed name.
    pub fn name(&self) -> &str {
        &self.st.name
    }
    /// The address plan.
    pub fn plan(&self) -> &Plan {
        &self.st.plan
    }
    /// The state dir.
    pub fn state_dir(&self) -> &Path {
        &self.st.state_dir
    }
    /// `<state>/ssh_config`: Host entries for every node (CNs with ProxyJump through their
    /// primary SN), host-key checking on. Use it inside mn.
    pub fn ssh_config_path(&self) -> &Path {
        &self.st.ssh_config
    }
    /// `<state>/ssh/known_hosts`.
    pub fn known_hosts_path(&self) -> &Path {
        &self.st.known_hosts
    }
    /// `sqlite:<state>/baton.db` when baton loaded the DB.
    pub fn db_url(&self) -> Option<&str> {
        self.st.db_url.as_deref()
    }
    /// URL the DB would have (`sqlite:<state>/baton.db`), loaded or not.
    pub fn db_url_planned(&self) -> String {
        format!("sqlite:{}", self.st.state_dir.join("baton.db").display())
    }
    /// Directory of the tabrestore CSVs.
    pub fn db_dir(&self) -> &Path {
        &self.st.db_dir
    }
    /// A node of the plan.
    pub fn node(&self, name: &str) -> Result<&NodeInfo> {
        self.st
            .plan
            .node(name)
            .ok_or_else(|| anyhow!("bed {} has no node {name:?}", self.st.name))
    }
    /// Service node names.
    pub fn sns(&self) -> Vec<String> {
        self.st.plan.sns().map(|n| n.name.clone()).collect()
    }
    /// Compute node names.
    pub fn cns(&self) -> Vec<String> {
        self.st.plan.cns().map(|n| n.name.clone()).collect()
    }
    /// Primary SN of a CN (as the bed set it up).
    pub fn primary_sn(&self, cn: &str) -> Result<String> {
        self.node(cn)?
            .primary_sn()
            .map(String::from)
            .ok_or_else(|| anyhow!("{cn} has no service node"))
    }
    /// Compute-network address of a node (SN `eth1`, CN `eth0`).
    pub fn compute_ip(&self, node: &str) -> Result<Ipv4Addr> {
        self.node(node)?
            .compute_ip
            .ok_or_else(|| anyhow!("{node} is not on the compute network"))
    }
    /// Daemons started in a node.
    pub fn daemons(&self, node: &str) -> Vec<Daemon> {
        self.st
            .nodes
            .get(node)
            .map(|r| r.daemons.clone())
            .unwrap_or_default()
    }

    /// Root-namespace pid of a node's PID 1 if it is alive.
    pub fn pid1(&self, node: &str) -> Option<u32> {
        self.st
            .nodes
            .get(node)
            .and_then(|r| r.pid1)
            .filter(|&p| sys::alive(p))
    }

    fn live_pid1(&self, node: &str) -> Result<u32> {
        self.node(node)?;
        self.pid1(node)
            .ok_or_else(|| anyhow!("node {node} of bed {} is not running", self.st.name))
    }

    /// A `Command` that runs `args` inside `node` (its mount, UTS, network and PID
    /// namespaces), as root with a clean environment. Add env, stdin etc. before running it.
    pub fn command(&self, node: &str, args: &[impl AsRef<std::ffi::OsStr>]) -> Result<Command> {
        Ok(sys::nsenter(self.live_pid1(node)?, args))
    }

    /// Runs `args` inside `node` and collects its output (any exit status).
    pub fn exec(&self, node: &str, args: &[impl AsRef<std::ffi::OsStr>]) -> Result<Output> {
        let out = self
            .command(node, args)?
            .stdin(Stdio::null())
            .output()
            .context("nsenter")?;
        Ok(out)
    }

    /// Runs `args` inside `node`; fails unless it exits 0; returns stdout.
    pub fn exec_ok(&self, node: &str, args: &[impl AsRef<std::ffi::OsStr>]) -> Result<String> {
        let out = self.exec(node, args)?;
        if !out.status.success() {
            bail!(
                "on {node}: {:?} failed ({}): {}",
                args.iter()
                    .map(|a| a.as_ref().to_string_lossy())
                    .collect::<Vec<_>>(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs a shell snippet inside `node` (`/bin/sh -c script`).
    pub fn sh(&self, node: &str, script: &str) -> Result<Output> {
        self.exec(node, &["/bin/sh", "-c", script])
    }

    /// Runs `ssh -F <ssh_config> <target> <cmd>` from inside `from` (normally `mn`): the path
    /// the product takes, with host-key checking on.
    pub fn ssh(&self, from: &str, target: &str, cmd: &str) -> Result<Output> {
        let cfg = self.st.ssh_config.to_string_lossy().into_owned();
        self.exec(from, &["ssh", "-F", &cfg, target, cmd])
    }

    /// Path of `path` (absolute, inside `node`) as seen from the host, through the node's
    /// running PID 1 (`/proc/<pid>/root/...`); None when the node is down.
    pub fn host_path(&self, node: &str, path: &str) -> Option<PathBuf> {
        let pid = self.pid1(node)?;
        Some(PathBuf::from(format!("/proc/{pid}/root{path}")))
    }

    /// Reads a file of a node: through the running node, or (node down) from its overlay upper
    /// dir, falling back to the host's lower dir (`/etc /opt /var`), or the SN's `/tftpboot`.
    pub fn read_node_file(&self, node: &str, path: &str) -> Result<Vec<u8>> {
        self.node(node)?;
        if !path.starts_with('/') {
            bail!("read_node_file wants an absolute path, not {path:?}");
        }
        if let Some(p) = self.host_path(node, path) {
            return std::fs::read(&p).with_context(|| format!("{node}:{path}"));
        }
        let dir = self.st.node_dir(node);
        let rest = path.trim_start_matches('/');
        let (top, sub) = rest.split_once('/').unwrap_or((rest, ""));
        match top {
            "etc" | "opt" | "var" => {
                let up = dir.join(format!("{top}.up")).join(sub);
                if up.exists() {
                    return std::fs::read(&up).with_context(|| format!("{node}:{path}"));
                }
                std::fs::read(path).with_context(|| format!("{node}:{path} (host lower dir)"))
            }
            "tftpboot" => std::fs::read(dir.join("tftpboot").join(sub))
                .with_context(|| format!("{node}:{path}")),
            _ => bail!("{node} is down and {path} is not in its overlay"),
        }
    }

    /// Reads a node file as text.
    pub fn read_node_text(&self, node: &str, path: &str) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.read_node_file(node, path)?).into_owned())
    }

    /// Writes a file inside a running node (through `/proc/<pid>/root`).
    pub fn write_node_file(&self, node: &str, path: &str, data: &[u8]) -> Result<()> {
        let p = self
            .host_path(node, path)
            .ok_or_else(|| anyhow!("node {node} is not running"))?;
        std::fs::write(&p, data).with_context(|| format!("{node}:{path}"))
    }

    fn spawn_spec(&self, node: &NodeInfo) -> NodeSpawn {
        let dir = self.st.node_dir(&node.name);
        let mut binds: Vec<(PathBuf, PathBuf)> = self
            .st
            .binds
            .iter()
            .map(|p| (p.clone(), p.clone()))
            .collect();
        if node.role == Role::Sn {
            binds.push((dir.join("tftpboot"), PathBuf::from("/tftpboot")));
        }
        let daemons = self
            .st
            .nodes
            .get(&node.name)
            .map(|r| r.daemons.clone())
            .unwrap_or_default();
        NodeSpawn {
            netns: node.netns.clone(),
            hostname: node.name.clone(),
            node_dir: dir.clone(),
            binds,
            script: init_script(
                node,
                &daemons,
                &dir.join("sshd_config"),
                &self.st.ssh_config,
            ),
            log: dir.join("node.log"),
            // daemons close every possible fd when they detach: keep the limit modest
            nofile: Some(if node.role == Role::Scale {
                65536
            } else {
                4096
            }),
        }
    }

    /// Starts nodes (all at once) and waits until each is ready. Records pids.
    fn start_nodes(&mut self, names: &[String], verbose: bool) -> Result<()> {
        let t0 = Instant::now();
        let specs: Vec<(NodeInfo, NodeSpawn)> = names
            .iter()
            .map(|n| {
                let node = self.node(n)?.clone();
                let spec = self.spawn_spec(&node);
                Ok((node, spec))
            })
            .collect::<Result<_>>()?;
        // a few spawner threads: each spawn blocks until the child has done its mounts
        let chunk = specs.len().div_ceil(4).max(1);
        let results: Vec<Result<u32>> = std::thread::scope(|s| {
            let handles: Vec<_> = specs
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|(_, spec)| sys::spawn_node(spec).map(|c| c.id()))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("spawner thread"))
                .collect()
        });
        let mut started = vec![];
        let mut first_err = None;
        for ((node, spec), r) in specs.into_iter().zip(results) {
            match r {
                Ok(pid) => {
                    let rt = self.st.nodes.entry(node.name.clone()).or_default();
                    rt.init_pid = Some(pid);
                    rt.pid1 = None;
                    started.push((node, pid, spec.log));
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        self.st.save()?;
        if let Some(e) = first_err {
            return Err(e);
        }
        say(
            verbose,
            format!(
                "{} nodes spawned in {:.2}s",
                names.len(),
                t0.elapsed().as_secs_f64()
            ),
        );
        let timeout = Duration::from_secs(20 + names.len() as u64 / 10);
        let mut pending: Vec<(NodeInfo, u32, u32, PathBuf)> = vec![];
        for (node, init, log) in started {
            let pid1 = sys::wait_child(init, timeout).with_context(|| {
                format!(
                    "node {} did not start; log {}:\n{}",
                    node.name,
                    log.display(),
                    tail(&log)
                )
            })?;
            self.st.nodes.get_mut(&node.name).unwrap().pid1 = Some(pid1);
            pending.push((node, init, pid1, log));
        }
        self.st.save()?;
        while !pending.is_empty() {
            let mut still = vec![];
            for (node, init, pid1, log) in pending {
                if !sys::alive(pid1) {
                    bail!(
                        "node {} died while starting; log {}:\n{}",
                        node.name,
                        log.display(),
                        tail(&log)
                    );
                }
                if self.node_ready(&node, pid1) {
                    self.st.nodes.get_mut(&node.name).unwrap().up_seconds =
                        Some(t0.elapsed().as_secs_f64());
                } else {
                    still.push((node, init, pid1, log));
                }
            }
            pending = still;
            if pending.is_empty() {
                break;
            }
            if t0.elapsed() > timeout {
                let names: Vec<String> = pending
                    .iter()
                    .map(|(n, _, pid1, _)| {
                        format!("{} ({})", n.name, self.not_ready_reason(n, *pid1))
                    })
                    .collect();
                bail!("nodes not ready after {timeout:?}: {}", names.join(", "));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        self.st.save()?;
        Ok(())
    }

    fn node_ready(&self, node: &NodeInfo, pid1: u32) -> bool {
        self.not_ready_reason(node, pid1).is_empty()
    }

    fn not_ready_reason(&self, node: &NodeInfo, pid1: u32) -> String {
        let mut missing = vec![];
        // sshd writes its pid file once it listens; daemons write theirs when started
        if !Path::new(&format!("/proc/{pid1}/root/run/sshd.pid")).exists() {
            missing.push("sshd pid file".to_string());
        }
        for d in self.daemons(&node.name) {
            if !Path::new(&format!("/proc/{pid1}/root{}", d.pidfile)).exists() {
                missing.push(format!("{} pid file", d.name));
            }
        }
        let (want_tcp, want_udp) = ready_ports(node);
        if !missing.is_empty() || (want_tcp.is_empty() && want_udp.is_empty()) {
            return missing.join(" ");
        }
        // /proc/net/* walks every socket of every namespace: only for SNs, and only at the end
        let (tcp, udp) = sys::ports(pid1);
        for p in want_tcp {
            if !tcp.contains(&p) {
                missing.push(format!("tcp/{p}"));
            }
        }
        for p in want_udp {
            if !udp.contains(&p) {
                missing.push(format!("udp/{p}"));
            }
        }
        missing.join(" ")
    }

    fn build(&mut self, cfg: &Config) -> Result<()> {
        let v = cfg.verbose;
        let t0 = Instant::now();
        let mark = |st: &mut State, what: &str, t: &mut Instant| {
            st.timings.insert(what.into(), t.elapsed().as_secs_f64());
            say(v, format!("{what}: {:.2}s", t.elapsed().as_secs_f64()));
            *t = Instant::now();
        };
        let mut t = Instant::now();
        self.build_network()?;
        mark(&mut self.st, "network", &mut t);
        self.write_keys()?;
        mark(&mut self.st, "keys", &mut t);
        self.write_node_files()?;
        mark(&mut self.st, "files", &mut t);
        let names: Vec<String> = self.st.plan.nodes.iter().map(|n| n.name.clone()).collect();
        self.start_nodes(&names, v)?;
        mark(&mut self.st, "nodes", &mut t);
        let files = db::write_tables(
            &db::tables(&self.st.plan, &self.st.omapi_secret),
            &self.st.db_dir,
        )?;
        if let Some(baton) = &cfg.baton_bin {
            self.load_baton_db(baton, &files)?;
        }
        mark(&mut self.st, "db", &mut t);
        self.st
            .timings
            .insert("total".into(), t0.elapsed().as_secs_f64());
        self.st.complete = true;
        self.st.save()?;
        Ok(())
    }

    fn load_baton_db(&mut self, baton: &Path, files: &[PathBuf]) -> Result<()> {
        let url = self.db_url_planned();
        sys::run(Command::new(baton).args(["--db", &url, "init"]))?;
        for f in files {
            sys::run(
                Command::new(baton)
                    .args(["--db", &url])
                    .arg("tabrestore")
                    .arg(f),
            )?;
        }
        self.st.db_url = Some(url);
        Ok(())
    }

    fn build_network(&mut self) -> Result<()> {
        let sw = self.st.switch_netns.clone();
        let plan = self.st.plan.clone();
        let mut root = format!("netns add {sw}\n");
        for n in &plan.nodes {
            root.push_str(&format!("netns add {}\n", n.netns));
        }
        let mut swb = String::from("link set lo up\nlink add br-mgmt type bridge\nlink add br-cn type bridge\nlink set br-mgmt up\nlink set br-cn up\n");
        let mut per_node = vec![];
        for n in &plan.nodes {
            let mut b = String::from("link set lo up\n");
            let mut veth =
                |ifname: &str, mac: &Option<String>, peer: String, br: &str, addr: String| {
                    root.push_str(&format!(
                    "link add {ifname} netns {} address {} type veth peer name {peer} netns {sw}\n",
                    n.netns,
                    mac.as_deref().unwrap_or("02:00:00:00:00:01")
                ));
                    swb.push_str(&format!(
                        "link set {peer} master {br}\nlink set {peer} up\n"
                    ));
                    b.push_str(&format!(
                        "addr add {addr} dev {ifname}\nlink set {ifname} up\n"
                    ));
                };
            match n.role {
                Role::Mn => veth(
                    "eth0",
                    &n.mgmt_mac,
                    format!("m-{}", n.name),
                    "br-mgmt",
                    format!("{}/{MGMT_PREFIX}", n.mgmt_ip.unwrap()),
                ),
                Role::Sn => {
                    veth(
                        "eth0",
                        &n.mgmt_mac,
                        format!("m-{}", n.name),
                        "br-mgmt",
                        format!("{}/{MGMT_PREFIX}", n.mgmt_ip.unwrap()),
                    );
                    veth(
                        "eth1",
                        &n.compute_mac,
                        format!("c-{}", n.name),
                        "br-cn",
                        format!("{}/{COMPUTE_PREFIX}", n.compute_ip.unwrap()),
                    );
                }
                Role::Cn => {
                    veth(
                        "eth0",
                        &n.compute_mac,
                        format!("c-{}", n.name),
                        "br-cn",
                        format!("{}/{COMPUTE_PREFIX}", n.compute_ip.unwrap()),
                    );
                    let gw = plan
                        .node(n.primary_sn().unwrap())
                        .and_then(|s| s.compute_ip)
                        .unwrap();
                    b.push_str(&format!("route add default via {gw}\n"));
                }
                Role::Scale => {}
            }
            per_node.push((n.netns.clone(), b));
        }
        sys::ip_batch(None, &root)?;
        for n in &plan.nodes {
            let ino = sys::netns_inode(&n.netns);
            self.st.nodes.entry(n.name.clone()).or_default().netns_inode = ino;
        }
        self.st.save()?;
        let mut children = vec![(sw.clone(), sys::ip_batch_spawn(Some(&sw), &swb)?)];
        for (ns, b) in &per_node {
            children.push((ns.clone(), sys::ip_batch_spawn(Some(ns), b)?));
        }
        for (ns, c) in children {
            sys::wait_ok(c, &format!("ip -n {ns} -batch"))?;
        }
        Ok(())
    }

    fn write_keys(&mut self) -> Result<()> {
        let dir = self.st.state_dir.clone();
        let mut jobs: Vec<(String, PathBuf)> = vec![("client".into(), self.st.identity.clone())];
        for n in &self.st.plan.nodes {
            jobs.push((
                n.name.clone(),
                dir.join("nodes").join(&n.name).join("ssh_host_ed25519_key"),
            ));
        }
        keygen(&jobs)?;
        let pubkey = std::fs::read_to_string(self.st.identity.with_extension("pub"))?;
        write_mode(dir.join("ssh").join("authorized_keys"), &pubkey, 0o644)?;
        // known_hosts: every name, FQDN and address of each node
        let d = &self.st.plan.domain;
        let mut kh = String::new();
        let mut cfg = format!(
            "# baton-testbed ssh client config for bed {} (use inside mn: ssh -F {} NODE)\n",
            self.st.name,
            self.st.ssh_config.display()
        );
        for n in &self.st.plan.nodes {
            let key = std::fs::read_to_string(
                dir.join("nodes")
                    .join(&n.name)
                    .join("ssh_host_ed25519_key.pub"),
            )?;
            let key: Vec<&str> = key.split_whitespace().take(2).collect();
            let mut names = vec![n.name.clone(), format!("{}.{d}", n.name)];
            names.extend(n.mgmt_ip.map(|i| i.to_string()));
            if let Some(a) = n.compute_alias() {
                names.push(a.clone());
                names.push(format!("{a}.{d}"));
            }
            names.extend(n.compute_ip.map(|i| i.to_string()));
            kh.push_str(&format!("{} {}\n", names.join(","), key.join(" ")));
            cfg.push_str(&format!(
                "Host {} {}.{d}\n  HostName {}\n",
                n.name,
                n.name,
                n.ssh_ip()
            ));
            if n.role == Role::Cn {
                cfg.push_str(&format!("  ProxyJump {}\n", n.primary_sn().unwrap()));
            }
            if let (Some(a), Some(ip)) = (n.compute_alias(), n.compute_ip) {
                cfg.push_str(&format!(
                    "Host {a} {a}.{d}\n  HostName {ip}\n  ProxyJump {}\n",
                    n.name
                ));
            }
        }
        cfg.push_str(&ssh_common(&self.st));
        write_mode(&self.st.known_hosts, kh, 0o644)?;
        write_mode(&self.st.ssh_config, cfg, 0o644)?;
        Ok(())
    }

    fn write_node_files(&mut self) -> Result<()> {
        let plan = self.st.plan.clone();
        let host_rsyslog = std::fs::read_to_string("/etc/rsyslog.conf").unwrap_or_default();
        let hosts = render::hosts(&plan);
        let authorized = self.st.state_dir.join("ssh").join("authorized_keys");
        let tftp_host = Path::new("/tftpboot");
        if plan.sns().next().is_some() && !tftp_host.exists() {
            // mount point for each SN's private /tftpboot (xCAT's default site.tftpdir)
            std::fs::create_dir_all(tftp_host)?;
        }
        for n in &plan.nodes {
            let dir = self.st.node_dir(&n.name);
            let etc = dir.join("etc.up");
            let opt = dir.join("opt.up");
            let var = dir.join("var.up");
            for d in [
                &etc,
                &opt,
                &var,
                &dir.join("etc.wk"),
                &dir.join("opt.wk"),
                &dir.join("var.wk"),
            ] {
                std::fs::create_dir_all(d)?;
            }
            write(etc.join("hostname"), format!("{}\n", n.name))?;
            write(etc.join("hosts"), &hosts)?;
            write(
                dir.join("sshd_config"),
                render::sshd_config(
                    &dir.join("ssh_host_ed25519_key").to_string_lossy(),
                    &authorized.to_string_lossy(),
                    "",
                ),
            )?;
            std::fs::create_dir_all(var.join("log/baton-tb"))?;
            let daemons = daemons_of(n, self.st.dhcp);
            self.st.nodes.entry(n.name.clone()).or_default().daemons = daemons;
            match n.role {
                Role::Sn => {
                    let me = n.compute_ip.unwrap();
                    write(
                        etc.join("rsyslog.conf"),
                        render::rsyslog_conf(&host_rsyslog, true),
                    )?;
                    write(etc.join("chrony/chrony.conf"), render::chrony_conf(&[]))?;
                    write(
                        etc.join("resolv.conf"),
                        render::resolv_conf(&plan.domain, me),
                    )?;
                    match self.st.dhcp {
                        Dhcp::Isc => write(
                            etc.join("dhcp/dhcpd.conf"),
                            render::dhcpd_conf(&plan, n, &self.st.omapi_secret),
                        )?,
                        Dhcp::Kea => {
                            write(etc.join("kea/kea-dhcp4.conf"), render::kea_conf(&plan, n))?
                        }
                    }
                    write(etc.join("dnsmasq.conf"), render::dnsmasq_conf(&plan, n))?;
                    write(etc.join("conserver.cf"), render::conserver_cf(&plan, n))?;
                    write_mode(
                        opt.join("xcat/share/xcat/cons").join(render::CONS_METHOD),
                        render::cons_program(),
                        0o755,
                    )?;
                    for d in ["lib/dhcp", "lib/kea", "log/conserver", "log/consoles"] {
                        std::fs::create_dir_all(var.join(d))?;
                    }
                    write(var.join("lib/dhcp/dhcpd.leases"), "")?;
                    let tftp = dir.join("tftpboot");
                    write_mode(
                        tftp.join("xcat/xnba.kpxe"),
                        "baton-testbed stand-in for xnba.kpxe\n",
                        0o644,
                    )?;
                    for cn in plan.cns_of(&n.name) {
                        write_mode(
                            tftp.join(render::boot_file_path(&cn.name)),
                            render::boot_file(&cn.name, me),
                            0o644,
                        )?;
                    }
                    set_tree_mode(&tftp)?;
                }
                Role::Cn => {
                    let sn = plan.node(n.primary_sn().unwrap()).unwrap();
                    let xm = render::xcatmaster_of(n);
                    write(
                        etc.join("rsyslog.conf"),
                        render::rsyslog_conf(&host_rsyslog, false),
                    )?;
                    write(
                        etc.join("rsyslog.d/remote.conf"),
                        render::rsyslog_remote(&xm),
                    )?;
                    write(etc.join("chrony/chrony.conf"), render::chrony_conf(&[&xm]))?;
                    write(
                        etc.join("resolv.conf"),
                        render::resolv_conf(&plan.domain, sn.compute_ip.unwrap()),
                    )?;
                    write(opt.join("xcat/xcatinfo"), render::xcatinfo(&xm, &n.name))?;
                }
                Role::Mn => {
                    write(etc.join("resolv.conf"), format!("search {}\n", plan.domain))?;
                }
                Role::Scale => {}
            }
        }
        self.st.save()?;
        Ok(())
    }

    // ---------------------------------------------------------------- faults

    /// Kills every process of a node (SIGKILL to everything in its network namespace), like a
    /// crash. Its namespaces' files (overlay upper dirs) stay; [`Bed::revive`] restarts it.
    pub fn kill_node(&mut self, node: &str) -> Result<usize> {
        self.node(node)?;
        let rt = self.st.nodes.get(node).cloned().unwrap_or_default();
        let mut inodes = HashSet::new();
        inodes.extend(rt.netns_inode);
        let pids = sys::pids_in_netns(&inodes);
        let n = pids.len();
        let left = sys::kill_tree_and_wait(&pids, Duration::from_secs(5));
        if !left.is_empty() {
            bail!("processes of {node} survived SIGKILL: {left:?}");
        }
        let rt = self.st.nodes.get_mut(node).unwrap();
        rt.pid1 = None;
        rt.init_pid = None;
        self.st.save()?;
        Ok(n)
    }

    fn port_name(&self, node: &str) -> Result<String> {
        let n = self.node(node)?;
        Ok(match n.role {
            Role::Mn => format!("m-{node}"),
            Role::Sn | Role::Cn => format!("c-{node}"),
            Role::Scale => bail!("a scale bed has no links"),
        })
    }

    /// Cuts a node's compute link (mn: its management link) at the bridge: the node keeps its
    /// address, nothing reaches it.
    pub fn cut_link(&self, node: &str) -> Result<()> {
        let port = self.port_name(node)?;
        sys::ip_batch(
            Some(&self.st.switch_netns),
            &format!("link set {port} down\n"),
        )
    }

    /// Cuts a service node's management link (mn can no longer reach it).
    pub fn cut_mgmt_link(&self, node: &str) -> Result<()> {
        if self.node(node)?.mgmt_ip.is_none() {
            bail!("{node} has no management link");
        }
        sys::ip_batch(
            Some(&self.st.switch_netns),
            &format!("link set m-{node} down\n"),
        )
    }

    /// A power-off: every process killed and every link cut (a killed node's kernel, its
    /// network namespace here, would still answer ARP and ping for its addresses).
    pub fn power_off(&mut self, node: &str) -> Result<()> {
        self.kill_node(node)?;
        self.cut_link(node)?;
        if self.node(node)?.mgmt_ip.is_some() && self.node(node)?.role == Role::Sn {
            self.cut_mgmt_link(node)?;
        }
        Ok(())
    }

    /// The MAC addresses that answer ARP for `ip`, asked from inside `node` on `dev` (broadcast
    /// requests for two seconds: every holder answers each one).
    pub fn arp_holders(&self, node: &str, dev: &str, ip: Ipv4Addr) -> Result<Vec<String>> {
        let ip = ip.to_string();
        let out = self.exec(
            node,
            &["arping", "-b", "-c", "2", "-w", "3", "-I", dev, &ip],
        )?;
        let mut macs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| Some(l.split_once('[')?.1.split_once(']')?.0.to_lowercase()))
            .collect();
        macs.sort();
        macs.dedup();
        Ok(macs)
    }

    /// The MAC address of a node's interface.
    pub fn mac_of(&self, node: &str, dev: &str) -> Result<String> {
        let path = format!("/sys/class/net/{dev}/address");
        Ok(self.exec_ok(node, &["cat", &path])?.trim().to_lowercase())
    }

    /// Brings back the links [`Bed::cut_link`] / [`Bed::cut_mgmt_link`] cut.
    pub fn restore_link(&self, node: &str) -> Result<()> {
        let n = self.node(node)?;
        let mut b = format!("link set {} up\n", self.port_name(node)?);
        if n.role == Role::Sn {
            b.push_str(&format!("link set m-{node} up\n"));
        }
        sys::ip_batch(Some(&self.st.switch_netns), &b)?;
        // forget stale neighbour entries (notes §2.8)
        let children: Vec<_> = self
            .st
            .plan
            .nodes
            .iter()
            .filter(|o| o.role != Role::Scale)
            .filter_map(|o| sys::ip_batch_spawn(Some(&o.netns), "neigh flush all\n").ok())
            .collect();
        for c in children {
            let _ = c.wait_with_output();
        }
        Ok(())
    }

    /// Brings a node back: restores its links and, if it was killed, restarts it with its
    /// current files (so changes made while it ran survive, as on a reboot).
    pub fn revive(&mut self, node: &str) -> Result<()> {
        self.restore_link(node)?;
        if self.pid1(node).is_none() {
            self.kill_node(node)?;
            self.start_nodes(&[node.to_string()], false)?;
        }
        Ok(())
    }

    /// Waits until a node's daemons listen again (e.g. after the product restarted some).
    pub fn wait_ready(&self, node: &str, timeout: Duration) -> Result<()> {
        let n = self.node(node)?.clone();
        let t0 = Instant::now();
        loop {
            let pid1 = self.live_pid1(node)?;
            let why = self.not_ready_reason(&n, pid1);
            if why.is_empty() {
                return Ok(());
            }
            if t0.elapsed() > timeout {
                bail!("{node} not ready: {why}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    // ---------------------------------------------------------------- scale

    /// Brings up a scale bed: one namespace `bt-<name>-scale` (loopback only) with one sshd
    /// serving `endpoints` SSH "nodes" `ep0001...` on distinct addresses 127.1.x.y. Inside,
    /// sshd sets `XCAT_TEST_NODE=<endpoint>` for each session (Match LocalAddress). Run the
    /// client inside the node `scale`: `exec("scale", ["ssh", "-F", cfg, "ep0001", ...])`.
    pub fn up_scale(name: &str, endpoints: usize, state_root_dir: Option<PathBuf>) -> Result<Bed> {
        plan::check_name(name).map_err(|e| anyhow!(e))?;
        crate::require_for(&[]).map_err(|e| anyhow!("cannot build a bed: {e}"))?;
        if endpoints == 0 || endpoints > 60_000 {
            bail!("--endpoints must be 1..=60000");
        }
        let root = state_root_dir.unwrap_or_else(state_root);
        prepare_name(name, &root, false, false)?;
        let node = NodeInfo {
            name: "scale".into(),
            role: Role::Scale,
            index: 0,
            netns: format!("{}scale", plan::netns_prefix(name)),
            mgmt_ip: None,
            compute_ip: None,
            compute_mac: None,
            mgmt_mac: None,
            servicenodes: vec![],
            rack: None,
        };
        let plan = Plan {
            name: name.into(),
            octet: 0,
            domain: "scale.test".into(),
            nodes: vec![node],
        };
        let cfg = Config::new(name, 1, 0);
        let st = new_state(name, Kind::Scale, &root, plan, Dhcp::Isc, &cfg)?;
        let mut bed = Bed { st };
        match bed.build_scale(endpoints) {
            Ok(()) => Ok(bed),
            Err(e) => {
                let _ = cleanup_in(name, &root);
                Err(e)
            }
        }
    }

    fn build_scale(&mut self, count: usize) -> Result<()> {
        let t0 = Instant::now();
        let node = self.st.plan.nodes[0].clone();
        sys::ip_batch(None, &format!("netns add {}\n", node.netns))?;
        sys::ip_batch(Some(&node.netns), "link set lo up\n")?;
        self.st.nodes.entry("scale".into()).or_default().netns_inode =
            sys::netns_inode(&node.netns);
        let width = count.to_string().len().max(4);
        self.st.endpoints = (1..=count)
            .map(|i| {
                let k = i - 1;
                (
                    format!("ep{i:0width$}"),
                    Ipv4Addr::new(
                        127,
                        1 + (k / 62500) as u8,
                        ((k / 250) % 250) as u8,
                        (k % 250 + 1) as u8,
                    ),
                )
            })
            .collect();
        self.st.save()?;
        let dir = self.st.node_dir("scale");
        let key = dir.join("ssh_host_ed25519_key");
        keygen(&[
            ("client".into(), self.st.identity.clone()),
            ("scale".into(), key.clone()),
        ])?;
        let pubkey = std::fs::read_to_string(self.st.identity.with_extension("pub"))?;
        let auth = self.st.state_dir.join("ssh").join("authorized_keys");
        write_mode(&auth, &pubkey, 0o644)?;
        let hostkey = std::fs::read_to_string(key.with_extension("pub"))?;
        let hostkey: Vec<&str> = hostkey.split_whitespace().take(2).collect();
        let hostkey = hostkey.join(" ");
        let mut matches = String::new();
        let mut kh = String::new();
        let mut cfg = format!(
            "# baton-testbed scale bed {}: {} endpoints (use inside node scale)\n",
            self.st.name, count
        );
        let mut hosts = String::from("127.0.0.1\tlocalhost\n");
        for (n, ip) in &self.st.endpoints {
            matches.push_str(&format!(
                "Match LocalAddress {ip}\n  SetEnv XCAT_TEST_NODE={n}\n"
            ));
            kh.push_str(&format!("{n},{ip} {hostkey}\n"));
            cfg.push_str(&format!("Host {n}\n  HostName {ip}\n"));
            hosts.push_str(&format!("{ip}\t{n}\n"));
        }
        cfg.push_str(&ssh_common(&self.st));
        write_mode(&self.st.known_hosts, kh, 0o644)?;
        write_mode(&self.st.ssh_config, cfg, 0o644)?;
        write(dir.join("etc.up/hosts"), hosts)?;
        write(dir.join("etc.up/hostname"), "scale\n")?;
        write(
            dir.join("sshd_config"),
            render::sshd_config(&key.to_string_lossy(), &auth.to_string_lossy(), &matches),
        )?;
        self.st
            .timings
            .insert("files".into(), t0.elapsed().as_secs_f64());
        self.start_nodes(&["scale".to_string()], false)?;
        db::write_tables(&db::scale_tables(&self.st.endpoints), &self.st.db_dir)?;
        self.st
            .timings
            .insert("total".into(), t0.elapsed().as_secs_f64());
        self.st.complete = true;
        self.st.save()?;
        Ok(())
    }
}

fn set_tree_mode(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            set_tree_mode(&e.path())?;
        }
    }
    Ok(())
}

fn ssh_common(st: &State) -> String {
    format!(
        "Host *\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  CheckHostIP no\n  BatchMode yes\n  ConnectTimeout 5\n  KexAlgorithms curve25519-sha256\n  LogLevel ERROR\n",
        st.identity.display(),
        st.known_hosts.display()
    )
}

fn tail(p: &Path) -> String {
    let s = std::fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Runs ssh-keygen for each (comment, private key path), a few at a time.
fn keygen(jobs: &[(String, PathBuf)]) -> Result<()> {
    for chunk in jobs.chunks(32) {
        let mut children = vec![];
        for (comment, path) in chunk {
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d)?;
            }
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_file(path.with_extension("pub"));
            let c = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C"])
                .arg(format!("baton-testbed-{comment}"))
                .arg("-f")
                .arg(path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .context("ssh-keygen (openssh-client)")?;
            children.push(c);
        }
        for c in children {
            sys::wait_ok(c, "ssh-keygen")?;
        }
    }
    Ok(())
}

fn new_state(
    name: &str,
    kind: Kind,
    root: &Path,
    plan: Plan,
    dhcp: Dhcp,
    cfg: &Config,
) -> Result<State> {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir)?;
    if std::env::var_os("BATON_TESTBED_NO_TMPFS").is_none() {
        // a tmpfs per bed: the overlay upper dirs, keys and logs live in memory, and teardown
        // does not wait for a disk (removing files on an ext4 mounted with `discard` issues a
        // synchronous discard per freed block)
        sys::mount_tmpfs(&format!("baton-tb-{name}"), &dir)?;
    }
    std::fs::create_dir_all(dir.join("ssh"))?;
    std::fs::create_dir_all(dir.join("nodes"))?;
    let mut binds = vec![dir.clone()];
    if let Some(b) = cfg.baton_bin.as_ref().and_then(|b| b.parent()) {
        if !b.as_os_str().is_empty() {
            binds.push(b.to_path_buf());
        }
    }
    binds.extend(cfg.binds.iter().cloned());
    if let Some(extra) = std::env::var_os("BATON_TESTBED_BINDS") {
        binds.extend(std::env::split_paths(&extra).filter(|p| !p.as_os_str().is_empty()));
    }
    let mut seen = HashSet::new();
    let binds: Vec<PathBuf> = binds
        .into_iter()
        .filter_map(|p| std::fs::canonicalize(&p).ok())
        .filter(|p| seen.insert(p.clone()))
        .collect();
    let st = State {
        name: name.into(),
        kind,
        complete: false,
        state_dir: dir.clone(),
        netns_prefix: plan::netns_prefix(name),
        switch_netns: plan::switch_netns(name),
        plan,
        dhcp,
        omapi_secret: render::base64(&random_bytes(16)),
        binds,
        nodes: BTreeMap::new(),
        db_url: None,
        db_dir: dir.join("db"),
        ssh_config: dir.join("ssh_config"),
        known_hosts: dir.join("ssh").join("known_hosts"),
        identity: dir.join("ssh").join("id_ed25519"),
        endpoints: vec![],
        timings: BTreeMap::new(),
    };
    st.save()?;
    Ok(st)
}

/// Before `up`: a bed of that name that still runs is an error (unless `replace`); a dead one
/// (crashed run) is cleaned away.
fn prepare_name(name: &str, root: &Path, replace: bool, verbose: bool) -> Result<()> {
    let prefix = plan::netns_prefix(name);
    let nss = sys::list_netns(&prefix);
    let dir = root.join(name);
    if nss.is_empty() && !dir.exists() {
        return Ok(());
    }
    let inodes: HashSet<u64> = nss.iter().filter_map(|n| sys::netns_inode(n)).collect();
    let live = sys::pids_in_netns(&inodes);
    if !live.is_empty() && !replace {
        bail!(
            "bed {name:?} is running ({} processes); run `baton-testbed down --name {name}` first",
            live.len()
        );
    }
    say(verbose, format!("cleaning up an earlier bed {name:?}"));
    cleanup_in(name, root)?;
    Ok(())
}

/// Tears down the bed `name` (state root from `BATON_TESTBED_ROOT` or the default), whatever
/// state it is in: a running bed, a half-built one, or the leftovers of a crashed run (state file
/// missing or partly written).
pub fn cleanup(name: &str) -> Result<DownReport> {
    cleanup_in(name, &state_root())
}

/// [`cleanup`] with an explicit state root.
///
/// Kills only processes that live in one of the bed's network namespaces: those named with the
/// bed's prefix under /run/netns, and those recorded in its state file (by namespace inode, so a
/// recycled pid of an unrelated process is never hit). Node mounts are private to the nodes'
/// mount namespaces and vanish with their processes; then the namespaces and the state dir are
/// removed.
pub fn cleanup_in(name: &str, root: &Path) -> Result<DownReport> {
    plan::check_name(name).map_err(|e| anyhow!(e))?;
    let t0 = Instant::now();
    let prefix = plan::netns_prefix(name);
    let dir = root.join(name);
    let mut inodes: HashSet<u64> = HashSet::new();
    let mut recorded: Vec<u32> = vec![];
    // the state file may be missing or partly written: take what parses
    if let Ok(text) = std::fs::read(dir.join(STATE_FILE)) {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&text) {
            if let Some(nodes) = v.get("nodes").and_then(|n| n.as_object()) {
                for rt in nodes.values() {
                    if let Some(i) = rt.get("netns_inode").and_then(|x| x.as_u64()) {
                        inodes.insert(i);
                    }
                    for k in ["init_pid", "pid1"] {
                        if let Some(p) = rt.get(k).and_then(|x| x.as_u64()) {
                            recorded.push(p as u32);
                        }
                    }
                }
            }
        }
    }
    let nss = sys::list_netns(&prefix);
    inodes.extend(nss.iter().filter_map(|n| sys::netns_inode(n)));
    let mut pids = sys::pids_in_netns(&inodes);
    // recorded pids only if they still live in one of the bed's namespaces (pid reuse)
    for p in recorded {
        if !pids.contains(&p) && sys::proc_netns(p).is_some_and(|i| inodes.contains(&i)) {
            pids.push(p);
        }
    }
    let survivors = sys::kill_tree_and_wait(&pids, Duration::from_secs(10));
    for ns in &nss {
        sys::delete_netns(ns)?;
    }
    // the state dir's tmpfs (and, to be thorough, anything else mounted under it)
    sys::umount_under(&dir);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("remove {}", dir.display()))?;
    }
    Ok(DownReport {
        namespaces: nss,
        killed: pids.len(),
        survivors,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Names of all beds under `root` plus any whose namespaces exist (prefix `bt-`).
pub fn list_beds(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| plan::check_name(n).is_ok())
                .collect()
        })
        .unwrap_or_default();
    for ns in sys::list_netns("bt-") {
        if let Some(rest) = ns.strip_prefix("bt-") {
            if let Some((n, _)) = rest.split_once('-') {
                if plan::check_name(n).is_ok() && !names.iter().any(|x| x == n) {
                    names.push(n.to_string());
                }
            }
        }
    }
    names.sort();
    names
}
