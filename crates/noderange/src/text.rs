//! Text helpers that reproduce the string handling of xCAT's `NodeRange.pm`: Perl `split`
//! with captured separators, `Text::Balanced::extract_bracketed`, and the small regular
//! expressions the Perl code matches atoms with. Everything here works on byte offsets of
//! ASCII characters only, so slicing never lands inside a multi-byte UTF-8 character.

/// Perl `split /(SEP)/, s` where every separator is the single ASCII byte at one of `seps`
/// (byte offsets, ascending). Separators are kept as their own list items, as with a
/// capturing pattern. Trailing empty fields are removed, a leading empty field is kept.
pub(crate) fn split_keep<'a>(s: &'a str, seps: &[usize]) -> Vec<&'a str> {
    let mut out = Vec::with_capacity(seps.len() * 2 + 1);
    let mut last = 0;
    for &p in seps {
        out.push(&s[last..p]);
        out.push(&s[p..p + 1]);
        last = p + 1;
    }
    out.push(&s[last..]);
    while out.last().is_some_and(|f| f.is_empty()) {
        out.pop();
    }
    out
}

/// Perl `split /,/, s` (no capture): fields only, trailing empty fields removed.
pub(crate) fn split_plain(s: &str, sep: char) -> Vec<&str> {
    let mut out: Vec<&str> = s.split(sep).collect();
    while out.last().is_some_and(|f| f.is_empty()) {
        out.pop();
    }
    out
}

/// Split a noderange into elements and separators the way `noderange()` does:
/// first `split /(,(?![^[]*?])(?![^\(]*?\)))/`; when that gives exactly one item, instead
/// `split /(@(?![^\(]*?\)))/`.
///
/// A comma is not a separator when the text after it reaches a `]` before any `[`, or a `)`
/// before any `(`. An `@` is not a separator when the text after it reaches a `)` before any
/// `(`.
pub(crate) fn split_elements(range: &str) -> Vec<&str> {
    let b = range.as_bytes();
    // For each position, the next square bracket and the next parenthesis at or after it.
    let mut next_sq = vec![0u8; b.len() + 1];
    let mut next_par = vec![0u8; b.len() + 1];
    for i in (0..b.len()).rev() {
        next_sq[i] = match b[i] {
            c @ (b'[' | b']') => c,
            _ => next_sq[i + 1],
        };
        next_par[i] = match b[i] {
            c @ (b'(' | b')') => c,
            _ => next_par[i + 1],
        };
    }
    let commas: Vec<usize> = (0..b.len())
        .filter(|&i| b[i] == b',' && next_sq[i + 1] != b']' && next_par[i + 1] != b')')
        .collect();
    let elems = split_keep(range, &commas);
    if elems.len() != 1 {
        return elems;
    }
    let ats: Vec<usize> = (0..b.len())
        .filter(|&i| b[i] == b'@' && next_par[i + 1] != b')')
        .collect();
    split_keep(range, &ats)
}

/// (contains a quote character, contains `(`), in one pass over the bytes.
pub(crate) fn scan_quotes_parens(s: &str) -> (bool, bool) {
    let b = s.as_bytes();
    let (mut quote, mut paren) = (false, false);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => quote = true,
            b'(' => paren = true,
            _ => {}
        }
        if quote && paren {
            break;
        }
        i += 1;
    }
    (quote, paren)
}

/// The first balanced parenthesised group, as found by
/// `extract_bracketed($range, '()', qr/[^()]*/)`.
pub(crate) struct ParenGroup<'a> {
    /// Text before the `(` (contains no parentheses).
    pub prefix: &'a str,
    /// Text between the parentheses.
    pub inner: &'a str,
    /// Text after the matching `)`.
    pub rest: &'a str,
}

/// `None` when there is no balanced group right after the parenthesis-free prefix (the caller
/// turns that into "Unbalanced parentheses in noderange"). As in Text::Balanced, a backslash
/// escapes the character after it while looking for the matching `)`.
pub(crate) fn extract_parens(s: &str) -> Option<ParenGroup<'_>> {
    let b = s.as_bytes();
    let mut open = 0;
    while open < b.len() && b[open] != b'(' && b[open] != b')' {
        open += 1;
    }
    if open == b.len() || b[open] != b'(' {
        return None;
    }
    let mut depth = 1usize;
    let mut i = open + 1;
    while i < b.len() {
        match b[i] {
            // Continuation bytes of multi-byte characters are never '(' / ')' / '\', so
            // skipping one byte after a backslash cannot create a false bracket.
            b'\\' if i + 1 < b.len() => {
                i += 2;
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(ParenGroup {
                        prefix: &s[..open],
                        inner: &s[open + 1..i],
                        rest: &s[i + 1..],
                    });
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Perl `split /(\d+)/, s`: alternating non-digit and digit pieces, a leading empty piece when
/// `s` starts with a digit, trailing empty pieces dropped.
pub(crate) fn split_digit_runs(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push(&s[last..start]);
            out.push(&s[start..i]);
            last = i;
        } else {
            i += 1;
        }
    }
    out.push(&s[last..]);
    while out.last().is_some_and(|f| f.is_empty()) {
        out.pop();
    }
    out
}

pub(crate) fn is_all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

/// `m/(.+?)\[(.+?)\](.*)/`: the first `[` at offset >= 1 that has a `]` at least two bytes
/// later. Returns (X, Y, Z).
pub(crate) fn bracket_parts(atom: &str) -> Option<(&str, &str, &str)> {
    let b = atom.as_bytes();
    let open = b.iter().skip(1).position(|&c| c == b'[')? + 1;
    let close = b
        .iter()
        .skip(open + 2)
        .position(|&c| c == b']')
        .map(|p| p + open + 2)?;
    Some((&atom[..open], &atom[open + 1..close], &atom[close + 1..]))
}

/// `$ending =~ /\[.+?\]/`: is there another bracket pair (with non-empty content)?
pub(crate) fn has_bracket_pair(s: &str) -> bool {
    let b = s.as_bytes();
    match b.iter().position(|&c| c == b'[') {
        Some(open) => b.iter().skip(open + 2).any(|&c| c == b']'),
        None => false,
    }
}

/// `$front =~ /^(.*?)(\d+)(\..+)?$/` for the `+` operator: (P, digits, domain part).
pub(crate) fn increment_parts(front: &str) -> Option<(&str, &str, &str)> {
    let b = front.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let rest = &front[i..];
            if rest.is_empty() || (rest.starts_with('.') && rest.len() >= 2) {
                return Some((&front[..start], &front[start..i], rest));
            }
        } else {
            i += 1;
        }
    }
    None
}

/// The dash split of `([^-]+?(-[^-]*){k})-(.*)` with 2k+1 dashes in `atom`: the match starts at
/// the first non-dash character, the left side takes k dashes, the right side is everything
/// after the next dash. `None` when the regex cannot match (too many leading dashes).
pub(crate) fn dash_split(atom: &str, k: usize) -> Option<(&str, &str)> {
    let b = atom.as_bytes();
    let first = b.iter().position(|&c| c != b'-')?;
    let dash = b
        .iter()
        .enumerate()
        .skip(first)
        .filter(|&(_, &c)| c == b'-')
        .map(|(i, _)| i)
        .nth(k)?;
    Some((&atom[first..dash], &atom[dash + 1..]))
}

/// Perl's `isSPACE` set, used where Perl trims or skips white space.
pub(crate) fn is_perl_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_elements_like_perl() {
        assert_eq!(split_elements("a,b"), vec!["a", ",", "b"]);
        assert_eq!(split_elements("a,"), vec!["a", ","]);
        assert_eq!(split_elements(","), vec!["", ","]);
        assert_eq!(split_elements(""), Vec::<&str>::new());
        assert_eq!(
            split_elements("node[1,2],node5"),
            vec!["node[1,2]", ",", "node5"]
        );
        assert_eq!(split_elements("/node[1,2],x"), vec!["/node[1,2]", ",", "x"]);
        assert_eq!(split_elements("a@b"), vec!["a", "@", "b"]);
        assert_eq!(split_elements("a,b@c"), vec!["a", ",", "b@c"]);
        assert_eq!(split_elements("@a"), vec!["", "@", "a"]);
        assert_eq!(split_elements("x(a,b)"), vec!["x(a,b)"]);
        assert_eq!(split_elements("x(a@b)"), vec!["x(a@b)"]);
    }

    #[test]
    fn parens() {
        let g = extract_parens("a,-(b,c),d").unwrap();
        assert_eq!((g.prefix, g.inner, g.rest), ("a,-", "b,c", ",d"));
        let g = extract_parens("((a))x").unwrap();
        assert_eq!((g.prefix, g.inner, g.rest), ("", "(a)", "x"));
        assert!(extract_parens("a)(b)").is_none());
        assert!(extract_parens("(a").is_none());
        let g = extract_parens("(a\\)b)").unwrap();
        assert_eq!(g.inner, "a\\)b");
    }

    #[test]
    fn digit_runs() {
        assert_eq!(split_digit_runs("node1"), vec!["node", "1"]);
        assert_eq!(split_digit_runs("10"), vec!["", "10"]);
        assert_eq!(split_digit_runs("1a"), vec!["", "1", "a"]);
        assert_eq!(split_digit_runs(""), Vec::<&str>::new());
        assert_eq!(split_digit_runs("r1n1"), vec!["r", "1", "n", "1"]);
    }

    #[test]
    fn brackets() {
        assert_eq!(bracket_parts("node[1-3]"), Some(("node", "1-3", "")));
        assert_eq!(bracket_parts("f[1-2]n[1-3]"), Some(("f", "1-2", "n[1-3]")));
        assert_eq!(bracket_parts("[1-3]"), None);
        assert_eq!(bracket_parts("a[]b"), None);
        assert_eq!(bracket_parts("a[]]"), Some(("a", "]", "")));
        assert!(has_bracket_pair("n[1-3]"));
        assert!(!has_bracket_pair("n[]"));
    }

    #[test]
    fn increments() {
        assert_eq!(
            increment_parts("rack1node10"),
            Some(("rack1node", "10", ""))
        );
        assert_eq!(
            increment_parts("n1.cluster.com"),
            Some(("n", "1", ".cluster.com"))
        );
        assert_eq!(increment_parts("10"), Some(("", "10", "")));
        assert_eq!(increment_parts("abc"), None);
        assert_eq!(increment_parts("a12b"), None);
        assert_eq!(increment_parts("node10."), None);
    }

    #[test]
    fn dashes() {
        assert_eq!(dash_split("cn-01-cn-03", 1), Some(("cn-01", "cn-03")));
        assert_eq!(
            dash_split("node1-compute-node200-compute", 1),
            Some(("node1-compute", "node200-compute"))
        );
        assert_eq!(dash_split("a-b", 0), Some(("a", "b")));
        assert_eq!(dash_split("-a-b-c", 1), Some(("a-b", "c")));
        assert_eq!(dash_split("-", 0), None);
        assert_eq!(dash_split("--a-", 1), None);
    }
}
