//! Fuzz noderange::expand: any UTF-8 input must give a result or an error, never a panic,
//! a hang or a memory blow-up; results are sorted and unique.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use noderange::{expand, GroupKind, MemorySource, Options, NODEHM_COLUMNS};

fn source() -> MemorySource {
    let mut src = MemorySource::new();
    for i in 1..=20 {
        let rack = format!("rack{}", i % 4);
        src.add_node(&format!("node{i}"), &["all", "compute", &rack]);
    }
    for n in ["node01", "cn-01", "cn-02", "n1.lab", "1", "é1"] {
        src.add_node(n, &["all", "misc"]);
    }
    src.define_group("empty", GroupKind::Static);
    src.set_dynamic_group("dyn", Ok(vec!["node1".into(), "node2".into()]));
    src.add_table("nodehm", NODEHM_COLUMNS);
    src.set_attribute("nodehm", "mgt", "node1", "ipmi");
    src.add_file("/f", "node1\n#comment\nnode2,^/g\n-node3\n");
    src.add_file("/g", "rack1:x\n^/f\nnode[1-3]\n");
    src
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    static SOURCE: OnceLock<MemorySource> = OnceLock::new();
    let src = SOURCE.get_or_init(source);
    // A low generation limit keeps every run fast.
    let mut opts = Options {
        max_generated: 50_000,
        ..Options::default()
    };
    // The first byte picks a variant of the options.
    match data.first().map(|b| b % 4) {
        Some(1) => opts.verify = false,
        Some(2) => opts.excludenodes = Some("node2,rack1".into()),
        Some(3) => opts.prefix = String::new(),
        _ => {}
    }
    let text = text.to_string();
    // Evaluate on a thread with a large stack: deep nesting then never needs the crate's
    // on-demand stack growth (stacker), whose stack switches AddressSanitizer does not know
    // about. A panic in the thread aborts the process through libfuzzer-sys's panic hook.
    let worker = std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(move || {
            if let Ok(e) = expand(src, &text, &opts) {
                assert!(e.nodes.windows(2).all(|w| w[0] < w[1]), "not sorted/unique");
            }
        })
        .expect("spawn worker thread");
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
});
