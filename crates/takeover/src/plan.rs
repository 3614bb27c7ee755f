//! Request → plan, by the rules of xCAT's snmove (selection §2, write rules §3.2, postscript
//! rules §6.2), with baton's pre-flight checks. Reads only the snapshot it is given and what the
//! [`Env`] reports; changes nothing.

use crate::model::*;
use crate::{Result, TakeoverError};
use clusterdb::backend::{Filter, Value};
use clusterdb::{attrs, table, NoderangeEnv, Snapshot};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

mod stages;
use stages::make_plan;

/// What planning needs from the outside world.
pub trait Env {
    /// The system's hosts file.
    fn resolve_local(&self, name: &str) -> Option<IpAddr>;
    /// DNS, for names neither the hosts file nor the hosts table know.
    fn resolve_dns(&self, name: &str) -> Option<IpAddr>;
    /// Ask a service node for its addresses (`ip -o addr`); Err says why it could not.
    fn sn_addresses(&self, sn: &str) -> std::result::Result<Vec<IpAddr>, String>;
    /// Does another host answer ARP for `address` on `sn`'s network (`arping -D` there)? The
    /// answer (`10.0.0.1 [MAC]`), None when none does; Err says why it could not be checked.
    fn address_holder(
        &self,
        sn: &str,
        address: &str,
    ) -> std::result::Result<Option<String>, String>;
}

/// The postscripts snmove reruns by default, in this order.
pub const DEFAULT_SCRIPTS: [&str; 3] = ["syslog", "setupntp", "mkresolvconf"];

/// V4 and V6 of xCAT's validation order (V5, too many arguments, is the caller's).
pub fn check_request(req: &Request) -> Result<()> {
    if req.ignore_nodes && req.postscripts.is_some() {
        return Err(TakeoverError::validation(
            "-P and -i flags cannot be specified at the same time.",
        ));
    }
    if req.noderange.is_none() && req.source.is_none() {
        return Err(TakeoverError::validation(
            "A node range or the source service node must be specified.",
        ));
    }
    if req.adopt_address && (req.ignore_nodes || req.liteonly) {
        return Err(TakeoverError::validation(
            "--adopt-address cannot be used with -i or -l: an adopted address is let go once the nodes are re-pointed, and -i/-l leave them as they are.",
        ));
    }
    if req.spreads() && req.dest.as_deref().is_some_and(|d| !d.is_empty()) {
        return Err(TakeoverError::validation(
            "--spread and -d cannot be used together (-d sends every node to one service node).",
        ));
    }
    if req.spreads() && req.dest_n.as_deref().is_some_and(|d| !d.is_empty()) {
        return Err(TakeoverError::validation(
            "--spread and -D cannot be used together (-D names one xcatmaster for every node; with --spread each node gets its new SN's address on its network).",
        ));
    }
    if let Some(bad) = req.spread.iter().find(|s| !remote::is_valid_host(s)) {
        return Err(TakeoverError::validation(format!(
            "--spread: '{bad}' is not a valid service node name"
        )));
    }
    Ok(())
}

/// A network of the networks table.
struct Network {
    name: String,
    net: IpAddr,
    prefix: u32,
    gateway_is_xcatmaster: bool,
    /// The gateway column as stored (`<xcatmaster>` or an address).
    gateway: Option<String>,
}

fn prefix_of(mask: &str) -> Option<u32> {
    if let Ok(n) = mask.trim_start_matches('/').parse::<u32>() {
        return Some(n);
    }
    match mask.parse::<IpAddr>().ok()? {
        IpAddr::V4(m) => {
            let bits = u32::from(m);
            (bits.leading_ones() + bits.trailing_zeros() == 32).then(|| bits.leading_ones())
        }
        IpAddr::V6(m) => {
            let bits = u128::from(m);
            (bits.leading_ones() + bits.trailing_zeros() == 128).then(|| bits.leading_ones())
        }
    }
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix.min(32))
            };
            u32::from(a) & m == u32::from(n) & m
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix.min(128))
            };
            u128::from(a) & m == u128::from(n) & m
        }
        _ => false,
    }
}

fn load_networks(snap: &Snapshot<'_>) -> Result<Vec<Network>> {
    let rows = snap.select(
        table("networks")?,
        &["netname", "net", "mask", "gateway"],
        Filter::Enabled,
    )?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let net: IpAddr = r[1].as_deref()?.trim().parse().ok()?;
            let prefix = prefix_of(r[2].as_deref()?.trim())?;
            let name = r[0]
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("{net}/{prefix}"));
            Some(Network {
                name,
                net,
                prefix,
                gateway_is_xcatmaster: r[3].as_deref() == Some("<xcatmaster>"),
                gateway: r[3].clone().filter(|g| !g.trim().is_empty()),
            })
        })
        .collect())
}

/// The network a node is on: the last matching row wins, as xCAT's getNetwkInfo.
fn network_of(nets: &[Network], ip: IpAddr) -> Option<&Network> {
    nets.iter().rev().find(|n| in_net(ip, n.net, n.prefix))
}

/// A name's `hosts.ip`: an address, a value that is not one (authoritative: no DNS for it), or
/// none.
#[derive(Clone, Copy)]
enum HostsIp {
    Ip(IpAddr),
    Invalid,
    Unset,
}

impl HostsIp {
    fn of(v: Option<&str>) -> Self {
        match v.map(|s| s.trim().parse::<IpAddr>()) {
            Some(Ok(ip)) => HostsIp::Ip(ip),
            Some(Err(_)) => HostsIp::Invalid,
            None => HostsIp::Unset,
        }
    }
}

/// What the hosts table says: the moved nodes' addresses (by position in the node list), and
/// the service nodes' names with their `otherinterfaces` aliases.
struct HostsTable {
    /// `hosts.ip` of `nodes[i]`, as text (kept for the message when it is not an address).
    node_ips: Vec<Value>,
    names: HashMap<String, IpAddr>,
    /// node → every address recorded for it (ip, otherinterfaces, nics).
    addresses: HashMap<String, Vec<IpAddr>>,
}

impl HostsTable {
    fn load(
        snap: &Snapshot<'_>,
        nodes: &[String],
        groups: &[&[String]],
        sns: &[String],
    ) -> Result<Self> {
        let mut names = HashMap::new();
        let mut addresses: HashMap<String, Vec<IpAddr>> = HashMap::new();
        let hosts = table("hosts")?;
        let node_ips = attrs::nodes_attribs_list_grouped(snap, hosts, nodes, groups, &["ip"])?
            .into_iter()
            .map(|mut v| v.pop().flatten())
            .collect();
        let known = snap.index()?;
        let sns: Vec<String> = sns.iter().filter(|s| known.contains(s)).cloned().collect();
        for (sn, v) in attrs::nodes_attribs(snap, hosts, &sns, &["ip", "otherinterfaces"])? {
            let list = addresses.entry(sn.clone()).or_default();
            if let Some(ip) = v[0].as_deref().and_then(|s| s.trim().parse().ok()) {
                names.insert(sn.clone(), ip);
                list.push(ip);
            }
            let aliases = clusterdb::hosts::other_interfaces(&sn, v[1].as_deref().unwrap_or(""));
            for (name, ip) in aliases {
                let Ok(ip) = ip.parse::<IpAddr>() else {
                    continue;
                };
                names.entry(name).or_insert(ip);
                list.push(ip);
            }
        }
        let nics = table("nics")?;
        for (sn, v) in attrs::nodes_attribs(snap, nics, &sns, &["nicips"])? {
            let list = addresses.entry(sn).or_default();
            for entry in v[0].as_deref().unwrap_or("").split(',') {
                let ips = entry.split_once('!').map(|(_, ips)| ips).unwrap_or(entry);
                for ip in ips.split('|').filter_map(|s| s.trim().parse().ok()) {
                    if !list.contains(&ip) {
                        list.push(ip);
                    }
                }
            }
        }
        Ok(HostsTable {
            node_ips,
            names,
            addresses,
        })
    }
}

/// Resolution as baton does it: the hosts file, then the hosts table, then DNS.
struct Resolver<'a, 's> {
    env: &'a dyn Env,
    table: &'a HostsTable,
    snap: &'a Snapshot<'s>,
    /// Names looked up in the hosts table by their own row (not nodes, not service nodes).
    extra: std::cell::RefCell<HashMap<String, HostsIp>>,
}

impl Resolver<'_, '_> {
    /// `nodes[p]`, whose hosts row was read with the others.
    fn resolve_node(&self, p: usize, name: &str) -> Option<IpAddr> {
        let row = HostsIp::of(self.table.node_ips.get(p).and_then(|v| v.as_deref()));
        self.resolve_with(name, || row)
    }

    fn resolve(&self, name: &str) -> Option<IpAddr> {
        self.resolve_with(name, || {
            self.table
                .names
                .get(name)
                .map_or_else(|| self.hosts_row(name), |ip| HostsIp::Ip(*ip))
        })
    }

    /// A literal address, then the hosts file, then the hosts table (`row`), then DNS unless
    /// the table holds a value that is not an address.
    fn resolve_with(&self, name: &str, row: impl FnOnce() -> HostsIp) -> Option<IpAddr> {
        if let Ok(ip) = name.parse() {
            return Some(ip);
        }
        if let Some(ip) = self.env.resolve_local(name) {
            return Some(ip);
        }
        match row() {
            HostsIp::Ip(ip) => Some(ip),
            HostsIp::Invalid => None,
            HostsIp::Unset => self.env.resolve_dns(name),
        }
    }

    fn hosts_row(&self, name: &str) -> HostsIp {
        if let Some(hit) = self.extra.borrow().get(name) {
            return *hit;
        }
        let row = table("hosts")
            .ok()
            .and_then(|t| attrs::node_attribs(self.snap, t, name, &["ip"]).ok())
            .map_or(HostsIp::Unset, |m| {
                HostsIp::of(m.get("ip").map(String::as_str))
            });
        self.extra.borrow_mut().insert(name.to_string(), row);
        row
    }
}

fn split_list(v: Option<&str>) -> Vec<String> {
    v.unwrap_or("").split(',').map(str::to_string).collect()
}

/// The noderes columns the plan reads.
const NODERES_COLS: [&str; 5] = [
    "servicenode",
    "xcatmaster",
    "tftpserver",
    "nfsserver",
    "monserver",
];

/// A node's primary service node: the first entry of its servicenode, `site.master` without one.
fn primary_of<'a>(servicenode: Option<&'a str>, master: Option<&'a str>) -> Option<&'a str> {
    match servicenode {
        Some(list) => list.split(',').next(),
        None => master,
    }
}

/// Every node (index order) with the given noderes columns, and `site.master`.
struct EveryNode {
    names: Vec<String>,
    rows: Vec<Vec<Value>>,
    master: Option<String>,
}

fn every_node(snap: &Snapshot<'_>, cols: &[&str]) -> Result<EveryNode> {
    let idx = snap.index()?;
    let names: Vec<String> = idx.nodes.iter().map(|n| n.name.clone()).collect();
    let rows = attrs::nodes_attribs_list(snap, table("noderes")?, &names, cols)?;
    Ok(EveryNode {
        names,
        rows,
        master: snap.site("master")?,
    })
}

/// Nodes whose primary service node is `sn1` (exact string match; nodes without a service node
/// belong to `site.master`), sorted, with their noderes values (read once for every node).
fn nodes_of_source(snap: &Snapshot<'_>, sn1: &str) -> Result<(Vec<String>, Vec<Vec<Value>>)> {
    let EveryNode {
        names,
        rows,
        master,
    } = every_node(snap, &NODERES_COLS)?;
    let mut out: Vec<(String, Vec<Value>)> = names
        .into_iter()
        .zip(rows)
        .filter(|(_, v)| primary_of(v[0].as_deref(), master.as_deref()) == Some(sn1))
        .collect();
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(out.into_iter().unzip())
}

/// The load of every service node: how many nodes have it as their primary.
pub fn sn_loads(snap: &Snapshot<'_>) -> Result<BTreeMap<String, usize>> {
    let EveryNode { rows, master, .. } = every_node(snap, &["servicenode"])?;
    let mut load = BTreeMap::new();
    for v in &rows {
        if let Some(p) = primary_of(v[0].as_deref(), master.as_deref()).filter(|p| !p.is_empty()) {
            *load.entry(p.to_string()).or_default() += 1;
        }
    }
    Ok(load)
}

/// Is `sn` a defined service node: a node with a servicenode-table row (its own or a group's)?
fn is_service_node(snap: &Snapshot<'_>, sn: &str) -> Result<bool> {
    let idx = snap.index()?;
    let Some(entry) = idx.get(sn) else {
        return Ok(false);
    };
    let mut keys = vec![sn.to_string()];
    keys.extend(entry.groups.iter().cloned());
    let rows = snap.select(
        table("servicenode")?,
        &["node"],
        Filter::In {
            column: "node",
            keys: &keys,
        },
    )?;
    Ok(!rows.is_empty())
}

/// Compute the plan for `req` from `snap`.
pub fn plan(snap: &Snapshot<'_>, req: &Request, env: &dyn Env, nr: &NoderangeEnv) -> Result<Plan> {
    let (started, cpu) = (std::time::Instant::now(), crate::cpu_ms());
    let plan = make_plan(snap, req, env, nr)?;
    tracing::info!(
        nodes = plan.nodes.len(),
        steps = plan.steps.len(),
        peak_rss_mib = crate::peak_rss_mib(),
        ms = started.elapsed().as_millis() as u64,
        cpu_ms = crate::cpu_ms().zip(cpu).map(|(b, a)| b - a),
        "planned"
    );
    Ok(plan)
}

/// The value computed for the last key, kept while the key stays the same.
struct LastValue<K, V>(Option<(K, V)>);

impl<K, V> Default for LastValue<K, V> {
    fn default() -> Self {
        LastValue(None)
    }
}

impl<K: PartialEq + Clone, V: Clone> LastValue<K, V> {
    fn get(&mut self, key: &K, compute: impl FnOnce(&K) -> V) -> V {
        match &self.0 {
            Some((k, v)) if k == key => v.clone(),
            _ => {
                let v = compute(key);
                self.0 = Some((key.clone(), v.clone()));
                v
            }
        }
    }
}

/// The new values go on each node's own row. A disabled own row would take them out of sight
/// (every read skips it) and cannot be inserted beside: refuse, naming the nodes, before
/// anything changes.
fn refuse_disabled_own_rows(snap: &Snapshot<'_>, moves: &[NodeMove]) -> Result<()> {
    // The tables written, from each distinct shape once.
    let tables: BTreeSet<&str> = shape_groups(moves)
        .into_iter()
        .flat_map(|(shape, _)| shape.changes.iter().map(|c| c.table.as_str()))
        .collect();
    let mut by_node: Option<HashMap<&str, &NodeMove>> = None;
    let mut bad = Vec::new();
    for t in tables {
        let spec = table(t)?;
        if !spec.has_column("disable") {
            continue;
        }
        let keycol = spec.node_column.as_deref().unwrap_or("node");
        for r in snap.select(spec, &[keycol, "disable"], Filter::All)? {
            let (Some(k), d) = (r[0].as_deref(), r[1].as_deref()) else {
                continue;
            };
            if clusterdb::backend::is_enabled(d) {
                continue;
            }
            // Rare: only now the moves by name.
            let by_node =
                by_node.get_or_insert_with(|| moves.iter().map(|m| (m.node.as_str(), m)).collect());
            if by_node
                .get(k)
                .is_some_and(|m| m.changes.iter().any(|c| c.table == t))
            {
                bad.push(format!(
                    "{k}: its own {t} row is disabled (disable={}): the new values would go to a row that nothing reads. Enable or delete that row (chtab, tabedit), then plan again.",
                    d.unwrap_or_default()
                ));
            }
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        bad.sort();
        Err(TakeoverError::Validation(bad))
    }
}

/// `nimimage.nimtype` of each AIX node's provmethod (§2.3.3).
fn nimtypes(
    snap: &Snapshot<'_>,
    nodes: &[String],
    nodetype: &[Vec<Value>],
) -> Result<HashMap<String, String>> {
    let pm = |i: usize| nodetype[i][1].clone();
    let mut images: Vec<String> = (0..nodes.len()).filter_map(pm).collect();
    images.sort();
    images.dedup();
    let rows = snap.select(
        table("nimimage")?,
        &["imagename", "nimtype"],
        Filter::In {
            column: "imagename",
            keys: &images,
        },
    )?;
    let types: HashMap<String, String> = rows
        .into_iter()
        .filter_map(|r| Some((r[0].clone()?, r[1].clone()?)))
        .collect();
    Ok(nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| Some((n.clone(), types.get(&pm(i)?)?.clone())))
        .collect())
}

/// What the statelite rule (§6.1) decides for one node's `statemnt` (`SERVER:DIR`).
#[derive(Debug, PartialEq)]
enum Lite {
    /// The server is the old SN: copy DIR/<node>; `rewrite` when the server is written
    /// literally (a `$table.column` server follows the moved attribute by itself).
    Follow {
        dir: String,
        rewrite: bool,
    },
    /// Another server (an external NFS server): left alone.
    External(String),
    Bad(String),
}

fn statelite_rule(
    snap: &Snapshot<'_>,
    node: &str,
    statemnt: &str,
    names_old: &dyn Fn(&str) -> bool,
) -> Result<Lite> {
    let Some((server, dir)) = statemnt.split_once(':') else {
        return Ok(Lite::Bad("not SERVER:DIRECTORY".into()));
    };
    let (server, dir) = (server.trim(), dir.trim());
    if dir.contains('$') || dir.contains("#CMD") {
        return Ok(Lite::Bad(
            "variables and #CMD in the directory are not supported by baton".into(),
        ));
    }
    if !remote::is_plain_path(dir) {
        return Ok(Lite::Bad(
            "the directory is not a plain absolute path".into(),
        ));
    }
    let (effective, rewrite) = match server.strip_prefix('$') {
        Some(var) => {
            let Some((t, col)) = var.split_once('.') else {
                return Ok(Lite::Bad(format!("'{server}' is not $table.column")));
            };
            let spec = table(t).map_err(|_| {
                TakeoverError::validation(format!(
                    "{node}: statelite server '{server}' names an unknown table"
                ))
            })?;
            let vals = attrs::node_attribs(snap, spec, node, &[col])?;
            match vals.get(col) {
                Some(v) if !v.is_empty() => (v.clone(), false),
                _ => return Ok(Lite::Bad(format!("'{server}' has no value for the node"))),
            }
        }
        None => (server.to_string(), true),
    };
    if names_old(&effective) {
        Ok(Lite::Follow {
            dir: dir.to_string(),
            rewrite,
        })
    } else {
        Ok(Lite::External(effective))
    }
}

/// The balancer's destinations for `nodes`: candidates are the `--spread` list, or each node's
/// pool (`pool_of`), without the SN the node leaves and without the excluded SNs; loads are the
/// current primaries not counting the moved nodes.
fn spread(
    snap: &Snapshot<'_>,
    req: &Request,
    nodes: &[String],
    pool_of: impl Fn(&str) -> Vec<String>,
) -> Result<crate::balance::Assignment> {
    let mut load = sn_loads(snap)?;
    let mut input = crate::balance::Input {
        capacity: req.capacity.clone(),
        excluded: req.exclude.iter().cloned().collect(),
        ..Default::default()
    };
    for n in nodes {
        let pool = pool_of(n);
        let leaving = req.source.clone().or_else(|| pool.first().cloned());
        if let Some(l) = pool.first().and_then(|p| load.get_mut(p)) {
            *l = l.saturating_sub(1);
        }
        let cands = if req.spread.is_empty() {
            pool
        } else {
            req.spread.clone()
        };
        let cands = cands
            .into_iter()
            .filter(|c| Some(c) != leaving.as_ref())
            .collect();
        input.nodes.push((n.clone(), cands));
    }
    input.load = load;
    Ok(crate::balance::balance(&input))
}

/// xCAT treats an empty option value as not given.
fn normalize(req: &Request) -> Request {
    let keep = |o: &Option<String>| o.clone().filter(|v| !v.is_empty());
    Request {
        noderange: keep(&req.noderange),
        source: keep(&req.source),
        source_n: keep(&req.source_n),
        dest: keep(&req.dest),
        dest_n: keep(&req.dest_n),
        postscripts: keep(&req.postscripts),
        ..req.clone()
    }
}

/// The `xcatdefaults` row of the postscripts table.
fn xcatdefaults(snap: &Snapshot<'_>) -> Result<(Option<String>, Option<String>)> {
    let rows = snap.select(
        table("postscripts")?,
        &["postscripts", "postbootscripts"],
        Filter::Eq {
            column: "node",
            value: "xcatdefaults",
        },
    )?;
    Ok(rows
        .into_iter()
        .next()
        .map(|r| (r[0].clone(), r[1].clone()))
        .unwrap_or_default())
}

/// xCAT's §6.2: the full list is defaults' and the node's postscripts, then defaults' and the
/// node's postbootscripts. `-P all` reruns all of them (baton drops empty entries and repeats);
/// otherwise the default set's names that appear as exact entries, then the `-P` list.
pub fn select_scripts(
    defaults: &(Option<String>, Option<String>),
    post: Option<String>,
    postboot: Option<String>,
    extra: Option<&str>,
) -> Vec<String> {
    let full: Vec<String> = [&defaults.0, &post, &defaults.1, &postboot]
        .into_iter()
        .flat_map(|l| split_list(l.as_deref()))
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        if !s.is_empty() && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    };
    if extra == Some("all") {
        full.iter().for_each(|s| push(s));
        return out;
    }
    for d in DEFAULT_SCRIPTS {
        if full.iter().any(|s| s == d) {
            push(d);
        }
    }
    for s in split_list(extra) {
        push(s.trim());
    }
    out
}

/// The old service nodes of the moves, in first-appearance order (those that change).
fn old_sns(moves: &[NodeMove]) -> Vec<&str> {
    let mut olds: Vec<&str> = Vec::new();
    for m in moves {
        if let Some(o) = m.old_sn.as_deref().filter(|o| *o != m.new_sn) {
            if !olds.contains(&o) {
                olds.push(o);
            }
        }
    }
    olds
}

/// The ordered steps: the AIX statelite copies (on each old SN) first, then the SN side
/// (consoles, DHCP, boot files per destination), then the compute nodes (AIX niminit,
/// xcatinfo, route, AIX bootlist, postscripts), then the old SNs' cleanup. `-l` is only the
/// statelite copies.
pub fn build_steps(moves: &[NodeMove], req: &Request) -> Vec<Step> {
    let mut dests: Vec<&str> = Vec::new();
    for m in moves {
        if !dests.contains(&m.new_sn.as_str()) {
            dests.push(&m.new_sn);
        }
    }
    let is_aix = |m: &NodeMove| m.os.as_deref() == Some("AIX");
    let aix = moves.first().is_some_and(is_aix);
    let mut steps = Vec::new();
    let mut add = |kind: StepKind,
                   sn: &str,
                   nodes: Vec<String>,
                   scripts: Vec<String>,
                   provmethod: Option<String>| {
        if !nodes.is_empty() {
            steps.push(Step {
                id: 0,
                kind,
                sn: sn.to_string(),
                nodes,
                scripts,
                provmethod,
                aix: aix && kind.side() == Side::Cn,
                address: None,
            });
        }
    };
    for o in old_sns(moves) {
        let nodes: Vec<String> = moves
            .iter()
            .filter(|m| m.old_sn.as_deref() == Some(o) && !m.statelite.is_empty())
            .map(|m| m.node.clone())
            .collect();
        add(StepKind::StateliteSync, o, nodes, vec![], None);
    }
    if req.liteonly {
        for (i, s) in steps.iter_mut().enumerate() {
            s.id = i + 1;
        }
        return steps;
    }
    for d in &dests {
        let here: Vec<&NodeMove> = moves.iter().filter(|m| m.new_sn == *d).collect();
        let names = |f: &dyn Fn(&NodeMove) -> bool| -> Vec<String> {
            here.iter()
                .filter(|m| f(m))
                .map(|m| m.node.clone())
                .collect()
        };
        add(
            StepKind::Consoles,
            d,
            names(&|m| m.changes.iter().any(|c| c.attr == "conserver")),
            vec![],
            None,
        );
        // AIX nodes boot through NIM (niminit and bootlist re-point them), not dhcpd.
        add(StepKind::Dhcp, d, names(&|m| !is_aix(m)), vec![], None);
        let mut by_pm: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for m in here.iter().filter(|m| m.os.as_deref() != Some("AIX")) {
            if let Some(pm) = &m.provmethod {
                by_pm.entry(pm).or_default().push(m.node.clone());
            }
        }
        for (pm, nodes) in by_pm {
            add(StepKind::Bootfiles, d, nodes, vec![], Some(pm.to_string()));
        }
    }
    if !req.ignore_nodes {
        for d in &dests {
            let here: Vec<&NodeMove> = moves.iter().filter(|m| m.new_sn == *d).collect();
            add(
                StepKind::Niminit,
                d,
                here.iter()
                    .filter(|m| is_aix(m) && m.nimtype.as_deref() == Some("standalone"))
                    .map(|m| m.node.clone())
                    .collect(),
                vec![],
                None,
            );
            add(
                StepKind::Xcatinfo,
                d,
                here.iter().map(|m| m.node.clone()).collect(),
                vec![],
                None,
            );
            add(
                StepKind::Route,
                d,
                here.iter()
                    .filter(|m| m.gateway_follows)
                    .map(|m| m.node.clone())
                    .collect(),
                vec![],
                None,
            );
            add(
                StepKind::Bootlist,
                d,
                here.iter()
                    .filter(|m| is_aix(m))
                    .map(|m| m.node.clone())
                    .collect(),
                vec![],
                None,
            );
            let mut by_list: BTreeMap<&Vec<String>, Vec<String>> = BTreeMap::new();
            for m in here.iter().filter(|m| !m.scripts.is_empty()) {
                by_list.entry(&m.scripts).or_default().push(m.node.clone());
            }
            for (scripts, nodes) in by_list {
                add(StepKind::Postscripts, d, nodes, scripts.clone(), None);
            }
        }
    }
    for o in old_sns(moves) {
        let nodes: Vec<String> = moves
            .iter()
            .filter(|m| m.old_sn.as_deref() == Some(o) && m.new_sn != o)
            .map(|m| m.node.clone())
            .collect();
        add(StepKind::CleanupOldSn, o, nodes, vec![], None);
    }
    for (i, s) in steps.iter_mut().enumerate() {
        s.id = i + 1;
    }
    if req.adopt_address {
        let adopted = crate::adopt::adoptions(moves);
        return crate::adopt::with_adoptions(steps, &adopted, req.fenced);
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_membership() {
        assert_eq!(prefix_of("255.255.0.0"), Some(16));
        assert_eq!(prefix_of("/24"), Some(24));
        assert_eq!(prefix_of("255.0.255.0"), None);
        let net: IpAddr = "10.1.0.0".parse().unwrap();
        assert!(in_net("10.1.200.3".parse().unwrap(), net, 16));
        assert!(!in_net("10.2.0.3".parse().unwrap(), net, 16));
        assert!(!in_net("fe80::1".parse().unwrap(), net, 16));
    }

    #[test]
    fn script_selection_follows_xcat() {
        let d = (
            Some("syslog,remoteshell,syncfiles".to_string()),
            Some("otherpkgs".to_string()),
        );
        // T16/T17
        assert_eq!(
            select_scripts(&d, None, None, Some("test1")),
            ["syslog", "test1"]
        );
        assert_eq!(select_scripts(&d, None, None, None), ["syslog"]);
        let none = (None, None);
        assert!(select_scripts(&none, Some("remoteshell".into()), None, None).is_empty());
        // default-set order, exact entries only
        let v = select_scripts(
            &none,
            Some("mkresolvconf,syslog foo,setupntp".into()),
            None,
            None,
        );
        assert_eq!(v, ["setupntp", "mkresolvconf"]);
        // T18: -P all is the whole list, without empty entries or repeats
        let v = select_scripts(&d, Some("a,,syslog".into()), Some("b".into()), Some("all"));
        assert_eq!(
            v,
            ["syslog", "remoteshell", "syncfiles", "a", "otherpkgs", "b"]
        );
    }
}
