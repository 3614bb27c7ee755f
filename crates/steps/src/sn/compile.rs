//! One batch's steps compiled into the service-node script's operations: one short function
//! per step kind, from the nodes' moves and facts to ops, with the nodes each step sent and the
//! results settled before anything ran (a bad value, nothing to do).

use super::*;
use render::byname::ByName;

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

/// Where a node's file records go: the payload, with the texts already sent and the shapes
/// already rendered.
struct FileRecords<'b, 't> {
    buf: &'b mut Vec<u8>,
    texts: &'b mut SharedTexts,
    shapes: &'b mut Shapes<'t>,
}

/// One node's boot files: what they are made of.
struct NodeBoot<'t> {
    m: NodeTarget<'t>,
    f: &'t NodeFacts,
    pm: &'t str,
    method: Method,
    /// Its MAC, when it is one.
    mac: Option<&'t str>,
    /// The tftp directory.
    dir: &'t str,
}

/// The mark a shared boot-file text holds where each node's file has the node's name.
const NODE_MARK: &str = render::byname::MARK;

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

    /// [`SharedTexts::put`] of a text shared by name (`f.content` for `node`), without making
    /// it when its records are known: its text once sent, and `node` such that the text made
    /// for it gives back exactly the shared text (`by_name_only`).
    fn put_by_name(&mut self, out: &mut Vec<u8>, tag: &str, node: &str, f: &ByNameFile) {
        use std::io::Write;
        let path = f.path.text(node);
        let id = f.id.get().or_else(|| self.ids.get(&f.text).copied());
        match id {
            Some(id) if by_name_only(node, &f.content) => {
                f.id.set(Some(id));
                let len = f.content.len(node);
                let _ = writeln!(out, "puts {tag} {path} {len} {id} {node}");
            }
            _ => self.put(out, tag, node, &path, &f.content.text(node)),
        }
    }
}

/// Whether the text for `node` of `by` turned back into a shared text ([`SharedTexts::put`]:
/// every `node` replaced by the mark) is the text for the mark itself: the name is a plain word
/// with no `@` and no part of the mark, is found nowhere but where it was put, and no two of
/// its places overlap (no proper prefix of it is also its suffix).
fn by_name_only(node: &str, by: &ByName) -> bool {
    plain(node)
        && !node.contains('@')
        && !NODE_MARK.contains(node)
        && (1..node.len()).all(|k| node.as_bytes()[..k] != node.as_bytes()[node.len() - k..])
        && !by.pieces().iter().any(|p| p.contains(node))
}

/// One boot file of a shape: its path and content by name, the shared text (the content for
/// the mark) and its id once sent.
struct ByNameFile {
    path: ByName,
    content: ByName,
    text: String,
    id: std::cell::Cell<Option<usize>>,
}

/// What a node's boot files are made of, but its name, address and MAC: nodes alike in all of
/// it share one rendering. Facts values are compared by identity (each distinct value is held
/// once in the facts).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct ShapeKey<'a> {
    facts: [usize; 11],
    provmethod: &'a str,
    xcatmaster: &'a str,
    xcatmaster_ip: Option<&'a str>,
}

impl<'a> ShapeKey<'a> {
    fn of(m: &NodeTarget<'a>, f: &NodeFacts, provmethod: &'a str) -> Self {
        let id = |v: &Option<Text>| v.as_ref().map_or(0, |t| t.as_ptr() as usize);
        ShapeKey {
            facts: [
                id(&f.netboot),
                id(&f.arch),
                id(&f.os),
                id(&f.profile),
                id(&f.nfsserver),
                id(&f.tftpserver),
                id(&f.kernel),
                id(&f.initrd),
                id(&f.kcmdline),
                id(&f.addkcmdline),
                id(&f.status),
            ],
            provmethod,
            xcatmaster: m.xcatmaster,
            xcatmaster_ip: m.xcatmaster_ip,
        }
    }
}

/// The boot files of each shape met in a step; None: rendered node by node (a site's template,
/// a MAC in the file, an error).
type Shapes<'a> = HashMap<ShapeKey<'a>, Option<std::rc::Rc<[ByNameFile]>>, ahash::RandomState>;

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

    /// A console block by name, for nodes of console `method` (None: rendered node by node, a
    /// site's template or an error).
    fn console_shape(&self, method: &str, ondemand: Option<bool>) -> Option<ByName> {
        use render::byname::{MARK, MARK2};
        let t = &self.runner.templates;
        if !t.is_builtin("conserver-console") {
            return None;
        }
        let a = t.conserver_console(MARK, method, ondemand).ok()?;
        let b = t.conserver_console(MARK2, method, ondemand).ok()?;
        ByName::split(&a, &b)
    }

    fn consoles(&mut self, i: usize, here: &Here<'_>) {
        let (mut names, mut blocks) = (Vec::new(), String::new());
        // Nodes with the same console method (the same value) share one rendering.
        let mut shapes: HashMap<(usize, Option<bool>), Option<ByName>, ahash::RandomState> =
            HashMap::default();
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
            let key = (method.as_ptr() as usize, ondemand);
            let shape = shapes
                .entry(key)
                .or_insert_with(|| self.console_shape(&method, ondemand));
            if let Some(by) = shape {
                by.write(&mut blocks, m.node);
                names.push(m.node.to_string());
                continue;
            }
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
    /// boot). Nodes of one shape share its rendering (`out.shapes`).
    fn boot_records<'t>(
        &self,
        i: usize,
        step: &'t Step,
        m: &NodeTarget<'t>,
        f: &'t NodeFacts,
        dir: &'t str,
        out: &mut FileRecords<'_, 't>,
    ) -> Result<bool, String> {
        let node_dir = f.tftpdir.as_deref().unwrap_or(&self.facts.site.tftpdir);
        if node_dir != dir {
            return Err(format!("its noderes.tftpdir {node_dir} differs from site.tftpdir {dir}; run baton nodeset for it"));
        }
        let Some(pm) = step.provmethod.as_deref().or(f.provmethod.as_deref()) else {
            return Ok(false);
        };
        let ip = m.ip.ok_or("no address")?;
        let b = NodeBoot {
            m: *m,
            f,
            pm,
            method: Method::from_netboot(f.netboot.as_deref(), f.arch.as_deref())?,
            mac: f.mac.as_deref().filter(|x| valid_mac(x)),
            dir,
        };
        let ntag = format!("{i}/{}", m.node);
        // A grub2 file holds the node's MAC: no two nodes share it.
        let grub = matches!(b.method, Method::Grub2Tftp | Method::Grub2Http);
        let shape = match grub && b.mac.is_some() {
            true => None,
            false => out
                .shapes
                .entry(ShapeKey::of(m, f, pm))
                .or_insert_with(|| self.boot_shape(&b))
                .clone(),
        };
        match shape {
            Some(files) => {
                for file in files.iter() {
                    out.texts.put_by_name(out.buf, &ntag, m.node, file);
                }
            }
            None => {
                let mode = boot_mode(self.facts, f, m, pm, &self.addr, self.runner.rearm_installs)?;
                for op in self
                    .runner
                    .templates
                    .boot_texts(&self.boot_spec(&b, m.node, mode))?
                {
                    if let FileOp::Put { path, content } = &op {
                        out.texts.put(out.buf, &ntag, m.node, path, content);
                    }
                }
            }
        }
        for op in render::sn::boot_links(b.method, m.node, ip, b.mac) {
            file_record(out.buf, &ntag, &op);
        }
        Ok(true)
    }

    /// What `boot_texts` renders for node `name` (the rest as for `b`'s node).
    fn boot_spec(&self, b: &NodeBoot<'_>, name: &str, mode: BootMode) -> BootSpec {
        BootSpec {
            node: name.to_string(),
            method: b.method,
            ip: b.m.ip.unwrap_or_default().to_string(),
            mac: b.mac.map(str::to_string),
            server: self.boot_server(&b.m, b.f),
            http_port: self.facts.site.httpport,
            tftpdir: b.dir.to_string(),
            mode,
        }
    }

    /// The boot files of `b`'s shape by name, rendered for two stand-in names; None when they
    /// cannot be shared (a site's template, whose use of the name is unknown; an error, which
    /// each node then gets with its own name).
    fn boot_shape(&self, b: &NodeBoot<'_>) -> Option<std::rc::Rc<[ByNameFile]>> {
        use render::byname::{MARK, MARK2};
        let t = &self.runner.templates;
        if !t.builtin_boot_template(b.method) {
            return None;
        }
        let rearm = self.runner.rearm_installs;
        let texts = |name: &str| {
            let named = NodeTarget { node: name, ..b.m };
            let mode = boot_mode(self.facts, b.f, &named, b.pm, &self.addr, rearm).ok()?;
            t.boot_texts(&self.boot_spec(b, name, mode)).ok()
        };
        let (one, two) = (texts(MARK)?, texts(MARK2)?);
        let mut files = Vec::new();
        for pair in one.iter().zip(&two) {
            let (
                FileOp::Put { path, content },
                FileOp::Put {
                    path: p2,
                    content: c2,
                },
            ) = pair
            else {
                return None;
            };
            files.push(ByNameFile {
                path: ByName::split(path, p2)?,
                content: ByName::split(content, c2)?,
                text: content.clone(),
                id: Default::default(),
            });
        }
        (one.len() == two.len()).then(|| files.into())
    }

    /// Each node's boot files, written straight into the payload.
    fn bootfiles(&mut self, i: usize, step: &Step, here: &Here<'_>) {
        let mut names = Vec::new();
        let dir = self.runner.tftpdir(self.facts, None);
        let mut ops = std::mem::take(&mut self.out.ops);
        let mut texts = self.texts.clone();
        let mut shapes = Shapes::default();
        let kept = ops.push_filled("files", &i.to_string(), std::slice::from_ref(&dir), |buf| {
            let mut out = FileRecords {
                buf,
                texts: &mut texts,
                shapes: &mut shapes,
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
