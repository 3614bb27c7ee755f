use tabcsv::{parse, write_header, write_record, CsvError, CsvErrorKind, Field, Parsed};

const HOSTS: &[&str] = &[
    "node",
    "ip",
    "hostnames",
    "otherinterfaces",
    "comments",
    "disable",
];

fn f(s: &str) -> Field {
    Some(s.to_string())
}

fn ok(text: &str, cols: &[&str]) -> Parsed {
    match parse(text, "t", cols) {
        Ok(p) => p,
        Err(e) => panic!("{text:?}: {e:?}"),
    }
}

fn errs(text: &str, cols: &[&str]) -> Vec<CsvError> {
    match parse(text, "t", cols) {
        Ok(p) => panic!("{text:?}: expected errors, got {p:?}"),
        Err(e) => e,
    }
}

/// The example of the data-model notes, section 6.1.
#[test]
fn data_model_example() {
    let text = r#"#node,ip,hostnames,otherinterfaces,comments,disable
"compute","|node(\d+)|10.0.0.($1+0)|",,,,
"node1","10.0.0.1","n1,n1-alias",,"say ""hi""",
"node2","10.0.0.2",,,"two
lines",
"#;
    let p = ok(text, HOSTS);
    assert_eq!(p.columns, HOSTS);
    assert_eq!(p.records.len(), 3);
    assert_eq!(
        p.records[0].fields,
        vec![
            f("compute"),
            f(r"|node(\d+)|10.0.0.($1+0)|"),
            None,
            None,
            None,
            None
        ]
    );
    assert_eq!(
        p.records[1].fields,
        vec![
            f("node1"),
            f("10.0.0.1"),
            f("n1,n1-alias"),
            None,
            f("say \"hi\""),
            None
        ]
    );
    assert_eq!(
        p.records[2].fields,
        vec![f("node2"), f("10.0.0.2"), None, None, f("two\nlines"), None]
    );
    assert_eq!(
        p.records.iter().map(|r| r.line).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(p.to_csv(), text);
}

#[test]
fn writer() {
    let mut out = String::new();
    write_header(&mut out, &["node", "groups"]);
    write_record(&mut out, &[Some("n1"), None]);
    write_record(&mut out, &[Some(""), Some("a\"b,c\nd")]);
    write_record::<&str>(&mut out, &[None, None]);
    write_record(&mut out, &[Some("\"")]);
    assert_eq!(
        out,
        "#node,groups\n\"n1\",\n,\"a\"\"b,c\nd\"\n,\n\"\"\"\"\n"
    );
    let mut out = String::new();
    write_record(&mut out, &[Some("x".to_string()), None]);
    assert_eq!(out, "\"x\",\n");
}

#[test]
fn header_rules() {
    // Quotes anywhere in the header are removed, trailing whitespace too.
    let p = ok("#\"node\",\"ip\"  \r\n", HOSTS);
    assert_eq!(p.columns, ["node", "ip"]);
    // Subset, any order; trailing empty names are dropped as by Perl's split.
    let p = ok("#comments,node,,\n\"c\",\"n\"\n", HOSTS);
    assert_eq!(p.columns, ["comments", "node"]);
    assert_eq!(p.records[0].fields, vec![f("c"), f("n")]);
    // Empty header: no columns; only blank lines are acceptable records.
    let p = ok("#\n\n", HOSTS);
    assert!(p.columns.is_empty());
    assert_eq!(p.records.len(), 1);
    assert!(p.records[0].fields.is_empty());

    for text in ["", "node,ip\n", " #node\n", "\"#node\"\n", "\n#node\n"] {
        let e = errs(text, HOSTS);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].kind, CsvErrorKind::MissingHeader);
        assert_eq!(
            e[0].to_string(),
            "line 1: Data missing header line starting with #"
        );
    }
    let e = errs("#node,bogus,ip,x\n\"n\"\n", HOSTS);
    assert_eq!(e.len(), 2);
    assert_eq!(
        e[0].to_string(),
        "line 1: The header line indicates that column 'bogus' should exist, which is not defined in the schema for 't'"
    );
    assert_eq!(
        e[1].kind,
        CsvErrorKind::UnknownColumn {
            column: "x".into(),
            table: "t".into()
        }
    );
    // Inner empty name or leading space is not a column.
    assert_eq!(errs("#node,,ip\n", HOSTS).len(), 1);
    assert_eq!(errs("#node, ip\n", HOSTS).len(), 1);
}

#[test]
fn field_rules() {
    let cols = &["a", "b", "c"];
    let p = ok(
        "#a,b,c\nx,\"\",\n,,\n\n\"\"\"\"\nplain text,  spaced  ,z   \r\n#hash,x\n",
        cols,
    );
    let got: Vec<Vec<Field>> = p.records.iter().map(|r| r.fields.clone()).collect();
    assert_eq!(
        got,
        vec![
            vec![f("x"), f(""), None],
            vec![None, None, None],
            vec![None, None, None], // blank line: a record of NULLs
            vec![f("\""), None, None],
            vec![f("plain text"), f("  spaced  "), f("z")],
            vec![f("#hash"), f("x"), None],
        ]
    );
    // One trailing comma after the last column is consumed like a separator.
    let p = ok("#a,b\nx,y,\n\"x\",\"y\",\n", cols);
    assert_eq!(p.records[0].fields, vec![f("x"), f("y")]);
    assert_eq!(p.records[1].fields, vec![f("x"), f("y")]);
    // No trailing newline at the end of the input.
    let p = ok("#a\n\"x\"", cols);
    assert_eq!(p.records[0].fields, vec![f("x")]);
}

#[test]
fn multi_line_values() {
    let cols = &["a", "b"];
    // Trailing whitespace of every physical line is stripped, also inside a
    // quoted value (xCAT's behaviour).
    let text = "#a,b\n\"one  \r\n\ttwo\n\nthree\",\"x\"\n\"next\",\n";
    let p = ok(text, cols);
    assert_eq!(p.records[0].fields, vec![f("one\n\ttwo\n\nthree"), f("x")]);
    assert_eq!(p.records[0].line, 0);
    assert_eq!(p.records[1].line, 4);
    assert_eq!(p.records[1].fields, vec![f("next"), None]);
    // Continuation lines are parsed as part of the record.
    let p = ok("#a,b\n\"x\ny\",\"z\nw\"\nlast\n", cols);
    assert_eq!(p.records[0].fields, vec![f("x\ny"), f("z\nw")]);
    assert_eq!(p.records[1].line, 3);
    // An escaped quote at the end of a line does not close the field.
    let p = ok("#a\n\"x\"\"\ny\"\n", cols);
    assert_eq!(p.records[0].fields, vec![f("x\"\ny")]);
}

#[test]
fn record_errors_are_all_reported() {
    let cols = &["a", "b"];
    let text = "#a,b\n\
                ok,ok\n\
                ab\"c,x\n\
                \"abc\"d,x\n\
                x,y,z\n\
                \"multi\nline\"x\n\
                fine,\"ok\"\n\
                a,\"never closed\nmore\n";
    let e = errs(text, cols);
    let got: Vec<(CsvErrorKind, Option<usize>, usize, Option<usize>)> = e
        .iter()
        .map(|e| (e.kind.clone(), e.data_line, e.physical_line, e.column))
        .collect();
    assert_eq!(
        got,
        vec![
            (CsvErrorKind::MissingOpeningQuote, Some(1), 3, Some(1)),
            (CsvErrorKind::UnescapedQuote, Some(2), 4, Some(1)),
            (CsvErrorKind::TooManyFields, Some(3), 5, Some(5)),
            (CsvErrorKind::UnescapedQuote, Some(4), 6, Some(1)),
            (CsvErrorKind::UnmatchedQuote, Some(7), 9, Some(3)),
        ]
    );
    assert_eq!(e[0].to_string(), "line 3, column 1: CSV missing opening \"");
    assert_eq!(e[1].to_string(), "line 4, column 1: CSV unescaped \"");
    assert_eq!(e[2].to_string(), "line 5, column 5: Too many fields");
    assert_eq!(e[4].to_string(), "line 9, column 3: CSV unmatched \"");
    // A field after a multi-line one is located on its own physical line.
    let e = errs("#a,b\n\"x\ny\",b\"\n", cols);
    assert_eq!((e[0].physical_line, e[0].column), (3, Some(4)));
    // Zero columns: any text is too much.
    let e = errs("#\nx\n", cols);
    assert_eq!(e[0].kind, CsvErrorKind::TooManyFields);
}

#[test]
fn crlf_input() {
    let p = ok("#a,b\r\n\"x\",\"y\"\r\n\"m\r\nn\",\r\n", &["a", "b"]);
    assert_eq!(p.columns, ["a", "b"]);
    assert_eq!(p.records[0].fields, vec![f("x"), f("y")]);
    assert_eq!(p.records[1].fields, vec![f("m\nn"), None]);
}

/// Tiny deterministic PRNG (xorshift64*), so the tests need no dependency.
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

/// A value tabdump could write: no whitespace right before a newline.
fn random_value(rng: &mut Rng) -> Option<String> {
    const PIECES: &[&str] = &[
        "a", "node01", ",", "\"", "\"\"", "\n", " ", "\t", "é", "|x|", "#", "\r", "0", ",\"",
        "\n\n",
    ];
    if rng.below(3) == 0 {
        return None;
    }
    let mut v = String::new();
    for _ in 0..1 + rng.below(6) {
        let piece = PIECES[rng.below(PIECES.len())];
        if piece.starts_with('\n') {
            while v.ends_with(|c: char| c != '\n' && c.is_ascii_whitespace()) {
                v.pop();
            }
        }
        v.push_str(piece);
    }
    Some(v)
}

/// Property: for generated tabdump output, write(parse(text)) == text.
#[test]
fn random_round_trip() {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    for _ in 0..2000 {
        let ncols = 1 + rng.below(HOSTS.len());
        let cols = &HOSTS[..ncols];
        let mut text = String::new();
        write_header(&mut text, cols);
        let mut rows = Vec::new();
        for _ in 0..rng.below(6) {
            let row: Vec<Option<String>> = (0..ncols).map(|_| random_value(&mut rng)).collect();
            write_record(&mut text, &row);
            rows.push(row);
        }
        let p = ok(&text, HOSTS);
        assert_eq!(p.to_csv(), text);
        // Values read back are the written ones (empty strings become NULL).
        for (r, row) in p.records.iter().zip(&rows) {
            let expect: Vec<Field> = row
                .iter()
                .map(|v| v.clone().filter(|s| !s.is_empty()))
                .collect();
            assert_eq!(r.fields, expect);
        }
    }
}

/// Arbitrary input never panics, and what parses round-trips.
#[test]
fn random_input_never_panics() {
    const PIECES: &[&str] = &[
        "#", "a", "b", ",", "\"", "\n", " ", "\r", "\r\n", "\t", "é", "node", "\"\"",
    ];
    let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
    let cols = &["node", "a", "b"];
    let mut parsed_ok = 0;
    for i in 0..20_000 {
        let mut text = String::new();
        if i % 2 == 0 {
            text.push_str("#node,a\n");
        }
        for _ in 0..rng.below(25) {
            text.push_str(PIECES[rng.below(PIECES.len())]);
        }
        if let Ok(p) = parse(&text, "t", cols) {
            parsed_ok += p.records.len().min(1);
            let written = p.to_csv();
            let again = parse(&written, "t", cols).expect("written text parses");
            assert_eq!(again.to_csv(), written);
            assert_eq!(again.columns, p.columns);
            for (x, y) in again.records.iter().zip(&p.records) {
                assert_eq!(x.line, y.line);
                let norm: Vec<Field> = y
                    .fields
                    .iter()
                    .map(|v| v.clone().filter(|s| !s.is_empty()))
                    .collect();
                assert_eq!(x.fields, norm);
            }
            assert_eq!(again.records.len(), p.records.len());
        }
    }
    assert!(
        parsed_ok > 500,
        "only {parsed_ok} inputs with records parsed"
    );
}

/// 100,000 nodelist rows (about 6 MB).
#[test]
#[ignore = "timing; run with --release -- --ignored --nocapture"]
fn speed_100k_nodelist_rows() {
    let cols = [
        "node",
        "groups",
        "status",
        "statustime",
        "appstatus",
        "appstatustime",
        "primarysn",
        "hidden",
        "updatestatus",
        "updatestatustime",
        "zonename",
        "comments",
        "disable",
    ];
    let mut text = String::new();
    write_header(&mut text, &cols);
    for i in 0..100_000 {
        let node = format!("r{:02}n{:04}", i / 1000, i % 1000);
        let groups = format!("compute,rack{:02},ib{}", i / 1000, i % 4);
        let comment = if i % 10 == 0 {
            "spare \"x\", two\nlines"
        } else {
            ""
        };
        let status = if i % 3 == 0 { None } else { Some("booted") };
        write_record(
            &mut text,
            &[
                Some(node.as_str()),
                Some(groups.as_str()),
                status,
                status.map(|_| "01-15-2026 10:00:00"),
                None,
                None,
                Some("sn01"),
                None,
                None,
                None,
                None,
                Some(comment),
                None,
            ],
        );
    }
    let mut best = std::time::Duration::MAX;
    let mut p = Parsed::default();
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let q = parse(&text, "nodelist", &cols).unwrap();
        best = best.min(t.elapsed());
        p = q;
    }
    assert_eq!(p.records.len(), 100_000);
    println!(
        "parsed {} bytes, {} records in {best:?} (best of 5)",
        text.len(),
        p.records.len()
    );
    let t = std::time::Instant::now();
    let written = p.to_csv();
    println!("wrote them back in {:?}", t.elapsed());
    assert_eq!(written, text);
}
