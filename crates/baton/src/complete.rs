//! Names for shell completion: `baton complete-names` (hidden) prints the nodes and groups of
//! the cluster database, or its service nodes, one per line; the completion scripts that
//! `baton completions` writes call it. It never creates a database and never fails loudly: a
//! completion must not print errors into the user's command line.

use crate::exit::Failure;
use clap::Args;
use clusterdb::{ClusterDb, DbUrl};

#[derive(Args, Debug)]
pub struct CompleteNamesArgs {
    /// Only the service nodes (for -s, -d, --spread)
    #[arg(long)]
    pub service_nodes: bool,
    /// xCAT's command names that the baton binary answers to (for packaging)
    #[arg(long, conflicts_with = "service_nodes")]
    pub xcat_commands: bool,
}

pub fn names(url: &DbUrl, a: CompleteNamesArgs) -> Result<(), Failure> {
    if a.xcat_commands {
        for name in crate::xcatnames::NAMES {
            outln!("{name}");
        }
        return Ok(());
    }
    if url.missing_path().is_some() {
        return Ok(());
    }
    if let Ok(list) = read(url, a.service_nodes) {
        for name in list {
            outln!("{name}");
        }
    }
    Ok(())
}

fn read(url: &DbUrl, service_nodes: bool) -> Result<Vec<String>, Failure> {
    let mut db = ClusterDb::open(url)?;
    let snap = db.read()?;
    if service_nodes {
        return Ok(watch::actions::service_nodes(&snap)?);
    }
    let idx = snap.index()?;
    let mut names: Vec<String> = idx.nodes.iter().map(|n| n.name.clone()).collect();
    names.extend(idx.group_names());
    names.sort();
    names.dedup();
    Ok(names)
}

/// Shell code appended to clap's completion script for `cmd` (baton or snmove): node and group
/// names where a noderange goes, service-node names after -s, -d and --spread.
pub fn dynamic_part(shell: clap_complete::Shell, cmd: &str) -> String {
    match shell {
        clap_complete::Shell::Bash => BASH.replace("CMD", cmd),
        clap_complete::Shell::Fish => FISH.replace("CMD", cmd),
        _ => String::new(),
    }
}

const BASH: &str = r#"
# Node, group and service-node names from the cluster database (baton complete-names).
_CMD_with_names() {
    _CMD "$@"
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} kind=
    [[ $COMP_CWORD -le 1 && CMD == baton ]] && return
    [[ $cur == -* ]] && return
    case $prev in
        -s|--source|-d|--dest|--spread) kind=--service-nodes; COMPREPLY=() ;;
    esac
    local names
    names=$(baton complete-names $kind 2>/dev/null) || return
    local IFS=$'\n'
    COMPREPLY+=( $(compgen -W "$names" -- "$cur") )
}
complete -F _CMD_with_names -o nosort -o bashdefault -o default CMD 2>/dev/null ||
    complete -F _CMD_with_names -o bashdefault -o default CMD
"#;

const FISH: &str = r#"
# Node, group and service-node names from the cluster database (baton complete-names).
complete -c CMD -n 'not __fish_use_subcommand' -f -a '(baton complete-names 2>/dev/null)'
complete -c CMD -s s -l source -x -a '(baton complete-names --service-nodes 2>/dev/null)'
complete -c CMD -s d -l dest -x -a '(baton complete-names --service-nodes 2>/dev/null)'
"#;
