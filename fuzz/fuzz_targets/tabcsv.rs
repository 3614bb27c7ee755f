//! Fuzz tabcsv::parse: it must never panic, and whatever parses must survive
//! write -> parse -> write unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

const COLUMNS: &[&str] = &["node", "groups", "status", "comments", "disable"];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = tabcsv::parse(text, "nodelist", COLUMNS) else {
        return;
    };
    let written = parsed.to_csv();
    let again = match tabcsv::parse(&written, "nodelist", COLUMNS) {
        Ok(p) => p,
        Err(e) => panic!("written text does not parse: {e:?}\n{written:?}"),
    };
    assert_eq!(
        again.to_csv(),
        written,
        "write -> parse -> write changed the text"
    );
    assert_eq!(again.columns, parsed.columns);
    assert_eq!(again.records.len(), parsed.records.len());
    for (x, y) in again.records.iter().zip(&parsed.records) {
        assert_eq!(x.line, y.line);
        // The writer writes "" as NULL; everything else must come back as is.
        let expect: Vec<tabcsv::Field> = y
            .fields
            .iter()
            .map(|f| f.clone().filter(|s| !s.is_empty()))
            .collect();
        assert_eq!(x.fields, expect);
    }
});
