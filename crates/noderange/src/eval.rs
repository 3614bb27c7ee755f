//! The evaluator: a port of the control flow of `noderange()` and `expandatom()` in xCAT's
//! `NodeRange.pm` (noderange.md §2–§9). The functions keep xCAT's structure (and so its
//! quirks); the comments name the section of noderange.md each step implements.

use std::collections::{BTreeSet, HashSet};

use regex::{Regex, RegexBuilder};

use crate::numrange::{increment_end, perl_number_prefix, PerlRange};
use crate::source::{GroupKind, NodeSource};
use crate::text;
use crate::{NoderangeError, Options, MAX_DEPTH};

type Result<T> = std::result::Result<T, NoderangeError>;

/// Grow the stack when less than this is left...
const RED_ZONE: usize = 128 * 1024;
/// ...by a new segment of this size.
const STACK_SEGMENT: usize = 2 * 1024 * 1024;
/// Compiled-size limit for user regular expressions.
const REGEX_SIZE_LIMIT: usize = 4 * 1024 * 1024;
/// Bytes of generated names allowed per allowed name (see [`Options::max_generated`]).
const BYTES_PER_NAME: u64 = 64;

/// The pending set operation of §2 step 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Subtract,
    Intersect,
}

/// Operators of attribute selectors (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SelOp {
    Eq,
    Ne,
    Match,
    NoMatch,
}

/// Per-call flags of xCAT's `noderange($range, $verify, $exsitenode, %options)`.
#[derive(Debug, Clone, Copy)]
struct Call {
    /// Unknown names go to the missing list (true) or are returned literally (false).
    verify: bool,
    /// Apply site.excludenodes at the end of this call.
    site_exclude: bool,
    /// Do not reset the missing list (nested calls).
    keep_missing: bool,
    /// Purely textual expansion (outer dimensions of multi-bracket ranges, §5.2).
    generic: bool,
}

pub(crate) struct Evaluator<'a> {
    src: &'a dyn NodeSource,
    opts: &'a Options,
    /// xCAT's global missing list (`nodesmissed()`).
    pub(crate) missing: Vec<String>,
    depth: usize,
    generated_names: u64,
    generated_bytes: u64,
    /// Counts file-element opens: xCAT reads every `^file` through one global file handle.
    file_opens: u64,
    all_nodes: Option<Vec<String>>,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(src: &'a dyn NodeSource, opts: &'a Options) -> Self {
        Evaluator {
            src,
            opts,
            missing: Vec::new(),
            depth: 0,
            generated_names: 0,
            generated_bytes: 0,
            file_opens: 0,
            all_nodes: None,
        }
    }

    /// Top-level evaluation.
    pub(crate) fn run(&mut self, range: &str) -> Result<BTreeSet<String>> {
        let call = Call {
            verify: self.opts.verify,
            site_exclude: self.opts.use_site_exclude,
            keep_missing: false,
            generic: false,
        };
        self.noderange(range, call)
    }

    fn enter(&mut self) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return Err(NoderangeError::TooDeep);
        }
        self.depth += 1;
        Ok(())
    }

    /// Account for generated names; fails when the evaluation would exceed its budget.
    fn charge(&mut self, atom: &str, names: u64, bytes: u64) -> Result<()> {
        self.check_budget(atom, names, bytes)?;
        self.generated_names = self.generated_names.saturating_add(names);
        self.generated_bytes = self.generated_bytes.saturating_add(bytes);
        Ok(())
    }

    /// Fails if `names`/`bytes` more would exceed the budget (without charging them).
    fn check_budget(&self, atom: &str, names: u64, bytes: u64) -> Result<()> {
        let limit = self.opts.max_generated;
        if self.generated_names.saturating_add(names) > limit as u64
            || self.generated_bytes.saturating_add(bytes)
                > (limit as u64).saturating_mul(BYTES_PER_NAME)
        {
            return Err(NoderangeError::RangeTooLarge {
                atom: atom.to_string(),
                limit,
            });
        }
        Ok(())
    }

    fn all_nodes(&mut self) -> &[String] {
        let src = self.src;
        self.all_nodes.get_or_insert_with(|| src.all_nodes())
    }

    /// `noderange()`: §2.
    fn noderange(&mut self, range: &str, call: Call) -> Result<BTreeSet<String>> {
        self.enter()?;
        let r = stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || self.noderange_body(range, call));
        self.depth -= 1;
        r
    }

    fn noderange_body(&mut self, range: &str, call: Call) -> Result<BTreeSet<String>> {
        // Step 1: delete every quote character.
        let (has_quote, _) = text::scan_quotes_parens(range);
        let unquoted: String;
        let range = if has_quote {
            unquoted = range.chars().filter(|&c| c != '\'' && c != '"').collect();
            unquoted.as_str()
        } else {
            range
        };
        // Step 2: restart the missing list unless nested.
        if !call.keep_missing {
            self.missing.clear();
        }
        let mut nodes: BTreeSet<String> = BTreeSet::new();
        let mut excluded: HashSet<String> = HashSet::new();

        // Step 3: the first balanced parenthesised group.
        let mut rest = range;
        if text::scan_quotes_parens(range).1 {
            let group = text::extract_parens(range).ok_or(NoderangeError::UnbalancedParentheses)?;
            let op = if group.prefix.ends_with('-') {
                Op::Subtract
            } else if group.prefix.ends_with('@') {
                Op::Intersect
            } else {
                Op::Union
            };
            let mut prefix = group.prefix;
            prefix = prefix.strip_suffix(",-").unwrap_or(prefix);
            prefix = prefix.strip_suffix(',').unwrap_or(prefix);
            prefix = prefix.strip_suffix('@').unwrap_or(prefix);
            let nested = Call {
                keep_missing: true,
                ..call
            };
            // Quirk (kept): the prefix is a complete, separate noderange, so exclusions in
            // it apply only to it (`-node2,(node1-node3)`, `-(compute),node1-node3`).
            nodes = self.noderange(prefix, nested)?;
            let inner = self.noderange(group.inner, nested)?;
            match op {
                Op::Union => nodes.extend(inner),
                Op::Intersect => nodes.retain(|n| inner.contains(n)),
                Op::Subtract => {
                    for n in &inner {
                        nodes.remove(n);
                    }
                }
            }
            rest = group.rest;
        }

        // Steps 4-6: elements, left to right, with a pending operator.
        let elems = text::split_elements(rest);
        let mut op = Op::Union;
        let mut i = 0;
        while i < elems.len() {
            let mut atom = elems[i];
            i += 1;
            if atom.is_empty() || atom == "," {
                continue;
            }
            if let Some(a) = atom.strip_prefix('-') {
                atom = a;
                // Quirk (kept): a minus after `@` leaves the intersection
                // (`compute@-rack1` is compute ∩ rack1).
                if op == Op::Union {
                    op = Op::Subtract;
                }
            } else if let Some(a) = atom.strip_prefix('@') {
                atom = a;
                op = Op::Intersect;
            }
            if atom.is_empty() {
                // The pending operator is kept (so `a,-,b` subtracts b).
                continue;
            }
            if let Some(path) = atom.strip_prefix('^') {
                // Quirk (kept): file elements ignore and do not consume the pending
                // operator (`-^file` and `g@^file` add the file's nodes, and the `-` of
                // `-^file` applies to the next element).
                self.include_file(path, call, &mut nodes)?;
                continue;
            }
            let set = self.expand_atom(atom, call.verify, call.generic)?;
            match op {
                Op::Union => nodes.extend(set),
                Op::Intersect => {
                    let set: HashSet<String> = set.into_iter().collect();
                    nodes.retain(|n| set.contains(n));
                }
                // Exclusions are deferred to the end of this level.
                Op::Subtract => excluded.extend(set),
            }
            match elems.get(i) {
                Some(sep) => {
                    op = if *sep == "@" {
                        Op::Intersect
                    } else {
                        Op::Union
                    };
                    i += 1;
                }
                None => break,
            }
        }

        // Step 7: site.excludenodes (§9). Evaluated with verify, without site exclusion,
        // and with this call's missing-list handling: at top level that restarts the
        // missing list (quirk, kept).
        if call.site_exclude {
            let opts = self.opts;
            if let Some(ex) = opts.excludenodes.as_deref() {
                // Perl truth: "" and "0" are false.
                if !ex.is_empty() && ex != "0" {
                    let bad = self.noderange(
                        ex,
                        Call {
                            verify: true,
                            site_exclude: false,
                            ..call
                        },
                    )?;
                    excluded.extend(bad);
                }
            }
        }

        // Step 8: exclusions win wherever they appear at this level.
        if !excluded.is_empty() {
            nodes.retain(|n| !excluded.contains(n));
        }
        Ok(nodes)
    }

    /// A `^path` element (§7).
    fn include_file(&mut self, path: &str, call: Call, nodes: &mut BTreeSet<String>) -> Result<()> {
        self.file_opens += 1;
        let this_open = self.file_opens;
        let path = path.trim_matches(text::is_perl_space);
        let Some(content) = self.src.read_file(path) else {
            return Ok(());
        };
        for line in content.split_inclusive('\n') {
            if line.starts_with('^') || line.starts_with('#') {
                continue;
            }
            let line = line.strip_suffix('\n').unwrap_or(line);
            let end = line.find([':', '\t', ' ']).unwrap_or(line.len());
            // Quirk (kept): each line is a separate top-level-like call, so at top level
            // it restarts the missing list, and a `-name` line excludes nothing.
            let got = self.noderange(&line[..end], call)?;
            nodes.extend(got);
            // Quirk (kept): xCAT reads all files through one global handle; a file
            // element evaluated while expanding this line reopened it, so reading of
            // this file ends here.
            if self.file_opens != this_open {
                break;
            }
        }
        Ok(())
    }

    /// `expandatom()`: the ordered rules of §3.
    fn expand_atom(&mut self, atom: &str, verify: bool, generic: bool) -> Result<Vec<String>> {
        self.enter()?;
        let r = stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || {
            self.expand_atom_body(atom, verify, generic)
        });
        self.depth -= 1;
        r
    }

    fn expand_atom_body(&mut self, atom: &str, verify: bool, generic: bool) -> Result<Vec<String>> {
        let src = self.src;
        // Rule 1: an existing node (nodes win over groups).
        if !generic && src.is_node(atom) {
            return Ok(vec![atom.to_string()]);
        }
        let nested = Call {
            verify,
            site_exclude: true,
            keep_missing: true,
            generic,
        };
        // Rule 2: `( … )`.
        if atom.len() >= 2 && atom.starts_with('(') && atom.ends_with(')') {
            let inner = &atom[1..atom.len() - 1];
            return Ok(self.noderange(inner, nested)?.into_iter().collect());
        }
        // Rule 3: `@` inside an atom: a nested noderange.
        if atom.contains('@') {
            return Ok(self.noderange(atom, nested)?.into_iter().collect());
        }
        // Rules 4-5: groups.
        let mut members = Vec::new();
        if !generic {
            let kind = src.defined_group(atom);
            members = if kind == Some(GroupKind::Dynamic) {
                src.dynamic_group_members(atom)
                    .map_err(|reason| NoderangeError::DynamicGroup {
                        group: atom.to_string(),
                        reason,
                    })?
            } else {
                src.static_group_members(atom)
            };
            if members.is_empty() && kind.is_some() {
                return Ok(Vec::new());
            }
        }
        // Rule 6: attribute selectors.
        if atom.contains(['=', '~']) {
            return self.selector(atom);
        }
        // Rule 7: all digits get PREFIX/SUFFIX (before rule 8, so a group named `42` cannot
        // be selected by name).
        if text::is_all_digits(atom) {
            let opts = self.opts;
            let name = format!("{}{}{}", opts.prefix, atom, opts.suffix);
            self.charge(atom, 1, name.len() as u64)?;
            return self.expand_atom(&name, verify, generic);
        }
        // Rule 8.
        if !members.is_empty() {
            return Ok(members);
        }
        // Rule 9: regular expression.
        if let Some(re) = atom.strip_prefix('/') {
            if !verify || generic {
                return Ok(vec![atom.to_string()]);
            }
            return self.regex_atom(re);
        }
        // Rule 10: bracket range.
        if let Some((x, y, z)) = text::bracket_parts(atom) {
            return self.bracket_range(atom, x, y, z, verify, generic);
        }
        // Rule 11: increment range.
        if let Some((front, increment)) = atom.split_once('+') {
            return self.increment_range(atom, front, increment, verify, generic);
        }
        // Rule 12: dash/colon range.
        if atom.contains(['-', ':']) {
            return self.dash_range(atom, verify, generic);
        }
        // Rule 13.
        Ok(self.unresolved(atom, verify))
    }

    fn unresolved(&mut self, atom: &str, verify: bool) -> Vec<String> {
        if verify {
            self.missing.push(atom.to_string());
            Vec::new()
        } else {
            vec![atom.to_string()]
        }
    }

    /// `/RE` (§4): node names only, `^RE$` with plain-text anchors.
    fn regex_atom(&mut self, re: &str) -> Result<Vec<String>> {
        let rx = compile(&format!("^{re}$"), re)?;
        Ok(self
            .all_nodes()
            .iter()
            .filter(|n| rx.is_match(n))
            .cloned()
            .collect())
    }

    /// `table.column<op>value` (§6).
    fn selector(&mut self, atom: &str) -> Result<Vec<String>> {
        let Some((lhs, value, op)) = parse_selector(atom) else {
            return Ok(Vec::new());
        };
        let (table, column) = match lhs {
            "groups" | "tags" => ("nodelist", "groups"),
            "mgt" => ("nodehm", "mgt"),
            _ => match lhs.split_once('.') {
                Some(tc) => tc,
                None => return Ok(Vec::new()),
            },
        };
        let Some(values) = self.src.attribute_values(table, column) else {
            return Ok(Vec::new());
        };
        let all = self.all_nodes();
        if all.is_empty() {
            return Ok(Vec::new());
        }
        let rx = match op {
            SelOp::Match | SelOp::NoMatch => Some(compile(value, value)?),
            SelOp::Eq | SelOp::Ne => None,
        };
        let mut out = Vec::new();
        for node in all {
            let v = values.get(node).map(String::as_str).unwrap_or("");
            let hit = match (op, &rx) {
                (SelOp::Eq, _) => v == value,
                (SelOp::Ne, _) => v != value,
                (SelOp::Match, Some(rx)) => rx.is_match(v),
                (SelOp::NoMatch, Some(rx)) => !rx.is_match(v),
                _ => false,
            };
            if hit {
                out.push(node.clone());
            }
        }
        Ok(out)
    }

    /// Values `lo .. hi` (§5.4), each turned into `pre + v + post` and resolved again.
    #[allow(clippy::too_many_arguments)]
    fn iterate(
        &mut self,
        atom: &str,
        pre: &str,
        lo: &str,
        hi: &str,
        post: &str,
        verify: bool,
        generic: bool,
    ) -> Result<Vec<String>> {
        let range = PerlRange::new(lo, hi);
        let count = range.len();
        let name_len = (pre.len() + lo.len().max(hi.len()) + post.len()) as u64;
        self.charge(atom, count, count.saturating_mul(name_len))?;
        let mut out = Vec::new();
        let mut name = String::new();
        for v in range {
            name.clear();
            name.push_str(pre);
            name.push_str(&v);
            name.push_str(post);
            out.extend(self.expand_atom(&name, verify, generic)?);
        }
        Ok(out)
    }

    /// `X[Y]Z` (§5.2).
    fn bracket_range(
        &mut self,
        atom: &str,
        x: &str,
        y: &str,
        z: &str,
        verify: bool,
        generic: bool,
    ) -> Result<Vec<String>> {
        let seps: Vec<usize> = y
            .bytes()
            .enumerate()
            .filter(|&(_, c)| matches!(c, b',' | b'-' | b':'))
            .map(|(i, _)| i)
            .collect();
        let items = text::split_keep(y, &seps);
        let more = text::has_bracket_pair(z);
        let pairs = items.len().div_ceil(2) as u64;
        let bytes = (y.len() as u64).saturating_add(
            pairs.saturating_mul((x.len() + if more { 0 } else { z.len() }) as u64),
        );
        self.charge(atom, pairs, bytes)?;
        let mut subrange = String::new();
        for pair in items.chunks(2) {
            subrange.push_str(x);
            subrange.push_str(pair[0]);
            if !more {
                subrange.push_str(z);
            }
            if let Some(sep) = pair.get(1) {
                subrange.push_str(sep);
            }
        }
        let mut out = Vec::new();
        for piece in text::split_plain(&subrange, ',') {
            if !more {
                out.extend(self.expand_atom(piece, verify, generic)?);
                continue;
            }
            // More brackets: expand this dimension textually, then resolve each result with
            // the rest appended.
            let firsts = self.expand_atom(piece, false, true)?;
            let total = firsts.len() as u64;
            for (done, n) in firsts.into_iter().enumerate() {
                let name = format!("{n}{z}");
                let (names_before, bytes_before) = (self.generated_names, self.generated_bytes);
                self.charge(atom, 1, name.len() as u64)?;
                out.extend(self.expand_atom(&name, verify, generic)?);
                if done == 0 && total > 1 {
                    // Every value of this dimension is followed by the same text, so the
                    // first one tells what the others will cost: fail now rather than after
                    // generating up to the limit.
                    let rest = total - 1;
                    let names = (self.generated_names - names_before).saturating_mul(rest);
                    let bytes = (self.generated_bytes - bytes_before).saturating_mul(rest);
                    self.check_budget(atom, names, bytes)?;
                }
            }
        }
        Ok(out)
    }

    /// `A+N` (§5.3).
    fn increment_range(
        &mut self,
        atom: &str,
        front: &str,
        increment: &str,
        verify: bool,
        generic: bool,
    ) -> Result<Vec<String>> {
        let Some((pre, start, domain)) = text::increment_parts(front) else {
            return Err(NoderangeError::InvalidIncrement(atom.to_string()));
        };
        let (negative, digits) = perl_number_prefix(increment);
        let end = increment_end(start, negative, digits);
        let opts = self.opts;
        let (pre, post) = if pre.is_empty() && domain.is_empty() {
            (opts.prefix.as_str(), opts.suffix.as_str())
        } else {
            (pre, domain)
        };
        self.iterate(atom, pre, start, &end, post, verify, generic)
    }

    /// `L-R` and `L:R` (§5.1).
    fn dash_range(&mut self, atom: &str, verify: bool, generic: bool) -> Result<Vec<String>> {
        let (left, right) = if atom.contains(':') {
            // `($left, $right) = split /:/, $atom`: Perl splits into at most three fields.
            let mut it = atom.splitn(3, ':');
            (it.next().unwrap_or(""), it.next().unwrap_or(""))
        } else {
            let dashes = atom.bytes().filter(|&c| c == b'-').count();
            if dashes % 2 == 0 {
                return Ok(self.unresolved(atom, verify));
            }
            // A failed match leaves both sides undefined (empty).
            text::dash_split(atom, dashes / 2).unwrap_or(("", ""))
        };
        if left == right {
            return self.expand_atom(left, verify, generic);
        }
        let l = text::split_digit_runs(left);
        let r = text::split_digit_runs(right);
        if l.len() != r.len() {
            return Ok(self.unresolved(atom, verify));
        }
        for idx in 0..l.len() {
            if text::is_all_digits(l[idx]) && text::is_all_digits(r[idx]) {
                if l[idx] != r[idx] {
                    let prefix = l[..idx].concat();
                    let lsuffix = l[idx + 1..].concat();
                    let rsuffix = r[idx + 1..].concat();
                    if lsuffix != rsuffix {
                        return Ok(self.unresolved(atom, verify));
                    }
                    return self.iterate(atom, &prefix, l[idx], r[idx], &lsuffix, verify, generic);
                }
            } else if l[idx] != r[idx] {
                return Ok(self.unresolved(atom, verify));
            }
        }
        Ok(self.unresolved(atom, verify))
    }
}

fn compile(pattern: &str, as_written: &str) -> Result<Regex> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| NoderangeError::InvalidRegex {
            pattern: as_written.to_string(),
            reason: e.to_string(),
        })
}

/// Operator detection of §6, in xCAT's order. Returns (left side, value, operator).
fn parse_selector(atom: &str) -> Option<(&str, &str, SelOp)> {
    let b = atom.as_bytes();
    let first_eq = atom.find('=');
    if let Some(p) = first_eq {
        // `!=` before any other `=`.
        if p > 0 && b[p - 1] == b'!' {
            return Some((&atom[..p - 1], &atom[p + 1..], SelOp::Ne));
        }
        // `=~` before any other `=`.
        if b.get(p + 1) == Some(&b'~') {
            return Some((&atom[..p], strip_slashes(&atom[p + 2..]), SelOp::Match));
        }
    }
    if let Some(p) = atom.find("==") {
        return Some((&atom[..p], &atom[p + 2..], SelOp::Eq));
    }
    if let Some(p) = first_eq {
        return Some((&atom[..p], &atom[p + 1..], SelOp::Eq));
    }
    if let Some(p) = atom.find("!~") {
        return Some((&atom[..p], strip_slashes(&atom[p + 2..]), SelOp::NoMatch));
    }
    None
}

fn strip_slashes(v: &str) -> &str {
    let v = v.strip_prefix('/').unwrap_or(v);
    v.strip_suffix('/').unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_operators() {
        assert_eq!(
            parse_selector("nodehm.cons!=hmc"),
            Some(("nodehm.cons", "hmc", SelOp::Ne))
        );
        assert_eq!(
            parse_selector("groups=~/rh4.1/"),
            Some(("groups", "rh4.1", SelOp::Match))
        );
        assert_eq!(parse_selector("a==b"), Some(("a", "b", SelOp::Eq)));
        assert_eq!(parse_selector("a=b"), Some(("a", "b", SelOp::Eq)));
        assert_eq!(parse_selector("a!~/b/"), Some(("a", "b", SelOp::NoMatch)));
        assert_eq!(parse_selector("a=b!=c"), Some(("a", "b!=c", SelOp::Eq)));
        assert_eq!(parse_selector("a!=b==c"), Some(("a", "b==c", SelOp::Ne)));
        assert_eq!(parse_selector("a==~b"), Some(("a", "~b", SelOp::Eq)));
        assert_eq!(parse_selector("a=b=~c"), Some(("a", "b=~c", SelOp::Eq)));
        assert_eq!(parse_selector("a~b"), None);
        assert_eq!(parse_selector("groups=="), Some(("groups", "", SelOp::Eq)));
    }
}
