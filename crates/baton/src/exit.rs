//! Exit statuses. 0 only when everything asked for was done.

use clusterdb::Error;

pub const OK: i32 = 0;
/// The operation failed (database error, a step failed).
pub const FAILED: i32 = 1;
/// Usage or validation error: bad arguments or input; nothing was changed.
pub const USAGE: i32 = 2;
/// A pre-flight check failed: nothing was changed.
pub const PREFLIGHT: i32 = 3;
/// Partial run: the database was switched, some steps are not done; `resume` can finish them.
pub const PARTIAL: i32 = 4;

/// A command's failure: what to tell the user and the exit status.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: i32,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: USAGE,
        }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: FAILED,
        }
    }
}

/// Database trouble is a failure; anything else the database layer rejects is bad input.
fn db_code(e: &Error) -> i32 {
    match e {
        Error::Store(_) | Error::Unsupported(_) | Error::Missing(_) | Error::Exists(_) => FAILED,
        _ => USAGE,
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure {
            code: db_code(&e),
            message: e.to_string(),
        }
    }
}

impl From<takeover::TakeoverError> for Failure {
    fn from(e: takeover::TakeoverError) -> Self {
        use takeover::TakeoverError as T;
        let code = match &e {
            T::Validation(_) => USAGE,
            T::Preflight(_) | T::Busy(_) => PREFLIGHT,
            T::Conflict(_) | T::Unsupported(_) | T::Interrupted => FAILED,
            T::Db(db) => db_code(db),
            // The move is committed: whatever failed since, `resume` finishes it.
            T::AfterCommit { .. } => PARTIAL,
        };
        Failure {
            message: e.to_string(),
            code,
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            // `baton nodels all | head`: the reader went away; not an error.
            std::process::exit(OK);
        }
        Failure::failed(e.to_string())
    }
}
