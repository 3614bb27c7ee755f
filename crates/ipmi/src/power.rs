//! Power control (xCAT's `rpower` actions) on the host that reaches the BMC, and the same run as
//! one shell script on a service node for many BMCs at once (one ssh session per SN).
//!
//! Invariant: the script's passwords come on its standard input, one line per node, and reach
//! ipmitool in its environment (`IPMI_PASSWORD`, `ipmitool -E`): never an argument.

use crate::{Bmc, Ipmitool};

/// What to do with a node's power (xCAT's rpower verbs, and rnetboot's network boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Stat,
    On,
    Off,
    Reset,
    /// Off: power on; on: hard reset.
    Boot,
    /// Boot device PXE for the next boot, then power cycle (on when off).
    Netboot,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "stat" | "state" | "status" => Action::Stat,
            "on" => Action::On,
            "off" => Action::Off,
            "reset" => Action::Reset,
            "boot" => Action::Boot,
            _ => return None,
        })
    }

    /// The word the remote script knows it by.
    pub fn word(self) -> &'static str {
        match self {
            Action::Stat => "stat",
            Action::On => "on",
            Action::Off => "off",
            Action::Reset => "reset",
            Action::Boot => "boot",
            Action::Netboot => "netboot",
        }
    }
}

/// `on` or `off` from `chassis power status` output.
pub fn power_state(out: &str) -> Result<&'static str, String> {
    if out.contains("Chassis Power is on") {
        Ok("on")
    } else if out.contains("Chassis Power is off") {
        Ok("off")
    } else {
        Err(format!(
            "chassis power status: unexpected answer '{}'",
            out.trim()
        ))
    }
}

impl Ipmitool {
    /// One action on one BMC from this host; what to print after `node: `.
    pub fn power(&self, bmc: &Bmc, action: Action) -> Result<String, String> {
        let status = || {
            self.run(bmc, &["chassis", "power", "status"])
                .and_then(|o| power_state(&o).map(str::to_string))
        };
        match action {
            Action::Stat => status(),
            Action::On | Action::Off | Action::Reset => {
                let w = action.word();
                self.run(bmc, &["chassis", "power", w])?;
                Ok(w.to_string())
            }
            Action::Boot => match status()?.as_str() {
                "off" => self
                    .run(bmc, &["chassis", "power", "on"])
                    .map(|_| "on".into()),
                _ => self
                    .run(bmc, &["chassis", "power", "reset"])
                    .map(|_| "on reset".into()),
            },
            Action::Netboot => self.netboot(bmc),
        }
    }
}

/// The script a service node runs: `sh -c SCRIPT sh FANOUT IFACE RETRIES TRY_SECS TIMEOUT`
/// then per node `NODE HOST PORT USER ACTION` (PORT empty for 623); the passwords on standard
/// input in the same order. Prints `INDEX<TAB>ok|err<TAB>TEXT` per node. (Its variables are
/// lower case: an upper-case one could clobber a variable exported to it.)
pub const SCRIPT: &str = r#"
fan=$1 iface=$2 retr=$3 tries=$4 tmo=$5; shift 5
ipt() {
  o=$(IPMI_PASSWORD=$pw timeout "$tmo" ipmitool -I "$iface" -H "$h" ${p:+-p "$p"} -U "$u" -E -R "$retr" -N "$tries" "$@" 2>&1)
  rc=$?
  [ $rc -eq 0 ] && return 0
  if [ $rc -eq 124 ]; then why="no answer within ${tmo}s"
  elif [ $rc -eq 127 ]; then why="cannot run ipmitool on $(hostname)"
  else why=$(printf '%s\n' "$o" | grep -v 'Cipher Suites' | grep -v '^[[:space:]]*$' | tail -n 1)
  fi
  o="$*: ${why:-failed}"
  return 1
}
st() {
  ipt chassis power status || return 1
  case $o in
    *"Chassis Power is on"*) s=on ;;
    *"Chassis Power is off"*) s=off ;;
    *) o="chassis power status: unexpected answer '$o'"; return 1 ;;
  esac
}
act() {
  case $a in
    stat) st && r=$s ;;
    on|off|reset) ipt chassis power "$a" && r=$a ;;
    boot) st && if [ "$s" = off ]; then ipt chassis power on && r=on; else ipt chassis power reset && r="on reset"; fi ;;
    netboot) ipt chassis bootdev pxe && st && if [ "$s" = off ]; then ipt chassis power on && r="boot device pxe, power on"; else ipt chassis power cycle && r="boot device pxe, power cycle"; fi ;;
    *) o="unknown action $a"; false ;;
  esac
}
one() {
  if act; then printf '%s\tok\t%s\n' "$i" "$r"; else printf '%s\terr\t%s\n' "$i" "$(printf '%s' "$o" | tr '\t\n' '  ')"; fi
}
i=0 k=0
while [ $# -ge 5 ]; do
  h=$2 p=$3 u=$4 a=$5; shift 5 # $1: the node, for the process list
  IFS= read -r pw || pw=
  one &
  i=$((i + 1)) k=$((k + 1))
  if [ "$k" -ge "$fan" ]; then wait; k=0; fi
done
wait
"#;

/// One node's work in a service node's batch.
#[derive(Debug, Clone)]
pub struct Job {
    pub node: String,
    pub bmc: Bmc,
    pub action: Action,
}

/// The remote command (`sh -c SCRIPT sh ...`, one argument per value) and its standard input
/// (the passwords). A password holding a newline cannot travel this way: Err names the node.
pub fn batch(
    tool: &Ipmitool,
    fanout: usize,
    jobs: &[Job],
) -> Result<(Vec<String>, Vec<u8>), String> {
    let mut args: Vec<String> = vec!["sh".into(), "-c".into(), SCRIPT.into(), "sh".into()];
    args.extend([
        fanout.max(1).to_string(),
        tool.interface.clone(),
        tool.retries.to_string(),
        tool.try_secs.to_string(),
        tool.timeout.as_secs().max(1).to_string(),
    ]);
    let mut stdin = Vec::new();
    for j in jobs {
        if j.bmc.password.contains(['\n', '\r']) {
            return Err(format!("{}: the BMC password holds a line break", j.node));
        }
        args.extend([
            j.node.clone(),
            j.bmc.host.clone(),
            j.bmc.port.map(|p| p.to_string()).unwrap_or_default(),
            j.bmc.user.clone(),
            j.action.word().to_string(),
        ]);
        stdin.extend_from_slice(j.bmc.password.as_bytes());
        stdin.push(b'\n');
    }
    Ok((args, stdin))
}

/// Per job, its result from the script's output; a job with no line gets `missing`.
pub fn parse(out: &str, jobs: &[Job], missing: &str) -> Vec<Result<String, String>> {
    let mut res: Vec<Result<String, String>> = jobs.iter().map(|_| Err(missing.into())).collect();
    for line in out.lines() {
        let mut f = line.splitn(3, '\t');
        let (Some(i), Some(kind), Some(text)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Some(slot) = i.parse::<usize>().ok().and_then(|i| res.get_mut(i)) else {
            continue;
        };
        *slot = match kind {
            "ok" => Ok(text.to_string()),
            _ => Err(text.trim().to_string()),
        };
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(node: &str, pw: &str) -> Job {
        Job {
            node: node.into(),
            bmc: Bmc {
                host: "10.0.0.1".into(),
                port: None,
                user: "admin".into(),
                password: pw.into(),
            },
            action: Action::On,
        }
    }

    #[test]
    fn passwords_go_on_stdin_only() {
        let jobs = [job("cn1", "s3cret"), job("cn2", "other pw")];
        let (args, stdin) = batch(&Ipmitool::default(), 4, &jobs).unwrap();
        assert!(args
            .iter()
            .all(|a| !a.contains("s3cret") && !a.contains("other pw")));
        assert_eq!(stdin, b"s3cret\nother pw\n");
        assert_eq!(
            args[args.len() - 5..],
            ["cn2", "10.0.0.1", "", "admin", "on"]
        );
        assert!(batch(&Ipmitool::default(), 4, &[job("cn3", "a\nb")]).is_err());
    }

    #[test]
    fn output_lines_map_to_jobs() {
        let jobs = [job("cn1", "x"), job("cn2", "x"), job("cn3", "x")];
        let r = parse(
            "1\terr\tchassis power on: refused\n0\tok\ton\njunk\n",
            &jobs,
            "lost",
        );
        assert_eq!(r[0], Ok("on".into()));
        assert_eq!(r[1], Err("chassis power on: refused".into()));
        assert_eq!(r[2], Err("lost".into()));
    }

    #[test]
    fn power_states() {
        assert_eq!(power_state("Chassis Power is on\n"), Ok("on"));
        assert_eq!(power_state("Chassis Power is off"), Ok("off"));
        assert!(power_state("?").is_err());
    }
}
