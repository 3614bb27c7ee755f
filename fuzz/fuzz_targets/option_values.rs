//! Option values that come from users and files: database URLs, xCAT cfgloc lines, and the
//! redaction of either. Each line of the input is one value: an error or a value, never a panic,
//! and a redacted value never holds the password it hid.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        let _ = clusterdb::DbUrl::parse(line);
        let _ = clusterdb::conninfo::parse_cfgloc(line, "fuzz");
        let _ = clusterdb::url::redact_words(line);
        if let Ok(p) = clusterdb::conninfo::parse_server_url(line) {
            let shown = clusterdb::url::redact(line);
            if let Some(pw) = p.password.expose().filter(|pw| pw.len() > 3) {
                if !line.contains('?') && !line.contains('%') {
                    assert!(!shown.contains(&format!(":{pw}@")), "{shown}");
                }
            }
        }
    }
});
