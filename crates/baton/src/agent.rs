//! `baton agent`: what a service node runs for a delegated takeover (hidden from help: the
//! management node starts it over ssh).

use crate::exit::Failure;
use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct AgentArgs {
    #[command(subcommand)]
    pub command: AgentCommand,
}

#[derive(Subcommand, Debug)]
pub enum AgentCommand {
    /// Print this agent's protocol and version as JSON (the management node's probe)
    Probe,
    /// Read a batch of compute-node work as JSON on stdin; run it over ssh; write one JSON
    /// result line per node on stdout as each finishes
    RunCnSteps,
}

pub fn run(a: AgentArgs) -> Result<(), Failure> {
    match a.command {
        AgentCommand::Probe => {
            let h = serde_json::to_string(&steps::delegate::hello())
                .map_err(|e| Failure::failed(e.to_string()))?;
            outln!("{h}");
            Ok(())
        }
        AgentCommand::RunCnSteps => {
            let ssh = remote::Ssh::from_env().map_err(|e| Failure::usage(e.to_string()))?;
            let mut stdout = std::io::stdout().lock();
            steps::delegate::serve(&mut std::io::stdin().lock(), &mut stdout, ssh)
                .map(|_| ())
                .map_err(Failure::usage)
        }
    }
}
