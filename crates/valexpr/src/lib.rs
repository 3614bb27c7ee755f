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
/// Compiled patterns kept per thread before the cache is cleared.
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
pub fn evaluate(node: &str, value: &str) -> Result<Option<String>, ExprError> {
    let out = if let Some((pattern, replacement)) = slash_form(value) {
        eval_slash(node, value, pattern, replacement)?
    } else if let Some(body) = pipe_body(value) {
        eval_pipe(node, value, body)?
    } else {
        value.to_string()
    };
    Ok(if out.is_empty() { None } else { Some(out) })
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

fn eval_slash(
    node: &str,
    value: &str,
    pattern: &str,
    replacement: &str,
) -> Result<String, ExprError> {
    let found = with_regex(value, pattern, |re| re.find(node).map(|m| m.range()))?;
    Ok(match found {
        Some(r) => splice(node, r, replacement),
        None => node.to_string(),
    })
}

fn eval_pipe(node: &str, value: &str, body: &str) -> Result<String, ExprError> {
    let (pattern, replacement) = match body.split_once('|') {
        Some((p, r)) => (std::borrow::Cow::Borrowed(p), r),
        None => (std::borrow::Cow::Owned(easy_pattern(value, node)?), body),
    };
    let caps = with_regex(value, &pattern, |re| re.captures(node))?;
    let Some(caps) = caps else {
        return Ok(node.to_string());
    };
    let Some(whole) = caps.get(0) else {
        return Ok(node.to_string());
    };
    let Some((start, end)) = find_group(replacement, 0) else {
        return Ok(splice(node, whole.range(), replacement));
    };
    let groups: Vec<Option<&str>> = caps.iter().map(|m| m.map(|m| m.as_str())).collect();
    let eval_err = |reason: String| ExprError::Eval {
        value: value.to_string(),
        reason,
    };
    let mut text = replacement.to_string();
    let (mut start, mut end) = (start, end);
    let mut evals = 0;
    loop {
        evals += 1;
        if evals > MAX_GROUP_EVALS {
            return Err(eval_err(format!(
                "more than {MAX_GROUP_EVALS} parenthesised groups to evaluate"
            )));
        }
        let v = expr::evaluate(&text[start..end], &groups).map_err(eval_err)?;
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
    Ok(splice(node, whole.range(), &text))
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

    #[test]
    fn pattern_translation() {
        assert_eq!(translate_pattern(r"a\Z"), r"a\z");
        assert_eq!(translate_pattern(r"a\\Z"), r"a\\Z");
        assert_eq!(translate_pattern(r"\d"), r"\d");
    }
}
