//! Exit statuses. 0 only when everything asked for was done.

use clusterdb::Error;

pub const OK: i32 = 0;
/// The operation failed (database error, a step failed).
pub const FAILED: i32 = 1;
/// Usage or validation error: bad arguments or input; nothing was changed.
pub const USAGE: i32 = 2;

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

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match e {
            Error::Store(_) | Error::Unsupported(_) => FAILED,
            _ => USAGE,
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
