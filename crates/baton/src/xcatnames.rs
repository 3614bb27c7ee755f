//! xCAT's command names. The `baton` binary answers to them the way busybox does: installed
//! (or linked) as `lsdef`, `chtab`, ... it runs `baton lsdef ...`, with xCAT's `-?` for help
//! and `-v`/`--version` for the version.

use std::ffi::OsString;
use std::path::Path;

/// The commands of xCAT that baton implements (the database ones, and rpower), by their xCAT names.
pub const NAMES: &[&str] = &[
    "nodels",
    "lsdef",
    "mkdef",
    "chdef",
    "rmdef",
    "tabdump",
    "tabrestore",
    "chtab",
    "tabch",
    "nodech",
    "nodeadd",
    "noderm",
    "gettab",
    "tabgrep",
    "tabprune",
    "dumpxCATdb",
    "restorexCATdb",
    "rpower",
];

/// What to do with a command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Argv {
    /// Print the version of the named command.
    Version(String),
    /// Parse this (`baton SUBCOMMAND ...`).
    Run(Vec<OsString>),
}

/// `lsdef -l x` (argv[0] `lsdef`) becomes `baton lsdef -l x`; for the xCAT commands, with either
/// name, `-?` becomes `-h` and `-v`, `--version`, `-version` ask for the version.
pub fn rewrite(mut argv: Vec<OsString>) -> Argv {
    let called = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|f| f.to_str())
        .unwrap_or("baton")
        .to_string();
    if NAMES.contains(&called.as_str()) {
        argv[0] = OsString::from("baton");
        argv.insert(1, OsString::from(&called));
    }
    let Some(cmd) = argv
        .get(1)
        .and_then(|c| c.to_str())
        .filter(|c| NAMES.contains(c))
        .map(str::to_string)
    else {
        return Argv::Run(argv);
    };
    let rest = &mut argv[2..];
    if rest
        .iter()
        .any(|a| matches!(a.to_str(), Some("-v" | "--version" | "-version")))
    {
        return Argv::Version(cmd);
    }
    // `lsdef -h -i ATTR` describes attributes instead of printing the help.
    let attr_help = cmd == "lsdef" && rest.iter().any(|a| a.to_str() == Some("-i"));
    for a in rest.iter_mut() {
        match a.to_str() {
            Some("-h" | "-?") if attr_help => *a = OsString::from("--attr-help"),
            Some("-?") => *a = OsString::from("-h"),
            _ => {}
        }
    }
    Argv::Run(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn names_dispatch_to_subcommands() {
        assert_eq!(
            rewrite(v(&["/usr/bin/lsdef", "-l", "cn1"])),
            Argv::Run(v(&["baton", "lsdef", "-l", "cn1"]))
        );
        assert_eq!(rewrite(v(&["chtab", "-v"])), Argv::Version("chtab".into()));
        assert_eq!(
            rewrite(v(&["baton", "nodels", "-?"])),
            Argv::Run(v(&["baton", "nodels", "-h"]))
        );
        // Other commands keep their own -v.
        assert_eq!(
            rewrite(v(&["baton", "snmove", "-v"])),
            Argv::Run(v(&["baton", "snmove", "-v"]))
        );
    }
}
