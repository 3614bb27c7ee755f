//! Errors of noderange evaluation.

/// Why a noderange could not be evaluated (or, for [`NoderangeError::Missing`], why a command
/// must not run). Display texts are xCAT's where xCAT has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoderangeError {
    /// No balanced `( … )` group where one was needed. xCAT's fatal parse error.
    #[error("Unbalanced parentheses in noderange")]
    UnbalancedParentheses,

    /// More than [`crate::MAX_DEPTH`] nested evaluations (parentheses, `@` sub-expressions,
    /// file lines, `site.excludenodes`, names generated from other names). xCAT dies with a
    /// similar message ("NodeRange seems to be hung ..., recursion limit hit").
    #[error("NodeRange seems to be hung, recursion limit hit")]
    TooDeep,

    /// A `/regex` atom or a `=~` / `!~` selector value that the `regex` crate rejects.
    #[error("Invalid regular expression '{pattern}' in noderange: {reason}")]
    InvalidRegex {
        /// The pattern as written (without the anchors added for `/regex` atoms).
        pattern: String,
        /// The regex crate's explanation.
        reason: String,
    },

    /// An `A+N` atom whose `A` has no number to increment (`abc+2`). xCAT reads a stale
    /// regex capture here and expands garbage.
    #[error("Invalid increment range '{0}' in noderange: no number before '+'")]
    InvalidIncrement(String),

    /// Expanding this atom would generate more names than allowed
    /// ([`crate::Options::max_generated`]).
    #[error("Noderange element '{atom}' generates more than {limit} names")]
    RangeTooLarge {
        /// The range element that crossed the limit.
        atom: String,
        /// The limit in force.
        limit: usize,
    },

    /// The [`crate::NodeSource`] could not compute the members of a dynamic group.
    #[error("Cannot evaluate dynamic group '{group}': {reason}")]
    DynamicGroup {
        /// The group name.
        group: String,
        /// The source's explanation.
        reason: String,
    },

    /// Names that could not be resolved, in evaluation order, duplicates kept. Only
    /// [`crate::resolve`] returns this; [`crate::expand`] reports them in
    /// [`crate::Expansion::missing`].
    #[error("Invalid nodes and/or groups in noderange: {}", .0.join(","))]
    Missing(Vec<String>),
}
