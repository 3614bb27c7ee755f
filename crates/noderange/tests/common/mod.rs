//! Helpers shared by the integration tests.
#![allow(dead_code)]

use noderange::{expand, resolve, Expansion, GroupKind, MemorySource, NoderangeError, Options};

/// Nodes (none grouped) plus groups given as (name, members); every group is a defined static
/// group, as in the conformance corpus.
pub fn world(nodes: &[&str], groups: &[(&str, &[&str])]) -> MemorySource {
    let mut src = MemorySource::new();
    for n in nodes {
        let mut gs: Vec<&str> = groups
            .iter()
            .filter(|(_, m)| m.contains(n))
            .map(|(g, _)| *g)
            .collect();
        gs.sort();
        src.add_node(n, &gs);
    }
    for (g, _) in groups {
        src.define_group(g, GroupKind::Static);
    }
    src
}

/// `prefix1..=prefixN` as owned strings.
pub fn names(prefix: &str, from: usize, to: usize) -> Vec<String> {
    (from..=to).map(|i| format!("{prefix}{i}")).collect()
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// Expand with default options.
pub fn ex(src: &MemorySource, range: &str) -> Expansion {
    expand(src, range, &Options::default()).unwrap_or_else(|e| panic!("{range:?} failed: {e}"))
}

/// Expand with options.
pub fn ex_with(src: &MemorySource, range: &str, opts: &Options) -> Expansion {
    expand(src, range, opts).unwrap_or_else(|e| panic!("{range:?} failed: {e}"))
}

/// Expand expecting no missing names; returns the nodes.
pub fn ok(src: &MemorySource, range: &str) -> Vec<String> {
    match resolve(src, range, &Options::default()) {
        Ok(v) => v,
        Err(e) => panic!("{range:?} failed: {e}"),
    }
}

/// Expand with verify=false.
pub fn noverify(src: &MemorySource, range: &str) -> Expansion {
    let opts = Options {
        verify: false,
        ..Options::default()
    };
    ex_with(src, range, &opts)
}

pub fn err(src: &MemorySource, range: &str) -> NoderangeError {
    match expand(src, range, &Options::default()) {
        Ok(e) => panic!("{range:?} should fail, gave {e:?}"),
        Err(e) => e,
    }
}

pub fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}
