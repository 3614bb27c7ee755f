//! `baton watch` (the failover daemon) and `baton status` (each SN's health and load).

use crate::exit::Failure;
use crate::snmove::{run_meta, runner, BalanceArgs, CliEnv, ExecArgs};
use clap::Args;
use clusterdb::{ClusterDb, DbUrl};
use remote::Ssh;
use std::path::PathBuf;
use std::time::Duration;
use watch::probe::{Service, SshProber};

const WATCH_HELP: &str = "\
WHAT IT DOES
  Probes every service node (nodes with a servicenode-table row) each --interval: one ssh
  session runs `ss -lntu` on it, which proves sshd answers and shows whether DHCP (UDP 67),
  TFTP (UDP 69), NTP (UDP 123) and syslog (UDP/TCP 514) listen (--services picks which count).
  After --threshold failed rounds in a row an SN is declared down: the --fence program runs
  (it must exit 0 within --fence-timeout), then its nodes (those whose primary SN it is) are
  spread over the other members of each node's servicenode pool, evening out the loads
  (--capacity weights them), never onto an SN that failed its last probe. The move is an
  ordinary takeover: one journal entry whose command names `baton watch`, steps as snmove runs
  them, `baton resume`/`baton rollback` work on it. Nodes whose pool has no SN left stay and
  are logged.

SAFETY
  Only one watcher acts per cluster database: a PostgreSQL session advisory lock, a MySQL
  GET_LOCK, or for SQLite files flock(2) on <db>.watch.lock. The others watch on standby and
  take over when the active one exits. An SN comes back after --threshold passed rounds in a
  row; its pending cleanups (DHCP, boot and console entries of nodes it no longer serves) are
  run with the journal's resume. Nothing is moved back to it unless --move-back is given: then,
  once its cleanups are done and it has stayed up for --move-back-after seconds more (the hold
  starts anew if it fails a probe), the nodes the watcher's own takeovers moved away from it
  and that are still on the SN they were moved to go back in one ordinary move (`snmove
  NODES -d SN`, journaled); nodes moved elsewhere since stay. At most one takeover per down
  period and one move back per up period. An SN that goes down again with no node left causes
  no move. --report-only logs what would be done and changes nothing.

OUTPUT
  State changes and actions are logged on stderr. The state of every SN is written to
  --state-file after each round (read by `baton status`) and served in Prometheus text format
  on --metrics (http://ADDR/metrics).

FENCING RULES
  A down SN is fenced only when a takeover can follow: some SN of its nodes' pools passed the
  same round's probe. It is fenced at most once per down period; a failed fence is retried
  after 1, 2, 4, ... 32 rounds and its nodes stay until it succeeds. An SN that passes a probe
  again is never fenced. When more than half of the SNs fail at once, the watcher suspects
  itself (management node isolated?): it acts on none, says so in the log, in `baton status`
  and in the metrics (baton_watch_isolated), and resumes when most answer again. Either
  --fence PROGRAM (checked at start) or --no-fence (a warning at start and on every takeover)
  is required unless --report-only.

ADOPTING THE DOWN SN'S ADDRESS (--adopt-address, needs --fence)
  Once the fence confirmed the SN is off, the takeover's first step puts its compute address on
  the destination that takes most of its nodes (then checks that no other host answers ARP for
  it, and lets go again if one does): every node is served again (syslog, NTP, DNS, TFTP, its
  default route) before it is re-pointed. The address is let go once all its nodes are
  re-pointed; when the SN returns, its cleanup keeps its address down while it is held
  elsewhere and brings it back after. See snmove --help, ADOPTING.

BUILT-IN FENCE (--fence ipmi)
  Does what `baton fence SN` does, in the watcher: powers the down SN off through its own BMC
  (its ipmi table row, from the management node) and confirms `Chassis Power is off`, retrying
  with backoff within --fence-timeout; when it cannot confirm, the SN's nodes are not taken
  over (retried as any failed fence). baton fence's options go with --fence-arg
  (--fence-arg=--tries --fence-arg=3). A program of your own named ipmi: give its path (./ipmi).

COMPUTE SIDE
  The probe session also reads the state of the SN's own compute interface (the one holding
  the address its nodes know it by: their xcatmaster) and pings the other SNs' compute
  addresses. An SN whose compute interface is down, or whose compute address answers none of
  the peers that could ping, fails the round although ssh works. An SN the management node
  cannot reach counts as up only when a peer reaches its sshd on its compute address.

EXAMPLES
  baton watch --interval 2 --threshold 3 --fence /etc/baton/poweroff-sn
  baton watch --fence ipmi
  baton watch --no-fence
  baton watch --report-only
  baton watch --move-back --move-back-after 300
  baton status";

#[derive(Args, Debug)]
#[command(after_help = WATCH_HELP)]
pub struct WatchArgs {
    /// Seconds between probe rounds (with the defaults a killed SN is declared down in about
    /// 2 s, a silent one in about 7 s)
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    pub interval: f64,
    /// Seconds one probe may take (ssh connection included; 3 s lets a lost packet be resent)
    #[arg(long, default_value_t = 3, value_name = "SECS")]
    pub timeout: u64,
    /// Failed rounds in a row that declare an SN down (and passed rounds that bring it back)
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub threshold: u32,
    /// Services whose socket must be listening (comma-separated: dhcp,tftp,ntp,syslog; `none`
    /// for ssh alone)
    #[arg(long, value_name = "LIST", default_value = "dhcp,tftp,ntp,syslog")]
    pub services: String,
    /// Fencing program, run with the SN's name as last argument (and in BATON_SN) before its
    /// nodes are moved; must exit 0. `ipmi`: the built-in fence (baton fence SN)
    #[arg(long, value_name = "PROGRAM")]
    pub fence: Option<String>,
    /// An argument for the fencing program, before the SN's name (repeatable)
    #[arg(long = "fence-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub fence_args: Vec<String>,
    /// Seconds the fencing program may take
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub fence_timeout: u64,
    /// Take over without fencing (a down SN that is still half alive may then answer for its
    /// nodes too); one of --fence and --no-fence is required unless --report-only
    #[arg(long, conflicts_with = "fence")]
    pub no_fence: bool,
    /// After the fence, a destination holds the down SN's compute address until its nodes
    /// are re-pointed: they are served again at once (see snmove --help, ADOPTING); needs --fence
    #[arg(long, requires = "fence")]
    pub adopt_address: bool,
    /// Log what would be done; change nothing
    #[arg(long)]
    pub report_only: bool,
    /// Move the nodes taken over from an SN back to it when it returns (off: never)
    #[arg(long)]
    pub move_back: bool,
    /// Seconds a returned SN must stay up before its nodes move back (with --move-back)
    #[arg(
        long,
        default_value_t = 0.0,
        value_name = "SECS",
        requires = "move_back"
    )]
    pub move_back_after: f64,
    /// Address of the Prometheus endpoint (`off` for none)
    #[arg(long, default_value = "127.0.0.1:9105", value_name = "ADDR")]
    pub metrics: String,
    /// The state file `baton status` reads (default $BATON_WATCH_STATE or /run/baton/watch.json)
    #[arg(long, value_name = "PATH")]
    pub state_file: Option<PathBuf>,
    #[command(flatten)]
    pub balance: BalanceArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The watcher's state file (default $BATON_WATCH_STATE or /run/baton/watch.json)
    #[arg(long, value_name = "PATH")]
    pub state_file: Option<PathBuf>,
    /// Seconds one probe may take, when no watcher's state is fresh
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub timeout: u64,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

fn services(list: &str) -> Result<Vec<Service>, Failure> {
    if list.trim() == "none" {
        return Ok(Vec::new());
    }
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Service::parse(s).map_err(Failure::usage))
        .collect()
}

fn prober(timeout: u64, services: Vec<Service>) -> Result<SshProber, Failure> {
    let mut ssh = Ssh::from_env().map_err(|e| Failure::usage(e.to_string()))?;
    ssh.connect_timeout = Duration::from_secs(timeout.max(1));
    let mut fanout = remote::fanout::FanOut::new(ssh);
    fanout.command_timeout = Duration::from_secs(timeout.max(1));
    Ok(SshProber {
        fanout,
        services,
        compute: Default::default(),
        suspects: Default::default(),
        known: Default::default(),
    })
}

pub fn watch(url: &DbUrl, a: WatchArgs) -> Result<(), Failure> {
    if !(a.interval.is_finite() && a.interval > 0.0) {
        return Err(Failure::usage(
            "--interval must be a positive number of seconds",
        ));
    }
    if !(a.move_back_after.is_finite() && a.move_back_after >= 0.0) {
        return Err(Failure::usage(
            "--move-back-after must be a number of seconds, 0 or more",
        ));
    }
    if a.threshold == 0 {
        return Err(Failure::usage("--threshold must be at least 1"));
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let prober = prober(a.timeout, services(&a.services)?)?;
    check_fence(&a)?;
    let fence = match a.fence.as_deref() {
        Some(FENCE_IPMI) => Some(ipmi_fence(url, &a)?),
        Some(p) => {
            let mut argv = vec![p.to_string()];
            argv.extend(a.fence_args.iter().cloned());
            Some(watch::fence::Fence {
                argv,
                timeout: Duration::from_secs(a.fence_timeout.max(1)),
                builtin: None,
            })
        }
        None => None,
    };
    let words: Vec<String> = std::env::args().skip(1).collect();
    let mut meta = run_meta("baton", None, &words);
    meta.command = format!("baton watch (pid {})", std::process::id());
    let exec = a.exec.clone();
    let runner_url = url.clone();
    let env = CliEnv::new()?;
    let mut actions = watch::actions::DbActions::new(
        url.clone(),
        Box::new(env),
        Box::new(move |db: &mut ClusterDb| {
            runner(&runner_url, db, &exec)
                .map(|r| Box::new(r) as Box<dyn takeover::StepRunner>)
                .map_err(|f| f.message)
        }),
        meta,
    )?;
    actions.capacity = a.balance.capacity.iter().cloned().collect();
    actions.adopt_address = a.adopt_address;
    let cfg = watch::Config {
        interval: Duration::from_secs_f64(a.interval),
        threshold: a.threshold,
        report_only: a.report_only,
        fence,
        state_file: Some(a.state_file.unwrap_or_else(watch::status::default_path)),
        move_back: a.move_back,
        move_back_after: Duration::from_secs_f64(a.move_back_after),
    };
    let mut w = watch::Watcher::new(cfg, prober, actions);
    if a.metrics != "off" {
        let addr = watch::metrics::serve(&a.metrics, w.metrics.clone())
            .map_err(|e| Failure::usage(format!("--metrics {}: {e}", a.metrics)))?;
        tracing::info!("metrics on http://{addr}/metrics");
    }
    tracing::info!(
        "watching every {} s, down after {} failed rounds{}{}",
        a.interval,
        a.threshold,
        if a.move_back {
            format!(", moving nodes back after {} s more up", a.move_back_after)
        } else {
            String::new()
        },
        if a.report_only { " (report only)" } else { "" }
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| Failure::failed(format!("cannot catch signal {sig}: {e}")))?;
    }
    w.run(&|| stop.load(std::sync::atomic::Ordering::SeqCst));
    Ok(())
}

/// `--fence ipmi`: the built-in fence, `baton fence SN` (with --fence-arg options such as
/// --tries), run in the watcher itself.
const FENCE_IPMI: &str = "ipmi";

fn ipmi_fence(url: &DbUrl, a: &WatchArgs) -> Result<watch::fence::Fence, Failure> {
    Ok(watch::fence::Fence {
        argv: vec!["baton".into(), "fence".into()],
        timeout: Duration::from_secs(a.fence_timeout.max(1)),
        builtin: Some(crate::fence::builtin(url, &a.fence_args)?),
    })
}

/// A watcher that may act must be told how to fence: a program that exists and can be run,
/// found at start rather than when an SN fails at 3 a.m.; or --no-fence, said loudly.
fn check_fence(a: &WatchArgs) -> Result<(), Failure> {
    match &a.fence {
        Some(p) if p == FENCE_IPMI => {}
        Some(p) => {
            let path = if p.contains('/') {
                Some(PathBuf::from(p))
            } else {
                std::env::var_os("PATH").and_then(|dirs| {
                    std::env::split_paths(&dirs)
                        .map(|d| d.join(p))
                        .find(|f| f.is_file())
                })
            };
            let runnable = path.as_ref().is_some_and(|f| {
                use std::os::unix::fs::PermissionsExt;
                f.metadata()
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            });
            if !runnable {
                return Err(Failure::usage(format!(
                    "--fence {p}: not an executable file (the fencing program must exist and be executable)"
                )));
            }
        }
        None if a.no_fence => tracing::warn!("--no-fence: down service nodes are taken over without fencing; one that is still half alive may answer for its nodes too"),
        None if a.report_only => {}
        None => {
            return Err(Failure::usage(
                "say how a down service node is fenced before its nodes are taken over: --fence PROGRAM (for example a power-off through its BMC), or --no-fence to take over without fencing",
            ))
        }
    }
    Ok(())
}

/// Is `pid` a running `baton watch` (or `baton-watch`) on this host?
fn is_watcher(pid: u32) -> bool {
    let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let words: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
    let named = |w: &[u8]| w.ends_with(b"baton") || w.ends_with(b"baton-watch");
    words.first().is_some_and(|w| named(w)) && words.iter().any(|w| *w == b"watch")
}

pub fn status(url: &DbUrl, a: StatusArgs) -> Result<(), Failure> {
    let mut db = ClusterDb::open(url)?;
    let loads = {
        let snap = db.read()?;
        watch::actions::loads(&snap)?
    };
    let path = a.state_file.unwrap_or_else(watch::status::default_path);
    let now = watch::status::unix_now();
    let fresh = clusterdb::files::read_text(&path, clusterdb::files::SMALL)
        .ok()
        .and_then(|b| serde_json::from_str::<watch::status::StatusFile>(&b).ok())
        // A takeover can keep the watcher from writing for a while; a dead one is caught by
        // its PID below, so the age bound is generous.
        .filter(|s| now.saturating_sub(s.updated) <= (3.0 * s.interval_secs).ceil() as u64 + 60)
        // A watcher that said it stopped, or whose process is gone, shows nothing current.
        .filter(|s| !s.stopped && is_watcher(s.pid));
    let (mut st, source) = match fresh {
        Some(s) => {
            let from = format!(
                "watcher pid {}{} ({})",
                s.pid,
                if s.report_only {
                    ", report-only"
                } else if s.active {
                    ", active"
                } else {
                    ", standby"
                },
                path.display()
            );
            (s, from)
        }
        None => {
            let mut p = prober(a.timeout, Service::ALL.to_vec())?;
            (
                watch::watcher::probe_once(&mut p, &loads),
                "probed now (no running watcher)".to_string(),
            )
        }
    };
    // The load and the adopted addresses are the database's, now.
    for (sn, s) in st.sns.iter_mut() {
        s.nodes = loads.get(sn).copied().unwrap_or(0);
    }
    st.adopted = takeover::adopt::held(&db.read()?)?;
    if a.json {
        let v = serde_json::json!({ "source": source, "status": st });
        outln!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| Failure::failed(e.to_string()))?
        );
        return Ok(());
    }
    outln!("Service node health: {source}");
    if st.isolated {
        outln!("Warning: management node isolated? More than half of the service nodes fail at once; the watcher acts on none of them until most answer again.");
    }
    let rows: Vec<[String; 4]> = st
        .sns
        .iter()
        .map(|(sn, s)| {
            let h = &s.health;
            let failed: Vec<&str> = h
                .last
                .checks
                .iter()
                .filter(|(_, ok)| !**ok)
                .map(|(c, _)| c.as_str())
                .collect();
            let detail = match &h.last.error {
                Some(e) if failed.is_empty() => e.clone(),
                Some(e) => format!("failed: {} ({e})", failed.join(",")),
                None => String::new(),
            };
            [
                sn.clone(),
                h.health.as_str().to_string(),
                s.nodes.to_string(),
                detail,
            ]
        })
        .collect();
    let header = ["SN", "HEALTH", "NODES", "DETAIL"].map(String::from);
    out!("{}", takeover::report::columns("", &header, &rows));
    if !st.adopted.is_empty() {
        outln!("Adopted addresses (held until their nodes are re-pointed; `baton resume ENTRY`):");
        let rows: Vec<[String; 4]> = st
            .adopted
            .iter()
            .map(|a| {
                [
                    a.address.clone(),
                    a.owner.clone(),
                    a.holder.clone(),
                    a.entry.to_string(),
                ]
            })
            .collect();
        let header = ["ADDRESS", "OWNER", "HELD BY", "ENTRY"].map(String::from);
        out!("{}", takeover::report::columns("", &header, &rows));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::WatchArgs;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        a: WatchArgs,
    }

    /// The default timing's worst cases (a killed SN down in under 5 s, a silent one in under
    /// 8 s): a refused ssh fails at once, so `threshold` rounds of `interval`; a silent SN's
    /// rounds each wait `timeout`, and its silence may start just after a passed round.
    #[test]
    fn default_timing_detects_a_killed_sn_in_5_s_and_a_silent_one_in_8_s() {
        let a = Wrap::parse_from(["watch"]).a;
        let th = f64::from(a.threshold);
        let killed = (th + 1.0) * a.interval;
        let silent = th * a.interval.max(a.timeout as f64) + a.interval;
        assert!(killed < 5.0, "killed SN: {killed} s");
        assert!(silent < 8.0, "silent SN: {silent} s");
        // Never one failed round alone: a lost packet must not declare an SN down.
        assert!(a.threshold >= 2);
    }
}
