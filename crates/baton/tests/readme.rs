//! README.md's walk-through, run as a new user runs it: each line of the block after the
//! `<!-- walkthrough` marker, in order, in a shell, with `baton` on the PATH and the default
//! database (a fresh data directory). Each must exit 0.

use std::path::{Path, PathBuf};
use std::process::Command;

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(path).unwrap()
}

/// The lines of the fenced block that follows the walk-through marker.
fn walkthrough(readme: &str) -> Vec<String> {
    let after = readme
        .split_once("<!-- walkthrough")
        .expect("README.md has the walk-through marker")
        .1;
    let block = after.split_once("```sh\n").expect("a sh block follows").1;
    let block = block.split_once("```").expect("the block ends").0;
    block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn bin_dir() -> PathBuf {
    assert_cmd::cargo::cargo_bin("baton")
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn every_line_of_the_readme_walkthrough_runs_and_exits_0() {
    let home = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let lines = walkthrough(&readme());
    assert!(lines.len() >= 10, "{lines:?}");
    for line in &lines {
        let out = Command::new("sh")
            .args(["-c", line])
            .current_dir(home.path())
            .env("PATH", &path)
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env_remove("BATON_DB")
            .env_remove("BATON_SSH")
            .env_remove("XCAT_NODE_PREFIX")
            .env_remove("XCAT_NODE_SUFFIX")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README line failed ({:?}): {line}\n{}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The walk-through used the default database, in the data directory.
    assert!(home.path().join("data/baton/cluster.db").exists());
}

#[test]
fn quickstart_suggests_the_commands_of_the_readme_walkthrough() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(assert_cmd::cargo::cargo_bin("baton"))
        .args(["quickstart", "--no-demo"])
        .env("XDG_DATA_HOME", home.path())
        .env_remove("BATON_DB")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let readme_lines: Vec<String> = walkthrough(&readme())
        .iter()
        .map(|l| l.split(" #").next().unwrap().trim().to_string())
        .collect();
    let suggested: Vec<&str> = text
        .split_once("Try next")
        .unwrap()
        .1
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .collect();
    assert!(suggested.len() >= 5, "{text}");
    for s in suggested {
        assert!(
            readme_lines.iter().any(|l| l == s),
            "quickstart suggests `{s}`, which README's walk-through lacks"
        );
    }
}
