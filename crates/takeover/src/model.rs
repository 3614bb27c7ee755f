//! The data of a takeover: the request, the plan and its steps. All of it serializes to JSON
//! (`--json`, and the journal keeps the plan it applied).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// What the user asked for, as xCAT's snmove options.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Request {
    /// The noderange argument.
    pub noderange: Option<String>,
    /// `-s`: source SN as the management node knows it.
    pub source: Option<String>,
    /// `-S`: source SN as the compute nodes know it (old xcatmaster).
    pub source_n: Option<String>,
    /// `-d`: destination SN as the management node knows it.
    pub dest: Option<String>,
    /// `-D`: destination SN as the compute nodes know it (new xcatmaster).
    pub dest_n: Option<String>,
    /// `-P`: extra postscripts, or `all`.
    pub postscripts: Option<String>,
    /// `-i`: do not touch the compute nodes.
    pub ignore_nodes: bool,
    /// `-l`: AIX statelite sync only.
    pub liteonly: bool,
    /// `-n`: AIX sns: do not re-target dump devices.
    pub noretarget: bool,
    /// Plan from the addresses recorded in the database instead of asking the destination SNs.
    pub offline: bool,
    /// Apply even when pre-flight checks fail.
    pub force: bool,
    /// `--spread`: the SNs to spread the nodes over, balancing their loads (instead of `-d`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spread: Vec<String>,
    /// Spread each node over its own pool (its servicenode list): what the watcher asks for.
    /// Nodes whose pool has no SN left stay where they are, with a warning.
    #[serde(default)]
    pub spread_pool: bool,
    /// SNs that must receive no node (failing ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Most nodes an SN should serve, for spreading (`--capacity SN=N`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: BTreeMap<String, usize>,
    /// `--adopt-address`: a destination holds the old SN's compute address until its nodes are
    /// re-pointed (see [`StepKind::AdoptAddress`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopt_address: bool,
    /// The old SN was fenced (powered off and confirmed) before this request: its address may
    /// be taken at once and checked after (the watcher); otherwise it is checked first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fenced: bool,
}

impl Request {
    /// The destinations come from the balancer.
    pub fn spreads(&self) -> bool {
        self.spread_pool || !self.spread.is_empty()
    }
}

/// One attribute change on a node's own row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Change {
    /// Object attribute name (servicenode, xcatmaster, ..., conserver).
    pub attr: String,
    pub table: String,
    pub column: String,
    /// The effective value the plan saw (inherited and evaluated); None = unset.
    pub old: Option<String>,
    pub new: Option<String>,
}

/// A node's own row in one table, as stored, limited to the columns the run writes (for a
/// byte-exact rollback).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RowState {
    pub table: String,
    /// None when the node has no row of its own in that table.
    pub row: Option<Vec<(String, Option<String>)>>,
}

impl RowState {
    /// The stored value of a column (None when unset or when there is no row).
    pub fn value(&self, column: &str) -> Option<&str> {
        self.row
            .as_ref()?
            .iter()
            .find(|(c, _)| c == column)?
            .1
            .as_deref()
    }
}

/// Everything the plan decided for one node: its name and address, and the move itself, which
/// nodes moved alike share (a 100,000-node move of a few racks holds a few [`MoveShape`]s, not
/// 100,000 copies). Reads go through to the shape (`m.new_sn`); JSON is flat, as if the shape's
/// fields were the node's own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeMove {
    pub node: String,
    /// The node's address as the management node resolves it.
    pub ip: Option<String>,
    #[serde(flatten)]
    pub shape: Arc<MoveShape>,
}

impl NodeMove {
    pub fn new(node: String, ip: Option<String>, shape: MoveShape) -> Self {
        NodeMove {
            node,
            ip,
            shape: Arc::new(shape),
        }
    }
}

impl NodeMove {
    /// This node's own copy of its shape, to change (the other nodes keep theirs).
    pub fn shape_mut(&mut self) -> &mut MoveShape {
        Arc::make_mut(&mut self.shape)
    }
}

impl std::ops::Deref for NodeMove {
    type Target = MoveShape;
    fn deref(&self) -> &MoveShape {
        &self.shape
    }
}

/// What a node's move is, apart from the node's name and address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MoveShape {
    pub os: Option<String>,
    pub provmethod: Option<String>,
    pub status: Option<String>,
    /// Old and new service node (MN-facing) and xcatmaster (node-facing).
    pub old_sn: Option<String>,
    pub new_sn: String,
    pub old_xm: Option<String>,
    pub new_xm: String,
    /// Address of the new xcatmaster (routes, xcatinfo).
    pub new_xm_ip: Option<String>,
    /// Address of the old xcatmaster (rollback re-points to it).
    pub old_xm_ip: Option<String>,
    /// The node's network from the networks table (netname, or net/mask).
    pub network: Option<String>,
    /// The network's gateway is `<xcatmaster>`: the default route follows the move.
    pub gateway_follows: bool,
    /// Postscripts to rerun (by the postscript rules of xCAT's snmove).
    pub scripts: Vec<String>,
    /// AIX: `nimimage.nimtype` of the node's provmethod (`standalone` = diskful, `diskless`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nimtype: Option<String>,
    /// The network's gateway as the networks table says it (`<xcatmaster>` or an address);
    /// AIX's bootlist names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Statelite persistent directories (the `statemnt` directory; the node's own is
    /// `DIR/<node>`) to copy from the old service node to the new one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statelite: Vec<String>,
    pub changes: Vec<Change>,
    /// Filled in at commit: the node's own rows as they were, and as the run left them.
    #[serde(default)]
    pub before: Vec<RowState>,
    #[serde(default)]
    pub after: Vec<RowState>,
}

/// Hands out one shared copy of each distinct shape.
#[derive(Default)]
pub struct Shapes {
    seen: HashSet<Arc<MoveShape>, ahash::RandomState>,
    /// The shape handed out last: consecutive nodes usually share it, and comparing is cheaper
    /// than hashing the whole shape.
    last: Option<Arc<MoveShape>>,
}

/// `nodes` grouped by the shape they share (the same `Arc`), in order of first appearance:
/// nodes that share a shape get the same changes, so per-shape work is done once per group.
pub(crate) fn shape_groups(nodes: &[NodeMove]) -> Vec<(&Arc<MoveShape>, Vec<&NodeMove>)> {
    let mut index: HashMap<*const MoveShape, usize> = HashMap::new();
    let mut groups: Vec<(&Arc<MoveShape>, Vec<&NodeMove>)> = Vec::new();
    for n in nodes {
        let g = *index.entry(Arc::as_ptr(&n.shape)).or_insert_with(|| {
            groups.push((&n.shape, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(n);
    }
    groups
}

impl Shapes {
    pub fn share(&mut self, shape: MoveShape) -> Arc<MoveShape> {
        if let Some(last) = self.last.as_ref().filter(|l| ***l == shape) {
            return last.clone();
        }
        let s = match self.seen.get(&shape) {
            Some(s) => s.clone(),
            None => {
                let s = Arc::new(shape);
                self.seen.insert(s.clone());
                s
            }
        };
        self.last = Some(s.clone());
        s
    }
}

/// Which side a step runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// On a service node (or the management node's view of it).
    Sn,
    /// On the moved compute nodes.
    Cn,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// conserver.cf on the new SN (and `master` entries on the MN) for nodes whose conserver moved.
    Consoles,
    /// DHCP reservations on the new SN.
    Dhcp,
    /// Boot files (nodeset) on the new SN; never re-arms an install on an installed node.
    Bootfiles,
    /// `XCATSERVER` in /opt/xcat/xcatinfo on every moved node.
    Xcatinfo,
    /// `ip route replace default via <new SN>` where the gateway is `<xcatmaster>`.
    Route,
    /// Rerun postscripts (syslog, setupntp, mkresolvconf, `-P` scripts).
    Postscripts,
    /// Remove the moved nodes from the old SN's DHCP, boot and console configs.
    CleanupOldSn,
    /// AIX statelite: rsync each node's persistent directories from the old SN (where this
    /// step runs) to the new one.
    StateliteSync,
    /// AIX standalone nodes: `niminit` against the new SN.
    Niminit,
    /// AIX: `bootlist -m normal <dev> ... bserver=<new SN>`.
    Bootlist,
    /// `--adopt-address`: the destination holds the old SN's compute address (an extra /32
    /// address, announced by gratuitous ARP), so every node of the old SN is served at once,
    /// before it is re-pointed.
    AdoptAddress,
    /// The adopted address is let go, once every node that used it is re-pointed.
    ReleaseAddress,
    /// On the old SN (back): its own compute address stays down while another host still holds
    /// it, and comes back once none does.
    ReclaimAddress,
}

impl StepKind {
    pub fn side(self) -> Side {
        match self {
            StepKind::Consoles
            | StepKind::Dhcp
            | StepKind::Bootfiles
            | StepKind::CleanupOldSn
            | StepKind::StateliteSync
            | StepKind::AdoptAddress
            | StepKind::ReleaseAddress
            | StepKind::ReclaimAddress => Side::Sn,
            _ => Side::Cn,
        }
    }
    /// Independent of the steps of the other side: a running node is re-pointed at services its
    /// new SN already runs (syslog, NTP, DNS, routing), while the SN's DHCP, boot and console
    /// entries matter only when a node boots or a console is opened; so the two sides may run
    /// at once. Not so for the AIX steps: the persistent files must be on the new SN before the
    /// node uses it, and `niminit`/`bootlist` want the NIM side ready.
    pub fn independent(self) -> bool {
        !matches!(
            self,
            StepKind::StateliteSync | StepKind::Niminit | StepKind::Bootlist
        )
    }
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Consoles => "consoles",
            StepKind::Dhcp => "dhcp",
            StepKind::Bootfiles => "bootfiles",
            StepKind::Xcatinfo => "xcatinfo",
            StepKind::Route => "route",
            StepKind::Postscripts => "postscripts",
            StepKind::CleanupOldSn => "cleanup-old-sn",
            StepKind::StateliteSync => "statelite-sync",
            StepKind::Niminit => "niminit",
            StepKind::Bootlist => "bootlist",
            StepKind::AdoptAddress => "adopt-address",
            StepKind::ReleaseAddress => "release-address",
            StepKind::ReclaimAddress => "reclaim-address",
        }
    }
    /// Steps about one address rather than the nodes' own entries.
    pub fn is_address(self) -> bool {
        matches!(
            self,
            StepKind::AdoptAddress | StepKind::ReleaseAddress | StepKind::ReclaimAddress
        )
    }
    /// Where a step falls in a run: the adoption first (service at once), then the moves, then
    /// the release of adopted addresses, then the old SNs' cleanups (make before break). Steps
    /// of different phases never share a wave.
    pub fn phase(self) -> u8 {
        match self {
            StepKind::AdoptAddress => 0,
            StepKind::ReleaseAddress => 2,
            StepKind::CleanupOldSn | StepKind::ReclaimAddress => 3,
            _ => 1,
        }
    }
}

/// The address an address step is about, and the other service node involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressMove {
    /// The old SN's compute address (IPv4) its nodes use.
    pub address: String,
    /// Adopt/release: the old SN whose address it is; reclaim: the SN that adopted it.
    pub peer: String,
    /// Adopt: the old SN was fenced: take the address first, check for another holder after.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fenced: bool,
}

/// One step of the apply phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// 1-based position; steps run in this order.
    pub id: usize,
    pub kind: StepKind,
    /// The service node it is about (the new SN, or the old SN for cleanup).
    pub sn: String,
    pub nodes: Vec<String>,
    /// Postscripts for a `postscripts` step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scripts: Vec<String>,
    /// A provisioning method for a `bootfiles` step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provmethod: Option<String>,
    /// The nodes are AIX nodes (xcatinfo is /etc/xcatinfo, the route is decided from
    /// `netstat -rn`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub aix: bool,
    /// The address of an address step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressMove>,
}

impl Step {
    pub fn describe(&self) -> String {
        let n = self.nodes.len();
        let nodes = crate::report::nodes(n);
        match self.kind {
            StepKind::Consoles => format!("{}: console server entries for {nodes}", self.sn),
            StepKind::Dhcp => format!("{}: DHCP reservations for {nodes}", self.sn),
            StepKind::Bootfiles => format!(
                "{}: boot files for {nodes} ({})",
                self.sn,
                self.provmethod.as_deref().unwrap_or("no provmethod")
            ),
            StepKind::Xcatinfo => format!(
                "{nodes} of {}: XCATSERVER in {}",
                self.sn,
                if self.aix {
                    "/etc/xcatinfo"
                } else {
                    "/opt/xcat/xcatinfo"
                }
            ),
            StepKind::Route if self.aix => format!(
                "{nodes} of {}: default route changed to the new service node where the old one was the only default gateway (netstat -rn)",
                self.sn
            ),
            StepKind::Route => format!(
                "{nodes} of {}: default route via the new service node",
                self.sn
            ),
            StepKind::Postscripts => {
                format!("{nodes} of {}: rerun {}", self.sn, self.scripts.join(","))
            }
            StepKind::CleanupOldSn => format!(
                "{}: remove {nodes} from its DHCP, boot and console configs",
                self.sn
            ),
            StepKind::StateliteSync => format!(
                "{}: rsync the statelite persistent directories of {nodes} to their new service node",
                self.sn
            ),
            StepKind::Niminit => format!(
                "{nodes} of {}: niminit -a name=NODE -a master={}",
                self.sn, self.sn
            ),
            StepKind::Bootlist => format!(
                "{nodes} of {}: bootlist -m normal with bserver = the new xcatmaster",
                self.sn
            ),
            StepKind::AdoptAddress | StepKind::ReleaseAddress | StepKind::ReclaimAddress => {
                self.describe_address(&nodes)
            }
        }
    }
}

impl Step {
    fn describe_address(&self, nodes: &str) -> String {
        let (addr, peer) = match &self.address {
            Some(a) => (a.address.as_str(), a.peer.as_str()),
            None => ("(no address)", "?"),
        };
        match self.kind {
            StepKind::AdoptAddress => format!(
                "{}: hold {peer}'s compute address {addr} for {nodes} until they are re-pointed",
                self.sn
            ),
            StepKind::ReleaseAddress => format!(
                "{}: let go of {peer}'s address {addr} once {nodes} are re-pointed",
                self.sn
            ),
            _ => format!(
                "{}: keep its address {addr} down while {peer} holds it, bring it back after",
                self.sn
            ),
        }
    }
}

/// A finished plan: what will change and what will run, with the checks made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub request: Request,
    /// Per node, sorted by name.
    pub nodes: Vec<NodeMove>,
    pub steps: Vec<Step>,
    /// Things the user should know that do not stop the move.
    pub warnings: Vec<String>,
    /// Pre-flight failures overridden by `--force`.
    #[serde(default)]
    pub forced: Vec<String>,
    /// What the plan deliberately leaves alone, and why (external NFS servers, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The journal entry this plan rolls back (the plan of a rollback's own entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<i64>,
    /// The database's data version the plan was read at (`Snapshot::version`; not stored):
    /// when the commit finds it unchanged, the old values need not be read again.
    #[serde(skip)]
    pub read_at: Option<clusterdb::backend::DataVersion>,
}

impl Plan {
    /// Destination SNs with their node counts, in first-appearance order.
    pub fn destinations(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for n in &self.nodes {
            match out.iter_mut().find(|(sn, _)| *sn == n.new_sn) {
                Some((_, c)) => *c += 1,
                None => out.push((n.new_sn.clone(), 1)),
            }
        }
        out
    }

    pub fn change_count(&self) -> usize {
        self.nodes.iter().map(|n| n.changes.len()).sum()
    }
}
