//! Service-node configuration, in the shapes xCAT leaves: DHCP host entries (ISC dhcpd host
//! blocks between `#xCAT host declaration for X start/end`, Kea reservations), conserver.cf
//! console blocks (`#xCAT BEGIN X CONS` ... `#xCAT END X CONS`), and the boot files nodeset
//! writes for pxelinux, grub2 and xnba (iPXE), with their hex-IP and MAC links.

use crate::templates::Templates;
use serde::Serialize;
use std::net::Ipv4Addr;

/// One node's DHCP reservation.
#[derive(Debug, Clone, Serialize)]
pub struct DhcpHost {
    pub node: String,
    /// Lower-case, colon-separated.
    pub mac: String,
    pub ip: String,
    /// The node's TFTP/boot server address (its xcatmaster, or tftpserver).
    pub next_server: String,
    /// noderes.netboot (xnba, pxe, grub2, ...).
    pub netboot: String,
    /// What a PXE ROM loads first (`xcat/xnba.kpxe`, `pxelinux.0`, `boot/grub2/grub2-<node>`).
    pub boot_filename: String,
    /// What xNBA (iPXE) loads next: the node's own boot file over HTTP.
    pub xnba_url: String,
}

impl DhcpHost {
    /// xCAT's boot file names for a netboot method.
    pub fn new(
        node: &str,
        mac: &str,
        ip: &str,
        next_server: &str,
        method: Method,
        http_port: u16,
        tftpdir: &str,
    ) -> Self {
        let boot_filename = match method {
            Method::Xnba => "xcat/xnba.kpxe".to_string(),
            Method::Pxelinux => "pxelinux.0".to_string(),
            Method::Grub2Tftp | Method::Grub2Http => format!("boot/grub2/grub2-{node}"),
        };
        DhcpHost {
            node: node.into(),
            mac: mac.to_ascii_lowercase(),
            ip: ip.into(),
            next_server: next_server.into(),
            netboot: method.name().into(),
            boot_filename,
            xnba_url: format!(
                "http://{next_server}:{http_port}{}/xcat/xnba/nodes/{node}",
                url_dir(tftpdir)
            ),
        }
    }
}

/// `/tftpboot` → `/tftpboot`; `/tftpboot/` → `/tftpboot`.
fn url_dir(d: &str) -> String {
    let d = d.trim_end_matches('/');
    if d.starts_with('/') {
        d.to_string()
    } else {
        format!("/{d}")
    }
}

impl Templates {
    /// An ISC dhcpd host block, between xCAT's markers.
    pub fn dhcpd_host(&self, h: &DhcpHost) -> Result<String, String> {
        self.render("dhcpd-host", h)
    }

    /// A Kea reservation (one element of a subnet's `reservations`).
    pub fn kea_reservation(&self, h: &DhcpHost) -> Result<serde_json::Value, String> {
        let text = self.render("kea-reservation", h)?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("template kea-reservation gives no JSON object: {e}"))?;
        if !v.is_object() {
            return Err("template kea-reservation gives no JSON object".into());
        }
        Ok(v)
    }

    /// The header of a conserver.cf made from nothing (xCAT's makeconservercf layout).
    pub fn conserver_header(&self, trusted: &[String], ondemand: bool) -> Result<String, String> {
        self.render(
            "conserver-header",
            serde_json::json!({ "trusted": trusted, "ondemand": ondemand }),
        )
    }

    /// The console block on the host that serves the console: exec of xCAT's console method.
    pub fn conserver_console(
        &self,
        node: &str,
        method: &str,
        ondemand: Option<bool>,
    ) -> Result<String, String> {
        self.render(
            "conserver-console",
            serde_json::json!({ "node": node, "method": method, "ondemand": ondemand }),
        )
    }

    /// The console block on the management node for a console another host serves.
    pub fn conserver_master(&self, node: &str, master: &str) -> Result<String, String> {
        self.render(
            "conserver-master",
            serde_json::json!({ "node": node, "master": master }),
        )
    }

    /// The boot files of one node: the file(s) and links nodeset writes (paths relative to the
    /// tftp directory): [`Templates::boot_texts`], then [`boot_links`].
    pub fn boot_files(&self, b: &BootSpec) -> Result<Vec<FileOp>, String> {
        let mut ops = self.boot_texts(b)?;
        ops.extend(boot_links(b.method, &b.node, &b.ip, b.mac.as_deref()));
        Ok(ops)
    }

    /// The files of [`Templates::boot_files`] (`Put`s; they do not depend on the node's
    /// address).
    pub fn boot_texts(&self, b: &BootSpec) -> Result<Vec<FileOp>, String> {
        let (local, state, kernel, initrd, kcmdline) = match &b.mode {
            BootMode::Local => (true, "boot".to_string(), "", "", ""),
            BootMode::Net {
                state,
                kernel,
                initrd,
                kcmdline,
            } => (
                false,
                state.clone(),
                kernel.as_str(),
                initrd.as_str(),
                kcmdline.as_str(),
            ),
        };
        let node = &b.node;
        let mut ops = Vec::new();
        match b.method {
            Method::Xnba => {
                let dir = url_dir(&b.tftpdir);
                let ctx = serde_json::json!({
                    "node": node, "local": local, "state": state, "kcmdline": kcmdline,
                    "kernel_url": format!("http://${{next-server}}:{}{dir}/{kernel}", b.http_port),
                    "initrd_url": format!("http://${{next-server}}:{}{dir}/{initrd}", b.http_port),
                });
                let text = self.render("boot-xnba", &ctx)?;
                ops.push(FileOp::put(format!("xcat/xnba/nodes/{node}"), text.clone()));
                ops.push(FileOp::put(format!("xcat/xnba/nodes/{node}.uefi"), text));
            }
            Method::Pxelinux => {
                let ctx = serde_json::json!({
                    "node": node, "local": local, "state": state, "kernel": kernel,
                    "initrd": initrd, "kcmdline": kcmdline,
                });
                let text = self.render("boot-pxelinux", &ctx)?;
                ops.push(FileOp::put(format!("pxelinux.cfg/{node}"), text));
            }
            Method::Grub2Tftp | Method::Grub2Http => {
                let root = if b.method == Method::Grub2Http {
                    format!("http,{}:{}", b.server, b.http_port)
                } else {
                    format!("tftp,{}", b.server)
                };
                let ctx = serde_json::json!({
                    "node": node, "local": local, "state": state, "kernel": kernel,
                    "initrd": initrd, "kcmdline": kcmdline, "root": root, "mac": b.mac,
                });
                let text = self.render("boot-grub2", &ctx)?;
                ops.push(FileOp::put(format!("boot/grub2/{node}"), text));
            }
        }
        Ok(ops)
    }

    /// Whether the boot files of `method` come from a built-in template (which puts the
    /// node's name in as it is: see [`ByName`]).
    pub fn builtin_boot_template(&self, method: Method) -> bool {
        self.is_builtin(match method {
            Method::Xnba => "boot-xnba",
            Method::Pxelinux => "boot-pxelinux",
            Method::Grub2Tftp | Method::Grub2Http => "boot-grub2",
        })
    }
}

/// The links of [`Templates::boot_files`] for `node` at `ip`: its file under its address in
/// hex, and under its MAC (grub2).
pub fn boot_links(method: Method, node: &str, ip: &str, mac: Option<&str>) -> Vec<FileOp> {
    let hex = hex_ip(ip);
    let mut ops = Vec::new();
    match method {
        Method::Xnba => {}
        Method::Pxelinux => {
            if let Some(h) = &hex {
                ops.push(FileOp::Symlink {
                    path: format!("pxelinux.cfg/{h}"),
                    target: node.to_string(),
                });
            }
        }
        Method::Grub2Tftp | Method::Grub2Http => {
            let file = format!("boot/grub2/{node}");
            if let Some(h) = &hex {
                ops.push(FileOp::Hardlink {
                    path: format!("boot/grub2/grub.cfg-{h}"),
                    target: file.clone(),
                });
            }
            if let Some(m) = mac {
                ops.push(FileOp::Hardlink {
                    path: format!("boot/grub2/grub.cfg-01-{}", mac_dashed(m)),
                    target: file,
                });
            }
        }
    }
    ops
}

/// `aa:BB:cc` → `aa-bb-cc`.
pub fn mac_dashed(mac: &str) -> String {
    mac.to_ascii_lowercase().replace(':', "-")
}

/// Every path (relative to the tftp directory) where nodeset may have left boot files for a
/// node, whatever its method: what the old service node's cleanup removes.
pub fn boot_paths(node: &str, ip: &str, mac: Option<&str>) -> Vec<String> {
    let mut v = vec![
        format!("xcat/xnba/nodes/{node}"),
        format!("xcat/xnba/nodes/{node}.uefi"),
        format!("xcat/xnba/nodes/{node}.elilo"),
        format!("xcat/xnba/nodes/{node}.pxelinux"),
        format!("pxelinux.cfg/{node}"),
        format!("boot/grub2/{node}"),
        format!("boot/grub2/grub2-{node}"),
        format!("petitboot/{node}"),
    ];
    if let Some(h) = hex_ip(ip) {
        v.push(format!("pxelinux.cfg/{h}"));
        v.push(format!("boot/grub2/grub.cfg-{h}"));
    }
    if let Some(m) = mac {
        v.push(format!("boot/grub2/grub.cfg-01-{}", mac_dashed(m)));
    }
    v
}

/// A node's IPv4 address in upper-case hex, as PXE ROMs ask for it (`10.1.17.1` → `0A011101`).
pub fn hex_ip(ip: &str) -> Option<String> {
    let ip: Ipv4Addr = ip.parse().ok()?;
    Some(ip.octets().iter().map(|o| format!("{o:02X}")).collect())
}

/// A boot loader, from noderes.netboot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Xnba,
    Pxelinux,
    Grub2Tftp,
    Grub2Http,
}

impl Method {
    /// noderes.netboot as xCAT names it; unset means xnba (x86) or grub2 (aarch64, ppc64le with
    /// grub).
    pub fn from_netboot(netboot: Option<&str>, arch: Option<&str>) -> Result<Method, String> {
        match netboot.map(str::trim).filter(|s| !s.is_empty()) {
            Some("xnba") => Ok(Method::Xnba),
            Some("pxe") => Ok(Method::Pxelinux),
            Some("grub2") | Some("grub2-tftp") => Ok(Method::Grub2Tftp),
            Some("grub2-http") => Ok(Method::Grub2Http),
            Some(other) => Err(format!(
                "netboot method '{other}' is not supported for boot files (xnba, pxe, grub2, grub2-tftp, grub2-http are)"
            )),
            None => match arch {
                Some(a) if a.starts_with("aarch64") || a.starts_with("ppc64") => {
                    Ok(Method::Grub2Tftp)
                }
                _ => Ok(Method::Xnba),
            },
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Method::Xnba => "xnba",
            Method::Pxelinux => "pxe",
            Method::Grub2Tftp => "grub2",
            Method::Grub2Http => "grub2-http",
        }
    }
}

/// What a boot file makes the node do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootMode {
    /// Boot from the local disk (an installed diskful node).
    Local,
    /// Load a kernel: netboot (stateless), statelite, or an install that is in progress.
    Net {
        /// The state comment (`netboot <image>`, `statelite <image>`, `install <image>`).
        state: String,
        /// Paths relative to the tftp directory.
        kernel: String,
        initrd: String,
        kcmdline: String,
    },
}

/// Everything one node's boot files depend on.
#[derive(Debug, Clone)]
pub struct BootSpec {
    pub node: String,
    pub method: Method,
    pub ip: String,
    pub mac: Option<String>,
    /// The boot server's address (grub2 `set root=`).
    pub server: String,
    pub http_port: u16,
    pub tftpdir: String,
    pub mode: BootMode,
}

/// A file operation under the tftp directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOp {
    Put {
        path: String,
        content: String,
    },
    /// A symbolic link `path` → `target` (relative to the link's directory).
    Symlink {
        path: String,
        target: String,
    },
    /// A hard link `path` to the file `target` (both relative to the tftp directory).
    Hardlink {
        path: String,
        target: String,
    },
    Remove {
        path: String,
    },
}

impl FileOp {
    fn put(path: String, content: String) -> Self {
        FileOp::Put { path, content }
    }
    pub fn path(&self) -> &str {
        match self {
            FileOp::Put { path, .. }
            | FileOp::Symlink { path, .. }
            | FileOp::Hardlink { path, .. }
            | FileOp::Remove { path } => path,
        }
    }
}

/// The kinds of image xCAT provisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Install,
    Netboot,
    Statelite,
}

impl ImageKind {
    /// From a provmethod keyword or an osimage's provmethod (`install`, `netboot`, `statelite`;
    /// `diskless`/`stateless` are netboot).
    pub fn parse(s: &str) -> Option<ImageKind> {
        match s.trim() {
            "install" => Some(ImageKind::Install),
            "netboot" | "diskless" | "stateless" => Some(ImageKind::Netboot),
            "statelite" => Some(ImageKind::Statelite),
            _ => None,
        }
    }
    /// From an osimage name following xCAT's `<os>-<arch>-<kind>-<profile>` convention.
    pub fn from_image_name(name: &str) -> Option<ImageKind> {
        name.split('-').find_map(ImageKind::parse)
    }
    pub fn name(self) -> &'static str {
        match self {
            ImageKind::Install => "install",
            ImageKind::Netboot => "netboot",
            ImageKind::Statelite => "statelite",
        }
    }
}

/// Where the kernel command line must point, after a move.
#[derive(Debug, Clone)]
pub struct KcmdlineTarget {
    pub node: String,
    /// The node's xcatmaster address (`XCAT=`, `LOGSERVER=`, `!myipfn!`).
    pub master: String,
    pub xcatdport: u16,
    /// The image server (`imgurl=`): nfsserver, else tftpserver, else xcatmaster.
    pub imgsrv: String,
    /// The NFS server (`NFSROOT=`): nfsserver, else xcatmaster. An external NFS server stays.
    pub nfs: String,
    pub http_port: u16,
}

/// A kernel command line as stored by xCAT (`bootparams.kcmdline`), re-pointed: `XCAT=`,
/// `imgurl=`'s host, `NFSROOT=`'s host, `LOGSERVER=`, `syslog.server=` and xCAT's `!myipfn!`
/// placeholder take the node's current servers; everything else is kept as it was.
pub fn repoint_kcmdline(stored: &str, t: &KcmdlineTarget) -> String {
    stored
        .split_whitespace()
        .map(|w| {
            let w = w.replace("!myipfn!", &t.master);
            if let Some(v) = w.strip_prefix("XCAT=") {
                let port = v.rsplit_once(':').map(|(_, p)| p.to_string());
                let port = port.unwrap_or_else(|| t.xcatdport.to_string());
                format!("XCAT={}:{port}", t.master)
            } else if let Some(v) = w.strip_prefix("imgurl=") {
                format!("imgurl={}", replace_url_host(v, &t.imgsrv))
            } else if let Some(v) = w.strip_prefix("NFSROOT=") {
                match v.split_once(':') {
                    Some((_, dir)) => format!("NFSROOT={}:{dir}", t.nfs),
                    None => w.to_string(),
                }
            } else if w.starts_with("LOGSERVER=") {
                format!("LOGSERVER={}", t.master)
            } else if w.starts_with("syslog.server=") {
                format!("syslog.server={}", t.master)
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn replace_url_host(url: &str, host: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let port = authority
        .rsplit_once(':')
        .map(|(_, p)| format!(":{p}"))
        .unwrap_or_default();
    format!("{scheme}://{host}{port}{path}")
}

/// The kernel command line xCAT's mknetboot stores for an image, built from its root image
/// directory (stateless: `imgurl=`; statelite: `NFSROOT=`).
pub fn default_kcmdline(kind: ImageKind, rootimgdir: &str, t: &KcmdlineTarget) -> String {
    let tail = format!("XCAT={}:{} NODE={} FC=0", t.master, t.xcatdport, t.node);
    match kind {
        ImageKind::Statelite => format!(
            "NFSROOT={}:{}/rootimg STATEMNT= {tail}",
            t.nfs,
            rootimgdir.trim_end_matches('/')
        ),
        _ => format!(
            "imgurl=http://{}:{}/{}/rootimg.cpio.gz {tail}",
            t.imgsrv,
            t.http_port,
            rootimgdir.trim_end_matches('/')
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> KcmdlineTarget {
        KcmdlineTarget {
            node: "cn1".into(),
            master: "10.1.16.12".into(),
            xcatdport: 3001,
            imgsrv: "10.1.16.12".into(),
            nfs: "10.1.0.200".into(),
            http_port: 80,
        }
    }

    #[test]
    fn hex_ips_and_macs() {
        assert_eq!(hex_ip("10.250.1.101").as_deref(), Some("0AFA0165"));
        assert_eq!(hex_ip("fe80::1"), None);
        assert_eq!(mac_dashed("02:B7:01:00:01"), "02-b7-01-00-01");
    }

    #[test]
    fn kernel_command_lines_follow_the_node_but_keep_an_external_nfs_server() {
        let stored = "imgurl=http://10.1.16.11:80//install/netboot/x/rootimg.cpio.gz XCAT=10.1.16.11:3001 NODE=cn1 FC=0 console=ttyS0,115200";
        assert_eq!(
            repoint_kcmdline(stored, &target()),
            "imgurl=http://10.1.16.12:80//install/netboot/x/rootimg.cpio.gz XCAT=10.1.16.12:3001 NODE=cn1 FC=0 console=ttyS0,115200"
        );
        let lite =
            "NFSROOT=10.1.0.200:/install/netboot/x/rootimg STATEMNT= XCAT=!myipfn!:3001 NODE=cn1";
        assert_eq!(
            repoint_kcmdline(lite, &target()),
            "NFSROOT=10.1.0.200:/install/netboot/x/rootimg STATEMNT= XCAT=10.1.16.12:3001 NODE=cn1"
        );
        assert_eq!(
            default_kcmdline(ImageKind::Netboot, "/install/netboot/d/x/c", &target()),
            "imgurl=http://10.1.16.12:80//install/netboot/d/x/c/rootimg.cpio.gz XCAT=10.1.16.12:3001 NODE=cn1 FC=0"
        );
        assert!(
            default_kcmdline(ImageKind::Statelite, "/install/netboot/d/x/c", &target())
                .starts_with("NFSROOT=10.1.0.200:/install/netboot/d/x/c/rootimg STATEMNT= XCAT=")
        );
    }

    #[test]
    fn image_kinds() {
        assert_eq!(
            ImageKind::from_image_name("rhels9.4-x86_64-install-compute"),
            Some(ImageKind::Install)
        );
        assert_eq!(ImageKind::parse("netboot"), Some(ImageKind::Netboot));
        assert_eq!(ImageKind::from_image_name("custom"), None);
        assert_eq!(
            Method::from_netboot(None, Some("aarch64")),
            Ok(Method::Grub2Tftp)
        );
        assert!(Method::from_netboot(Some("petitboot"), None).is_err());
    }

    fn spec(method: Method, mode: BootMode) -> BootSpec {
        BootSpec {
            node: "cn1".into(),
            method,
            ip: "10.1.17.1".into(),
            mac: Some("02:B7:78:01:00:01".into()),
            server: "10.1.16.12".into(),
            http_port: 80,
            tftpdir: "/tftpboot".into(),
            mode,
        }
    }

    fn net() -> BootMode {
        BootMode::Net {
            state: "netboot img".into(),
            kernel: "xcat/osimage/img/kernel".into(),
            initrd: "xcat/osimage/img/initrd-stateless.gz".into(),
            kcmdline: "imgurl=http://10.1.16.12:80//install/r/rootimg.cpio.gz XCAT=10.1.16.12:3001 NODE=cn1 FC=0".into(),
        }
    }

    #[test]
    fn xnba_files_are_xcats() {
        let t = Templates::builtin();
        let ops = t.boot_files(&spec(Method::Xnba, net())).unwrap();
        assert_eq!(ops.len(), 2);
        let FileOp::Put { path, content } = &ops[0] else {
            panic!()
        };
        assert_eq!(path, "xcat/xnba/nodes/cn1");
        assert_eq!(
            content,
            "#!gpxe\n#netboot img\nimgfetch -n kernel http://${next-server}:80/tftpboot/xcat/osimage/img/kernel\nimgload kernel\nimgargs kernel imgurl=http://10.1.16.12:80//install/r/rootimg.cpio.gz XCAT=10.1.16.12:3001 NODE=cn1 FC=0 BOOTIF=01-${netX/mac:hexhyp}\nimgfetch -n initrd http://${next-server}:80/tftpboot/xcat/osimage/img/initrd-stateless.gz\nimgexec kernel\n"
        );
        let ops = t.boot_files(&spec(Method::Xnba, BootMode::Local)).unwrap();
        assert_eq!(
            ops[0],
            FileOp::Put {
                path: "xcat/xnba/nodes/cn1".into(),
                content: "#!gpxe\n#boot\nexit\n".into()
            }
        );
    }

    #[test]
    fn pxelinux_and_grub2_files_with_their_links() {
        let t = Templates::builtin();
        let ops = t.boot_files(&spec(Method::Pxelinux, net())).unwrap();
        let FileOp::Put { content, .. } = &ops[0] else {
            panic!()
        };
        assert_eq!(
            content,
            "#netboot img\nDEFAULT xCAT\nLABEL xCAT\n KERNEL xcat/osimage/img/kernel\n APPEND initrd=xcat/osimage/img/initrd-stateless.gz imgurl=http://10.1.16.12:80//install/r/rootimg.cpio.gz XCAT=10.1.16.12:3001 NODE=cn1 FC=0\n  IPAPPEND 2\n"
        );
        assert_eq!(
            ops[1],
            FileOp::Symlink {
                path: "pxelinux.cfg/0A011101".into(),
                target: "cn1".into()
            }
        );
        let local = t
            .boot_files(&spec(Method::Pxelinux, BootMode::Local))
            .unwrap();
        assert_eq!(
            local[0],
            FileOp::Put {
                path: "pxelinux.cfg/cn1".into(),
                content: "#boot\nDEFAULT xCAT\nLABEL xCAT\n LOCALBOOT 0\n".into()
            }
        );

        let ops = t.boot_files(&spec(Method::Grub2Tftp, net())).unwrap();
        let FileOp::Put { path, content } = &ops[0] else {
            panic!()
        };
        assert_eq!(path, "boot/grub2/cn1");
        assert!(
            content.starts_with("#netboot img\nset timeout=5\n"),
            "{content}"
        );
        assert!(
            content.contains("\n    set root=tftp,10.1.16.12\n"),
            "{content}"
        );
        assert!(
            content.contains(" NODE=cn1 FC=0 BOOTIF=01-02-b7-78-01-00-01\n"),
            "{content}"
        );
        assert!(content.ends_with("initrd /xcat/osimage/img/initrd-stateless.gz\n}\n"));
        assert_eq!(ops[1].path(), "boot/grub2/grub.cfg-0A011101");
        assert_eq!(ops[2].path(), "boot/grub2/grub.cfg-01-02-b7-78-01-00-01");
        let http = t.boot_files(&spec(Method::Grub2Http, net())).unwrap();
        let FileOp::Put { content, .. } = &http[0] else {
            panic!()
        };
        assert!(content.contains("set root=http,10.1.16.12:80\n"));
        let local = t
            .boot_files(&spec(Method::Grub2Tftp, BootMode::Local))
            .unwrap();
        let FileOp::Put { content, .. } = &local[0] else {
            panic!()
        };
        assert!(content.starts_with("#boot\n") && content.contains("    exit\n"));
    }

    #[test]
    fn dhcp_and_console_entries() {
        let t = Templates::builtin();
        let h = DhcpHost::new(
            "cn1",
            "02:B7:78:01:00:01",
            "10.1.17.1",
            "10.1.16.12",
            Method::Xnba,
            80,
            "/tftpboot",
        );
        let s = t.dhcpd_host(&h).unwrap();
        assert!(s.starts_with("#xCAT host declaration for cn1 start\nhost cn1 {\n  hardware ethernet 02:b7:78:01:00:01;\n"));
        assert!(
            s.contains("    filename = \"http://10.1.16.12:80/tftpboot/xcat/xnba/nodes/cn1\";\n")
        );
        assert!(
            s.ends_with("}\n#xCAT host declaration for cn1 end\n"),
            "{s}"
        );
        let k = t.kea_reservation(&h).unwrap();
        assert_eq!(k["next-server"], "10.1.16.12");
        assert_eq!(k["hw-address"], "02:b7:78:01:00:01");
        let c = t.conserver_console("cn1", "ipmi", None).unwrap();
        assert_eq!(c, "#xCAT BEGIN cn1 CONS\nconsole cn1 {\n  type exec;\n  exec /opt/xcat/share/xcat/cons/ipmi cn1;\n}\n#xCAT END cn1 CONS\n");
        assert!(t
            .conserver_console("cn1", "ipmi", Some(true))
            .unwrap()
            .contains("  options ondemand;\n"));
        assert_eq!(
            t.conserver_master("cn1", "sn2").unwrap(),
            "#xCAT BEGIN cn1 CONS\nconsole cn1 {\n  type exec;\n  master sn2;\n}\n#xCAT END cn1 CONS\n"
        );
        let hd = t.conserver_header(&["10.1.0.1".into()], false).unwrap();
        assert!(hd.contains("access * {\n  trusted 127.0.0.1;\n  trusted 10.1.0.1;\n}\n"));
    }
}
