//! Parse and evaluate xCAT noderanges (`node[01-10],group1,-node5`, `all@rack2`, `/cn.*`,
//! `nodehm.mgt==ipmi`, `^/tmp/list`, ...) exactly as xCAT's `NodeRange.pm` does, against a
//! [`NodeSource`] that answers the cluster questions (nodes, groups, attributes, files).
//!
//! The crate is pure: it reads no files and no environment. `XCAT_NODE_PREFIX`,
//! `XCAT_NODE_SUFFIX` and `site.excludenodes` come in through [`Options`]; `^file` elements
//! are read through [`NodeSource::read_file`].
//!
//! ```
//! use noderange::{expand, resolve, MemorySource, Options};
//!
//! let mut src = MemorySource::new();
//! for n in ["node1", "node2", "node3"] {
//!     src.add_node(n, &["all", "compute"]);
//! }
//! let opts = Options::default();
//! assert_eq!(resolve(&src, "node1-node3,-node2", &opts).unwrap(), ["node1", "node3"]);
//! let e = expand(&src, "compute,nosuch", &opts).unwrap();
//! assert_eq!(e.missing, ["nosuch"]);
//! assert!(resolve(&src, "compute,nosuch", &opts).is_err());
//! ```
//!
//! # Semantics
//!
//! The grammar and every rule follow the research notes `noderange.md` (xcat-core
//! `7733d16f8`): operators and parentheses (§2), the ordered atom rules (§3), regular
//! expressions (§4), ranges (§5), attribute selectors (§6), file includes (§7),
//! `verify = false` (§8) and `site.excludenodes` (§9). The result is sorted in byte order and
//! unique; unknown names go to [`Expansion::missing`] in evaluation order with duplicates.
//!
//! ## xCAT quirks that are kept
//!
//! They are reproduced on purpose, for compatibility:
//!
//! * Parentheses: the text before the first `(` is a separate noderange, so its exclusions
//!   apply only to it: `-node2,(node1-node3)` and `-(compute),node1-node3` both give
//!   node1..node3. A regex containing parentheses is split up (`/node(1|2)`). While looking
//!   for the matching `)`, a backslash escapes the next character (Text::Balanced).
//! * `@` binds tighter than `,`, and a `-` after `@` is ignored: `compute@-rack1` is
//!   compute ∩ rack1. `@compute` alone is empty.
//! * Exclusions at one level are deferred to its end, so they win wherever they appear.
//! * A pending `-` survives skipped elements: `a,-,b` is a minus b.
//! * Regexes: anchors are plain text around the pattern (`/node1|node2` means
//!   `(^node1)|(node2$)`), only node names are matched (never groups), and with
//!   `verify = false` the atom is returned literally.
//! * Ranges count as Perl's `..` does: `node01-node5` is empty, `node08-node07` gives
//!   node08..node99, `node5-node1` is empty, padding is kept only when the left bound has a
//!   leading zero. `L:R` uses the text between the first and a second `:` as R.
//! * A group named all digits cannot be selected (`42` means `node42`); nodes win over groups
//!   of the same name.
//! * Files: each line is expanded separately (a `-name` line excludes nothing), each line
//!   restarts the missing list at top level, file elements ignore the pending operator
//!   (`-^f` adds the file's nodes and the `-` applies to the next element), and a file element
//!   evaluated while expanding a file's line ends the reading of that file after the line
//!   (xCAT reads all files through one global handle). Lines starting with `#` or `^` are
//!   skipped; a line's noderange ends at the first space, tab or `:`. A `\r` of CRLF files
//!   stays part of the name.
//! * `site.excludenodes` restarts the missing list at top level (so unknown names in the
//!   user's noderange are dropped while it is set) and its own unknown names are reported by
//!   every evaluation. Its value `0` counts as unset (Perl truth). Nested evaluations of `( … )`
//!   and `@` atoms apply it even when the top level was called with
//!   `use_site_exclude = false`, as xCAT does.
//! * Selectors: an unknown table or column, or a left side without a dot, selects nothing;
//!   `==`/`!=` compare the whole stored value; a node without a value compares as `""`.
//!
//! ## Deliberate deviations
//!
//! * `/re` and the `=~`/`!~` selector values use the Rust `regex` crate, not Perl regexes:
//!   no backreferences or lookaround, linear-time matching. An invalid pattern is the error
//!   [`NoderangeError::InvalidRegex`] naming it (xCAT dies with a Perl error). An empty `=~`
//!   pattern matches everything (Perl would reuse the last successful pattern).
//! * `abc+2`, or any `A+N` whose `A` does not end in a number (optionally followed by a
//!   `.domain`), is [`NoderangeError::InvalidIncrement`] naming the atom (xCAT expands garbage
//!   from a stale capture). `N` is read as optional white space, an optional sign and
//!   decimal digits (no fractions or exponents).
//! * Nesting deeper than [`MAX_DEPTH`] levels is [`NoderangeError::TooDeep`]. Every nested
//!   evaluation counts: parentheses, `@` sub-expressions, file lines, `site.excludenodes`, and
//!   names re-resolved from other names (ranges, digit atoms). This also stops inputs that
//!   make xCAT recurse forever (a file including itself, `XCAT_NODE_PREFIX` empty with an
//!   unknown number).
//! * Hostile input cannot exhaust memory: one evaluation may generate at most
//!   [`Options::max_generated`] names (range members, bracket pieces) and 64 bytes per
//!   allowed name in total; beyond that it fails with [`NoderangeError::RangeTooLarge`]
//!   naming the atom. Range sizes are computed before generating, with arbitrary-size
//!   decimal arithmetic, so `node1-node99999999999999999999` fails at once and never
//!   overflows; small ranges of huge numbers work exactly (Perl would lose precision).
//! * A [`NodeSource::dynamic_group_members`] error aborts with
//!   [`NoderangeError::DynamicGroup`].
//! * Newline characters inside a noderange are ordinary characters (Perl's `.` and `$`
//!   treat them specially in a few of xCAT's patterns). Non-ASCII text is accepted
//!   anywhere; only ASCII digits count as digits.
//! * The path of a `^path` element is trimmed of white space, as Perl's two-argument
//!   `open` does, and otherwise handed verbatim to [`NodeSource::read_file`] (no `<`, `>`,
//!   `|` open modes).

mod error;
mod eval;
mod numrange;
mod source;
mod text;

pub use error::NoderangeError;
pub use source::{GroupKind, MemorySource, NodeSource, NODEHM_COLUMNS, NODELIST_COLUMNS};

/// Nested evaluations allowed before [`NoderangeError::TooDeep`] (xCAT's recursion limit).
pub const MAX_DEPTH: usize = 4096;

/// Default of [`Options::max_generated`].
pub const DEFAULT_MAX_GENERATED: usize = 10_000_000;

/// How to evaluate a noderange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Resolve names against the cluster; unknown names go to the missing list. Without it,
    /// unknown names, unparsable ranges and regexes are returned literally (§8). Default true.
    pub verify: bool,
    /// Subtract `site.excludenodes` ([`Options::excludenodes`]). Default true.
    pub use_site_exclude: bool,
    /// `XCAT_NODE_PREFIX`, put before all-digit atoms and bare `N+M` ranges. Default `node`.
    pub prefix: String,
    /// `XCAT_NODE_SUFFIX`. Default empty.
    pub suffix: String,
    /// `site.excludenodes`, a noderange removed from every result.
    pub excludenodes: Option<String>,
    /// Most names one evaluation may generate from ranges and brackets (and 64 bytes of
    /// generated names per name) before failing with [`NoderangeError::RangeTooLarge`].
    /// Default [`DEFAULT_MAX_GENERATED`].
    pub max_generated: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            verify: true,
            use_site_exclude: true,
            prefix: "node".to_string(),
            suffix: String::new(),
            excludenodes: None,
            max_generated: DEFAULT_MAX_GENERATED,
        }
    }
}

/// The result of [`expand`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The selected nodes, sorted in byte order, unique.
    pub nodes: Vec<String>,
    /// Names that could not be resolved, in evaluation order, duplicates kept (xCAT's
    /// `nodesmissed()`). Without verify only `site.excludenodes`, which is always verified,
    /// can add to it.
    pub missing: Vec<String>,
}

/// Evaluate `range`. Unknown names never fail the evaluation: they are reported in
/// [`Expansion::missing`]. Errors are the fatal ones (unbalanced parentheses, recursion
/// limit, invalid regex or increment, size limit, dynamic group failure).
pub fn expand(
    src: &dyn NodeSource,
    range: &str,
    opts: &Options,
) -> Result<Expansion, NoderangeError> {
    let mut ev = eval::Evaluator::new(src, opts);
    let nodes = ev.run(range)?;
    Ok(Expansion {
        nodes: nodes.into_iter().collect(),
        missing: ev.missing,
    })
}

/// Evaluate `range` as xCAT commands do: a non-empty missing list is the error
/// [`NoderangeError::Missing`] ("Invalid nodes and/or groups in noderange: a,b").
/// An empty result is not an error.
pub fn resolve(
    src: &dyn NodeSource,
    range: &str,
    opts: &Options,
) -> Result<Vec<String>, NoderangeError> {
    let e = expand(src, range, opts)?;
    if e.missing.is_empty() {
        Ok(e.nodes)
    } else {
        Err(NoderangeError::Missing(e.missing))
    }
}
