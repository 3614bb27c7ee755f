//! Runs every case of the xCAT noderange conformance corpus (noderange.md §12), copied from
//! shared/conformance/noderange-examples.json into tests/data/.

use std::collections::BTreeMap;

use noderange::{
    expand, resolve, GroupKind, MemorySource, NoderangeError, Options, NODEHM_COLUMNS,
};
use serde_json::Value;

const CORPUS: &str = include_str!("data/noderange-examples.json");

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The corpus world of §12: listed nodes, every listed group a defined static group, a node's
/// nodelist.groups its groups sorted and joined by ",", nodehm existing but empty, no other
/// tables, files served from the case.
fn build(case: &Value) -> (MemorySource, Options) {
    let nodes = strings(case.get("given_nodes"));
    let mut node_groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut src = MemorySource::new();
    if let Some(groups) = case.get("given_groups").and_then(Value::as_object) {
        for (g, members) in groups {
            src.define_group(g, GroupKind::Static);
            for m in members.as_array().into_iter().flatten() {
                if let Some(m) = m.as_str() {
                    if let Some(n) = nodes.iter().find(|n| n.as_str() == m) {
                        node_groups.entry(n.as_str()).or_default().push(g.clone());
                    }
                }
            }
        }
    }
    for n in &nodes {
        let mut gs = node_groups.get(n.as_str()).cloned().unwrap_or_default();
        gs.sort();
        let refs: Vec<&str> = gs.iter().map(String::as_str).collect();
        src.add_node(n, &refs);
    }
    src.add_table("nodehm", NODEHM_COLUMNS);
    if let Some(files) = case.get("given_files").and_then(Value::as_object) {
        for (path, content) in files {
            src.add_file(path, content.as_str().unwrap_or(""));
        }
    }
    let mut opts = Options::default();
    if let Some(env) = case.get("given_env").and_then(Value::as_object) {
        if let Some(p) = env.get("XCAT_NODE_PREFIX").and_then(Value::as_str) {
            opts.prefix = p.to_string();
        }
        if let Some(s) = env.get("XCAT_NODE_SUFFIX").and_then(Value::as_str) {
            opts.suffix = s.to_string();
        }
    }
    if let Some(ex) = case
        .get("given_site")
        .and_then(|s| s.get("excludenodes"))
        .and_then(Value::as_str)
    {
        opts.excludenodes = Some(ex.to_string());
    }
    if let Some(v) = case.get("verify").and_then(Value::as_bool) {
        opts.verify = v;
    }
    (src, opts)
}

fn check(case: &Value) -> Result<(), String> {
    let (src, opts) = build(case);
    let range = case
        .get("noderange")
        .and_then(Value::as_str)
        .ok_or("no noderange")?;
    let got = expand(&src, range, &opts);
    let is_error = case
        .get("expect_error")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if !is_error {
        let want = strings(case.get("expect"));
        let got = got.map_err(|e| format!("unexpected error: {e}"))?;
        if got.nodes != want || !got.missing.is_empty() {
            return Err(format!(
                "want {want:?}, got {:?} missing {:?}",
                got.nodes, got.missing
            ));
        }
        let r = resolve(&src, range, &opts).map_err(|e| format!("resolve: {e}"))?;
        if r != want {
            return Err(format!("resolve gave {r:?}"));
        }
        return Ok(());
    }
    match case.get("error_kind").and_then(Value::as_str) {
        Some("missing") => {
            let want_missing = strings(case.get("missing"));
            let got = got.map_err(|e| format!("unexpected fatal error: {e}"))?;
            if got.missing != want_missing {
                return Err(format!(
                    "missing: want {want_missing:?}, got {:?}",
                    got.missing
                ));
            }
            if case.get("resolved").is_some() {
                let want_nodes = strings(case.get("resolved"));
                if got.nodes != want_nodes {
                    return Err(format!(
                        "resolved: want {want_nodes:?}, got {:?}",
                        got.nodes
                    ));
                }
            }
            match resolve(&src, range, &opts) {
                Err(NoderangeError::Missing(m)) if m == want_missing => Ok(()),
                other => Err(format!("resolve: want Missing error, got {other:?}")),
            }
        }
        Some("parse") => {
            let msg = case.get("error_message").and_then(Value::as_str);
            match got {
                Err(e) => match msg {
                    Some(m) if e.to_string() != m => Err(format!(
                        "error message: want {m:?}, got {:?}",
                        e.to_string()
                    )),
                    _ => Ok(()),
                },
                Ok(e) => Err(format!("want parse error, got {e:?}")),
            }
        }
        other => Err(format!("unknown error_kind {other:?}")),
    }
}

#[test]
fn corpus_cases_all_pass() {
    let cases: Vec<Value> = serde_json::from_str(CORPUS).expect("corpus is valid JSON");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        let id = case.get("id").and_then(Value::as_str).unwrap_or("?");
        if let Err(why) = check(case) {
            failures.push(format!("{id}: {why}"));
        }
    }
    eprintln!("{} corpus cases, {} failed", cases.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_copy_matches_shared_when_present() {
    // When the shared corpus sits beside the repository, the copy must not go stale.
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/noderange-examples.json"
    );
    if let Ok(text) = std::fs::read_to_string(shared) {
        let a: Value = serde_json::from_str(&text).expect("shared corpus is valid JSON");
        let b: Value = serde_json::from_str(CORPUS).unwrap();
        assert_eq!(
            a, b,
            "tests/data/noderange-examples.json differs from {shared}"
        );
    }
}
