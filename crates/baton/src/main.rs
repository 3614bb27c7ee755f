//! `baton`: the command line. It parses arguments, opens the cluster database, calls the
//! libraries and prints; the logic lives in the library crates.

mod cli;
mod exit;
mod nodecmds;
mod objcmds;
mod quickstart;
mod tablecmds;

use clap::Parser;
use exit::Failure;
use std::io::Write;

fn main() {
    let args = cli::Cli::parse();
    let code = match run(args) {
        Ok(()) => exit::OK,
        Err(f) => {
            let _ = std::io::stdout().flush();
            if !f.message.is_empty() {
                for line in f.message.lines() {
                    eprintln!("Error: {line}");
                }
            }
            f.code
        }
    };
    std::process::exit(code);
}

fn run(args: cli::Cli) -> Result<(), Failure> {
    let url = cli::db_url(args.db.as_deref())?;
    match args.command {
        cli::Command::Init => tablecmds::init(&url),
        cli::Command::Tabdump(a) => tablecmds::tabdump(&url, a),
        cli::Command::Tabrestore(a) => tablecmds::tabrestore(&url, a),
        cli::Command::Nodels(a) => nodecmds::nodels(&url, a),
        cli::Command::Lsdef(a) => objcmds::lsdef(&url, a),
        cli::Command::Chdef(a) => objcmds::chdef(&url, a, false),
        cli::Command::Mkdef(a) => objcmds::chdef(&url, a, true),
        cli::Command::Rmdef(a) => objcmds::rmdef(&url, a),
        cli::Command::Quickstart(a) => quickstart::run(&url, a),
    }
}
