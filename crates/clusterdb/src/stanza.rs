//! xCAT's stanza files (`lsdef -z` writes them, `mkdef -z` / `chdef -z` read them):
//!
//! ```text
//! # <xCAT data object stanza file>
//!
//! cn01:
//!     objtype=node
//!     groups=compute,all
//! ```
//!
//! Comments start with `#`; a line ending in `:` starts an object; indented `attr=value` lines
//! belong to it. `objtype` is the object's type (node when absent).

use crate::objects::Attrs;
use crate::{Error, Result};

/// The header line lsdef -z prints.
pub const HEADER: &str = "# <xCAT data object stanza file>";

/// One object of a stanza file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
    pub name: String,
    pub objtype: String,
    /// Assignments in file order (`attr`, `value`), `objtype` left out.
    pub attrs: Vec<(String, String)>,
}

/// Parse a stanza file; errors name the line.
pub fn parse(text: &str) -> Result<Vec<Stanza>> {
    let mut out: Vec<Stanza> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_suffix(':').filter(|n| !n.contains('=')) {
            let name = name.trim();
            if name.is_empty() {
                return Err(Error::Invalid(format!(
                    "stanza line {}: no object name",
                    i + 1
                )));
            }
            out.push(Stanza {
                name: name.to_string(),
                objtype: "node".into(),
                attrs: Vec::new(),
            });
            continue;
        }
        let Some((attr, value)) = line.split_once('=') else {
            return Err(Error::Invalid(format!(
                "stanza line {}: '{line}' is neither 'name:' nor 'attribute=value'",
                i + 1
            )));
        };
        let Some(cur) = out.last_mut() else {
            return Err(Error::Invalid(format!(
                "stanza line {}: '{line}' comes before any 'name:' line",
                i + 1
            )));
        };
        let (attr, value) = (attr.trim(), value.trim());
        if attr == "objtype" {
            cur.objtype = value.to_string();
        } else {
            cur.attrs.push((attr.to_string(), value.to_string()));
        }
    }
    Ok(out)
}

/// One object as lsdef -z prints it (a blank line, `name:`, `objtype=`, the attributes).
pub fn format(out: &mut String, name: &str, objtype: &str, attrs: &[(String, String)]) {
    out.push_str(&format!("\n{name}:\n    objtype={objtype}\n"));
    for (k, v) in attrs {
        out.push_str(&format!("    {k}={v}\n"));
    }
}

/// The attributes of a stanza as a map (the last value of a repeated attribute wins).
pub fn attrs_of(s: &Stanza) -> Attrs {
    s.attrs.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut text = String::from(HEADER);
        text.push('\n');
        format(&mut text, "cn1", "node", &[("groups".into(), "all".into())]);
        format(
            &mut text,
            "net1",
            "network",
            &[("mask".into(), "255.0.0.0".into())],
        );
        let s = parse(&text).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "cn1");
        assert_eq!(s[1].objtype, "network");
        assert_eq!(s[1].attrs, [("mask".to_string(), "255.0.0.0".to_string())]);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("groups=all\n").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        let e = parse("cn1:\n  junk\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}
