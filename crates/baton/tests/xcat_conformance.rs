//! xCAT's own test cases for the database commands, run against baton and checked the way
//! xCAT's test driver (`xcattest`) checks them.
//!
//! The cases are data, in `tests/xcat_cases/*.cases` (translated from xCAT's
//! `xCAT-test/autotest/testcase/<command>/cases*`):
//!
//! ```text
//! case NAME                  a case: its commands run in order in one database
//! skip REASON                not runnable without a real xCAT (counted apart)
//! xfail REASON               a deliberate deviation (COMPAT.md): must fail, is reported
//! $ COMMAND                  run with bash, standard error merged into the output
//! ? rc == N | rc != N        the exit status of the command above
//! ? out =~ RE | out !~ RE    the output (lines joined by \n, no final newline) matches / not
//! ? out == TEXT | out != TEXT  the output is / is not exactly TEXT
//! ```
//!
//! As in xcattest, a case fails at its first failed check; the commands after it still run.
//! Each case starts from the same database: xCAT's defaults (site, policy, the
//! `xcatdefaults` postscripts, one network). `$T` is a scratch directory of the case.
//!
//! Every case not marked must pass, every `xfail` case must still fail (so a fixed deviation is
//! noticed), and the pass rate over the runnable cases is printed.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug)]
enum Check {
    /// `op` is `==` or `!=`; xcattest passes any other operator (`rc=0`) without checking.
    Rc {
        op: String,
        value: i32,
    },
    Out {
        op: String,
        value: String,
    },
}

#[derive(Debug, Default)]
struct Case {
    file: String,
    name: String,
    skip: Option<String>,
    xfail: Option<String>,
    /// Each command with the checks of its output.
    steps: Vec<(String, Vec<Check>)>,
}

fn parse_check(line: &str) -> Check {
    let mut it = line.splitn(3, ' ');
    let (what, op, value) = (
        it.next().unwrap(),
        it.next().unwrap(),
        it.next().unwrap_or(""),
    );
    match what {
        "rc" => Check::Rc {
            op: op.to_string(),
            value: value.trim().parse().unwrap(),
        },
        _ => Check::Out {
            op: op.to_string(),
            value: value.to_string(),
        },
    }
}

fn load_cases(dir: &Path) -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cases"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        let file = f.file_stem().unwrap().to_string_lossy().into_owned();
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            if let Some(name) = line.strip_prefix("case ") {
                cases.push(Case {
                    file: file.clone(),
                    name: name.trim().to_string(),
                    ..Case::default()
                });
                continue;
            }
            let Some(case) = cases.last_mut() else {
                continue;
            };
            if let Some(r) = line.strip_prefix("skip ") {
                case.skip = Some(r.to_string());
            } else if let Some(r) = line.strip_prefix("xfail ") {
                case.xfail = Some(r.to_string());
            } else if let Some(c) = line.strip_prefix("$ ") {
                case.steps.push((c.to_string(), Vec::new()));
            } else if let Some(c) = line.strip_prefix("? ") {
                case.steps
                    .last_mut()
                    .expect("a check follows a command")
                    .1
                    .push(parse_check(c));
            }
        }
    }
    cases
}

/// xCAT's defaults in a fresh installation: what its cases take for granted.
const FIXTURE: &[(&str, &str)] = &[
    (
        "site",
        "#key,value,comments,disable\n\"master\",\"10.0.0.1\",,\n\"domain\",\"cluster.test\",,\n\
         \"xcatdport\",\"3001\",,\n\"xcatiport\",\"3002\",,\n\"installdir\",\"/install\",,\n\
         \"tftpdir\",\"/tftpboot\",,\n\"dhcplease\",\"43200\",,\n\"auditskipcmds\",\"ALL\",,\n\
         \"consoleondemand\",\"no\",,\n\"nameservers\",\"10.0.0.1\",,\n",
    ),
    (
        "policy",
        "#priority,name,host,commands,noderange,parameters,time,rule,comments,disable\n\
         \"1\",\"root\",,,,,,\"allow\",,\n\"1.2\",\"mn\",,,,,,\"trusted\",,\n\
         \"2\",,,\"getbmcconfig\",,,,\"allow\",,\n\"4.4\",,,\"getpostscript\",,,,\"allow\",,\n",
    ),
    (
        "postscripts",
        "#node,postscripts,postbootscripts,comments,disable\n\
         \"xcatdefaults\",\"syslog,remoteshell,syncfiles\",\"otherpkgs\",,\n",
    ),
    (
        "networks",
        "#netname,net,mask,mgtifname,gateway,dhcpserver,tftpserver,nameservers,ntpservers,logservers,dynamicrange,staticrange,staticrangeincrement,nodehostname,ddnsdomain,vlanid,domain,mtu,comments,disable\n\
         \"10_0_0_0-255_0_0_0\",\"10.0.0.0\",\"255.0.0.0\",\"eth0\",\"<xcatmaster>\",,\"<xcatmaster>\",,,,,,,,,,,\"1500\",,\n",
    ),
];

struct Env {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    fixture: PathBuf,
    root: PathBuf,
}

fn setup() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let bin = root.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let baton = assert_cmd::cargo::cargo_bin("baton");
    for name in baton::xcatnames::NAMES {
        std::os::unix::fs::symlink(&baton, bin.join(name)).unwrap();
    }
    let fixture = root.join("fixture.db");
    let st = Command::new(&baton)
        .arg("init")
        .env("BATON_DB", format!("sqlite:{}", fixture.display()))
        .output()
        .unwrap();
    assert!(st.status.success());
    for (table, csv) in FIXTURE {
        let f = root.join(format!("{table}.csv"));
        std::fs::write(&f, csv).unwrap();
        let st = Command::new(bin.join("tabrestore"))
            .arg(&f)
            .env("BATON_DB", format!("sqlite:{}", fixture.display()))
            .status()
            .unwrap();
        assert!(st.success(), "fixture {table}");
    }
    Env {
        _dir: dir,
        bin,
        fixture,
        root,
    }
}

/// Perl regexes as the cases write them, for the regex crate: `\` before a character that
/// needs no escape is dropped when the crate refuses it.
fn regex(re: &str) -> regex::Regex {
    regex::Regex::new(re).unwrap_or_else(|_| {
        let mut out = String::new();
        let mut chars = re.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(&n) = chars.peek() {
                    if !n.is_ascii_alphanumeric() && !"\\.*+?()[]{}|^$".contains(n) {
                        continue;
                    }
                }
            }
            out.push(c);
        }
        regex::Regex::new(&out).unwrap_or_else(|e| panic!("regex {re:?}: {e}"))
    })
}

fn check(c: &Check, rc: i32, out: &str) -> bool {
    match c {
        Check::Rc { op, value } => match op.as_str() {
            "==" => rc == *value,
            "!=" => rc != *value,
            _ => true,
        },
        Check::Out { op, value } => match op.as_str() {
            "=~" => regex(value).is_match(out),
            "!~" => !regex(value).is_match(out),
            "==" => out == value,
            "!=" => out != value,
            _ => false,
        },
    }
}

/// Run one case in a fresh copy of the fixture; `Err` says which check failed.
fn run(env: &Env, case: &Case, n: usize) -> Result<(), String> {
    let work = env.root.join(format!("case{n}"));
    std::fs::create_dir_all(work.join("t")).unwrap();
    let db = work.join("cluster.db");
    std::fs::copy(&env.fixture, &db).unwrap();
    let path = format!(
        "{}:{}",
        env.bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut failed: Option<String> = None;
    for (cmd, checks) in &case.steps {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("{cmd} 2>&1"))
            .current_dir(&work)
            .env("PATH", &path)
            .env("BATON_DB", format!("sqlite:{}", db.display()))
            .env("T", work.join("t"))
            .env_remove("XCAT_NODE_PREFIX")
            .env_remove("XCAT_NODE_SUFFIX")
            .env_remove("XCAT_SKIPTABLES")
            .output()
            .unwrap();
        let rc = out.status.code().unwrap_or(-1);
        let text = String::from_utf8_lossy(&out.stdout);
        let joined = text.strip_suffix('\n').unwrap_or(&text).to_string();
        for c in checks {
            if failed.is_none() && !check(c, rc, &joined) {
                failed = Some(format!(
                    "$ {cmd}\n  check {c:?} failed; rc={rc}, output:\n{joined}"
                ));
            }
        }
    }
    std::fs::remove_dir_all(&work).ok();
    failed.map_or(Ok(()), Err)
}

#[test]
fn xcats_own_test_cases_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/xcat_cases");
    let cases = load_cases(&dir);
    assert!(cases.len() > 150, "{} cases", cases.len());
    let env = setup();
    let (mut passed, mut runnable, mut skipped) = (0, 0, 0);
    let mut unexpected = Vec::new();
    let mut deviations = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        if case.skip.is_some() {
            skipped += 1;
            continue;
        }
        runnable += 1;
        let r = run(&env, case, n);
        let id = format!("{}/{}", case.file, case.name);
        match (&r, &case.xfail) {
            (Ok(()), None) => passed += 1,
            (Err(e), None) => unexpected.push(format!("{id}: {e}")),
            (Ok(()), Some(_)) => unexpected.push(format!("{id}: marked xfail but passes")),
            (Err(_), Some(why)) => deviations.push(format!("{id}: {why}")),
        }
    }
    println!(
        "xCAT conformance: {passed} of {runnable} runnable cases pass ({:.1}%); {skipped} need a real xCAT",
        100.0 * passed as f64 / runnable as f64
    );
    for d in &deviations {
        println!("  deviation: {d}");
    }
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n\n"));
}
