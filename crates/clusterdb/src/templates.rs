//! Node definition templates (`mkdef --template NAME`, `lsdef --template`), embedded from
//! `templates/node.stanza`. A template value `OPTIONAL:...` is left out unless the command gives
//! the attribute; `MANDATORY:...` must be given.

use crate::stanza::{self, Stanza};
use crate::{Error, Result};
use std::sync::OnceLock;

fn all() -> &'static [Stanza] {
    static T: OnceLock<Vec<Stanza>> = OnceLock::new();
    T.get_or_init(|| {
        stanza::parse(include_str!("../templates/node.stanza")).expect("embedded templates parse")
    })
}

/// Every node template, by name.
pub fn node_templates() -> &'static [Stanza] {
    all()
}

pub fn node_template(name: &str) -> Option<&'static Stanza> {
    all().iter().find(|t| t.name == name)
}

/// The assignments of a node made from `template` and the command's own `given` ones (which
/// win): OPTIONAL values left out, a MANDATORY one missing is an error naming it.
pub fn fill(
    template: &[(String, String)],
    given: &[(String, String)],
) -> Result<Vec<(String, String)>> {
    let has = |a: &str| given.iter().any(|(k, _)| k == a);
    let mut out = Vec::new();
    for (k, v) in template {
        if has(k) || v.starts_with("OPTIONAL:") {
            continue;
        }
        if v.starts_with("MANDATORY:") {
            return Err(Error::Missing(format!(
                "The attribute \"{k}\" must be specified!"
            )));
        }
        out.push((k.clone(), v.clone()));
    }
    out.extend(given.iter().cloned());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill() {
        let cec = node_template("cec-template").unwrap();
        let e = fill(&cec.attrs, &[("serial".into(), "s".into())]).unwrap_err();
        assert!(e.to_string().contains("must be specified!"), "{e}");
        let given: Vec<(String, String)> = ["serial", "mtm", "hcp"]
            .iter()
            .map(|a| (a.to_string(), "x".to_string()))
            .collect();
        let a = fill(&cec.attrs, &given).unwrap();
        assert!(a.contains(&("groups".to_string(), "cec,all".to_string())));
        let sw = node_template("switch-template").unwrap();
        let a = fill(&sw.attrs, &[]).unwrap();
        assert!(!a.iter().any(|(k, _)| k == "ip"));
        assert_eq!(node_templates().len(), 7);
    }
}
