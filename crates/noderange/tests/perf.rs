//! Timing on a 100,000-node / 500-group cluster. Run in release mode:
//! `cargo test --release -p noderange --test perf -- --ignored --nocapture`

use std::time::{Duration, Instant};

use noderange::{expand, GroupKind, MemorySource, Options};

fn big() -> MemorySource {
    let mut src = MemorySource::new();
    for i in 1..=100_000 {
        let g = format!("g{}", i % 500);
        src.add_node(&format!("node{i}"), &["all", "compute", &g]);
    }
    for g in 0..500 {
        src.define_group(&format!("g{g}"), GroupKind::Static);
    }
    src.define_group("all", GroupKind::Static);
    src
}

fn time(src: &MemorySource, range: &str, expect: usize) -> Duration {
    let opts = Options::default();
    let start = Instant::now();
    let e = expand(src, range, &opts).unwrap();
    let took = start.elapsed();
    assert_eq!(e.nodes.len(), expect, "{range}");
    assert!(e.missing.is_empty());
    eprintln!(
        "{range:<24} {:>7} nodes  {:>8.1} ms",
        e.nodes.len(),
        took.as_secs_f64() * 1e3
    );
    took
}

#[test]
#[ignore = "timing; run in release mode with --ignored"]
fn hundred_thousand_nodes() {
    let t = Instant::now();
    let src = big();
    eprintln!("building source: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let limit = Duration::from_secs(1);
    assert!(time(&src, "all", 100_000) < limit);
    assert!(time(&src, "g7", 200) < limit);
    assert!(time(&src, "node1-node50000", 50_000) < limit);
    assert!(time(&src, "node[1-50000]", 50_000) < limit);
    assert!(time(&src, "/node1.*", 11_112) < limit);
    assert!(time(&src, "all,-node1-node50000", 50_000) < limit);
    assert!(time(&src, "all@g7,g8", 400) < limit);
    assert!(time(&src, "groups=~g7$", 200) < limit);
}
