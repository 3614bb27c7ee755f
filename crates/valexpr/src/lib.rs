//! xCAT table value expressions ("regular expressions in tables").
//!
//! [`evaluate`] computes the value of a stored attribute for one node, as
//! xCAT's `Table::transRegexAttrs` does for every value returned by
//! `getNodeAttribs`. There are three kinds of value:
//!
//! * **`/PATTERN/REPLACEMENT/`**, only when the whole value has exactly three
//!   slashes, one at each end and one in between (`^/[^/]*/[^/]*/$`). The
//!   first match of PATTERN in the node name is replaced by REPLACEMENT taken
//!   literally (`$1` is *not* substituted). No match gives the node name.
//! * **`|PATTERN|REPLACEMENT|`**: the value starts and ends with `|`; the text
//!   between them is split at its first `|`. Without an inner `|` (the "easy"
//!   form `|REPLACEMENT|`) the pattern is generated from the node name:
//!   `[\D0]*(\d+)` repeated once per digit group of the name, then `.*$`.
//!   If REPLACEMENT has no balanced `( ... )` group it is used literally.
//!   Otherwise each balanced group, leftmost first, is evaluated as a small
//!   Perl expression under `use integer` with `$1..$n` bound to the captures
//!   of PATTERN on the node name, and its value replaces the group; the
//!   resulting text is scanned again until no group is left. Finally the first
//!   match of PATTERN in the node name is replaced by the evaluated
//!   REPLACEMENT. If PATTERN does not match, the result is the node name.
//! * Anything else is returned as is.
//!
//! An empty result means "attribute not set" and is returned as `Ok(None)`.
//!
//! # The expression language
//!
//! Integer literals (decimal, `0x..`, `0b..`, `0..` octal, `_` separators),
//! single- and double-quoted strings (double quotes interpolate `$n` and know
//! the usual backslash escapes), `$n` / `${n}` captures, parentheses, unary
//! `-` and `+`, binary `* / %` and `+ - .` (string concatenation) with Perl's
//! precedence, and the comma operator (`(a, b)` is `b`, `()` is undef).
//! Values are Perl-like scalars: a bare `($1)` keeps the captured text
//! (`"07"`), arithmetic converts strings by their leading number (non-numeric
//! gives 0, undefined captures give 0 or ""). Arithmetic is 64-bit and wraps
//! on overflow; `/` truncates toward zero, `%` takes the sign of the left
//! operand (C semantics, as under `use integer`). Division or modulus by zero
//! is an [`ExprError::Eval`].
//!
//! Functions:
//! * `sprintf(FMT, ...)`: `%c %s %d %i %u %o %x %X %b %B %%` with flags
//!   `-+ 0#`, width, precision, `*` and `%N$`. Floating-point conversions are
//!   an error; unknown directives are copied literally, as Perl does.
//! * `a2idx(c)`: `ord(lc c) - 96`, so `a` = 1. `a2zidx(c)`: `a` = 0.
//! * `dim2idx(v1, n2, v2, n3, v3, ...)`: mixed radix, 1-based:
//!   `((v1-1)*n2 + v2-1)*n3 + v3 ...`; `dim2idx(2,4,3)` = 7.
//! * `skip(idx, "start[:count],...")`: renumbers `idx` so that the listed
//!   values do not count: `idx` minus the number of skipped values below it
//!   (count defaults to 1). `skip(7,'3:2')` = 5: with 3 and 4 skipped, 1 2 5
//!   6 7 become 1 2 3 4 5. A skipped value gets the number of the next kept
//!   value.
//! * `ipadd(o1,o2,o3,o4, add, skipstart, skipend)`: the IPv4 address `add`
//!   usable addresses after `o1.o2.o3.o4`, where the usable host numbers of
//!   every /24 are `skipstart ..= 255-skipend`. The base counts as position
//!   0; a base in a skipped range counts as the next usable address.
//!   `ipadd(10,0,0,0,300,0,0)` = 10.0.1.44, `ipadd(10,0,0,0,300,1,1)` =
//!   10.0.1.47. A result outside 0.0.0.0 ..= 255.255.255.255 is an error.
//! * `mknum(s)`: the sum of the bytes of `s`.
//!
//! Missing arguments are undef, extra ones are ignored (as for Perl subs).
//!
//! # Deviations from xCAT
//!
//! * Patterns use the Rust `regex` syntax, not Perl's. The common subset
//!   (classes, `\d \D \w \s \b \A \z`, groups, `(?i)`, repetitions) behaves
//!   the same; `\Z` is rewritten to `\z` (node names have no newlines).
//!   Look-around, back-references and other Perl-only constructs are reported
//!   as [`ExprError::InvalidRegex`]. An empty PATTERN matches the empty string
//!   at the start (Perl would reuse the last successful pattern).
//! * xCAT evaluates groups with Perl's `eval` in a `Safe` compartment, so any
//!   Perl core function works there. Only the operators and functions listed
//!   above are supported; anything else, including barewords, is an
//!   [`ExprError::Eval`] naming it. Floating-point literals, `**` and `x` are
//!   not supported.
//! * xCAT builds the text to evaluate as "the node name with the PATTERN
//!   match replaced by the group", so when PATTERN does not cover the whole
//!   node name the leftover text of the name becomes part of the Perl
//!   expression (`node12-eth0` with `|node(\d+)|10.0.0.($1+0)|` evaluates
//!   `($1+0)-eth0`, where the bareword `eth0` counts as 0). We evaluate only
//!   the group itself. The leftover text is still kept in the final result in
//!   both implementations (`10.0.0.12-eth0`), so results differ only when the
//!   leftover text would have changed the Perl value.
//! * xCAT silently splices an empty string when the Perl evaluation fails
//!   (syntax error, division by zero, unknown function); we return
//!   [`ExprError::Eval`] instead.
//! * A value with a newline between its `|` delimiters, or with a trailing
//!   newline after the closing `/` or `|`, is literal here; Perl's `.` and `$`
//!   would treat some of those as expressions.
//! * Safety limits, each an [`ExprError::Eval`]: nesting depth 128,
//!   `sprintf` widths and precisions up to 4096, at most 1000 group
//!   evaluations per value and 64 KiB of intermediate text.

mod expr;
mod funcs;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use regex::Regex;

/// Why a table value could not be evaluated.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ExprError {
    /// PATTERN is not a valid (Rust) regular expression.
    #[error("invalid regular expression in table value {value:?}: {reason}")]
    InvalidRegex { value: String, reason: String },
    /// A parenthesised group of REPLACEMENT could not be evaluated.
    #[error("cannot evaluate table value {value:?}: {reason}")]
    Eval { value: String, reason: String },
}

/// Maximum number of group evaluations for one value (values may produce new
/// groups, which are evaluated in turn).
const MAX_GROUP_EVALS: usize = 1000;
/// Maximum length of the REPLACEMENT text while it is being evaluated.
const MAX_TEXT: usize = 64 << 10;
/// Compiled patterns (and expressions) kept per thread before the cache is cleared.
const MAX_CACHED: usize = 4096;

/// Cheap check: could `value` be an expression at all (does it start with
/// `/` or `|`)? Lets callers skip work for plain values.
pub fn is_expression(value: &str) -> bool {
    value.starts_with('/') || value.starts_with('|')
}

/// Evaluate a stored attribute value for `node` as xCAT's
/// `Table::transRegexAttrs` does.
///
/// `Ok(None)` means "attribute not set" (the evaluation gave an empty
/// string). Plain values are returned as is.
///
/// An expression is compiled once per thread (its pattern, and the groups of
/// its REPLACEMENT parsed), then evaluated for each node it is asked for.
pub fn evaluate(node: &str, value: &str) -> Result<Option<String>, ExprError> {
    let out = if slash_form(value).is_some() || pipe_body(value).is_some() {
        compiled(value).eval(node, value)?
    } else {
        value.to_string()
    };
    Ok(if out.is_empty() { None } else { Some(out) })
}

/// An expression as compiled once: what every node's evaluation shares.
enum Compiled {
    /// `/PATTERN/REPLACEMENT/`.
    Slash {
        re: Result<Regex, String>,
        replacement: String,
    },
    /// `|PATTERN|REPLACEMENT|` (or the easy form).
    Pipe {
        pattern: Pattern,
        replacement: String,
        /// REPLACEMENT's groups in the order they are evaluated while no group's value
        /// holds a parenthesis (the evaluated text is then scanned again from the value).
        groups: Vec<Group>,
    },
}

enum Pattern {
    Given(Result<Regex, String>),
    /// Made from each node's name.
    Easy,
}

/// A parenthesised group of REPLACEMENT: its byte range and its syntax tree
/// (None: it does not parse; the evaluating parser gives its error).
struct Group {
    start: usize,
    end: usize,
    ast: Option<expr::Ast>,
}

fn compile_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(&translate_pattern(pattern)).map_err(|e| e.to_string())
}

impl Compiled {
    /// `value` is a slash or pipe expression ([`evaluate`] checked).
    fn new(value: &str) -> Compiled {
        if let Some((pattern, replacement)) = slash_form(value) {
            return Compiled::Slash {
                re: compile_regex(pattern),
                replacement: replacement.to_string(),
            };
        }
        let body = pipe_body(value).unwrap_or_default();
        let (pattern, replacement) = match body.split_once('|') {
            Some((p, r)) => (Pattern::Given(compile_regex(p)), r),
            None => (Pattern::Easy, body),
        };
        let mut groups = Vec::new();
        let mut from = 0;
        while let Some((start, end)) = find_group(replacement, from) {
            let ast = expr::parse(&replacement[start..end]);
            groups.push(Group { start, end, ast });
            from = end;
        }
        Compiled::Pipe {
            pattern,
            replacement: replacement.to_string(),
            groups,
        }
    }

    fn eval(&self, node: &str, value: &str) -> Result<String, ExprError> {
        let invalid = |reason: &String| ExprError::InvalidRegex {
            value: value.to_string(),
            reason: reason.clone(),
        };
        match self {
            Compiled::Slash { re, replacement } => {
                let re = re.as_ref().map_err(invalid)?;
                Ok(match re.find(node) {
                    Some(m) => splice(node, m.range(), replacement),
                    None => node.to_string(),
                })
            }
            Compiled::Pipe {
                pattern,
                replacement,
                groups,
            } => {
                let caps = match pattern {
                    Pattern::Given(re) => re.as_ref().map_err(invalid)?.captures(node),
                    Pattern::Easy => {
                        let p = easy_pattern(value, node)?;
                        with_regex(value, &p, |re| re.captures(node))?
                    }
                };
                let Some(whole) = caps.as_ref().and_then(|c| c.get(0)) else {
                    return Ok(node.to_string());
                };
                let Some(first) = groups.first() else {
                    return Ok(splice(node, whole.range(), replacement));
                };
                let caps: Vec<Option<&str>> = caps
                    .iter()
                    .flat_map(|c| c.iter())
                    .map(|m| m.map(|m| m.as_str()))
                    .collect();
                let text = match fill(value, replacement, groups, &caps)? {
                    Some(text) => text,
                    None => eval_groups(value, replacement, (first.start, first.end), &caps)?,
                };
                Ok(splice(node, whole.range(), &text))
            }
        }
    }
}

/// REPLACEMENT with its groups evaluated, when no group's value holds a parenthesis (None:
/// one does, and the text must be scanned again as [`eval_groups`] does). The same checks,
/// in the same order, as [`eval_groups`].
fn fill(
    value: &str,
    replacement: &str,
    groups: &[Group],
    caps: &[Option<&str>],
) -> Result<Option<String>, ExprError> {
    let eval_err = |reason: String| ExprError::Eval {
        value: value.to_string(),
        reason,
    };
    let mut text = String::with_capacity(replacement.len() + 16);
    let mut at = 0;
    for (k, g) in groups.iter().enumerate() {
        if k >= MAX_GROUP_EVALS {
            return Err(eval_err(format!(
                "more than {MAX_GROUP_EVALS} parenthesised groups to evaluate"
            )));
        }
        let src = &replacement[g.start..g.end];
        let v = match &g.ast {
            Some(ast) => ast.eval(caps),
            None => expr::evaluate(src, caps),
        }
        .map_err(eval_err)?;
        let v = v.to_str();
        if v.contains(['(', ')']) {
            return Ok(None);
        }
        text.push_str(&replacement[at..g.start]);
        text.push_str(&v);
        at = g.end;
        if text.len() + (replacement.len() - at) > MAX_TEXT {
            return Err(eval_err(
                "the evaluated text grew beyond 64 KiB".to_string(),
            ));
        }
    }
    text.push_str(&replacement[at..]);
    Ok(Some(text))
}

/// How many values each thread keeps at hand before it looks in its cache.
const RECENT: usize = 8;

thread_local! {
    static COMPILED: RefCell<HashMap<String, Rc<Compiled>>> = RefCell::new(HashMap::new());
    /// The values compiled last: the nodes of a run ask for the same few, one per column
    /// (comparing a few strings is cheaper than hashing one).
    static LAST: RefCell<Vec<(String, Rc<Compiled>)>> = const { RefCell::new(Vec::new()) };
}

/// `value` compiled, at most once per thread (while the cache holds it).
fn compiled(value: &str) -> Rc<Compiled> {
    let recent = LAST.with(|l| {
        let l = l.try_borrow().ok()?;
        l.iter().find(|(v, _)| v == value).map(|(_, c)| c.clone())
    });
    if let Some(c) = recent {
        return c;
    }
    let c = COMPILED.with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            // Not reachable (compiling never re-enters), but never panic.
            return Rc::new(Compiled::new(value));
        };
        if let Some(c) = cache.get(value) {
            return c.clone();
        }
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        let c = Rc::new(Compiled::new(value));
        cache.insert(value.to_string(), c.clone());
        c
    });
    LAST.with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            if l.len() >= RECENT {
                l.remove(0);
            }
            l.push((value.to_string(), c.clone()));
        }
    });
    c
}

/// `/PATTERN/REPLACEMENT/` with no other slash: (PATTERN, REPLACEMENT).
fn slash_form(value: &str) -> Option<(&str, &str)> {
    if value.len() < 3
        || !value.starts_with('/')
        || !value.ends_with('/')
        || value.bytes().filter(|&b| b == b'/').count() != 3
    {
        return None;
    }
    value[1..value.len() - 1].split_once('/')
}

/// `|...|`: the text between the outer bars.
fn pipe_body(value: &str) -> Option<&str> {
    if value.len() < 2 || !value.starts_with('|') || !value.ends_with('|') {
        return None;
    }
    let body = &value[1..value.len() - 1];
    (!body.contains('\n')).then_some(body)
}

/// REPLACEMENT with its groups evaluated as xCAT does: the first group (`first`) replaced
/// by its value, then the text scanned again from there, until no group is left.
fn eval_groups(
    value: &str,
    replacement: &str,
    first: (usize, usize),
    groups: &[Option<&str>],
) -> Result<String, ExprError> {
    let eval_err = |reason: String| ExprError::Eval {
        value: value.to_string(),
        reason,
    };
    let mut text = replacement.to_string();
    let (mut start, mut end) = first;
    let mut evals = 0;
    loop {
        evals += 1;
        if evals > MAX_GROUP_EVALS {
            return Err(eval_err(format!(
                "more than {MAX_GROUP_EVALS} parenthesised groups to evaluate"
            )));
        }
        let v = expr::evaluate(&text[start..end], groups).map_err(eval_err)?;
        text.replace_range(start..end, &v.to_str());
        if text.len() > MAX_TEXT {
            return Err(eval_err(
                "the evaluated text grew beyond 64 KiB".to_string(),
            ));
        }
        // Everything before `start` is free of parentheses, so rescanning
        // from there is the same as rescanning from the beginning.
        match find_group(&text, start) {
            Some((s, e)) => (start, end) = (s, e),
            None => break,
        }
    }
    Ok(text)
}

/// `node` with `range` replaced by `with`.
fn splice(node: &str, range: std::ops::Range<usize>, with: &str) -> String {
    let mut out = String::with_capacity(node.len() + with.len());
    out.push_str(&node[..range.start]);
    out.push_str(with);
    out.push_str(&node[range.end..]);
    out
}

/// The easy-form pattern: `[\D0]*(\d+)` once per match of it in the node
/// name, then `.*$`.
fn easy_pattern(value: &str, node: &str) -> Result<String, ExprError> {
    const PIECE: &str = r"[\D0]*(\d+)";
    let n = with_regex(value, PIECE, |re| re.find_iter(node).count())?;
    let mut p = PIECE.repeat(n);
    p.push_str(".*$");
    Ok(p)
}

/// Text::Balanced's `extract_bracketed($text, '()', qr/[^()]*/)` from byte
/// offset `from`: skip characters other than parentheses; the next one must be
/// `(` and start a balanced group (a backslash escapes the next character
/// inside it). Returns the byte range of the group, parentheses included.
fn find_group(text: &str, from: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let start = from
        + b.get(from..)?
            .iter()
            .position(|&c| c == b'(' || c == b')')?;
    if b[start] != b'(' {
        return None;
    }
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                i += 2;
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((start, i + 1));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Rewrite the few Perl-only escapes that have a Rust equivalent.
fn translate_pattern(pattern: &str) -> std::borrow::Cow<'_, str> {
    if !pattern.contains("\\Z") {
        return std::borrow::Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '\\' {
            match chars.next() {
                Some('Z') => out.push('z'),
                Some(n) => out.push(n),
                None => {}
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, Result<Regex, String>>> =
        RefCell::new(HashMap::new());
}

/// Run `f` with the compiled `pattern`, compiling it at most once per thread.
fn with_regex<T>(value: &str, pattern: &str, f: impl FnOnce(&Regex) -> T) -> Result<T, ExprError> {
    let compile = || Regex::new(&translate_pattern(pattern)).map_err(|e| e.to_string());
    let invalid = |reason: &String| ExprError::InvalidRegex {
        value: value.to_string(),
        reason: reason.clone(),
    };
    REGEX_CACHE.with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            // Not reachable (f never re-enters), but never panic.
            return compile().map(|re| f(&re)).map_err(|e| invalid(&e));
        };
        if !cache.contains_key(pattern) {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(pattern.to_string(), compile());
        }
        match cache.get(pattern) {
            Some(Ok(re)) => Ok(f(re)),
            Some(Err(e)) => Err(invalid(e)),
            None => compile().map(|re| f(&re)).map_err(|e| invalid(&e)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_extraction() {
        assert_eq!(find_group("abc", 0), None);
        assert_eq!(find_group("a(b)c", 0), Some((1, 4)));
        assert_eq!(find_group("a(b(c))d(e)", 0), Some((1, 7)));
        assert_eq!(find_group("a)b(c)", 0), None);
        assert_eq!(find_group("a(b", 0), None);
        assert_eq!(find_group(r"(a\)b)", 0), Some((0, 6)));
        assert_eq!(find_group("x", 5), None);
        assert_eq!(find_group("(\\", 0), None);
    }

    /// The evaluation without the compiled form: pattern compiled per call, every group
    /// parsed while it is evaluated, the text scanned again after each group.
    fn reference(node: &str, value: &str) -> Result<Option<String>, ExprError> {
        let out = if let Some((pattern, replacement)) = slash_form(value) {
            match with_regex(value, pattern, |re| re.find(node).map(|m| m.range()))? {
                Some(r) => splice(node, r, replacement),
                None => node.to_string(),
            }
        } else if let Some(body) = pipe_body(value) {
            let (pattern, replacement) = match body.split_once('|') {
                Some((p, r)) => (p.to_string(), r),
                None => (easy_pattern(value, node)?, body),
            };
            let caps = with_regex(value, &pattern, |re| re.captures(node))?;
            match caps.as_ref().and_then(|c| c.get(0)) {
                None => node.to_string(),
                Some(whole) => {
                    let groups: Vec<Option<&str>> = caps
                        .iter()
                        .flat_map(|c| c.iter())
                        .map(|m| m.map(|m| m.as_str()))
                        .collect();
                    let text = match find_group(replacement, 0) {
                        Some(first) => eval_groups(value, replacement, first, &groups)?,
                        None => replacement.to_string(),
                    };
                    splice(node, whole.range(), &text)
                }
            }
        } else {
            value.to_string()
        };
        Ok((!out.is_empty()).then_some(out))
    }

    /// Values whose groups do and do not parse, fail at run time before a syntax error,
    /// give values with parentheses (scanned again), or run into the limits.
    const VALUES: &[&str] = &[
        r"|\D+(\d+)|10.(64+($1-1)/62500).((($1-1)/250)%250).(($1-1)%250+1)|",
        r"|node(\d+)|10.0.0.($1+0)|",
        r"|10.0.0.($1+0)|",
        r"|\D+(\d+)|cmm(sprintf('%02d',($1-1)/14+1))|",
        r"|node(\d+)|node($1-1),node($1+1)|",
        r"|node(\d+)|(1/0 2)|",
        r"|node(\d+)|(1/($1-5))|",
        r"|node(\d+)|(1 2)(3)|",
        r"|node(\d+)|('(' . $1 . ')')x|",
        r#"|node(\d+)|("(1+$1)")(2)|"#,
        r"|node(\d+)|('(')(2)|",
        r"|node(\d+)|(')')(2)|",
        r#"|node(\d+)|("($1")(4)|"#,
        r"|node(\d+)|a)(1)|",
        r"|node(\d+)|(sprintf('%5000s', $1))(1)|",
        r"|node(\d+)|(sprintf('%4000s', $1))(sprintf('%4000s', $1))|",
        r"|node(\d+)|(-$1)(+$1)(- -$1)(1,2,)(())($9)(${1}.'x')|",
        r"|node(\d+)|(nosuch($1, 1/0))|",
        r"|node(\d+)|(a2idx('b') . mknum($1) . dim2idx(2,4,3) . skip(7,'3:2'))|",
        r"|(\d+|x|",
        r"/(\d+/x/",
        r"/\z/-bmc/",
        r"/(\d+)/-$1/",
        "/install/x",
        "plain",
    ];

    #[test]
    fn compiled_values_evaluate_as_the_reference_does() {
        let nodes = [
            "node5",
            "node12",
            "cn000001",
            "cn100000",
            "rack2node5",
            "x",
            "",
        ];
        for value in VALUES {
            for node in nodes {
                // Twice: compiled the first time, from the cache the second.
                for _ in 0..2 {
                    assert_eq!(
                        evaluate(node, value),
                        reference(node, value),
                        "node {node:?} value {value:?}"
                    );
                }
            }
        }
    }

    /// Random values, mostly pipe expressions made of the grammar's pieces: the compiled
    /// evaluation gives the reference's value or error every time.
    #[test]
    fn random_values_evaluate_as_the_reference_does() {
        const ATOMS: &[&str] = &[
            "(", ")", "(", ")", "(", ")", "$1", "$2", "${1}", "$", "\\", "+", "-", "*", "/", "%",
            ".", ",", "'", "\"", "'('", "')'", "0", "1", "7", "08", "0x1f", "-", " ", "sprintf(",
            "'%03d'", "a2idx(", "dim2idx(", "skip(", "'3:2'", "ipadd(", "mknum(", "nosuch(", "x",
            "\"$1(\"", "()", "**", "1e3", "(-", "(+",
        ];
        let nodes = [
            "node1",
            "node012",
            "",
            "rack2node5",
            "blade",
            "n0",
            "node99",
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut below = |n: usize| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
        };
        for _ in 0..20_000 {
            let mut v = String::from(["|node(\\d+)|", "|", "|(\\d)(\\d)?|"][below(3)]);
            for _ in 0..below(12) {
                v.push_str(ATOMS[below(ATOMS.len())]);
            }
            v.push('|');
            let node = nodes[below(nodes.len())];
            assert_eq!(evaluate(node, &v), reference(node, &v), "{node:?} {v:?}");
        }
    }

    #[test]
    fn one_compiled_value_gives_each_node_its_own_value() {
        let v = r"|\D+(\d+)|10.(64+($1-1)/62500).((($1-1)/250)%250).(($1-1)%250+1)|";
        let ip = |n: &str| evaluate(n, v).unwrap();
        assert_eq!(ip("cn000001").as_deref(), Some("10.64.0.1"));
        assert_eq!(ip("cn000251").as_deref(), Some("10.64.1.1"));
        assert_eq!(ip("cn100000").as_deref(), Some("10.65.149.250"));
        assert_eq!(ip("cn000001").as_deref(), Some("10.64.0.1"));
        assert_eq!(ip("mn"), Some("mn".to_string()));
        // Compiled once: the cache holds it.
        assert!(COMPILED.with(|c| c.borrow().contains_key(v)));
        // A value whose group's result holds a parenthesis is scanned again, per node.
        let v = r"|node(\d+)|('(' . $1 . '+1)')|";
        assert_eq!(evaluate("node5", v).unwrap().as_deref(), Some("6"));
        assert_eq!(evaluate("node41", v).unwrap().as_deref(), Some("42"));
    }

    #[test]
    fn pattern_translation() {
        assert_eq!(translate_pattern(r"a\Z"), r"a\z");
        assert_eq!(translate_pattern(r"a\\Z"), r"a\\Z");
        assert_eq!(translate_pattern(r"\d"), r"\d");
    }
}
