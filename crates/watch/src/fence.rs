//! The fencing hook: a site program (e.g. a power-off through the BMC) run before any node of a
//! down SN is handed to another, so the SN cannot come back half-alive and answer for them. The
//! SN's name is the program's last argument and `BATON_SN` in its environment: never shell text.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use wait_timeout::ChildExt;

/// A fence done in this process (`baton watch --fence ipmi`): Ok once `sn` is confirmed off.
pub type Builtin = Arc<dyn Fn(&str, Duration) -> Result<(), String> + Send + Sync>;

/// The hook: a program and its own arguments, or a built-in fence.
#[derive(Clone)]
pub struct Fence {
    pub argv: Vec<String>,
    pub timeout: Duration,
    /// When set, called (with the SN and the timeout) instead of running `argv`.
    pub builtin: Option<Builtin>,
}

impl std::fmt::Debug for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fence")
            .field("argv", &self.argv)
            .field("timeout", &self.timeout)
            .field("builtin", &self.builtin.is_some())
            .finish()
    }
}

impl Fence {
    /// Fence `sn`: Ok when the program exited 0 within the timeout (or the built-in fence
    /// confirmed it); Err says why not.
    pub fn run(&self, sn: &str) -> Result<(), String> {
        if let Some(b) = &self.builtin {
            return b(sn, self.timeout);
        }
        let (prog, args) = self
            .argv
            .split_first()
            .ok_or_else(|| "the fencing command is empty".to_string())?;
        let mut child = Command::new(prog)
            .args(args)
            .arg(sn)
            .env("BATON_SN", sn)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run the fencing command {prog}: {e}"))?;
        let status = match child.wait_timeout(self.timeout) {
            Ok(Some(s)) => s,
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the fencing command {prog} did not finish within {} s",
                    self.timeout.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for the fencing command {prog}: {e}")),
        };
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "the fencing command {prog} failed ({status}): {}",
                err.trim()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fence(script: &str, secs: u64) -> Fence {
        Fence {
            argv: vec!["sh".into(), "-c".into(), script.into(), "fence".into()],
            timeout: Duration::from_secs(secs),
            builtin: None,
        }
    }

    #[test]
    fn the_sn_is_an_argument_and_an_env_var_never_shell_text() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let f = Fence {
            argv: vec![
                "sh".into(),
                "-c".into(),
                "printf '%s|%s' \"$1\" \"$BATON_SN\" > \"$0\"".into(),
                out.display().to_string(),
            ],
            timeout: Duration::from_secs(10),
            builtin: None,
        };
        f.run("sn1;touch x").unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "sn1;touch x|sn1;touch x"
        );
    }

    #[test]
    fn failure_and_timeout_are_errors() {
        let e = fence("echo no BMC answer >&2; exit 3", 10)
            .run("sn1")
            .unwrap_err();
        assert!(e.contains("failed") && e.contains("no BMC answer"), "{e}");
        let e = fence("sleep 30", 1).run("sn1").unwrap_err();
        assert!(e.contains("did not finish within 1 s"), "{e}");
        let e = Fence {
            argv: vec!["/nonexistent/fence".into()],
            timeout: Duration::from_secs(1),
            builtin: None,
        }
        .run("sn1")
        .unwrap_err();
        assert!(e.contains("cannot run"), "{e}");
        fence("exit 0", 10).run("sn1").unwrap();
    }

    #[test]
    fn a_builtin_fence_replaces_the_program() {
        let f = Fence {
            argv: vec!["/nonexistent/fence".into()],
            timeout: Duration::from_secs(7),
            builtin: Some(Arc::new(|sn: &str, t: Duration| {
                Err(format!("{sn} not off within {}", t.as_secs()))
            })),
        };
        assert_eq!(f.run("sn1").unwrap_err(), "sn1 not off within 7");
        assert!(format!("{f:?}").contains("builtin: true"));
    }
}
