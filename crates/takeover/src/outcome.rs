//! What became of one node in one step: a type, not a string whose prefix says it. The journal
//! keeps the text form (`done`, `failed: why`, `unreachable: why`, `pending: why`,
//! `superseded: why`), which [`NodeOutcome::parse`] reads back.

use std::fmt;
use std::sync::Arc;

/// Why a node is not done; shared, since one reason (an unreachable SN) often covers
/// thousands of nodes.
pub type Reason = Arc<str>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeOutcome {
    /// The step is done on this node.
    Done,
    /// It ran and failed: `resume` runs it again.
    Failed(Reason),
    /// Its host could not be reached: `resume` runs it again.
    Unreachable(Reason),
    /// Not run yet, and why (kept on the old SN, no report).
    Pending(Reason),
    /// The node was moved since by a later entry or by hand: nothing is left to do for it.
    Superseded(Reason),
}

impl NodeOutcome {
    pub fn failed(why: impl fmt::Display) -> Self {
        NodeOutcome::Failed(why.to_string().into())
    }
    pub fn unreachable(why: impl fmt::Display) -> Self {
        NodeOutcome::Unreachable(why.to_string().into())
    }
    pub fn pending(why: impl fmt::Display) -> Self {
        NodeOutcome::Pending(why.to_string().into())
    }

    /// Nothing is left to do for the node: done, or superseded.
    pub fn settled(&self) -> bool {
        matches!(self, NodeOutcome::Done | NodeOutcome::Superseded(_))
    }
    pub fn is_done(&self) -> bool {
        matches!(self, NodeOutcome::Done)
    }
    pub fn is_failed(&self) -> bool {
        matches!(self, NodeOutcome::Failed(_))
    }

    /// The text form read back. Text of no known form (an older baton's free wording) is a
    /// failure carrying the whole text: never taken as done.
    pub fn parse(text: &str) -> NodeOutcome {
        let (word, why) = match text.split_once(':') {
            Some((w, r)) => (w, r.strip_prefix(' ').unwrap_or(r)),
            None => (text, ""),
        };
        match word {
            "done" if why.is_empty() => NodeOutcome::Done,
            "failed" => NodeOutcome::Failed(why.into()),
            "unreachable" => NodeOutcome::Unreachable(why.into()),
            "pending" => NodeOutcome::Pending(why.into()),
            "superseded" => NodeOutcome::Superseded(why.into()),
            _ => NodeOutcome::Failed(text.into()),
        }
    }

    fn parts(&self) -> (&'static str, &str) {
        match self {
            NodeOutcome::Done => ("done", ""),
            NodeOutcome::Failed(r) => ("failed", r),
            NodeOutcome::Unreachable(r) => ("unreachable", r),
            NodeOutcome::Pending(r) => ("pending", r),
            NodeOutcome::Superseded(r) => ("superseded", r),
        }
    }
}

impl fmt::Display for NodeOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parts() {
            (word, "") => f.write_str(word),
            (word, why) => write!(f, "{word}: {why}"),
        }
    }
}

impl serde::Serialize for NodeOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for NodeOutcome {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(NodeOutcome::parse(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_form_reads_back_as_written() {
        for o in [
            NodeOutcome::Done,
            NodeOutcome::failed("exit 1: no space left"),
            NodeOutcome::unreachable("sn2: Connection refused"),
            NodeOutcome::pending("kept on the old service node until sn2 has its dhcp: not run"),
            NodeOutcome::Superseded("cn3: moved since by journal entry 8 (x: y)".into()),
            NodeOutcome::failed(""),
        ] {
            assert_eq!(NodeOutcome::parse(&o.to_string()), o, "{o}");
        }
    }

    #[test]
    fn unknown_or_odd_text_is_never_done() {
        for t in ["Done", "done: but", "ok", "", "skipped"] {
            assert!(!NodeOutcome::parse(t).settled(), "{t:?}");
        }
        assert_eq!(NodeOutcome::parse("ok"), NodeOutcome::Failed("ok".into()));
        assert_eq!(NodeOutcome::parse("failed"), NodeOutcome::Failed("".into()));
    }
}
