//! Fault points for tests: `BATON_FAULT=NAME` aborts the process at the point named NAME, to
//! prove that `resume` finishes what a crash there leaves. The points: `after-commit`,
//! `wave-started:N` (wave N's steps marked unknown, none run yet) and `wave-done:N` (its
//! results recorded); and `error-after-commit`, where an error is returned instead (as a
//! database that fails after the commit would). Compiled into debug builds only: a
//! release build (what ships) has no such switch.

/// Abort here when `BATON_FAULT` names this point (debug builds only).
#[cfg(debug_assertions)]
pub(crate) fn point(name: &str) {
    if std::env::var("BATON_FAULT").is_ok_and(|f| f == name) {
        std::process::abort();
    }
}

#[cfg(not(debug_assertions))]
pub(crate) fn point(_name: &str) {}

/// An error here when `BATON_FAULT` names this point (debug builds only).
#[cfg(debug_assertions)]
pub(crate) fn error(name: &str) -> crate::Result<()> {
    match std::env::var("BATON_FAULT") {
        Ok(f) if f == name => Err(crate::TakeoverError::Unsupported(format!(
            "injected fault: {name}"
        ))),
        _ => Ok(()),
    }
}

#[cfg(not(debug_assertions))]
pub(crate) fn error(_name: &str) -> crate::Result<()> {
    Ok(())
}
