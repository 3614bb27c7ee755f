//! Randomized robustness test: arbitrary input never panics (results or errors only).

use noderange::{expand, GroupKind, MemorySource, Options, NODEHM_COLUMNS};

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "node",
    "n",
    "g",
    "all",
    "rack",
    "1",
    "2",
    "0",
    "9",
    "01",
    "10",
    "99999999999999999999",
    ",",
    "-",
    "@",
    "(",
    ")",
    "[",
    "]",
    ":",
    "+",
    "/",
    "^",
    "=",
    "~",
    "!",
    ".",
    "*",
    "|",
    "'",
    "\"",
    " ",
    "\\",
    "é",
    "日本",
    "#",
    "\n",
    "\t",
    "^/f",
    "^/g",
    "groups",
    "nodehm.mgt",
    "==",
    "=~",
    "!=",
    "!~",
    "$",
    "{",
    "}",
    "?",
    "\r",
];

fn source() -> MemorySource {
    let mut src = MemorySource::new();
    for i in 1..=30 {
        let rack = format!("rack{}", i % 3);
        src.add_node(&format!("node{i}"), &["all", "g", &rack]);
    }
    for n in ["n1", "n-1", "node01", "é1", "1", "g1"] {
        src.add_node(n, &["misc"]);
    }
    src.define_group("empty", GroupKind::Static);
    src.set_dynamic_group("dyn", Ok(vec!["node1".into()]));
    src.add_table("nodehm", NODEHM_COLUMNS);
    src.set_attribute("nodehm", "mgt", "node1", "ipmi");
    src.add_file("/f", "node1\n#c\nnode2,^/g\n-node3\n");
    src.add_file("/g", "rack1:x\n^/f\nnode[1-3]\n");
    src
}

#[test]
fn random_inputs_never_panic() {
    let src = source();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let base = Options {
        max_generated: 20_000,
        ..Options::default()
    };
    let variants = [
        base.clone(),
        Options {
            verify: false,
            ..base.clone()
        },
        Options {
            excludenodes: Some("node2,rack1,bogus".into()),
            ..base.clone()
        },
        Options {
            prefix: String::new(),
            suffix: "x".into(),
            ..base.clone()
        },
    ];
    let mut ok = 0usize;
    let mut errors = 0usize;
    for i in 0..6000 {
        let mut s = String::new();
        for _ in 0..rng.below(24) {
            s.push_str(PIECES[rng.below(PIECES.len())]);
        }
        let opts = &variants[i % variants.len()];
        match expand(&src, &s, opts) {
            Ok(e) => {
                assert!(
                    e.nodes.windows(2).all(|w| w[0] < w[1]),
                    "{s:?} not sorted/unique"
                );
                ok += 1;
            }
            Err(_) => errors += 1,
        }
    }
    eprintln!("random inputs: {ok} ok, {errors} errors");
    assert!(ok > 0);
}

#[test]
fn random_bytes_as_lossy_utf8_never_panic() {
    let src = source();
    let mut rng = Rng(12345);
    let opts = Options {
        max_generated: 20_000,
        ..Options::default()
    };
    for _ in 0..3000 {
        let len = rng.below(32);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let s = String::from_utf8_lossy(&bytes);
        let _ = expand(&src, &s, &opts);
    }
}
