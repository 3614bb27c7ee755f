//! Network boot through a node's BMC with the system `ipmitool` (Debian package `ipmitool`):
//! set the boot device to PXE for the next boot, then power cycle the node (or power it on when
//! it is off). Many BMCs at once, a bounded number at a time, with one result per node.
//!
//! Invariant: a BMC password never appears on a command line (it travels in the child's
//! environment as `IPMI_PASSWORD`, read by `ipmitool -E`), nor in any message; host names are
//! checked before they reach a command line; every call has a time limit.

pub mod power;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use wait_timeout::ChildExt;

/// A BMC and the credentials to reach it.
#[derive(Clone)]
pub struct Bmc {
    pub host: String,
    /// UDP port (623 when None).
    pub port: Option<u16>,
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Bmc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bmc")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

/// `host`, `host:port`, `[v6]:port` or a bare IPv6 address.
pub fn parse_address(s: &str) -> Result<(String, Option<u16>), String> {
    let s = s.trim();
    let bad = || format!("'{s}' is not a BMC address (host, host:port or [ipv6]:port)");
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once(']').ok_or_else(bad)?;
        match p.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if p.is_empty() => (h, None),
            None => return Err(bad()),
        }
    } else if s.matches(':').count() == 1 {
        let (h, p) = s.split_once(':').ok_or_else(bad)?;
        (h, Some(p))
    } else {
        (s, None)
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?),
        None => None,
    };
    let valid = host.parse::<std::net::IpAddr>().is_ok()
        || (!host.is_empty()
            && !host.starts_with('-')
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)));
    if !valid {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// How ipmitool is run.
#[derive(Debug, Clone)]
pub struct Ipmitool {
    pub program: String,
    /// `lanplus` (IPMI 2.0, the default) or `lan` (IPMI 1.5).
    pub interface: String,
    /// Limit for one ipmitool call.
    pub timeout: Duration,
    /// ipmitool's own retries (`-R`) and per-try timeout in seconds (`-N`).
    pub retries: u32,
    pub try_secs: u32,
}

impl Default for Ipmitool {
    fn default() -> Self {
        Ipmitool {
            program: "ipmitool".into(),
            interface: "lanplus".into(),
            timeout: Duration::from_secs(60),
            retries: 2,
            try_secs: 3,
        }
    }
}

impl Ipmitool {
    /// The command line for one call: no password on it.
    pub fn argv(&self, bmc: &Bmc, args: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = vec![
            "-I".into(),
            self.interface.clone(),
            "-H".into(),
            bmc.host.clone(),
            "-U".into(),
            bmc.user.clone(),
            "-E".into(),
            "-R".into(),
            self.retries.to_string(),
            "-N".into(),
            self.try_secs.to_string(),
        ];
        if let Some(p) = bmc.port {
            v.extend(["-p".into(), p.to_string()]);
        }
        v.extend(args.iter().map(|a| a.to_string()));
        v
    }

    /// Run one ipmitool call; its standard output, or why it failed.
    pub fn run(&self, bmc: &Bmc, args: &[&str]) -> Result<String, String> {
        let mut child = Command::new(&self.program)
            .args(self.argv(bmc, args))
            .env("IPMI_PASSWORD", &bmc.password)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.program))?;
        let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
        let reader = std::thread::spawn(move || {
            let mut o = String::new();
            if let Some(s) = out.as_mut() {
                let _ = s.read_to_string(&mut o);
            }
            o
        });
        let ereader = std::thread::spawn(move || {
            let mut e = String::new();
            if let Some(s) = err.as_mut() {
                let _ = s.read_to_string(&mut e);
            }
            e
        });
        let status = match child
            .wait_timeout(self.timeout)
            .map_err(|e| e.to_string())?
        {
            Some(s) => s,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{}: no answer within {}s",
                    args.join(" "),
                    self.timeout.as_secs()
                ));
            }
        };
        let stdout = reader.join().unwrap_or_default();
        let stderr = ereader.join().unwrap_or_default();
        if status.success() {
            Ok(stdout)
        } else {
            // ipmitool never prints the password; the message is its last error line.
            let why = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty() && !l.contains("Cipher Suites"))
                .unwrap_or("failed")
                .trim()
                .to_string();
            Err(format!("{}: {why}", args.join(" ")))
        }
    }

    /// Boot device PXE for the next boot, then power cycle (on when off). Says what it did.
    pub fn netboot(&self, bmc: &Bmc) -> Result<String, String> {
        self.run(bmc, &["chassis", "bootdev", "pxe"])?;
        let status = self.run(bmc, &["chassis", "power", "status"])?;
        let action = match power::power_state(&status)? {
            "on" => "cycle",
            _ => "on",
        };
        self.run(bmc, &["chassis", "power", action])?;
        Ok(format!("boot device pxe, power {action}"))
    }
}

/// Run `f` over `items`, at most `width` at a time; results in item order.
pub fn fan_out<T: Sync, R: Send>(items: &[T], width: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..width.max(1).min(items.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                if let Ok(mut o) = out.lock() {
                    o[i] = Some(r);
                }
            });
        }
    });
    out.into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(parse_address("bmc1").unwrap(), ("bmc1".into(), None));
        assert_eq!(
            parse_address("127.0.0.1:6230").unwrap(),
            ("127.0.0.1".into(), Some(6230))
        );
        assert_eq!(
            parse_address("[fd00::5]:623").unwrap(),
            ("fd00::5".into(), Some(623))
        );
        assert_eq!(parse_address("fd00::5").unwrap(), ("fd00::5".into(), None));
        for bad in ["", "-oProxy", "a b", "h:0", "h:x", "[fd00::5", "h;rm"] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_password_is_never_on_the_command_line() {
        let bmc = Bmc {
            host: "10.0.0.5".into(),
            port: Some(6230),
            user: "admin".into(),
            password: "hunter2".into(),
        };
        let argv = Ipmitool::default().argv(&bmc, &["chassis", "power", "status"]);
        assert!(argv.iter().all(|a| !a.contains("hunter2")), "{argv:?}");
        assert!(argv.contains(&"-E".to_string()));
        assert!(!format!("{bmc:?}").contains("hunter2"));
    }

    #[test]
    fn fan_out_keeps_order_and_bounds_width() {
        let busy = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items: Vec<usize> = (0..50).collect();
        let out = fan_out(&items, 4, |i| {
            let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(2));
            busy.fetch_sub(1, Ordering::SeqCst);
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 4);
    }
}
