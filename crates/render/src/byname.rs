//! A text that depends on a node's name only by containing it: rendered once for many nodes.
//!
//! The built-in templates (and the code that fills them) put the node's name in as it is and
//! never look at it otherwise, so a node's text is `t0 NAME t1 NAME ... tk` with pieces `t` that
//! do not depend on the name. [`ByName::split`] finds those pieces from two renderings with two
//! stand-in names; [`ByName::text`] then gives any node's text without rendering it again.

/// The first stand-in name (the service-node script's own mark for a node's name in a shared
/// boot file).
pub const MARK: &str = "@@BATON-NODE@@";
/// The second: the same length, one byte different.
pub const MARK2: &str = "@@BATON-NODF@@";

/// A text as pieces between the places of the node's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByName {
    pieces: Vec<String>,
}

impl ByName {
    /// The pieces of `a` (rendered for [`MARK`]) given `b` (the same rendering for [`MARK2`]);
    /// None unless the two prove where the name went.
    ///
    /// Why that proves it: with `a = t0 MARK t1 ... tk` and `b = t0 MARK2 t1 ... tk`, the two
    /// differ exactly at byte 11 of each inserted name. Replacing every `MARK` found in `a` by
    /// `MARK2` changes byte 11 of each one found; the result equals `b` only if each one found
    /// starts where a name was inserted and every inserted name was found. So splitting `a` at
    /// `MARK` gives the `t`s exactly (no `t` holds `MARK`, none straddles a name).
    pub fn split(a: &str, b: &str) -> Option<ByName> {
        (a.len() == b.len() && a.replace(MARK, MARK2) == b).then(|| ByName {
            pieces: a.split(MARK).map(str::to_string).collect(),
        })
    }

    /// The text for `node`.
    pub fn text(&self, node: &str) -> String {
        let mut out = String::with_capacity(self.len(node));
        self.write(&mut out, node);
        out
    }

    /// The text for `node`, appended to `out`.
    pub fn write(&self, out: &mut String, node: &str) {
        for (i, p) in self.pieces.iter().enumerate() {
            if i > 0 {
                out.push_str(node);
            }
            out.push_str(p);
        }
    }

    /// The length of the text for `node`.
    pub fn len(&self, node: &str) -> usize {
        let names = self.pieces.len().saturating_sub(1);
        self.pieces.iter().map(String::len).sum::<usize>() + names * node.len()
    }

    /// Whether the text is empty whatever the node (no piece, no name).
    pub fn is_empty(&self) -> bool {
        self.pieces.len() <= 1 && self.pieces.iter().all(String::is_empty)
    }

    /// The pieces between the names.
    pub fn pieces(&self) -> &[String] {
        &self.pieces
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_between_the_names() {
        let r = |n: &str| format!("#{n} CONS\nconsole {n} {{\n}}\n#END {n}\n");
        let t = ByName::split(&r(MARK), &r(MARK2)).unwrap();
        assert_eq!(t.pieces().len(), 4);
        for n in ["cn1", "a", "@@", "node@@BATON-", "BATON-NODE", ""] {
            assert_eq!(t.text(n), r(n));
            assert_eq!(t.len(n), r(n).len());
        }
        let none = ByName::split("plain", "plain").unwrap();
        assert_eq!(none.text("x"), "plain");
    }

    #[test]
    fn a_text_holding_the_mark_itself_is_refused() {
        // The mark is in the text apart from the name: splitting at it would be wrong.
        let r = |n: &str| format!("{MARK} is {n}");
        assert!(ByName::split(&r(MARK), &r(MARK2)).is_none());
        // A name that straddles: the text ends like the mark begins.
        let r = |n: &str| format!("x@@BATON-NODE{n}");
        assert!(ByName::split(&r(MARK), &r(MARK2)).is_none());
        // A text that is not the same rendering.
        assert!(ByName::split("a@@BATON-NODE@@", "b@@BATON-NODF@@").is_none());
    }
}
