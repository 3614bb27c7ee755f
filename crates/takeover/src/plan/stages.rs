//! `make_plan` in stages: select the nodes and their values → resolve their addresses → check
//! what kind of nodes they are → choose each node's new service node → ask the destinations
//! for their addresses → apply the write rules node by node → the plan, or why not.

use super::*;

/// Stage 1: the nodes, and the values the rules read, by position in `nodes`.
struct Selected<'s> {
    nodes: Vec<String>,
    groups: Vec<&'s [String]>,
    /// servicenode, xcatmaster, tftpserver, nfsserver, monserver
    noderes: Vec<Vec<Value>>,
    /// conserver
    nodehm: Vec<Vec<Value>>,
    /// os, provmethod
    nodetype: Vec<Vec<Value>>,
    /// status
    nodelist: Vec<Vec<Value>>,
    /// postscripts, postbootscripts
    post: Vec<Vec<Value>>,
}

/// A value of `m` for node `p`, column `i`; an empty value is none.
fn val(m: &[Vec<Value>], p: usize, i: usize) -> Option<String> {
    m[p][i].clone().filter(|v| !v.is_empty())
}

fn select<'s>(snap: &'s Snapshot<'_>, req: &Request, nr: &NoderangeEnv) -> Result<Selected<'s>> {
    // V7, and V9 when no node range is given.
    let (nodes, noderes) = match &req.noderange {
        Some(r) => {
            let nodes = snap
                .noderange(r, nr)
                .map_err(|e| TakeoverError::validation(e.to_string()))?;
            let rows = attrs::nodes_attribs_list(snap, table("noderes")?, &nodes, &NODERES_COLS)?;
            (nodes, rows)
        }
        None => nodes_of_source(snap, req.source.as_deref().unwrap_or_default())?,
    };
    if let Some(bad) = nodes.iter().find(|n| !remote::is_valid_host(n)) {
        return Err(TakeoverError::validation(format!(
            "node name '{bad}' is not a valid host name"
        )));
    }
    let groups = attrs::groups_of(snap, &nodes)?;
    let get = |t: &str, cols: &[&str]| -> Result<Vec<Vec<Value>>> {
        Ok(attrs::nodes_attribs_list_grouped(
            snap,
            table(t)?,
            &nodes,
            &groups,
            cols,
        )?)
    };
    Ok(Selected {
        nodehm: get("nodehm", &["conserver"])?,
        nodetype: get("nodetype", &["os", "provmethod"])?,
        nodelist: get("nodelist", &["status"])?,
        post: get("postscripts", &["postscripts", "postbootscripts"])?,
        nodes,
        groups,
        noderes,
    })
}

/// Every name that may need resolving: the service nodes the nodes and the request mention.
fn sn_names(sel: &Selected<'_>, req: &Request) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for p in 0..sel.nodes.len() {
        for s in split_list(val(&sel.noderes, p, 0).as_deref()) {
            if !s.is_empty() && seen.insert(s.clone()) {
                names.push(s);
            }
        }
    }
    let asked = [&req.dest, &req.source].into_iter().flatten();
    for s in asked.chain(&req.spread) {
        if seen.insert(s.clone()) {
            names.push(s.clone());
        }
    }
    names
}

/// Stage 2 (V8): every node's address, or every node that does not resolve.
fn resolve_nodes(
    sel: &Selected<'_>,
    resolver: &Resolver<'_, '_>,
    req: &Request,
) -> Result<Vec<IpAddr>> {
    let mut ips: Vec<IpAddr> = Vec::with_capacity(sel.nodes.len());
    let mut unresolved = Vec::new();
    for (p, n) in sel.nodes.iter().enumerate() {
        match resolver.resolve_node(p, n) {
            Some(ip) => ips.push(ip),
            None => match resolver.table.node_ips[p].as_deref() {
                Some(v) => unresolved.push(format!(
                    "Could not resolve node '{n}'. (its hosts.ip '{v}' is not an address)"
                )),
                None => unresolved.push(format!("Could not resolve node '{n}'.")),
            },
        }
    }
    if !unresolved.is_empty() {
        return Err(TakeoverError::Validation(unresolved));
    }
    if sel.nodes.is_empty() {
        let why = match (&req.noderange, &req.source) {
            (None, Some(sn)) => format!(" (no node has {sn} as its primary service node)"),
            _ => " (the noderange selects no node)".to_string(),
        };
        return Err(TakeoverError::validation(format!(
            "Could not get xCAT object definitions.{why}"
        )));
    }
    Ok(ips)
}

/// Stage 3: AIX or Linux (V10, V11), and what follows from it.
struct Kind {
    aix: bool,
    nimtypes: HashMap<String, String>,
    /// node → statelite.statemnt, for AIX nodes whose persistent files follow them.
    statelite: HashMap<String, Vec<Value>>,
}

fn node_kind(
    snap: &Snapshot<'_>,
    req: &Request,
    sel: &Selected<'_>,
    warnings: &mut Vec<String>,
) -> Result<Kind> {
    let n = sel.nodes.len();
    let aix = (0..n)
        .filter(|&p| val(&sel.nodetype, p, 0).as_deref() == Some("AIX"))
        .count();
    if aix > 0 && aix < n {
        return Err(TakeoverError::validation(
            "This command does not support a mix of AIX and Linux nodes.",
        ));
    }
    if req.liteonly && aix == 0 {
        return Err(TakeoverError::validation(
            "The '-l' option is not supported for Linux nodes.",
        ));
    }
    let sharedinstall = snap.site("sharedinstall")?.unwrap_or_else(|| "no".into());
    if req.liteonly && sharedinstall == "sns" {
        return Err(TakeoverError::validation(
            "The liteonly option is not valid when using a shared file system across service nodes.",
        ));
    }
    if req.liteonly && sharedinstall != "no" {
        // xCAT does a full move here (a bug); -l must never move anything.
        return Err(TakeoverError::validation(format!(
            "The liteonly option needs site.sharedinstall=no (it is '{sharedinstall}'): there are no statelite files to copy between service nodes."
        )));
    }
    let aix = aix > 0;
    if aix && sharedinstall != "no" {
        warnings.push(format!(
            "site.sharedinstall is '{sharedinstall}': the shared-file-system AIX steps (sfsSLconfig, .client_data, dump re-target) are not done by baton"
        ));
    }
    Ok(Kind {
        aix,
        nimtypes: if aix {
            nimtypes(snap, &sel.nodes, &sel.nodetype)?
        } else {
            HashMap::new()
        },
        // AIX with sharedinstall=no: the statelite rows and persistent files follow the
        // nodes (§6.1). Other values (sns, all) are out of scope: said above.
        statelite: if aix && sharedinstall == "no" {
            attrs::nodes_attribs(snap, table("statelite")?, &sel.nodes, &["statemnt"])?
        } else {
            HashMap::new()
        },
    })
}

/// Stage 4 (V12, V13, or the balancer with --spread): the nodes that move, by position, each
/// with its new service node.
fn new_service_nodes(
    snap: &Snapshot<'_>,
    req: &Request,
    sel: &Selected<'_>,
    aix: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<(usize, String)>> {
    let mut no_backup = Vec::new();
    let new_sn = if req.spreads() {
        spread_all(snap, req, sel, warnings, &mut no_backup)?
    } else {
        (0..sel.nodes.len())
            .map(|p| backup_of(req, sel, p, aix, warnings, &mut no_backup))
            .collect()
    };
    if !no_backup.is_empty() {
        return Err(TakeoverError::Validation(no_backup));
    }
    let kept: Vec<(usize, String)> = new_sn
        .into_iter()
        .enumerate()
        .filter_map(|(p, d)| Some((p, d?)))
        .collect();
    if kept.is_empty() {
        return Err(TakeoverError::Validation(warnings.clone()));
    }
    Ok(kept)
}

/// -d, or the node's second service node.
fn backup_of(
    req: &Request,
    sel: &Selected<'_>,
    p: usize,
    aix: bool,
    warnings: &mut Vec<String>,
    no_backup: &mut Vec<String>,
) -> Option<String> {
    if let Some(d) = &req.dest {
        return Some(d.clone());
    }
    let n = &sel.nodes[p];
    let list = split_list(val(&sel.noderes, p, 0).as_deref());
    if aix && list.len() > 2 {
        warnings.push(format!(
            "{n}: The service node attribute cannot have more than two values."
        ));
    }
    let backup = list.get(1).filter(|s| !s.is_empty()).cloned();
    if backup.is_none() {
        no_backup.push(format!(
            "Could not determine a backup service node for node {n}."
        ));
    }
    backup
}

/// --spread: the balancer's choice per node (none for a node left where it is).
fn spread_all(
    snap: &Snapshot<'_>,
    req: &Request,
    sel: &Selected<'_>,
    warnings: &mut Vec<String>,
    no_backup: &mut Vec<String>,
) -> Result<Vec<Option<String>>> {
    let pos: HashMap<&str, usize> = sel
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let placed = spread(snap, req, &sel.nodes, |n| {
        split_list(pos.get(n).and_then(|&p| val(&sel.noderes, p, 0)).as_deref())
    })?;
    for (n, why) in &placed.unplaced {
        if req.spread_pool {
            warnings.push(format!("{n}: not moved: {why}"));
        } else {
            no_backup.push(format!(
                "Could not determine a backup service node for node {n}: {why}."
            ));
        }
    }
    for n in &placed.over_capacity {
        warnings.push(format!(
            "{n}: every service node it can go to is at its capacity; placed on {}",
            placed.dest[n]
        ));
    }
    let left = |n: &String| req.spread_pool && placed.unplaced.contains_key(n);
    Ok(sel
        .nodes
        .iter()
        .map(|n| (!left(n)).then(|| placed.dest.get(n).cloned()).flatten())
        .collect())
}

/// Stage 5: each destination is a service node, and its addresses (asked of it, or as the
/// database records them with --offline).
fn destination_addresses(
    snap: &Snapshot<'_>,
    env: &dyn Env,
    req: &Request,
    hosts: &HostsTable,
    kept: &[(usize, String)],
    preflight: &mut Vec<String>,
) -> Result<HashMap<String, Vec<IpAddr>>> {
    let mut destinations: Vec<&String> = Vec::new();
    for (_, d) in kept {
        if !destinations.contains(&d) {
            destinations.push(d);
        }
    }
    if let Some(bad) = destinations.iter().find(|d| !remote::is_valid_host(d)) {
        return Err(TakeoverError::validation(format!(
            "service node name '{bad}' is not a valid host name"
        )));
    }
    let mut sn_addrs = HashMap::new();
    for d in destinations {
        if !is_service_node(snap, d)? {
            preflight.push(format!(
                "{d} is not a defined service node (it needs a nodelist row and a servicenode table row, its own or a group's)"
            ));
        }
        let recorded = hosts.addresses.get(d).cloned().unwrap_or_default();
        let addrs = match req.offline {
            true => recorded,
            false => env.sn_addresses(d).unwrap_or_else(|e| {
                preflight.push(format!(
                    "Could not get IP addresses from service node {d}: {e} (plan with --offline to use the addresses recorded in the database)"
                ));
                recorded
            }),
        };
        sn_addrs.insert(d.clone(), addrs);
    }
    Ok(sn_addrs)
}

/// Stage 6 inputs: what the write rules read for every node.
struct RuleInputs<'a, 's> {
    snap: &'a Snapshot<'s>,
    req: &'a Request,
    sel: &'a Selected<'a>,
    kind: &'a Kind,
    resolver: &'a Resolver<'a, 's>,
    ips: &'a [IpAddr],
    networks: Vec<Network>,
    sn_addrs: HashMap<String, Vec<IpAddr>>,
    /// -D's address, when it resolves.
    dest_n_ip: Option<IpAddr>,
    defaults: (Option<String>, Option<String>),
}

/// Stage 6 outputs, gathered node by node.
#[derive(Default)]
struct Gathered {
    moves: Vec<NodeMove>,
    shapes: Shapes,
    preflight: Vec<String>,
    no_master: Vec<String>,
    warnings: Vec<String>,
    notes: Vec<String>,
    external_nfs: BTreeMap<String, Vec<String>>,
    // Consecutive nodes mostly share these inputs: each is worked out again only when its
    // input changes.
    last_scripts: LastValue<(Option<String>, Option<String>), Vec<String>>,
    last_old_xm: LastValue<Option<String>, Option<String>>,
    last_new_xm_ip: LastValue<IpAddr, String>,
}

/// -D checked and resolved (V15).
fn dest_n_address(
    req: &Request,
    resolver: &Resolver<'_, '_>,
    preflight: &mut Vec<String>,
) -> Result<Option<IpAddr>> {
    let Some(x) = &req.dest_n else {
        return Ok(None);
    };
    if !remote::is_valid_host(x) {
        return Err(TakeoverError::validation(format!(
            "-D value '{x}' is not a valid host name or address"
        )));
    }
    let ip = resolver.resolve(x);
    if ip.is_none() {
        preflight.push(format!(
            "Could not resolve '{x}' (the new xcatmaster given with -D)"
        ));
    }
    Ok(ip)
}

pub(super) fn make_plan(
    snap: &Snapshot<'_>,
    req: &Request,
    env: &dyn Env,
    nr: &NoderangeEnv,
) -> Result<Plan> {
    check_request(req)?;
    let req = &normalize(req);
    let sel = select(snap, req, nr)?;
    let hosts = HostsTable::load(snap, &sel.nodes, &sel.groups, &sn_names(&sel, req))?;
    let resolver = Resolver {
        env,
        table: &hosts,
        snap,
        extra: Default::default(),
    };
    let ips = resolve_nodes(&sel, &resolver, req)?;
    let mut out = Gathered::default();
    let kind = node_kind(snap, req, &sel, &mut out.warnings)?;
    let kept = new_service_nodes(snap, req, &sel, kind.aix, &mut out.warnings)?;
    let sn_addrs = destination_addresses(snap, env, req, &hosts, &kept, &mut out.preflight)?;
    let rules = RuleInputs {
        snap,
        req,
        sel: &sel,
        kind: &kind,
        resolver: &resolver,
        ips: &ips,
        networks: load_networks(snap)?,
        sn_addrs,
        dest_n_ip: dest_n_address(req, &resolver, &mut out.preflight)?,
        defaults: xcatdefaults(snap)?,
    };
    for (p, nsn) in kept {
        rules.node(p, nsn, &mut out)?;
    }
    if req.adopt_address {
        check_adoptions(env, req, &mut out)?;
    }
    finish(snap, req, out)
}

/// `--adopt-address`: no address may be adopted while another host answers ARP for it (its
/// owner may still be up): an error even with --force. Not checked when the owner was fenced
/// (the watcher; the adoption checks right after it takes the address) or with --offline (the
/// adoption checks before it takes it).
fn check_adoptions(env: &dyn Env, req: &Request, out: &mut Gathered) -> Result<()> {
    let uncovered: Vec<&str> = out
        .moves
        .iter()
        .filter(|m| m.old_sn.as_deref().is_some_and(|o| o != m.new_sn))
        .filter(|m| crate::adopt::old_address(m).is_none())
        .map(|m| m.node.as_str())
        .collect();
    if !uncovered.is_empty() {
        out.warnings.push(format!(
            "--adopt-address: {} ha{} no IPv4 address for its old xcatmaster: served again only once re-pointed",
            crate::report::compress(&uncovered),
            if uncovered.len() == 1 { "s" } else { "ve" }
        ));
    }
    if req.fenced || req.offline {
        return Ok(());
    }
    let mut held = Vec::new();
    for a in crate::adopt::adoptions(&out.moves) {
        match env.address_holder(&a.holder, &a.address) {
            Ok(None) => {}
            Ok(Some(who)) => held.push(format!(
                "{} ({}'s compute address) is answered by {who} on {}'s network: {} may still be up; --adopt-address takes an address only from a service node that is down (not overridden by --force)",
                a.address, a.old_sn, a.holder, a.old_sn
            )),
            Err(e) => out.preflight.push(format!(
                "cannot check from {} whether {} ({}'s compute address) is free: {e}",
                a.holder, a.address, a.old_sn
            )),
        }
    }
    match held.is_empty() {
        true => Ok(()),
        false => Err(TakeoverError::Preflight(held)),
    }
}

impl RuleInputs<'_, '_> {
    /// The node's new xcatmaster and its address: -D, or the new SN's address on the node's
    /// network. None (recorded in `out`) when there is none.
    fn new_master(
        &self,
        n: &str,
        nsn: &str,
        ip: IpAddr,
        net: Option<&Network>,
        out: &mut Gathered,
    ) -> Option<(String, Option<IpAddr>)> {
        match (&self.req.dest_n, net) {
            (Some(x), _) => {
                if let (Some(xip), Some(net)) = (self.dest_n_ip, net) {
                    if !in_net(xip, net.net, net.prefix) {
                        out.preflight.push(format!(
                            "{n}: the new xcatmaster {x} ({xip}) is not on the node's network {} ({ip})",
                            net.name
                        ));
                    }
                }
                if net.is_none() {
                    out.preflight.push(format!(
                        "{n}: its address {ip} is on no network of the networks table"
                    ));
                }
                Some((x.clone(), self.dest_n_ip))
            }
            (None, Some(net)) => {
                let found = self
                    .sn_addrs
                    .get(nsn)
                    .and_then(|l| l.iter().find(|a| in_net(**a, net.net, net.prefix)));
                if found.is_none() {
                    out.no_master.push(format!(
                        "Could not determine an xcatmaster value for node {n}."
                    ));
                }
                found.map(|a| (a.to_string(), Some(*a)))
            }
            (None, None) => {
                out.no_master.push(format!(
                    "Could not determine an xcatmaster value for node {n}. (its address {ip} is on no network of the networks table; give -D)"
                ));
                None
            }
        }
    }

    /// The write rules (§3.2) for node `p`, moving to `nsn`.
    fn node(&self, p: usize, nsn: String, out: &mut Gathered) -> Result<()> {
        let (n, ip) = (&self.sel.nodes[p], self.ips[p]);
        let net = network_of(&self.networks, ip);
        let Some((new_xm, new_xm_ip)) = self.new_master(n, &nsn, ip, net, out) else {
            return Ok(());
        };
        let noderes = &self.sel.noderes;
        let old_list = split_list(val(noderes, p, 0).as_deref());
        let old_sn = self
            .req
            .source
            .clone()
            .or_else(|| old_list.first().filter(|s| !s.is_empty()).cloned());
        if old_sn.as_deref() == Some(nsn.as_str()) {
            out.preflight.push(format!(
                "{n}: the destination {nsn} is already its service node"
            ));
        }
        let old_xm = self.req.source_n.clone().or_else(|| val(noderes, p, 1));
        let old_xm_ip = out.last_old_xm.get(&old_xm, |x| {
            x.as_deref()
                .and_then(|x| self.resolver.resolve(x))
                .map(|i| i.to_string())
        });
        let old = Old {
            list: old_list,
            sn: old_sn,
            xm: old_xm,
            xm_ip: old_xm_ip,
        };
        let mut changes = self.noderes_changes(p, &nsn, &new_xm, &old, out);
        let lite_dirs = self.statelite_changes(n, &new_xm, &old, &mut changes, out)?;
        if let Some(nfs) = val(noderes, p, 3) {
            if !old.follows(&Some(nfs.clone())) && !self.names_old(&old, &nfs) {
                out.external_nfs.entry(nfs).or_default().push(n.clone());
            }
        }
        if self.req.liteonly {
            // -l moves nothing: the plan only copies the persistent files.
            changes.clear();
        }
        let post_key = (val(&self.sel.post, p, 0), val(&self.sel.post, p, 1));
        let scripts = out.last_scripts.get(&post_key, |(post, postboot)| {
            select_scripts(
                &self.defaults,
                post.clone(),
                postboot.clone(),
                self.req.postscripts.as_deref(),
            )
        });
        let shape = MoveShape {
            os: val(&self.sel.nodetype, p, 0),
            provmethod: val(&self.sel.nodetype, p, 1),
            status: val(&self.sel.nodelist, p, 0),
            old_sn: old.sn,
            new_sn: nsn,
            old_xm: old.xm,
            new_xm,
            new_xm_ip: new_xm_ip.map(|i| out.last_new_xm_ip.get(&i, IpAddr::to_string)),
            old_xm_ip: old.xm_ip,
            network: net.map(|x| x.name.clone()),
            gateway_follows: net.is_some_and(|x| x.gateway_is_xcatmaster),
            scripts,
            nimtype: self.kind.nimtypes.get(n.as_str()).cloned(),
            gateway: net.and_then(|x| x.gateway.clone()),
            statelite: lite_dirs,
            changes,
            before: Vec::new(),
            after: Vec::new(),
        };
        let shape = out.shapes.share(shape);
        out.moves.push(NodeMove {
            node: n.clone(),
            ip: Some(self.ip_text(p, ip)),
            shape,
        });
        Ok(())
    }

    /// The hosts table's text when that is where the address came from (an IPv4 address
    /// parses only from its canonical form), else the address formatted.
    fn ip_text(&self, p: usize, ip: IpAddr) -> String {
        self.resolver.table.node_ips[p]
            .as_deref()
            .map(str::trim)
            .filter(|t| ip.is_ipv4() && t.parse() == Ok(ip))
            .map_or_else(|| ip.to_string(), str::to_string)
    }

    /// Does `server` name the old service node (as its xcatmaster, its address or its name)?
    fn names_old(&self, old: &Old, server: &str) -> bool {
        Some(server) == old.xm.as_deref()
            || Some(server) == old.xm_ip.as_deref()
            || Some(server) == old.sn.as_deref()
            || (old.xm_ip.is_some()
                && self.resolver.resolve(server).map(|i| i.to_string()) == old.xm_ip)
    }

    /// servicenode, xcatmaster, tftpserver, nfsserver, monserver and conserver.
    fn noderes_changes(
        &self,
        p: usize,
        nsn: &str,
        new_xm: &str,
        old: &Old,
        out: &mut Gathered,
    ) -> Vec<Change> {
        let noderes = &self.sel.noderes;
        let n = &self.sel.nodes[p];
        let mut changes = Vec::new();
        let mut change = |attr: &str, t: &str, old: Option<String>, new: Option<String>| {
            if old != new {
                changes.push(Change {
                    attr: attr.into(),
                    table: t.into(),
                    column: attr.into(),
                    old,
                    new,
                });
            }
        };
        // servicenode: the new SN first, every other entry kept in order (string equality).
        let mut rotated = vec![nsn.to_string()];
        rotated.extend(
            old.list
                .iter()
                .filter(|s| *s != nsn && !s.is_empty())
                .cloned(),
        );
        change(
            "servicenode",
            "noderes",
            val(noderes, p, 0),
            Some(rotated.join(",")),
        );
        change(
            "xcatmaster",
            "noderes",
            val(noderes, p, 1),
            Some(new_xm.to_string()),
        );
        for (i, attr) in [(2, "tftpserver"), (3, "nfsserver")] {
            let cur = val(noderes, p, i);
            if old.follows(&cur) {
                change(attr, "noderes", cur, Some(new_xm.to_string()));
            }
        }
        if let Some(mon) = val(noderes, p, 4) {
            let fields: Vec<&str> = mon.split(',').collect();
            if fields.len() < 2 {
                out.warnings.push(format!(
                    "{n}: The current value of the monserver attribute is not valid. It will not be reset."
                ));
            } else if Some(fields[0]) == old.sn.as_deref() {
                change(
                    "monserver",
                    "noderes",
                    Some(mon.clone()),
                    Some(format!("{nsn},{new_xm}")),
                );
            }
        }
        let cons = val(&self.sel.nodehm, p, 0);
        if cons.is_some() && cons == old.sn {
            change("conserver", "nodehm", cons, Some(nsn.to_string()));
        }
        changes
    }

    /// AIX statelite: the statemnt row follows the node when it names the old SN; its
    /// persistent-file directories (to copy).
    fn statelite_changes(
        &self,
        n: &str,
        new_xm: &str,
        old: &Old,
        changes: &mut Vec<Change>,
        out: &mut Gathered,
    ) -> Result<Vec<String>> {
        let Some(mnt) = self.kind.statelite.get(n).and_then(|v| v[0].clone()) else {
            return Ok(Vec::new());
        };
        match statelite_rule(self.snap, n, &mnt, &|s| self.names_old(old, s))? {
            Lite::Follow { dir, rewrite } => {
                if rewrite {
                    changes.push(Change {
                        attr: "statemnt".into(),
                        table: "statelite".into(),
                        column: "statemnt".into(),
                        old: Some(mnt.clone()),
                        new: Some(format!("{new_xm}:{dir}")),
                    });
                }
                Ok(vec![dir])
            }
            Lite::External(server) => {
                out.notes.push(format!(
                    "{n}: statelite server {server} is not the old service node: its row and files are left alone"
                ));
                Ok(Vec::new())
            }
            Lite::Bad(why) => Err(TakeoverError::validation(format!(
                "{n}: statelite.statemnt '{mnt}': {why}"
            ))),
        }
    }
}

/// What a node had: its service node list, old SN, old xcatmaster and its address.
struct Old {
    list: Vec<String>,
    sn: Option<String>,
    xm: Option<String>,
    xm_ip: Option<String>,
}

impl Old {
    /// A server value that follows the xcatmaster (it names the old one).
    fn follows(&self, v: &Option<String>) -> bool {
        v.as_ref()
            .is_some_and(|v| Some(v) == self.xm.as_ref() || Some(v) == self.xm_ip.as_ref())
    }
}

/// Stage 7: the plan, or the pre-flight failures (unless forced); warnings and notes.
fn finish(snap: &Snapshot<'_>, req: &Request, mut out: Gathered) -> Result<Plan> {
    if !out.no_master.is_empty() {
        // The cause first: an undefined or unreachable destination is why no xcatmaster was
        // found for its nodes.
        let mut all = out.preflight;
        all.extend(out.no_master);
        return Err(TakeoverError::Preflight(all));
    }
    let mut forced = Vec::new();
    if !out.preflight.is_empty() {
        if !req.force {
            return Err(TakeoverError::Preflight(out.preflight));
        }
        forced = out.preflight;
    }
    for m in out.moves.iter().filter(|m| m.provmethod.is_none()) {
        out.warnings.push(format!(
            "{}: no provmethod, so no boot files are written for it",
            m.node
        ));
    }
    for (server, names) in &out.external_nfs {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let one = names.len() == 1;
        out.notes.push(format!(
            "{} keep{} the external NFS server {server} (nfsserver is not the old service node): it is not changed, and the takeover does not reboot {}",
            crate::report::compress(&names),
            if one { "s" } else { "" },
            if one { "the node" } else { "them" },
        ));
    }
    refuse_disabled_own_rows(snap, &out.moves)?;
    let steps = build_steps(&out.moves, req);
    Ok(Plan {
        read_at: snap.version(),
        request: req.clone(),
        nodes: out.moves,
        steps,
        warnings: out.warnings,
        forced,
        notes: out.notes,
        undoes: None,
    })
}
