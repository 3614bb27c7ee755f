//! `baton-testbed`: command-line front end of the `testbed` crate.

use anyhow::{anyhow, bail, Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use testbed::{Bed, Config, Dhcp};

const USAGE: &str = "\
baton-testbed: a cluster in a box (network namespaces with real service daemons)

usage:
  baton-testbed up     [--name N] [--sns K] [--cns N] [--dhcp isc|kea] [--baton PATH]
                       [--bind PATH]... [--octet B] [--replace] [-v]
  baton-testbed scale  [--name N] --endpoints N
  baton-testbed down   [--name N | --all]
  baton-testbed status [--name N] [--json]
  baton-testbed list
  baton-testbed exec   [--name N] NODE -- CMD [ARG...]
  baton-testbed probe  [--name N] syslog CN [SN] | ntp CN | dhcp CN | tftp CN SN [FILE]
                                  | dns CN NAME | consoles SN
  baton-testbed kill|cut|restore|revive [--name N] NODE
  baton-testbed db     [--name N] DIR        (write the tabrestore CSVs again, into DIR)

defaults: --name tb, --sns 2, --cns 6, --dhcp isc; --baton defaults to $BATON_BIN.
State lives in $BATON_TESTBED_ROOT/<name> (default /run/baton-testbed/<name>).
The product runs inside mn:  baton-testbed exec mn -- ssh -F <state>/ssh_config cn1 hostname
";

struct Args {
    rest: Vec<String>,
    name: String,
}

fn take_opt(args: &mut Vec<String>, flag: &str) -> Result<Option<String>> {
    if let Some(i) = args.iter().position(|a| a == flag) {
        if i + 1 >= args.len() {
            bail!("{flag} needs a value");
        }
        let v = args.remove(i + 1);
        args.remove(i);
        return Ok(Some(v));
    }
    let pre = format!("{flag}=");
    if let Some(i) = args.iter().position(|a| a.starts_with(&pre)) {
        let v = args.remove(i)[pre.len()..].to_string();
        return Ok(Some(v));
    }
    Ok(None)
}

fn take_all(args: &mut Vec<String>, flag: &str) -> Result<Vec<String>> {
    let mut v = vec![];
    while let Some(x) = take_opt(args, flag)? {
        v.push(x);
    }
    Ok(v)
}

fn take_flag(args: &mut Vec<String>, flag: &str) -> bool {
    if let Some(i) = args.iter().position(|a| a == flag) {
        args.remove(i);
        true
    } else {
        false
    }
}

fn parse<T: std::str::FromStr>(v: Option<String>, default: T, what: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    match v {
        None => Ok(default),
        Some(s) => s.parse().map_err(|e| anyhow!("bad {what} {s:?}: {e}")),
    }
}

fn no_extra(a: &Args) -> Result<()> {
    if let Some(x) = a.rest.first() {
        bail!("unexpected argument {x:?}\n\n{USAGE}");
    }
    Ok(())
}

fn main() -> ExitCode {
    // die quietly on a closed pipe (`... | head`), like other command-line tools
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("baton-testbed: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() || argv[0] == "-h" || argv[0] == "--help" || argv[0] == "help" {
        print!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    let cmd = argv.remove(0);
    // everything after `--` belongs to exec's command
    let tail: Vec<String> = match argv.iter().position(|a| a == "--") {
        Some(i) => {
            let t = argv.split_off(i);
            t[1..].to_vec()
        }
        None => vec![],
    };
    let name = take_opt(&mut argv, "--name")?.unwrap_or_else(|| "tb".into());
    let mut a = Args { rest: argv, name };
    match cmd.as_str() {
        "up" => {
            let sns = parse(take_opt(&mut a.rest, "--sns")?, 2usize, "--sns")?;
            let cns = parse(take_opt(&mut a.rest, "--cns")?, 6usize, "--cns")?;
            let dhcp: Dhcp = parse(take_opt(&mut a.rest, "--dhcp")?, Dhcp::Isc, "--dhcp")?;
            let mut cfg = Config::new(&a.name, sns, cns).dhcp(dhcp);
            // The name typed is the name: BATON_TESTBED_TAG is for test runs only.
            cfg.name = a.name.clone();
            if let Some(b) = take_opt(&mut a.rest, "--baton")? {
                cfg.baton_bin = Some(PathBuf::from(b));
            }
            // By default the baton built beside this program (target/debug/baton), so that a
            // bed brought up by hand has its cluster database.
            if cfg.baton_bin.is_none() {
                cfg.baton_bin = std::env::current_exe()
                    .ok()
                    .and_then(|me| Some(me.parent()?.join("baton")))
                    .filter(|b| b.is_file());
            }
            cfg.binds = take_all(&mut a.rest, "--bind")?
                .into_iter()
                .map(PathBuf::from)
                .collect();
            cfg.octet = take_opt(&mut a.rest, "--octet")?
                .map(|s| s.parse::<u8>())
                .transpose()
                .context("--octet")?;
            cfg.replace = take_flag(&mut a.rest, "--replace");
            cfg.verbose |= take_flag(&mut a.rest, "-v");
            no_extra(&a)?;
            let t0 = Instant::now();
            let bed = Bed::up(cfg)?;
            let st = bed.state();
            println!(
                "bed {} up in {:.2}s: mn, {} SNs, {} CNs ({} DHCP)",
                st.name,
                t0.elapsed().as_secs_f64(),
                bed.sns().len(),
                bed.cns().len(),
                st.dhcp
            );
            println!("  state dir   {}", st.state_dir.display());
            println!("  ssh config  {}", st.ssh_config.display());
            println!("  db csv      {}", st.db_dir.display());
            if let Some(u) = &st.db_url {
                println!("  db url      {u}");
            }
            println!(
                "  try         baton-testbed exec --name {} mn -- ssh -F {} cn1 hostname",
                st.name,
                st.ssh_config.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        "scale" => {
            let n = parse(
                take_opt(&mut a.rest, "--endpoints")?,
                1000usize,
                "--endpoints",
            )?;
            no_extra(&a)?;
            let t0 = Instant::now();
            let bed = Bed::up_scale(&a.name, n, None)?;
            println!(
                "scale bed {} up in {:.2}s: {} endpoints {}..{} served by one sshd in node `scale`",
                bed.name(),
                t0.elapsed().as_secs_f64(),
                n,
                bed.state()
                    .endpoints
                    .first()
                    .map(|e| e.0.as_str())
                    .unwrap_or(""),
                bed.state()
                    .endpoints
                    .last()
                    .map(|e| e.0.as_str())
                    .unwrap_or("")
            );
            println!("  ssh config  {}", bed.ssh_config_path().display());
            Ok(ExitCode::SUCCESS)
        }
        "down" => {
            let all = take_flag(&mut a.rest, "--all");
            no_extra(&a)?;
            let names = if all {
                testbed::list_beds(&testbed::state_root())
            } else {
                vec![a.name.clone()]
            };
            for n in names {
                let r = testbed::cleanup(&n)?;
                println!(
                    "bed {n} down in {:.2}s: {} processes killed, {} namespaces deleted{}",
                    r.seconds,
                    r.killed,
                    r.namespaces.len(),
                    if r.survivors.is_empty() {
                        String::new()
                    } else {
                        format!(", SURVIVORS {:?}", r.survivors)
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        "list" => {
            no_extra(&a)?;
            for n in testbed::list_beds(&testbed::state_root()) {
                println!("{n}");
            }
            Ok(ExitCode::SUCCESS)
        }
        "status" => {
            let json = take_flag(&mut a.rest, "--json");
            no_extra(&a)?;
            let bed = Bed::load(&a.name)?;
            if json {
                let mut v = serde_json::to_value(bed.state())?;
                let alive: serde_json::Map<String, serde_json::Value> = bed
                    .plan()
                    .nodes
                    .iter()
                    .map(|n| (n.name.clone(), bed.pid1(&n.name).is_some().into()))
                    .collect();
                v["alive"] = alive.into();
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(ExitCode::SUCCESS);
            }
            let st = bed.state();
            println!(
                "bed {} ({:?}, {}){}",
                st.name,
                st.kind,
                st.dhcp,
                if st.complete { "" } else { " INCOMPLETE" }
            );
            println!("  state dir  {}", st.state_dir.display());
            println!("  ssh config {}", st.ssh_config.display());
            println!("  db csv     {}", st.db_dir.display());
            println!(
                "  db url     {}",
                st.db_url.as_deref().unwrap_or("(not loaded)")
            );
            for n in &bed.plan().nodes {
                let rt = st.nodes.get(&n.name).cloned().unwrap_or_default();
                println!(
                    "  {:<6} {:<5} mgmt {:<15} compute {:<15} pid1 {:<8} {}{}",
                    n.name,
                    format!("{:?}", n.role).to_lowercase(),
                    n.mgmt_ip.map(|i| i.to_string()).unwrap_or("-".into()),
                    n.compute_ip.map(|i| i.to_string()).unwrap_or("-".into()),
                    rt.pid1.map(|p| p.to_string()).unwrap_or("-".into()),
                    if bed.pid1(&n.name).is_some() {
                        "up"
                    } else {
                        "DOWN"
                    },
                    if n.servicenodes.is_empty() {
                        String::new()
                    } else {
                        format!("  servicenode {}", n.servicenodes.join(","))
                    }
                );
            }
            if !st.endpoints.is_empty() {
                println!("  {} scale endpoints", st.endpoints.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        "exec" => {
            if a.rest.len() != 1 || tail.is_empty() {
                bail!("usage: baton-testbed exec [--name N] NODE -- CMD [ARG...]");
            }
            let bed = Bed::load(&a.name)?;
            let mut command = bed.command(&a.rest[0], &tail)?;
            // The bed's cluster database and the baton it was loaded with, as on a real MN.
            if let (Some(url), None) = (bed.db_url(), std::env::var_os("BATON_DB")) {
                command.env("BATON_DB", url);
            }
            let own_dir = std::env::current_exe()
                .ok()
                .and_then(|me| Some(me.parent()?.to_path_buf()));
            if let Some(dir) = own_dir.filter(|d| bed.state().binds.contains(d)) {
                let path = std::env::var("PATH").unwrap_or_default();
                command.env("PATH", format!("{}:{path}", dir.display()));
            }
            let status = command.status()?;
            Ok(ExitCode::from(status.code().unwrap_or(128) as u8))
        }
        "kill" | "cut" | "restore" | "revive" => {
            if a.rest.len() != 1 {
                bail!("usage: baton-testbed {cmd} [--name N] NODE");
            }
            let mut bed = Bed::load(&a.name)?;
            let node = a.rest[0].clone();
            match cmd.as_str() {
                "kill" => println!("{} processes of {node} killed", bed.kill_node(&node)?),
                "cut" => bed.cut_link(&node)?,
                "restore" => bed.restore_link(&node)?,
                _ => bed.revive(&node)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        "db" => {
            if a.rest.len() != 1 {
                bail!("usage: baton-testbed db [--name N] DIR");
            }
            let bed = Bed::load(&a.name)?;
            for f in testbed::write_db_csv(&bed, std::path::Path::new(&a.rest[0]))? {
                println!("{}", f.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        "probe" => probe(&a),
        _ => bail!("unknown command {cmd:?}\n\n{USAGE}"),
    }
}

fn probe(a: &Args) -> Result<ExitCode> {
    let bed = Bed::load(&a.name)?;
    let r = &a.rest;
    let arg = |i: usize| -> Result<&str> {
        r.get(i).map(|s| s.as_str()).ok_or_else(|| {
            anyhow!(
                "probe {}: missing argument\n\n{USAGE}",
                r.first().map(|s| s.as_str()).unwrap_or("")
            )
        })
    };
    match arg(0)? {
        "syslog" => {
            let cn = arg(1)?;
            let got = match r.get(2) {
                Some(sn) => {
                    if bed.probe_syslog(cn, sn)? {
                        vec![sn.clone()]
                    } else {
                        vec![]
                    }
                }
                None => bed.syslog_receivers(cn, Duration::from_secs(3))?,
            };
            if got.is_empty() {
                println!("syslog line from {cn}: not received");
                return Ok(ExitCode::from(2));
            }
            println!("syslog line from {cn} received by {}", got.join(","));
        }
        "ntp" => {
            let cn = arg(1)?;
            let rep = bed.probe_ntp(cn)?;
            println!(
                "ntp: {} ({}) answered {cn}: stratum {} leap {}",
                rep.server,
                bed.owner_of(rep.server).unwrap_or_default(),
                rep.stratum,
                rep.leap
            );
        }
        "dhcp" => {
            let cn = arg(1)?;
            let offers = bed.probe_dhcp_all(cn, Duration::from_secs(2))?;
            if offers.is_empty() {
                println!("dhcp: no offer to {cn}");
                return Ok(ExitCode::from(2));
            }
            for o in offers {
                println!(
                    "dhcp offer to {cn} from {} ({}): server-id {} next-server {} yiaddr {} file {:?} routers {:?}",
                    o.from,
                    bed.owner_of(o.from).unwrap_or_default(),
                    o.server_id.map(|i| i.to_string()).unwrap_or("-".into()),
                    o.next_server,
                    o.yiaddr,
                    o.file,
                    o.routers
                );
            }
        }
        "tftp" => {
            let (cn, sn) = (arg(1)?, arg(2)?);
            let file = r.get(3).cloned().unwrap_or_else(|| bed.boot_file(cn));
            let data = bed.tftp_get(cn, sn, &file)?;
            print!("{}", String::from_utf8_lossy(&data));
        }
        "dns" => {
            let (cn, name) = (arg(1)?, arg(2)?);
            let ans = bed.dns_lookup(cn, name)?;
            println!(
                "dns: {} ({}) answered {}: {:?}",
                ans.server,
                bed.owner_of(ans.server).unwrap_or_default(),
                ans.name,
                ans.addrs
            );
        }
        "consoles" => {
            for c in bed.conserver_consoles(arg(1)?)? {
                println!("{c}");
            }
        }
        other => bail!("unknown probe {other:?}\n\n{USAGE}"),
    }
    Ok(ExitCode::SUCCESS)
}
