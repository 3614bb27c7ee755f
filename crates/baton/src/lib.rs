//! The `baton` and `snmove` command lines. They parse arguments, open the cluster database, call
//! the library crates and print; the logic lives in the libraries.

#[macro_use]
mod out;
mod agent;
mod cli;
mod complete;
pub mod exit;
mod fence;
mod hwctl;
mod interrupt;
mod journalcmds;
mod manpage;
mod migrate;
mod nodecmds;
mod objcmds;
mod quickstart;
mod rnetboot;
mod rowcmds;
mod rpower;
mod snmove;
mod svccmds;
mod tablecmds;
mod watchcmd;
pub mod xcatnames;

use clap::Parser;
use exit::Failure;
use std::io::{IsTerminal, Write};

/// Print a failure the xCAT way (`Error: ...` lines on stderr) and return the exit status.
fn finish(result: Result<(), Failure>) -> i32 {
    match result {
        Ok(()) => exit::OK,
        Err(f) => {
            let _ = std::io::stdout().flush();
            for line in f.message.lines() {
                errln!("Error: {}", cut(line));
            }
            f.code
        }
    }
}

/// A message line as printed: a huge one (a 100 KB bad noderange echoed back) is cut, saying
/// how much was left out; control characters are escaped.
fn cut(line: &str) -> String {
    const KEEP: usize = 400;
    let shown: String = line
        .chars()
        .take(KEEP)
        .flat_map(|c| -> Vec<char> {
            match c.is_control() {
                true => c.escape_default().collect(),
                false => vec![c],
            }
        })
        .collect();
    let more = line.chars().count().saturating_sub(KEEP);
    match more {
        0 => shown,
        n => format!("{shown}... ({n} more characters)"),
    }
}

/// Diagnostics on standard error, off unless `BATON_LOG` asks for them (a tracing filter such
/// as `info`, or `takeover=info` for the phase timings of a move).
fn init_log() {
    let Ok(filter) = std::env::var("BATON_LOG") else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        errln!("Warning: BATON_LOG={filter:?} is not a log filter ({e}); using \"info\"");
        tracing_subscriber::EnvFilter::new("info")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// snmove's `-V`: the phase lines of the move (planned, committed, each wave with its time) on
/// standard error, unless `BATON_LOG` already chose what to log.
pub fn verbose_log() {
    if std::env::var_os("BATON_LOG").is_some() {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("takeover=info"))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// `baton ...`
pub fn baton_main() -> i32 {
    init_log();
    let argv = match xcatnames::rewrite(std::env::args_os().collect()) {
        xcatnames::Argv::Version(name) => {
            outln!("{name}: Version {} (baton)", env!("CARGO_PKG_VERSION"));
            return exit::OK;
        }
        xcatnames::Argv::Run(argv) => argv,
    };
    let args = cli::Cli::parse_from(argv);
    finish(run(args))
}

/// `snmove ...`: xCAT's command line, on the same code as `baton snmove`.
pub fn snmove_main() -> i32 {
    init_log();
    let args = snmove::SnmoveCommand::parse();
    let url = cli::db_url(args.db.as_deref()).and_then(|url| {
        if args.db.is_some() {
            cli::require_existing(&url)?;
        }
        Ok(url)
    });
    finish(url.and_then(|url| snmove::run(&url, args.args)))
}

fn run(args: cli::Cli) -> Result<(), Failure> {
    if let cli::Command::Agent(a) = args.command {
        // Runs on a service node: no cluster database there.
        return agent::run(a);
    }
    let url = cli::db_url(args.db.as_deref())?;
    // init and quickstart create the database; migrate checks its own --from; man and
    // completions do not use one.
    let own_rule = matches!(
        args.command,
        cli::Command::Init
            | cli::Command::Quickstart(_)
            | cli::Command::Migrate(_)
            | cli::Command::Man(_)
            | cli::Command::Completions(_)
            | cli::Command::CompleteNames(_)
    );
    if args.db.is_some() && !own_rule {
        cli::require_existing(&url)?;
    }
    if !matches!(
        args.command,
        cli::Command::Man(_) | cli::Command::Completions(_) | cli::Command::CompleteNames(_)
    ) {
        cli::warn_if_world_readable(&url);
    }
    match args.command {
        cli::Command::Init => tablecmds::init(&url),
        cli::Command::Tabdump(a) => tablecmds::tabdump(&url, a),
        cli::Command::Tabrestore(a) => tablecmds::tabrestore(&url, a),
        cli::Command::Nodels(a) => nodecmds::nodels(&url, a),
        cli::Command::Lsdef(a) => objcmds::lsdef(&url, a),
        cli::Command::Chdef(a) => objcmds::chdef(&url, a, false),
        cli::Command::Mkdef(a) => objcmds::chdef(&url, a, true),
        cli::Command::Rmdef(a) => objcmds::rmdef(&url, a),
        cli::Command::Chtab(a) => rowcmds::chtab(&url, a),
        cli::Command::Nodech(a) => rowcmds::nodech(&url, a),
        cli::Command::Nodeadd(a) => rowcmds::nodeadd(&url, a),
        cli::Command::Noderm(a) => rowcmds::noderm(&url, a),
        cli::Command::Gettab(a) => rowcmds::gettab(&url, a),
        cli::Command::Tabgrep(a) => rowcmds::tabgrep(&url, a),
        cli::Command::Tabprune(a) => rowcmds::tabprune(&url, a),
        cli::Command::Dumpxcatdb(a) => rowcmds::dump(&url, a),
        cli::Command::Restorexcatdb(a) => rowcmds::restore(&url, a),
        cli::Command::Quickstart(a) => quickstart::run(&url, a),
        cli::Command::Snmove(a) => snmove::run(&url, a),
        cli::Command::Journal(a) => journalcmds::journal(&url, a),
        cli::Command::Resume(a) => journalcmds::resume(&url, a),
        cli::Command::Rollback(a) => journalcmds::rollback(&url, a),
        cli::Command::Watch(a) => watchcmd::watch(&url, a),
        cli::Command::Status(a) => watchcmd::status(&url, a),
        cli::Command::Migrate(a) => migrate::run(a),
        cli::Command::Makedhcp(a) => svccmds::makedhcp(&url, a),
        cli::Command::Nodeset(a) => svccmds::nodeset(&url, a),
        cli::Command::Makeconservercf(a) => svccmds::makeconservercf(&url, a),
        cli::Command::Rnetboot(a) => rnetboot::run(&url, a),
        cli::Command::Rpower(a) => rpower::run(&url, a),
        cli::Command::Fence(a) => fence::run(&url, a),
        cli::Command::Man(a) => cli::man(a),
        cli::Command::Completions(a) => cli::completions(a),
        cli::Command::CompleteNames(a) => complete::names(&url, a),
        cli::Command::Agent(a) => agent::run(a),
    }
}
