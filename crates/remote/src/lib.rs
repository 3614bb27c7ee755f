//! Reaching nodes: commands over the system OpenSSH client (so `~/.ssh/config`, the agent,
//! known_hosts checking and ProxyJump work as the administrator set them up), and host name
//! resolution as xCAT does it (the system's files and DNS).
//!
//! Invariant: a remote command is built from separate arguments, each quoted for the remote
//! POSIX shell; a host name is validated before it is put on an ssh command line.

pub mod fanout;
pub mod resolve;

use std::process::{Command, Stdio};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("'{0}' is not a valid host name")]
    BadHost(String),
    #[error("cannot run {program}: {reason}")]
    Spawn { program: String, reason: String },
    #[error("{host}: unreachable over ssh: {stderr}")]
    Unreachable { host: String, stderr: String },
    #[error("{host}: `{command}` failed (exit {code}): {stderr}")]
    Failed {
        host: String,
        command: String,
        code: i32,
        stderr: String,
    },
    #[error("BATON_SSH is empty or cannot be split into words: {0}")]
    BadProgram(String),
}

/// How to run ssh: the program (and its own arguments) from `BATON_SSH`, like git's `GIT_SSH`.
#[derive(Debug, Clone)]
pub struct Ssh {
    argv: Vec<String>,
    pub connect_timeout: Duration,
}

impl Ssh {
    /// `BATON_SSH` if set (split into words, so `ssh -F /path/config` works), else `ssh`.
    pub fn from_env() -> Result<Self, RemoteError> {
        match std::env::var("BATON_SSH") {
            Ok(s) if !s.trim().is_empty() => Self::new(&s),
            _ => Self::new("ssh"),
        }
    }

    pub fn new(command: &str) -> Result<Self, RemoteError> {
        let argv =
            shell_words::split(command).map_err(|e| RemoteError::BadProgram(e.to_string()))?;
        if argv.is_empty() {
            return Err(RemoteError::BadProgram(command.to_string()));
        }
        Ok(Ssh {
            argv,
            connect_timeout: Duration::from_secs(10),
        })
    }

    /// The full ssh command line for running `args` on `host`.
    pub fn command_line(&self, host: &str, args: &[&str]) -> Result<Vec<String>, RemoteError> {
        if !is_valid_host(host) {
            return Err(RemoteError::BadHost(host.to_string()));
        }
        let mut v = self.argv.clone();
        v.extend([
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            format!("ConnectTimeout={}", self.connect_timeout.as_secs().max(1)),
            "--".into(),
            host.to_string(),
            quote_command(args),
        ]);
        Ok(v)
    }

    /// Run `args` on `host` and return its standard output. ssh's own failure (exit 255) is
    /// `Unreachable`; a non-zero exit of the command is `Failed`.
    pub fn run(&self, host: &str, args: &[&str]) -> Result<String, RemoteError> {
        let argv = self.command_line(host, args)?;
        let out = child_of_baton(Command::new(&argv[0]).args(&argv[1..]))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| RemoteError::Spawn {
                program: argv[0].clone(),
                reason: e.to_string(),
            })?;
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        match out.status.code() {
            Some(0) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
            Some(255) | None => Err(RemoteError::Unreachable {
                host: host.to_string(),
                stderr,
            }),
            Some(code) => Err(RemoteError::Failed {
                host: host.to_string(),
                command: quote_command(args),
                code,
                stderr,
            }),
        }
    }
}

/// Make `cmd` a child of baton's: in a process group of its own (a terminal's Ctrl-C reaches
/// baton alone, which decides what to stop; a time limit kills the group whole), and killed when
/// the thread that started it dies (`PR_SET_PDEATHSIG`; baton's threads wait for their
/// children), so a killed baton leaves nothing running on its behalf.
pub fn child_of_baton(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    cmd.process_group(0);
    // SAFETY: only async-signal-safe calls between fork and exec (prctl, getppid, _exit).
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // baton died before the prctl: the signal will not come, so go now.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        })
    }
}

/// Quote each argument for a POSIX shell and join them: the remote side sees exactly `args`.
pub fn quote_command(args: &[&str]) -> String {
    shell_words::join(args)
}

/// RFC 1123 host names (labels of letters, digits and inner hyphens) and IP addresses. Nothing
/// that starts with `-` (it would be an ssh option) or holds shell metacharacters passes.
pub fn is_valid_host(s: &str) -> bool {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// A plain absolute path, safe as one argument of a remote command and as a place to write:
/// no `..` component, nothing but letters, digits and `/._-+`.
pub fn is_plain_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.split('/').any(|c| c == "..")
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b))
}

/// Addresses from `ip -o addr` output, in order (IPv4 and IPv6, without prefix lengths).
pub fn parse_ip_addr(output: &str) -> Vec<std::net::IpAddr> {
    output
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            words.find(|w| *w == "inet" || *w == "inet6")?;
            let addr = words.next()?;
            addr.split('/').next()?.parse().ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_validated() {
        for ok in [
            "sn1",
            "sn1-eth1",
            "cn0001.cluster.example",
            "10.1.0.2",
            "fe80::1",
            "node_1",
        ] {
            assert!(is_valid_host(ok), "{ok}");
        }
        for bad in [
            "",
            "-oProxyCommand=x",
            "a b",
            "a;b",
            "$(x)",
            "a..b",
            "sn1-",
            "`x`",
            "a/b",
        ] {
            assert!(!is_valid_host(bad), "{bad}");
        }
    }

    #[test]
    fn commands_are_quoted_for_the_remote_shell() {
        assert_eq!(
            quote_command(&["echo", "a b", "$(rm -rf /)", "it's"]),
            "echo 'a b' '$(rm -rf /)' 'it'\\''s'"
        );
        let ssh = Ssh::new("ssh -F /tmp/cfg").unwrap();
        let v = ssh.command_line("sn2", &["ip", "-o", "addr"]).unwrap();
        assert_eq!(v[..3], ["ssh", "-F", "/tmp/cfg"]);
        assert_eq!(v.last().unwrap(), "ip -o addr");
        assert!(ssh.command_line("-oProxyCommand=evil", &["true"]).is_err());
    }

    #[test]
    fn ip_addr_output_is_parsed() {
        let out = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                   2: eth1    inet 10.1.255.2/16 brd 10.1.255.255 scope global eth1\n\
                   2: eth1    inet6 fe80::1/64 scope link\n";
        let v = parse_ip_addr(out);
        assert_eq!(v.len(), 3);
        assert_eq!(v[1].to_string(), "10.1.255.2");
    }

    #[test]
    fn ssh_program_failures_are_reported() {
        let ssh = Ssh::new("/nonexistent/ssh").unwrap();
        assert!(matches!(
            ssh.run("sn1", &["true"]),
            Err(RemoteError::Spawn { .. })
        ));
        // `false` stands in for ssh: exit 1 means the remote command failed.
        let ssh = Ssh::new("false").unwrap();
        assert!(matches!(
            ssh.run("sn1", &["true"]),
            Err(RemoteError::Failed { code: 1, .. })
        ));
        let ssh = Ssh::new("sh -c 'exit 255' ssh").unwrap();
        assert!(matches!(
            ssh.run("sn1", &["true"]),
            Err(RemoteError::Unreachable { .. })
        ));
    }
}
