//! Printing that never panics: `println!` panics when standard output is a closed pipe
//! (`baton nodels all | head -1`), and `eprintln!` likewise for standard error. A closed pipe
//! must not interrupt the work (least of all a takeover between its commit and its steps), so
//! every line of the command goes through these macros: a failed write is dropped, and once
//! the reader has gone nothing more is written.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

/// Writes to standard output, ignoring a closed pipe.
pub fn stdout(args: std::fmt::Arguments<'_>) {
    write_to(&mut std::io::stdout().lock(), &STDOUT_GONE, args);
}

/// Writes to standard error, ignoring a closed pipe.
pub fn stderr(args: std::fmt::Arguments<'_>) {
    write_to(&mut std::io::stderr().lock(), &STDERR_GONE, args);
}

fn write_to(w: &mut dyn Write, gone: &AtomicBool, args: std::fmt::Arguments<'_>) {
    if gone.load(Ordering::Relaxed) {
        return;
    }
    if w.write_fmt(args).is_err() {
        gone.store(true, Ordering::Relaxed);
    }
}

/// `println!` that survives a closed pipe.
#[macro_export]
macro_rules! outln {
    () => { $crate::out::stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that survives a closed pipe.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::stdout(format_args!($($arg)*)) };
}

/// `eprintln!` that survives a closed pipe.
#[macro_export]
macro_rules! errln {
    () => { $crate::out::stderr(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::stderr(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` that survives a closed pipe.
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => { $crate::out::stderr(format_args!($($arg)*)) };
}
