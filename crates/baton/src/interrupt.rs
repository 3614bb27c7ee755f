//! Ctrl-C or SIGTERM while a run's steps go: the first stops the run after the steps running
//! now (recorded in the journal; exit 4 with the resume hint); a second aborts at once (exit 4:
//! the journal marks the steps that may have started `unknown`, and `baton resume` redoes them).
//! Before the commit, the first one cancels the run with nothing changed.

use crate::exit::PARTIAL;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Catch SIGINT and SIGTERM from now on; the flag is set by the first one.
pub fn stop_on_signals() -> Option<Arc<AtomicBool>> {
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(s) => s,
        Err(e) => {
            errln!("Warning: cannot catch SIGINT/SIGTERM ({e}): an interrupt kills the run");
            return None;
        }
    };
    let flag = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&flag);
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if seen.swap(true, Ordering::SeqCst) {
                errln!("Aborted: steps that may have started read `unknown` in the journal; `baton resume` redoes them.");
                std::process::exit(PARTIAL);
            }
            errln!("Stopping: the running steps finish and are recorded, no new ones start (interrupt again to abort at once).");
        }
    });
    Some(flag)
}
