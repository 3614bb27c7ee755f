//! The takeover: an snmove request becomes a [`Plan`] (computed purely from one consistent
//! database snapshot plus what the destination service nodes report), and a plan is applied:
//! a journal entry and every database change in ONE transaction that first checks the plan's
//! old values are still current, then the SN-side and CN-side steps in order, each result
//! recorded in the journal. `resume` runs what is not done; `rollback` restores the old values.
//!
//! Invariant: nothing here talks to ssh or files; the caller provides an [`Env`] (name
//! resolution, service node addresses) and a [`StepRunner`] (the steps themselves).

pub mod adopt;
pub mod apply;
pub mod balance;
mod fault;
pub mod gate;
pub mod journal;
pub mod lease;
pub mod model;
pub mod outcome;
pub mod plan;
pub mod report;
pub mod stale;

pub use apply::{
    apply, resume, resume_as, rollback, Outcome, RunMeta, SampleSteps, StepResult, StepRunner,
    UnimplementedSteps,
};
pub use model::*;
pub use outcome::NodeOutcome;
pub use plan::{plan, sn_loads, Env};

/// Why a takeover did not (fully) happen. Each kind has its own exit status.
#[derive(Debug, thiserror::Error)]
pub enum TakeoverError {
    /// Bad arguments or data: nothing changed.
    #[error("{}", .0.join("\n"))]
    Validation(Vec<String>),
    /// A pre-flight check failed: nothing changed (`--force` overrides).
    #[error("{}", .0.join("\n"))]
    Preflight(Vec<String>),
    /// Someone changed a planned value since the plan was made: nothing changed.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unsupported(String),
    /// Another live run holds a lease on the same journal entry or nodes: nothing changed.
    #[error("{0}")]
    Busy(String),
    #[error(transparent)]
    Db(#[from] clusterdb::Error),
    /// Asked to stop (a signal) before the commit: nothing changed.
    #[error("interrupted before the commit: nothing was changed")]
    Interrupted,
    /// An error after journal entry `id` was committed: the database names the new service
    /// nodes, and not every step ran or was recorded; `baton resume ID` finishes it.
    #[error("{source}\nJournal entry {id} is committed (the database names the new service nodes) but not every step is done or recorded; `baton resume {id}` finishes it.")]
    AfterCommit { id: i64, source: Box<TakeoverError> },
}

impl TakeoverError {
    pub fn validation(msg: impl Into<String>) -> Self {
        TakeoverError::Validation(vec![msg.into()])
    }
    /// `e`, which happened after entry `id` was committed (said once, however deep).
    pub fn after_commit(id: i64, e: TakeoverError) -> Self {
        match e {
            e @ TakeoverError::AfterCommit { .. } => e,
            e => TakeoverError::AfterCommit {
                id,
                source: Box::new(e),
            },
        }
    }
}

pub type Result<T> = std::result::Result<T, TakeoverError>;

/// The process's peak resident memory so far, in MiB (Linux), for the phase timings logged
/// with `BATON_LOG`.
pub(crate) fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024)
}

/// CPU time used by this process so far (user + system), for the phase logs: wall time
/// alone misleads on a loaded machine.
pub(crate) fn cpu_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces, so split after its ')').
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name, in the
    // kernel's USER_HZ (100 on Linux).
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10)
}
