//! Running one command on many hosts at once, with bounded concurrency and timeouts, and a
//! structured result per host.

use crate::{is_valid_host, Ssh};
use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use wait_timeout::ChildExt;

/// One host's piece of work.
#[derive(Debug, Clone)]
pub struct Job {
    pub host: String,
    /// Connect through this host (ssh `-J`), e.g. the node's service node.
    pub jump: Option<String>,
    /// The remote command, one argument per element (each is quoted for the remote shell).
    pub args: Vec<String>,
    /// Bytes for the remote command's standard input.
    pub stdin: Vec<u8>,
}

/// What happened on one host. (Serialized, it is what a delegated run streams back.)
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostResult {
    /// The command ran and exited 0.
    Ok { stdout: String },
    /// The command ran and failed.
    Failed {
        code: i32,
        stdout: String,
        stderr: String,
    },
    /// ssh could not reach the host (or the command timed out).
    Unreachable { reason: String },
}

/// Run jobs over ssh, at most `fanout` at a time.
#[derive(Debug, Clone)]
pub struct FanOut {
    pub ssh: Ssh,
    pub fanout: usize,
    /// Limit for one host's whole command (connection included).
    pub command_timeout: Duration,
}

impl FanOut {
    pub fn new(ssh: Ssh) -> Self {
        FanOut {
            ssh,
            fanout: 64,
            command_timeout: Duration::from_secs(120),
        }
    }

    /// The ssh command line for one job.
    pub fn argv(&self, job: &Job) -> Result<Vec<String>, String> {
        let args: Vec<&str> = job.args.iter().map(String::as_str).collect();
        let mut argv = self
            .ssh
            .command_line(&job.host, &args)
            .map_err(|e| e.to_string())?;
        if let Some(j) = &job.jump {
            if !is_valid_host(j) {
                return Err(format!("'{j}' is not a valid host name"));
            }
            // Before the `--` that ends ssh's options.
            let at = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
            argv.splice(at..at, ["-J".to_string(), j.clone()]);
        }
        Ok(argv)
    }

    /// Run every job; `progress(done, total)` is called after each host finishes.
    pub fn run(
        &self,
        jobs: Vec<Job>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> BTreeMap<String, HostResult> {
        let mut out = BTreeMap::new();
        self.run_each(jobs, &mut |host, r, done, total| {
            out.insert(host.to_string(), r);
            progress(done, total);
        });
        out
    }

    /// Run every job and hand each host's result to `each(host, result, done, total)` as soon
    /// as that host finishes (on the calling thread), e.g. to stream it on.
    pub fn run_each(&self, jobs: Vec<Job>, each: &mut dyn FnMut(&str, HostResult, usize, usize)) {
        let total = jobs.len();
        let queue = Arc::new(Mutex::new(VecDeque::from(jobs)));
        let (tx, rx) = mpsc::channel();
        let workers = self.fanout.max(1).min(total.max(1));
        std::thread::scope(|s| {
            for _ in 0..workers {
                let queue = Arc::clone(&queue);
                let tx = tx.clone();
                s.spawn(move || {
                    while let Some(job) = queue.lock().map(|mut q| q.pop_front()).ok().flatten() {
                        let r = self.run_one(&job);
                        if tx.send((job.host, r)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            for (done, (host, r)) in rx.into_iter().enumerate() {
                each(&host, r, done + 1, total);
            }
        })
    }

    fn run_one(&self, job: &Job) -> HostResult {
        let argv = match self.argv(job) {
            Ok(a) => a,
            Err(reason) => return HostResult::Unreachable { reason },
        };
        let mut child = match crate::child_of_baton(Command::new(&argv[0]).args(&argv[1..]))
            .stdin(if job.stdin.is_empty() {
                Stdio::null()
            } else {
                Stdio::piped()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                return HostResult::Unreachable {
                    reason: format!("cannot run {}: {e}", argv[0]),
                }
            }
        };
        // Borrowed by the writer thread, not copied: a service node's batch can be a few
        // hundred megabytes.
        let data: &[u8] = &job.stdin;
        std::thread::scope(|s| {
            let feeder = child.stdin.take().map(|mut w| {
                s.spawn(move || {
                    let _ = w.write_all(data);
                })
            });
            let reader = |r: Option<Box<dyn Read + Send>>| {
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    if let Some(mut r) = r {
                        let _ = r.read_to_end(&mut buf);
                    }
                    String::from_utf8_lossy(&buf).into_owned()
                })
            };
            let out = reader(
                child
                    .stdout
                    .take()
                    .map(|r| Box::new(r) as Box<dyn Read + Send>),
            );
            let err = reader(
                child
                    .stderr
                    .take()
                    .map(|r| Box::new(r) as Box<dyn Read + Send>),
            );
            let status = match child.wait_timeout(self.command_timeout) {
                Ok(Some(s)) => Some(s),
                Ok(None) | Err(_) => {
                    // SAFETY: kill(2) on the process group we created; no memory is involved.
                    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                    let _ = child.wait();
                    None
                }
            };
            if let Some(f) = feeder {
                let _ = f.join();
            }
            let (stdout, stderr) = (
                out.join().unwrap_or_default(),
                err.join().unwrap_or_default(),
            );
            match status.and_then(|s| s.code()) {
                None if status.is_none() => HostResult::Unreachable {
                    reason: format!("no answer within {} s", self.command_timeout.as_secs()),
                },
                Some(0) => HostResult::Ok { stdout },
                Some(255) | None => HostResult::Unreachable {
                    reason: stderr.trim().to_string(),
                },
                Some(code) => HostResult::Failed {
                    code,
                    stdout,
                    stderr: stderr.trim().to_string(),
                },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(host: &str, args: &[&str]) -> Job {
        Job {
            host: host.into(),
            jump: None,
            args: args.iter().map(|s| s.to_string()).collect(),
            stdin: Vec::new(),
        }
    }

    /// A stand-in for ssh that runs the remote command locally with `sh -c`.
    fn local() -> FanOut {
        let ssh = Ssh::new(
            "sh -c 'while [ \"$1\" != -- ]; do shift; done; shift 2; exec sh -c \"$1\"' ssh",
        )
        .unwrap();
        FanOut::new(ssh)
    }

    #[test]
    fn results_per_host() {
        let f = local();
        let jobs = vec![
            job("a", &["echo", "hi there"]),
            job("b", &["sh", "-c", "echo bad >&2; exit 3"]),
            job("c", &["sh", "-c", "exit 255"]),
        ];
        let r = f.run(jobs, &|_, _| {});
        assert_eq!(
            r["a"],
            HostResult::Ok {
                stdout: "hi there\n".into()
            }
        );
        assert_eq!(
            r["b"],
            HostResult::Failed {
                code: 3,
                stdout: String::new(),
                stderr: "bad".into()
            }
        );
        assert!(matches!(r["c"], HostResult::Unreachable { .. }));
    }

    #[test]
    fn stdin_reaches_the_command_and_timeouts_kill() {
        let mut f = local();
        let mut j = job("a", &["cat"]);
        j.stdin = b"payload".to_vec();
        assert_eq!(
            f.run(vec![j], &|_, _| {})["a"],
            HostResult::Ok {
                stdout: "payload".into()
            }
        );
        f.command_timeout = Duration::from_millis(300);
        let r = f.run(vec![job("slow", &["sleep", "5"])], &|_, _| {});
        assert!(
            matches!(&r["slow"], HostResult::Unreachable { reason } if reason.contains("no answer"))
        );
    }

    #[test]
    fn bounded_concurrency_and_progress() {
        let mut f = local();
        f.fanout = 3;
        let jobs: Vec<Job> = (0..20).map(|i| job(&format!("h{i}"), &["true"])).collect();
        let seen = std::sync::atomic::AtomicUsize::new(0);
        let r = f.run(jobs, &|done, total| {
            assert_eq!(total, 20);
            seen.fetch_max(done, std::sync::atomic::Ordering::SeqCst);
        });
        assert_eq!(r.len(), 20);
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 20);
    }

    #[test]
    fn jump_host_goes_before_the_end_of_options() {
        let f = FanOut::new(Ssh::new("ssh").unwrap());
        let mut j = job("cn1", &["true"]);
        j.jump = Some("sn2".into());
        let argv = f.argv(&j).unwrap();
        let dd = argv.iter().position(|a| a == "--").unwrap();
        assert_eq!(argv[dd - 2..dd], ["-J", "sn2"]);
        j.jump = Some("-oProxyCommand=x".into());
        assert!(f.argv(&j).is_err());
    }
}
