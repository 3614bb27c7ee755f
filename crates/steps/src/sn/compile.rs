//! One batch's steps compiled into the service-node script's operations: one short function
//! per step kind, from the nodes' moves and facts to ops, with the nodes each step sent and the
//! results settled before anything ran (a bad value, nothing to do).

use super::*;

/// One batch as compiled.
#[derive(Default)]
pub(super) struct Compiled {
    pub ops: Ops,
    /// Step index → the nodes whose entries went into the ops.
    pub sent: BTreeMap<usize, Vec<String>>,
    /// Step index → the nodes whose `master` entry on the management node follows.
    pub consoled: BTreeMap<usize, Vec<String>>,
    /// (step index, node) → a result known before the session runs.
    pub pre: NodeResults,
}

/// The nodes of a step with their move and facts.
type Here<'a> = [(NodeTarget<'a>, &'a NodeFacts)];

struct Compiler<'a> {
    runner: &'a SnRunner,
    facts: &'a Facts,
    addr: Addresses<'a>,
    out: Compiled,
    texts: SharedTexts,
}

/// Where a node's file records go: the payload, with the texts already sent.
struct FileRecords<'b> {
    buf: &'b mut Vec<u8>,
    texts: &'b mut SharedTexts,
}

/// The mark a shared boot-file text holds where each node's file has the node's name.
const NODE_MARK: &str = "@@BATON-NODE@@";

/// Boot-file texts shared by many nodes (theirs differ by the node's name at most): each is
/// sent once per session, and the service node makes every node's file from it (`puts`).
#[derive(Default, Clone)]
struct SharedTexts {
    ids: HashMap<String, usize>,
}

impl SharedTexts {
    /// The records that write `content` to `path` for `node`.
    fn put(&mut self, out: &mut Vec<u8>, tag: &str, node: &str, path: &str, content: &str) {
        use std::io::Write;
        let text = (!content.contains(NODE_MARK) && plain(node))
            .then(|| content.replace(node, NODE_MARK))
            // Only a text that gives this very content back.
            .filter(|t| t.replace(NODE_MARK, node) == content);
        let Some(text) = text else {
            let op = FileOp::Put {
                path: path.to_string(),
                content: content.to_string(),
            };
            return file_record(out, tag, &op);
        };
        let id = match self.ids.get(&text) {
            Some(&id) => id,
            None => {
                let id = self.ids.len();
                let _ = writeln!(out, "text {tag} {id} {}", text.len());
                out.extend_from_slice(text.as_bytes());
                self.ids.insert(text, id);
                id
            }
        };
        let _ = writeln!(out, "puts {tag} {path} {} {id} {node}", content.len());
    }
}

impl SnRunner {
    /// The script's operations for one batch, and the nodes settled before anything ran.
    pub(super) fn build(&self, facts: &Facts, targets: &Targets<'_>, steps: &[Step]) -> Compiled {
        let local = remote::resolve::SystemResolver::new(false);
        let mut c = Compiler {
            runner: self,
            facts,
            addr: Addresses {
                facts,
                local: Some(&local),
            },
            out: Compiled::default(),
            texts: SharedTexts::default(),
        };
        for (i, step) in steps.iter().enumerate() {
            if step.kind.is_address() {
                c.address(i, step);
                continue;
            }
            let mut here = Vec::new();
            for n in &step.nodes {
                match (targets.get(n.as_str()), facts.nodes.get(n)) {
                    (Some(t), Some(f)) => here.push((*t, f)),
                    _ => c.fail(i, n, "not in the plan or the database"),
                }
            }
            match step.kind {
                StepKind::Dhcp => c.dhcp(i, &here),
                StepKind::Consoles => c.consoles(i, &here),
                StepKind::Bootfiles => c.bootfiles(i, step, &here),
                StepKind::CleanupOldSn => c.cleanup(i, step, &here),
                StepKind::StateliteSync => c.statelite(i, &here),
                kind => {
                    for (m, _) in &here {
                        let why = format!("{} is not a service-node step", kind.name());
                        c.fail(i, m.node, why);
                    }
                }
            }
        }
        c.out
    }
}

impl Compiler<'_> {
    /// An address step: one op about the address; its nodes share its outcome.
    fn address(&mut self, i: usize, step: &Step) {
        let Some(a) = step.address.as_ref() else {
            for n in &step.nodes {
                self.fail(i, n, "the step names no address");
            }
            return;
        };
        // Checked when the plan was read back too: these reach the script's arguments.
        if a.address.parse::<std::net::Ipv4Addr>().is_err() || !remote::is_valid_host(&a.peer) {
            for n in &step.nodes {
                self.fail(i, n, format_args!("bad address {}", a.address));
            }
            return;
        }
        let tag = i.to_string();
        let (op, extra) = match step.kind {
            StepKind::AdoptAddress => ("adopt", if a.fenced { "fenced" } else { "check" }),
            StepKind::ReleaseAddress => ("release", ""),
            _ => ("reclaim", a.peer.as_str()),
        };
        let mut params = vec![a.address.clone()];
        if !extra.is_empty() {
            params.push(extra.to_string());
        }
        self.out.ops.push(op, &tag, &params, &[]);
        self.out.sent.insert(i, step.nodes.clone());
    }

    fn fail(&mut self, i: usize, node: &str, why: impl std::fmt::Display) {
        let failed = NodeOutcome::failed(why);
        self.out
            .pre
            .entry(i)
            .or_default()
            .insert(node.into(), failed);
    }

    fn done(&mut self, i: usize, node: &str) {
        let per = self.out.pre.entry(i).or_default();
        per.insert(node.into(), NodeOutcome::Done);
    }

    /// Where the node boots from: its tftpserver, else its new xcatmaster's address.
    fn boot_server(&self, m: &NodeTarget<'_>, f: &NodeFacts) -> String {
        f.tftpserver
            .as_deref()
            .filter(|s| *s != "<xcatmaster>")
            .map(|s| self.addr.of(s, m))
            .unwrap_or_else(|| m.xcatmaster_ip.unwrap_or(m.xcatmaster).to_string())
    }

    /// The batch's tftp directory, when it is one the script can take.
    fn tftpdir_for(&mut self, i: usize, names: &[String]) -> Option<String> {
        let dir = self.runner.tftpdir(self.facts, None);
        if remote::is_plain_path(&dir) {
            return Some(dir);
        }
        for n in names {
            self.fail(
                i,
                n,
                format!("tftpdir '{dir}' is not a plain absolute path"),
            );
        }
        None
    }

    /// One node's DHCP entry in both forms (ISC host block, Kea reservation), with its MAC and
    /// address; Ok(None) when it has no MAC (a node configured statically: nothing to move).
    fn dhcp_entry(
        &self,
        m: &NodeTarget<'_>,
        f: &NodeFacts,
    ) -> Result<Option<(String, String, String, String)>, String> {
        let Some(mac) = f.mac.clone() else {
            return Ok(None);
        };
        if !valid_mac(&mac) {
            return Err(format!("mac.mac '{mac}' is not a MAC address"));
        }
        let ip =
            m.ip.map(str::to_string)
                .filter(|x| x.parse::<std::net::Ipv4Addr>().is_ok())
                .ok_or("no IPv4 address")?;
        let method = Method::from_netboot(f.netboot.as_deref(), f.arch.as_deref())?;
        let server = self.boot_server(m, f);
        if server.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(format!("no address for its boot server {server}"));
        }
        let tftpdir = self.runner.tftpdir(self.facts, Some(f));
        let h = DhcpHost::new(
            m.node,
            &mac,
            &ip,
            &server,
            method,
            self.facts.site.httpport,
            &tftpdir,
        );
        let t = &self.runner.templates;
        let isc = t.dhcpd_host(&h)?;
        let kea = t.kea_reservation(&h)?.to_string();
        Ok(Some((isc, kea, mac.to_string(), ip)))
    }

    fn dhcp(&mut self, i: usize, here: &Here<'_>) {
        // Kea's reservations as JSON text as they come (a parsed value per node would be ~1 KB
        // each at 100,000 nodes).
        let (mut names, mut keys, mut isc, mut kea) =
            (Vec::new(), Vec::new(), String::new(), String::from("["));
        for (m, f) in here {
            match self.dhcp_entry(m, f) {
                Ok(None) => self.done(i, m.node),
                Ok(Some((a, b, mac, ip))) => {
                    isc.push_str(&a);
                    if kea.len() > 1 {
                        kea.push(',');
                    }
                    kea.push_str(&b);
                    names.push(m.node.to_string());
                    keys.push(mac);
                    keys.push(ip);
                }
                Err(e) => self.fail(i, m.node, e),
            }
        }
        if names.is_empty() {
            return;
        }
        kea.push(']');
        let keytext = format!("{}\n{}\n", names.join(" "), keys.join(" "));
        self.out.sent.insert(i, names);
        let paths = &self.runner.paths;
        let params = [
            self.runner.backend(self.facts).into(),
            "1".into(),
            paths.dhcpd_conf.clone(),
            paths.kea_conf.clone(),
        ];
        let data: [&[u8]; 3] = [keytext.as_bytes(), isc.as_bytes(), kea.as_bytes()];
        self.out.ops.push("dhcp", &i.to_string(), &params, &data);
    }

    fn consoles(&mut self, i: usize, here: &Here<'_>) {
        let (mut names, mut blocks) = (Vec::new(), String::new());
        for (m, f) in here {
            let Some(method) = f.cons.clone() else {
                // xCAT's makeconservercf skips nodes without a console method.
                self.done(i, m.node);
                continue;
            };
            if !valid_word(&method) {
                let why = format!("console method '{method}' is not a plain name");
                self.fail(i, m.node, why);
                continue;
            }
            self.out
                .consoled
                .entry(i)
                .or_default()
                .push(m.node.to_string());
            if self.runner.mn_only_consoles {
                self.done(i, m.node);
                continue;
            }
            let ondemand = f.consoleondemand.as_deref().map(|v| truthy(Some(v), false));
            let t = &self.runner.templates;
            match t.conserver_console(m.node, &method, ondemand) {
                Ok(b) => {
                    blocks.push_str(&b);
                    names.push(m.node.to_string());
                }
                Err(e) => self.fail(i, m.node, e),
            }
        }
        if names.is_empty() {
            return;
        }
        let header = match self.runner.header(self.facts) {
            Ok(h) => h,
            Err(e) => {
                for n in &names {
                    self.fail(i, n, &e);
                }
                return;
            }
        };
        let list = format!("{}\n", names.join(" "));
        self.out.sent.insert(i, names);
        let params = [self.runner.paths.conserver_cf.clone(), "1".into()];
        let data: [&[u8]; 3] = [list.as_bytes(), header.as_bytes(), blocks.as_bytes()];
        self.out.ops.push("cons", &i.to_string(), &params, &data);
    }

    /// One node's boot files as file records; Ok(false) when it has no provmethod (nothing to
    /// boot).
    fn boot_records(
        &self,
        i: usize,
        step: &Step,
        m: &NodeTarget<'_>,
        f: &NodeFacts,
        dir: &str,
        out: &mut FileRecords<'_>,
    ) -> Result<bool, String> {
        let node_dir = self.runner.tftpdir(self.facts, Some(f));
        if node_dir != dir {
            return Err(format!("its noderes.tftpdir {node_dir} differs from site.tftpdir {dir}; run baton nodeset for it"));
        }
        let pm = step.provmethod.as_deref().or(f.provmethod.as_deref());
        let Some(pm) = pm.map(str::to_string) else {
            return Ok(false);
        };
        let ip = m.ip.map(str::to_string).ok_or("no address")?;
        let method = Method::from_netboot(f.netboot.as_deref(), f.arch.as_deref())?;
        let rearm = self.runner.rearm_installs;
        let mode = boot_mode(self.facts, f, m, &pm, &self.addr, rearm)?;
        let files = self.runner.templates.boot_files(&BootSpec {
            node: m.node.to_string(),
            method,
            ip,
            mac: f
                .mac
                .as_deref()
                .filter(|x| valid_mac(x))
                .map(str::to_string),
            server: self.boot_server(m, f),
            http_port: self.facts.site.httpport,
            tftpdir: dir.to_string(),
            mode,
        })?;
        let ntag = format!("{i}/{}", m.node);
        for op in &files {
            match op {
                FileOp::Put { path, content } => {
                    out.texts.put(out.buf, &ntag, m.node, path, content)
                }
                _ => file_record(out.buf, &ntag, op),
            }
        }
        Ok(true)
    }

    /// Each node's boot files, written straight into the payload.
    fn bootfiles(&mut self, i: usize, step: &Step, here: &Here<'_>) {
        let mut names = Vec::new();
        let dir = self.runner.tftpdir(self.facts, None);
        let mut ops = std::mem::take(&mut self.out.ops);
        let mut texts = self.texts.clone();
        let kept = ops.push_filled("files", &i.to_string(), std::slice::from_ref(&dir), |buf| {
            let mut out = FileRecords {
                buf,
                texts: &mut texts,
            };
            for (m, f) in here {
                match self.boot_records(i, step, m, f, &dir, &mut out) {
                    Ok(true) => names.push(m.node.to_string()),
                    Ok(false) => self.done(i, m.node),
                    Err(e) => self.fail(i, m.node, e),
                }
            }
            !names.is_empty() && self.tftpdir_for(i, &names).is_some()
        });
        self.out.ops = ops;
        if kept {
            // Texts of an op that was dropped never reach the service node.
            self.texts = texts;
        }
        if !names.is_empty() && remote::is_plain_path(&dir) {
            self.out.sent.insert(i, names);
        }
    }

    fn cleanup(&mut self, i: usize, step: &Step, here: &Here<'_>) {
        let r = self.runner;
        let (mut names, mut keys, mut records) = (Vec::new(), Vec::new(), Vec::new());
        let boot_files = r.cleanup.bootfiles && !(r.takeover_cleanup && self.facts.site.sharedtftp);
        for (m, f) in here {
            let primary = f
                .servicenode
                .as_deref()
                .and_then(|s| s.split(',').next())
                .map(str::trim);
            if r.takeover_cleanup && primary == Some(step.sn.as_str()) {
                // Moved back since: the old SN serves it again; keep its entries.
                self.done(i, m.node);
                continue;
            }
            names.push(m.node.to_string());
            let mac = f.mac.as_deref().filter(|x| valid_mac(x));
            keys.extend(mac.map(str::to_string));
            keys.extend(m.ip.map(str::to_string).filter(|x| plain(x)));
            if boot_files {
                let ntag = format!("{i}/{}", m.node);
                for p in boot_paths(m.node, m.ip.unwrap_or(""), mac) {
                    file_record(&mut records, &ntag, &FileOp::Remove { path: p });
                }
            }
        }
        if names.is_empty() {
            return;
        }
        let tag = i.to_string();
        if r.cleanup.dhcp {
            let keytext = format!("{}\n{}\n", names.join(" "), keys.join(" "));
            let params = [
                r.backend(self.facts).into(),
                "0".into(),
                r.paths.dhcpd_conf.clone(),
                r.paths.kea_conf.clone(),
            ];
            let data: [&[u8]; 3] = [keytext.as_bytes(), b"", b""];
            self.out.ops.push("dhcp", &tag, &params, &data);
        }
        if r.cleanup_mn_consoles {
            self.out.consoled.insert(i, names.clone());
        }
        let cons_on_sn = r.cleanup.consoles && !r.mn_only_consoles;
        if cons_on_sn {
            let list = format!("{}\n", names.join(" "));
            let params = [r.paths.conserver_cf.clone(), "0".into()];
            let data: [&[u8]; 3] = [list.as_bytes(), b"", b""];
            self.out.ops.push("cons", &tag, &params, &data);
        }
        if !records.is_empty() {
            let Some(dir) = self.tftpdir_for(i, &names) else {
                return;
            };
            self.out.ops.push("files", &tag, &[dir], &[&records]);
        }
        if !(r.cleanup.dhcp || cons_on_sn || !records.is_empty()) {
            for n in &names {
                self.done(i, n);
            }
            return;
        }
        self.out.sent.insert(i, names);
    }

    /// On the old SN (this session's host): push DIR/<node> to the new SN, as xCAT's snmove
    /// does (§6.1, S2).
    fn statelite(&mut self, i: usize, here: &Here<'_>) {
        let mut names = Vec::new();
        for (m, _) in here {
            if !remote::is_valid_host(m.sn) {
                self.fail(i, m.node, format!("'{}' is not a valid host name", m.sn));
                continue;
            }
            if let Some(bad) = m.statelite.iter().find(|d| !remote::is_plain_path(d)) {
                let why = format!("statelite directory '{bad}' is not a plain absolute path");
                self.fail(i, m.node, why);
                continue;
            }
            let ntag = format!("{i}/{}", m.node);
            for dir in m.statelite {
                let params = [dir.clone(), m.node.to_string(), m.sn.to_string()];
                self.out.ops.push("lite", &ntag, &params, &[]);
            }
            names.push(m.node.to_string());
        }
        if !names.is_empty() {
            self.out.sent.insert(i, names);
        }
    }
}
