use valexpr::{evaluate, is_expression, ExprError};

fn ev(node: &str, value: &str) -> Option<String> {
    match evaluate(node, value) {
        Ok(v) => v,
        Err(e) => panic!("{node} / {value}: {e}"),
    }
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// Every case of the conformance corpus (produced by xCAT's own Table.pm).
#[test]
fn conformance_corpus() {
    let text = include_str!("data/value-expression-examples.json");
    let cases: serde_json::Value = serde_json::from_str(text).unwrap();
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 24);
    for case in cases {
        let node = case["node"].as_str().unwrap();
        let value = case["value"].as_str().unwrap();
        let expect = case["expect"].as_str().map(str::to_string);
        assert_eq!(ev(node, value), expect, "node {node:?} value {value:?}");
        let kind = case["kind"].as_str().unwrap();
        assert_eq!(
            is_expression(value),
            kind != "literal" || value.starts_with('/')
        );
    }
}

/// The verified examples of the data-model notes, section 4.
#[test]
fn data_model_examples() {
    let table: &[(&str, &str, Option<&str>)] = &[
        ("node12", r"|node(\d+)|10.0.0.($1+0)|", Some("10.0.0.12")),
        ("node12", r"|10.0.0.($1+0)|", Some("10.0.0.12")),
        (
            "c01f02x03v04",
            r"|\D+(\d+)\D+(\d+)\D+(\d+)\D+(\d+)|c($1)f($2)x($3)|",
            Some("c01f02x03"),
        ),
        (
            "c01f02x03v04",
            r"|\D+(\d+)\D+(\d+)\D+(\d+)\D+(\d+)|dir:///install/vms/vm($4+0)|",
            Some("dir:///install/vms/vm4"),
        ),
        (
            "node20",
            r"|\D+(\d+)|cmm(sprintf('%02d',($1-1)/14+1))|",
            Some("cmm02"),
        ),
        ("node20", r"|\D+(\d+)|(($1-1)%14+1)|", Some("6")),
        (
            "row2-col3",
            r"|row(\d+)-col(\d+)|(dim2idx($1, 4, $2))|",
            Some("7"),
        ),
        // Prose examples.
        ("node1", r"/\z/-bmc/", Some("node1-bmc")),
        ("node7", "/^/pre-/", Some("pre-node7")),
        ("node1", "/node/blade/", Some("blade1")),
        ("node1", "/xyz/abc/", Some("node1")),
        ("node1", "/Node/x/", Some("node1")),
        ("node12", r"/node(\d+)/blade$1/", Some("blade$1")),
        ("n1", "/a/b/c/", Some("/a/b/c/")),
        ("n1", "/-bmc/", Some("/-bmc/")),
        ("node1", "/node1//", None),
        ("node012", r"|10.0.0.($1+0)|", Some("10.0.0.12")),
        ("blade", r"|10.0.0.($1+0)|", Some("10.0.0.0")),
        ("node20", r"|\D+(\d+)|node-$1|", Some("node-$1")),
        (
            "rack2node5",
            r"|rack(\d+)node(\d+)|10.$1.0.($2*2)|",
            Some("10.$1.0.10"),
        ),
        ("node07", r"|node(\d+)|($1)|", Some("07")),
        ("node07", r"|node(\d+)|($1+0)|", Some("7")),
        (
            "node5",
            r"|node(\d+)|node($1-1),node($1+1)|",
            Some("node4,node6"),
        ),
        (
            "node12-eth0",
            r"|node(\d+)|10.0.0.($1+0)|",
            Some("10.0.0.12-eth0"),
        ),
        ("other1", r"|node(\d+)|10.0.0.($1+0)|", Some("other1")),
        ("node7", r"|node(\d+)|(skip($1,'3:2'))|", Some("5")),
        (
            "node300",
            r"|\D+(\d+)|(ipadd(10,0,0,0,$1,1,1))|",
            Some("10.0.1.47"),
        ),
        ("nodeb", r"|node(\w)|(a2zidx($1))|", Some("1")),
        ("ab", r"|(.*)|(mknum($1))|", Some("195")),
    ];
    for (node, value, expect) in table {
        assert_eq!(
            ev(node, value),
            expect.map(str::to_string),
            "node {node:?} value {value:?}"
        );
    }
}

#[test]
fn literal_values() {
    assert_eq!(ev("n1", "plain"), some("plain"));
    assert_eq!(ev("n1", ""), None);
    assert_eq!(ev("n1", "/"), some("/"));
    assert_eq!(ev("n1", "//"), some("//"));
    assert_eq!(ev("n1", "|"), some("|"));
    assert_eq!(
        ev("n1", "/install/postscripts"),
        some("/install/postscripts")
    );
    assert_eq!(ev("n1", "a|b|c"), some("a|b|c"));
    assert_eq!(ev("n1", "|a\nb|c|"), some("|a\nb|c|"));
    assert!(!is_expression("plain"));
    assert!(!is_expression(""));
    assert!(is_expression("/x/y/"));
    assert!(is_expression("|x|"));
}

#[test]
fn pipe_form_details() {
    // "||" and "|PAT||" give an empty replacement: not set.
    assert_eq!(ev("node12", "||"), None);
    assert_eq!(ev("node1", "|node1||"), None);
    // Easy form with the literal path.
    assert_eq!(ev("node12", "|x|"), some("x"));
    // Easy form, leading zeros are not part of the digit groups.
    assert_eq!(ev("node012", "|($1)|"), some("12"));
    // "r0n0" has a single match of [\D0]*(\d+), ending at the last zero.
    assert_eq!(ev("r0n0", "|($1)-($2)|"), some("0-"));
    // Only the first match is replaced; unmatched text is kept.
    assert_eq!(ev("a1b1", r"|(\d)|(($1+1))|"), some("a2b1"));
    // Unbalanced or closing-first parentheses: literal replacement.
    assert_eq!(ev("node5", r"|node(\d+)|x)($1)|"), some("x)($1)"));
    assert_eq!(ev("node5", r"|node(\d+)|x($1|"), some("x($1"));
    // Text after an unbalanced group is kept as is once a group was evaluated.
    assert_eq!(ev("node5", r"|node(\d+)|($1)x(|"), some("5x("));
    // Groups produced by an evaluation are evaluated in turn.
    assert_eq!(
        ev("node5", r#"|node(\d+)|(sprintf("(%d+1)", $1))|"#),
        some("6")
    );
    // Double-quoted strings interpolate captures.
    assert_eq!(ev("node5", r#"|node(\d+)|("n$1-${1}")|"#), some("n5-5"));
    // Concatenation and undefined captures.
    assert_eq!(ev("node5", r"|node(\d+)|('x'.$1.$2)|"), some("x5"));
    assert_eq!(ev("node5", r"|node(\d+)|($2+1)|"), some("1"));
    // An empty evaluated value is "not set".
    assert_eq!(ev("node5", r"|node(\d+)|($2)|"), None);
    assert_eq!(ev("node5", r"|node(\d+)|()|"), None);
    // Empty pattern matches at the start.
    assert_eq!(ev("node5", "||pre-|"), some("pre-node5"));
    assert_eq!(ev("node5", "///"), some("node5"));
    // \Z is accepted.
    assert_eq!(ev("node5", r"/\Z/-ib/"), some("node5-ib"));
    // Non-participating group is undef.
    assert_eq!(ev("node5", r"|node(x)?(\d+)|[($1)][($2)]|"), some("[][5]"));
    // Whitespace in expressions.
    assert_eq!(ev("node5", r"|node(\d+)|( $1 * 2 + 1 )|"), some("11"));
    assert_eq!(
        ev("node12", r"|node(\d+)|( sprintf( '%s-%03d' , 'n' , $1 ) )|"),
        some("n-012")
    );
}

#[test]
fn errors() {
    let eval_err = |node: &str, value: &str, needle: &str| match evaluate(node, value) {
        Err(ExprError::Eval { value: v, reason }) => {
            assert_eq!(v, value);
            assert!(
                reason.contains(needle),
                "{reason:?} should mention {needle:?}"
            );
        }
        other => panic!("{value}: expected Eval error, got {other:?}"),
    };
    eval_err("node0", r"|node(\d+)|(10/$1)|", "division by zero");
    eval_err("node0", r"|node(\d+)|(10%$1)|", "modulus zero");
    eval_err("node5", r"|node(\d+)|(foo($1))|", "foo");
    eval_err("node5", r"|node(\d+)|(eth0)|", "eth0");
    eval_err("node5", r"|node(\d+)|(system('rm -rf /'))|", "system");
    eval_err("node5", r"|node(\d+)|($1 +)|", "syntax");
    eval_err("node5", r"|node(\d+)|('abc)|", "unterminated");
    eval_err("node5", r"|node(\d+)|(ipadd(1,2,3,4,5,200,200))|", "ipadd");
    eval_err("node5", r"|node(\d+)|(sprintf('%f', $1))|", "floating");

    let regex_err = |value: &str| match evaluate("node5", value) {
        Err(e @ ExprError::InvalidRegex { .. }) => {
            assert!(e.to_string().contains("invalid regular expression"));
        }
        other => panic!("{value}: expected InvalidRegex, got {other:?}"),
    };
    regex_err("/node(/x/");
    regex_err("|node(|x|");
    regex_err(r"|(?=node)(\d+)|($1)|");
    regex_err(r"/(a)\1/x/");
    // Cached invalid patterns still report the error.
    regex_err("/node(/x/");
    // No match: no evaluation, so no error.
    assert_eq!(ev("other", r"|node(\d+)|(10/0)|"), some("other"));
}

/// Tiny deterministic PRNG (xorshift64*), so the test needs no dependency.
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

/// Randomized robustness check: evaluation never panics, whatever the input.
#[test]
fn never_panics_on_random_input() {
    const ATOMS: &[&str] = &[
        "(",
        ")",
        "(",
        ")",
        "|",
        "|",
        "/",
        "$1",
        "$2",
        "${1}",
        "$",
        "\\",
        "\\d+",
        "\\D",
        "(\\d+)",
        "+",
        "-",
        "*",
        "/",
        "%",
        ".",
        ",",
        "'",
        "\"",
        "0",
        "1",
        "7",
        "08",
        "0x",
        "99999999999999999999",
        "-",
        "sprintf(",
        "'%03d'",
        "'%*d'",
        "'%.*s'",
        "'%2$s'",
        "a2idx(",
        "a2zidx(",
        "dim2idx(",
        "skip(",
        "'3:2,x:'",
        "ipadd(",
        "mknum(",
        "node",
        "x",
        " ",
        "é",
        "\n",
        "()",
        "{",
        "}",
        "[",
        "]",
        "?",
        "^",
        "\\Z",
        "\\z",
        "**",
        "eth0",
        "%",
        "%d",
    ];
    const NODES: &[&str] = &[
        "node1",
        "node012",
        "",
        "c01f02x03v04",
        "rack2node5",
        "blade",
        "n0",
        "é9",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..40_000 {
        let mut v = String::new();
        match rng.below(4) {
            0 => v.push('|'),
            1 => v.push('/'),
            2 => v.push_str("|node(\\d+)|"),
            _ => {}
        }
        for _ in 0..rng.below(14) {
            v.push_str(ATOMS[rng.below(ATOMS.len())]);
        }
        match rng.below(3) {
            0 => v.push('|'),
            1 => v.push('/'),
            _ => {}
        }
        let node = NODES[rng.below(NODES.len())];
        let _ = evaluate(node, &v);
        let _ = is_expression(&v);
    }
}

/// Rough speed check: 100,000 nodes x 4 columns.
#[test]
#[ignore = "timing; run with --release -- --ignored --nocapture"]
fn speed_100k_nodes() {
    let values = [
        r"|node(\d+)|10.0.0.($1+0)|",
        r"|10.1.($1/256).($1%256)|",
        r"/\z/-bmc/",
        r"|\D+(\d+)|cmm(sprintf('%02d',($1-1)/14+1))|",
    ];
    let t = std::time::Instant::now();
    let mut total = 0usize;
    for i in 0..100_000 {
        let node = format!("node{i:05}");
        for v in &values {
            total += evaluate(&node, v).unwrap().map_or(0, |s| s.len());
        }
    }
    println!("400,000 evaluations in {:?} ({total} bytes)", t.elapsed());
}
