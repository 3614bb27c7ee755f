//! Low-level Linux plumbing: network namespaces, starting a node (its mount, UTS and PID
//! namespaces, overlays and private mounts, done in Rust between fork and exec), entering nodes,
//! finding and killing the processes of a namespace.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Directory where `ip netns` keeps its namespace files.
pub const NETNS_DIR: &str = "/run/netns";

/// Runs a command and fails (with its stderr) unless it exits 0.
pub fn run(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{:?} failed ({}): {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

/// Starts `ip [-n NS] -batch -` fed with `lines`; returns the child (wait with [`wait_ok`]).
pub fn ip_batch_spawn(netns: Option<&str>, lines: &str) -> Result<std::process::Child> {
    let mut cmd = Command::new("ip");
    if let Some(ns) = netns {
        cmd.args(["-n", ns]);
    }
    cmd.args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().context("spawn ip -batch")?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .context("feed ip -batch")?;
    Ok(child)
}

/// Waits for a child and fails unless it exited 0.
pub fn wait_ok(child: std::process::Child, what: &str) -> Result<()> {
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Runs `ip [-n NS] -batch -` and waits.
pub fn ip_batch(netns: Option<&str>, lines: &str) -> Result<()> {
    wait_ok(
        ip_batch_spawn(netns, lines)?,
        &format!("ip -batch ({netns:?})"),
    )
}

/// Inode of a network namespace file under `/run/netns`.
pub fn netns_inode(ns: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(Path::new(NETNS_DIR).join(ns))
        .ok()
        .map(|m| m.ino())
        // an unmounted leftover file has the inode of the tmpfs/ext4 file, not of an nsfs
        .filter(|_| is_nsfs(&Path::new(NETNS_DIR).join(ns)))
}

fn is_nsfs(p: &Path) -> bool {
    let c = match CString::new(p.as_os_str().as_bytes()) {
        Ok(c) => c,
        Err(_) => return false,
    };
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // NSFS_MAGIC
    unsafe { libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type as u64 == 0x6e73_6673 }
}

/// Names of all network namespaces under `/run/netns` that start with `prefix`.
pub fn list_netns(prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(NETNS_DIR)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Deletes a network namespace (`ip netns del`): unmount and remove its file.
pub fn delete_netns(ns: &str) -> Result<()> {
    let p = Path::new(NETNS_DIR).join(ns);
    let c = CString::new(p.as_os_str().as_bytes())?;
    unsafe {
        libc::umount2(c.as_ptr(), libc::MNT_DETACH);
    }
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow!("remove {}: {e}", p.display())),
    }
}

/// Mounts a tmpfs (mode 755) on `dir`.
pub fn mount_tmpfs(source: &str, dir: &Path) -> Result<()> {
    let (src, target) = (cs(source), cs(dir));
    let (fstype, data) = (cs("tmpfs"), cs("mode=755"));
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            data.as_ptr() as *const libc::c_void,
        )
    };
    if r != 0 {
        bail!(
            "mount tmpfs on {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// Mount points (of this process's mount namespace) at or under `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let d = dir.to_string_lossy().trim_end_matches('/').to_string();
    let mut v: Vec<PathBuf> = std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(|t| t.replace("\\040", " "))
        .filter(|t| *t == d || t.starts_with(&format!("{d}/")))
        .map(PathBuf::from)
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    v
}

/// Detaches every mount at or under `dir`.
pub fn umount_under(dir: &Path) {
    // a stacked mount shows up once per layer: repeat until none is left
    for _ in 0..8 {
        let m = mounts_under(dir);
        if m.is_empty() {
            return;
        }
        for p in m {
            let c = cs(&p);
            unsafe {
                libc::umount2(c.as_ptr(), libc::MNT_DETACH);
            }
        }
    }
}

/// The network-namespace inode of a process.
pub fn proc_netns(pid: u32) -> Option<u64> {
    let l = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()?;
    let s = l.to_string_lossy();
    s.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}

/// All processes (not threads) whose network namespace is one of `inodes`.
pub fn pids_in_netns(inodes: &HashSet<u64>) -> Vec<u32> {
    let mut v = vec![];
    if inodes.is_empty() {
        return v;
    }
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.filter_map(|e| e.ok()) {
            if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
                if proc_netns(pid).is_some_and(|i| inodes.contains(&i)) {
                    v.push(pid);
                }
            }
        }
    }
    v
}

/// True when `/proc/<pid>` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// True when `/proc/<pid>` exists at all (zombies included).
pub fn exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Reaps `pid` if it is an exited child of this process.
pub fn reap(pid: u32) {
    let mut st = 0;
    unsafe {
        libc::waitpid(pid as i32, &mut st, libc::WNOHANG);
    }
}

/// A process: pid and start time.
type Proc = (u32, u64);

/// Start time (clock ticks since boot) of a process: with the pid it names one process for
/// good, so a pid recycled by an unrelated process is never signalled.
pub fn starttime(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

/// Kills the processes of a bed's namespaces in two rounds: first everything but the `unshare`
/// processes that hold the nodes (so each node's PID 1 is reaped by its own `unshare`, which
/// then exits), then whatever is left. Returns the survivors.
pub fn kill_tree_and_wait(pids: &[u32], timeout: Duration) -> Vec<u32> {
    let procs: Vec<(u32, u64)> = pids
        .iter()
        .filter_map(|&p| starttime(p).map(|t| (p, t)))
        .collect();
    let is_holder = |p: &(u32, u64)| {
        std::fs::read_to_string(format!("/proc/{}/comm", p.0)).is_ok_and(|c| c.trim() == "unshare")
    };
    let (holders, others): (Vec<Proc>, Vec<Proc>) = procs.iter().copied().partition(is_holder);
    kill_and_wait_procs(&others, timeout.min(Duration::from_secs(2)));
    // holders exit by themselves once their child is gone; give them a moment, then kill
    let t0 = Instant::now();
    while holders.iter().any(|&(p, _)| {
        reap(p);
        alive(p)
    }) && t0.elapsed() < Duration::from_millis(300)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    kill_and_wait_procs(&procs, timeout)
}

/// Sends SIGKILL to every pid, then waits (reaping our own children) until none is left or
/// `timeout` passes. Returns the pids that were still there at the end.
pub fn kill_and_wait(pids: &[u32], timeout: Duration) -> Vec<u32> {
    let procs: Vec<(u32, u64)> = pids
        .iter()
        .filter_map(|&p| starttime(p).map(|t| (p, t)))
        .collect();
    kill_and_wait_procs(&procs, timeout)
}

fn kill_and_wait_procs(procs: &[(u32, u64)], timeout: Duration) -> Vec<u32> {
    let same = |&(p, t): &(u32, u64)| starttime(p) == Some(t);
    for pr in procs {
        if same(pr) && alive(pr.0) {
            unsafe {
                libc::kill(pr.0 as i32, libc::SIGKILL);
            }
        }
    }
    let t0 = Instant::now();
    loop {
        let left: Vec<u32> = procs
            .iter()
            .filter(|pr| {
                if !same(pr) {
                    return false;
                }
                reap(pr.0);
                same(pr) && (alive(pr.0) || is_our_child(pr.0))
            })
            .map(|pr| pr.0)
            .collect();
        if left.is_empty() || t0.elapsed() > timeout {
            return left;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn is_our_child(pid: u32) -> bool {
    ppid(pid) == Some(std::process::id())
}

/// Parent pid of a process.
pub fn ppid(pid: u32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = s.rsplit_once(')')?.1;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Children of a process (`/proc/PID/task/PID/children`).
pub fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Listening TCP ports and bound UDP ports of the network namespace `pid` is in.
pub fn ports(pid: u32) -> (HashSet<u16>, HashSet<u16>) {
    let parse = |file: &str, listen_only: bool| -> HashSet<u16> {
        let mut set = HashSet::new();
        for f in [file, &format!("{file}6")] {
            let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/net/{f}")) else {
                continue;
            };
            for line in s.lines().skip(1) {
                let cols: Vec<&str> = line.split_whitespace().collect();
                if cols.len() < 4 {
                    continue;
                }
                if listen_only && cols[3] != "0A" {
                    continue;
                }
                if let Some((_, port)) = cols[1].rsplit_once(':') {
                    if let Ok(p) = u16::from_str_radix(port, 16) {
                        set.insert(p);
                    }
                }
            }
        }
        set
    };
    (parse("tcp", true), parse("udp", false))
}

/// Runs `f` on a new thread that has entered the network namespace `ns` (by name under
/// `/run/netns`). Sockets created there stay in that namespace; the rest of the process is
/// untouched. This is how the probes speak DHCP, TFTP, DNS and NTP from inside a node.
pub fn in_netns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let path = Path::new(NETNS_DIR).join(ns);
    let file = std::fs::File::open(&path).with_context(|| format!("open {}", path.display()))?;
    let h = std::thread::spawn(move || -> Result<T> {
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            bail!("setns: {}", std::io::Error::last_os_error());
        }
        drop(file);
        f()
    });
    h.join().map_err(|_| anyhow!("probe thread panicked"))?
}

/// What [`spawn_node`] needs to start one node.
#[derive(Debug, Clone)]
pub struct NodeSpawn {
    /// Network namespace (name under /run/netns) the node lives in.
    pub netns: String,
    /// Host name (UTS namespace).
    pub hostname: String,
    /// `<state>/nodes/<node>`: holds `{etc,opt,var}.{up,wk}`.
    pub node_dir: PathBuf,
    /// Host paths bound into the node: (source on the host, target inside the node).
    pub binds: Vec<(PathBuf, PathBuf)>,
    /// Shell script run as the node's PID 1; it must end by exec'ing a long-running reaper
    /// (the bed uses `exec /usr/sbin/sshd -D -e -f ...`).
    pub script: String,
    /// File that receives the node's stdout and stderr.
    pub log: PathBuf,
    /// RLIMIT_NOFILE for the node, if it needs more than the default.
    pub nofile: Option<u64>,
}

enum Step {
    Mount {
        src: CString,
        target: CString,
        fstype: CString,
        flags: libc::c_ulong,
        data: Option<CString>,
        desc: CString,
    },
    Mkdir {
        path: CString,
        mode: libc::mode_t,
    },
    Mknod {
        path: CString,
        dev: libc::dev_t,
        desc: CString,
    },
    Symlink {
        target: CString,
        link: CString,
    },
}

fn cs(s: impl AsRef<std::ffi::OsStr>) -> CString {
    CString::new(s.as_ref().as_bytes()).expect("no NUL in paths")
}

fn mount_step(src: &str, target: &str, fstype: &str, flags: libc::c_ulong, data: &str) -> Step {
    Step::Mount {
        src: cs(src),
        target: cs(target),
        fstype: cs(fstype),
        flags,
        data: (!data.is_empty()).then(|| cs(data)),
        desc: cs(format!(
            "baton-testbed node init: mount -t {fstype} {src} {target} -o {data} failed\n"
        )),
    }
}

/// Everything the pre-exec hook uses, allocated before the fork.
struct Prepared {
    netfd: OwnedFd,
    hostname: CString,
    run_netns: CString,
    bind_srcs: Vec<CString>,
    bind_fds: Vec<libc::c_int>,
    bind_mkdirs: Vec<Vec<CString>>,
    bind_targets: Vec<CString>,
    steps: Vec<Step>,
    root: CString,
    empty: CString,
    nofile: Option<u64>,
}

const OPEN_TREE_CLONE: libc::c_uint = 1;
const AT_RECURSIVE: libc::c_uint = 0x8000;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;

fn fail(msg: &CString) -> std::io::Error {
    let e = std::io::Error::last_os_error();
    let b = msg.as_bytes();
    unsafe {
        libc::write(2, b.as_ptr() as *const libc::c_void, b.len());
    }
    e
}

impl Prepared {
    /// Runs in the child between fork and exec: only system calls, no allocation.
    fn apply(&mut self) -> std::io::Result<()> {
        static E_SETNS: &[u8] = b"baton-testbed node init: setns/unshare failed\n\0";
        static E_BIND: &[u8] = b"baton-testbed node init: bind of a host path failed\n\0";
        let msg = |m: &'static [u8]| -> std::io::Error {
            let e = std::io::Error::last_os_error();
            unsafe {
                libc::write(2, m.as_ptr() as *const libc::c_void, m.len() - 1);
            }
            e
        };
        unsafe {
            libc::umask(0);
            if libc::setns(self.netfd.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                return Err(msg(E_SETNS));
            }
            if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWUTS) != 0 {
                return Err(msg(E_SETNS));
            }
            if libc::mount(
                std::ptr::null(),
                self.root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                return Err(msg(E_SETNS));
            }
            // drop this namespace's copies of /run/netns/* so that no other bed's namespace is
            // pinned by it
            libc::umount2(self.run_netns.as_ptr(), libc::MNT_DETACH);
            let h = self.hostname.as_bytes();
            if libc::sethostname(h.as_ptr() as *const libc::c_char, h.len()) != 0 {
                return Err(msg(E_SETNS));
            }
            for (i, src) in self.bind_srcs.iter().enumerate() {
                let fd = libc::syscall(
                    libc::SYS_open_tree,
                    libc::AT_FDCWD,
                    src.as_ptr(),
                    OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | AT_RECURSIVE,
                );
                if fd < 0 {
                    return Err(msg(E_BIND));
                }
                self.bind_fds[i] = fd as libc::c_int;
            }
            for step in &self.steps {
                match step {
                    Step::Mount {
                        src,
                        target,
                        fstype,
                        flags,
                        data,
                        desc,
                    } => {
                        let d = data
                            .as_ref()
                            .map(|d| d.as_ptr() as *const libc::c_void)
                            .unwrap_or(std::ptr::null());
                        if libc::mount(src.as_ptr(), target.as_ptr(), fstype.as_ptr(), *flags, d)
                            != 0
                        {
                            return Err(fail(desc));
                        }
                    }
                    Step::Mkdir { path, mode } => {
                        libc::mkdir(path.as_ptr(), *mode);
                    }
                    Step::Mknod { path, dev, desc } => {
                        if libc::mknod(path.as_ptr(), libc::S_IFCHR | 0o666, *dev) != 0 {
                            return Err(fail(desc));
                        }
                    }
                    Step::Symlink { target, link } => {
                        libc::symlink(target.as_ptr(), link.as_ptr());
                    }
                }
            }
            for i in 0..self.bind_fds.len() {
                for d in &self.bind_mkdirs[i] {
                    libc::mkdir(d.as_ptr(), 0o755);
                }
                let r = libc::syscall(
                    libc::SYS_move_mount,
                    self.bind_fds[i],
                    self.empty.as_ptr(),
                    libc::AT_FDCWD,
                    self.bind_targets[i].as_ptr(),
                    MOVE_MOUNT_F_EMPTY_PATH,
                );
                if r != 0 {
                    return Err(msg(E_BIND));
                }
                libc::close(self.bind_fds[i]);
            }
            if let Some(n) = self.nofile {
                let rl = libc::rlimit {
                    rlim_cur: n,
                    rlim_max: n,
                };
                libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
            }
            libc::umask(0o022);
            libc::setsid();
            libc::chdir(self.root.as_ptr());
        }
        Ok(())
    }
}

fn ancestors_of(p: &Path) -> Vec<CString> {
    let mut v: Vec<CString> = p
        .ancestors()
        .skip(1)
        .filter(|a| a.as_os_str().len() > 1)
        .map(cs)
        .collect();
    v.reverse();
    v.push(cs(p));
    v
}

/// Starts a node: a child that enters the node's network namespace, makes its own mount and UTS
/// namespaces (overlay `/etc /opt /var` whose upper dirs are `<node_dir>/{etc,opt,var}.up`;
/// tmpfs `/run /tmp /root /dev` with a minimal /dev and its own devpts; its own sysfs; the given
/// host paths bound back in), then execs `unshare --pid --fork --kill-child` so that
/// the script runs as PID 1 of a new PID namespace. Returns the pid of that `unshare` process
/// (in the root PID namespace); the node's PID 1 is its only child (see [`wait_child`]).
pub fn spawn_node(spec: &NodeSpawn) -> Result<std::process::Child> {
    let netpath = Path::new(NETNS_DIR).join(&spec.netns);
    let netfd: OwnedFd = std::fs::File::open(&netpath)
        .with_context(|| format!("open {}", netpath.display()))?
        .into();
    let mut steps = vec![mount_step(
        "sysfs",
        "/sys",
        "sysfs",
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        "",
    )];
    for m in ["etc", "opt", "var"] {
        let up = spec.node_dir.join(format!("{m}.up"));
        let wk = spec.node_dir.join(format!("{m}.wk"));
        std::fs::create_dir_all(&up)?;
        // the work dir is scratch: start it empty (a `volatile` mount leaves a marker in it
        // that would refuse the next mount after a kill)
        if wk.exists() {
            std::fs::remove_dir_all(&wk)?;
        }
        std::fs::create_dir_all(&wk)?;
        steps.push(mount_step(
            &format!("ov-{}-{m}", spec.hostname),
            &format!("/{m}"),
            "overlay",
            0,
            &format!(
                "lowerdir=/{m},upperdir={},workdir={},volatile",
                up.display(),
                wk.display()
            ),
        ));
    }
    let h = &spec.hostname;
    let nosuid = libc::MS_NOSUID | libc::MS_NODEV;
    steps.push(mount_step(
        &format!("run-{h}"),
        "/run",
        "tmpfs",
        nosuid,
        "mode=755",
    ));
    steps.push(mount_step(
        &format!("tmp-{h}"),
        "/tmp",
        "tmpfs",
        nosuid,
        "mode=1777",
    ));
    steps.push(mount_step(
        &format!("root-{h}"),
        "/root",
        "tmpfs",
        nosuid,
        "mode=700",
    ));
    steps.push(mount_step(
        &format!("dev-{h}"),
        "/dev",
        "tmpfs",
        libc::MS_NOSUID,
        "mode=755",
    ));
    for (name, major, minor) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ] {
        let p = format!("/dev/{name}");
        steps.push(Step::Mknod {
            desc: cs(format!("baton-testbed node init: mknod {p} failed\n")),
            path: cs(&p),
            dev: libc::makedev(major, minor),
        });
    }
    steps.push(Step::Mkdir {
        path: cs("/dev/pts"),
        mode: 0o755,
    });
    steps.push(mount_step(
        &format!("pts-{h}"),
        "/dev/pts",
        "devpts",
        libc::MS_NOSUID | libc::MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=620",
    ));
    steps.push(Step::Mkdir {
        path: cs("/dev/shm"),
        mode: 0o1777,
    });
    steps.push(mount_step(
        &format!("shm-{h}"),
        "/dev/shm",
        "tmpfs",
        nosuid,
        "mode=1777",
    ));
    for (t, l) in [
        ("pts/ptmx", "/dev/ptmx"),
        ("/proc/self/fd", "/dev/fd"),
        ("/proc/self/fd/0", "/dev/stdin"),
        ("/proc/self/fd/1", "/dev/stdout"),
        ("/proc/self/fd/2", "/dev/stderr"),
    ] {
        steps.push(Step::Symlink {
            target: cs(t),
            link: cs(l),
        });
    }
    for (d, mode) in [("/run/sshd", 0o755), ("/run/lock", 0o1777)] {
        steps.push(Step::Mkdir { path: cs(d), mode });
    }
    let mut prep = Prepared {
        netfd,
        hostname: cs(h),
        run_netns: cs(NETNS_DIR),
        bind_srcs: spec.binds.iter().map(|(s, _)| cs(s)).collect(),
        bind_fds: vec![-1; spec.binds.len()],
        bind_mkdirs: spec.binds.iter().map(|(_, t)| ancestors_of(t)).collect(),
        bind_targets: spec.binds.iter().map(|(_, t)| cs(t)).collect(),
        steps,
        root: cs("/"),
        empty: cs(""),
        nofile: spec.nofile,
    };
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log)
        .with_context(|| format!("open {}", spec.log.display()))?;
    let mut cmd = Command::new("/usr/bin/unshare");
    // /proc is mounted by the script itself (PID 1 of the new PID namespace), in the node's
    // mount namespace: no second mount namespace per node (each costs an RCU grace period and
    // its mounts at teardown)
    let script = format!(
        "mount -t proc -o nosuid,nodev,noexec proc /proc || exit 1\n{}",
        spec.script
    );
    cmd.args([
        "--pid",
        "--fork",
        "--kill-child",
        "--",
        "/bin/sh",
        "-c",
        &script,
    ])
    .env_clear()
    .envs(node_env())
    .stdin(Stdio::null())
    .stdout(log.try_clone()?)
    .stderr(log);
    unsafe {
        cmd.pre_exec(move || prep.apply());
    }
    cmd.spawn()
        .with_context(|| format!("start node {} (see {})", spec.hostname, spec.log.display()))
}

/// The environment processes inside nodes get.
pub fn node_env() -> HashMap<String, String> {
    let mut m = HashMap::new();
    m.insert(
        "PATH".into(),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
    );
    m.insert("HOME".into(), "/root".into());
    m.insert("USER".into(), "root".into());
    m.insert("LOGNAME".into(), "root".into());
    m.insert("LANG".into(), "C.UTF-8".into());
    m.insert("SHELL".into(), "/bin/bash".into());
    if let Ok(t) = std::env::var("TERM") {
        m.insert("TERM".into(), t);
    }
    m
}

/// Waits until `pid` has a child; returns it.
pub fn wait_child(pid: u32, timeout: Duration) -> Result<u32> {
    let t0 = Instant::now();
    loop {
        if let Some(&c) = children(pid).first() {
            return Ok(c);
        }
        if !alive(pid) {
            bail!("process {pid} exited before starting its child");
        }
        if t0.elapsed() > timeout {
            bail!("process {pid} has no child after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A `Command` that runs `args` inside the namespaces (mount, UTS, network, PID) of `pid1`.
pub fn nsenter(pid1: u32, args: &[impl AsRef<std::ffi::OsStr>]) -> Command {
    let mut cmd = Command::new("nsenter");
    cmd.arg("-t")
        .arg(pid1.to_string())
        .args(["-m", "-u", "-n", "-p", "--"])
        .args(args)
        .env_clear()
        .envs(node_env());
    cmd
}
