//! xCAT's two small filter languages:
//!
//! - selection strings (`lsdef -w`, dynamic groups' `wherevals`, `nodech`/`nodels` filters):
//!   `attr==val`, `attr=val`, `attr!=val`, `attr=~regex`, `attr!~regex` (`Utils.pm`'s
//!   `parse_selection_string` / `selection_string_match`). An attribute that is not set never
//!   matches, whatever the operator.
//! - `tabdump -w` clauses (`Table.pm`'s `buildWhereClause`): the same operators plus `<`, `<=`,
//!   `>`, `>=`, applied as SQL applies them: `=~` is `LIKE` (`%` and `_` wildcards), `!~` is
//!   `NOT LIKE`, comparisons are on strings, and NULL matches nothing.

use crate::{Error, Result};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Match,
    NoMatch,
    Lt,
    Le,
    Gt,
    Ge,
}

/// One `attr<op>value` criterion.
#[derive(Debug, Clone)]
pub struct Criterion {
    pub attr: String,
    pub op: Op,
    pub value: String,
    re: Option<regex::Regex>,
}

/// Split `word` at its operator, tried in `Table.pm`'s order (the first that fits, where the
/// attribute part has no `=`).
fn split_op(word: &str, ops: &[(&'static str, Op)]) -> Option<(String, Op, String)> {
    for (text, op) in ops {
        if let Some(i) = word.find(text) {
            if !word[..i].contains('=') {
                let value = word[i + text.len()..].to_string();
                return Some((word[..i].to_string(), *op, value));
            }
        }
    }
    None
}

fn strip_slashes(v: &str) -> String {
    let v = v.strip_prefix('/').unwrap_or(v);
    v.strip_suffix('/').unwrap_or(v).to_string()
}

impl Criterion {
    /// A selection-string criterion (`lsdef -w`, `wherevals`).
    pub fn selection(word: &str) -> Result<Self> {
        const OPS: &[(&str, Op)] = &[
            ("==", Op::Eq),
            ("=~", Op::Match),
            ("!=", Op::Ne),
            ("!~", Op::NoMatch),
            ("=", Op::Eq),
        ];
        let (attr, op, mut value) = split_op(word, OPS)
            .filter(|(a, _, _)| !a.is_empty())
            .ok_or_else(|| Error::Invalid(format!("Incorrect selection string '{word}'")))?;
        let re = match op {
            Op::Match | Op::NoMatch => {
                value = strip_slashes(&value);
                Some(regex::Regex::new(&value).map_err(|e| {
                    Error::Invalid(format!("invalid regular expression in '{word}': {e}"))
                })?)
            }
            _ => None,
        };
        Ok(Criterion {
            attr,
            op,
            value,
            re,
        })
    }

    /// A `tabdump -w` clause.
    pub fn clause(word: &str) -> Result<Self> {
        const OPS: &[(&str, Op)] = &[
            ("==", Op::Eq),
            ("=~", Op::Match),
            ("!=", Op::Ne),
            ("!~", Op::NoMatch),
            ("<=", Op::Le),
            ("<", Op::Lt),
            (">=", Op::Ge),
            (">", Op::Gt),
        ];
        let (attr, op, mut value) = split_op(word, OPS)
            .filter(|(a, _, _)| !a.is_empty())
            .ok_or_else(|| {
                Error::Invalid(format!("Unsupported operator:{word} on -w flag input"))
            })?;
        let re = match op {
            Op::Match | Op::NoMatch => {
                value = strip_slashes(&value);
                Some(like_regex(&value))
            }
            _ => None,
        };
        Ok(Criterion {
            attr,
            op,
            value,
            re,
        })
    }

    /// Does a value satisfy the criterion? `None` (unset, NULL) never does.
    pub fn matches(&self, value: Option<&str>) -> bool {
        let Some(v) = value else {
            return false;
        };
        let re = || self.re.as_ref().is_some_and(|r| r.is_match(v));
        let want = self.value.as_str();
        match self.op {
            Op::Eq => v == want,
            Op::Ne => v != want,
            Op::Match => re(),
            Op::NoMatch => !re(),
            Op::Lt => v < want,
            Op::Le => v <= want,
            Op::Gt => v > want,
            Op::Ge => v >= want,
        }
    }
}

/// SQL `LIKE` as an anchored regex: `%` any run, `_` one character, the rest literal.
fn like_regex(pattern: &str) -> regex::Regex {
    let mut re = String::from("(?s)^");
    for c in pattern.chars() {
        match c {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).expect("escaped LIKE pattern is a valid regex")
}

/// Parse every `-w` word / `::`-joined criterion as a selection string.
pub fn parse_selection<S: AsRef<str>>(words: &[S]) -> Result<Vec<Criterion>> {
    words
        .iter()
        .map(|w| Criterion::selection(w.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_operators() {
        let c = Criterion::selection("groups=~/sys/").unwrap();
        assert_eq!(c.value, "sys");
        assert!(c.matches(Some("all,systemp")));
        assert!(!c.matches(None));
        let c = Criterion::selection("mgt=hmc").unwrap();
        assert_eq!((c.attr.as_str(), c.op), ("mgt", Op::Eq));
        let c = Criterion::selection("cons!~hmc").unwrap();
        assert!(c.matches(Some("ipmi")) && !c.matches(Some("hmc")) && !c.matches(None));
        assert!(Criterion::selection("nothing").is_err());
        assert!(Criterion::selection("a=~(").is_err());
    }

    #[test]
    fn clauses_follow_sql() {
        let like = Criterion::clause("groups=~all%").unwrap();
        assert!(like.matches(Some("all,aix")) && !like.matches(Some("aix,all")));
        let gt = Criterion::clause("statustime>2011-04-18").unwrap();
        assert!(gt.matches(Some("2011-04-19")) && !gt.matches(Some("2011-04-18")));
        let le = Criterion::clause("statustime<=2011-04-19").unwrap();
        assert_eq!(le.op, Op::Le);
        assert!(le.matches(Some("2011-04-19")));
        let ne = Criterion::clause("groups!=linux").unwrap();
        assert!(!ne.matches(None));
        assert!(Criterion::clause("groups").is_err());
    }
}
