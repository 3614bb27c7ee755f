//! Perl's range operator `lo .. hi` on the digit strings of noderange ranges (noderange.md
//! §5.4), plus the small amount of arbitrary-size decimal arithmetic needed so that huge
//! numbers (`node1-node99999999999999999999`) never overflow.

use std::cmp::Ordering;

/// The values of Perl's `"$lo" .. "$hi"` where `lo` is a non-empty ASCII digit string and `hi`
/// is a digit string, possibly with a leading `-` (negative ends from `A+N` with a negative N).
///
/// * `lo` starting with `0`: Perl's magic string increment. Start at `lo`, emit values while
///   their length is at most `hi`'s, stop right after emitting a value equal to `hi`.
///   Increments keep the width (`09` to `10`) and grow only on overflow (`99` to `100`).
/// * otherwise numeric, `int(lo)` to `int(hi)` inclusive, unpadded.
///
/// Both modes are an odometer count from `lo`; they differ only in how many values are
/// produced, which is computed up front so that callers can refuse ranges that are too large
/// before generating anything.
#[derive(Debug, Clone)]
pub(crate) struct PerlRange {
    current: Vec<u8>,
    remaining: u64,
}

impl PerlRange {
    pub(crate) fn new(lo: &str, hi: &str) -> PerlRange {
        let count = range_count(lo.as_bytes(), hi.as_bytes());
        PerlRange {
            current: lo.as_bytes().to_vec(),
            remaining: count,
        }
    }

    /// Number of values still to come (saturated at `u64::MAX`).
    pub(crate) fn len(&self) -> u64 {
        self.remaining
    }
}

impl Iterator for PerlRange {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        // Only ASCII digits ever get here.
        let out = String::from_utf8_lossy(&self.current).into_owned();
        if self.remaining > 0 {
            odometer_inc(&mut self.current);
        }
        Some(out)
    }
}

fn odometer_inc(d: &mut Vec<u8>) {
    for c in d.iter_mut().rev() {
        if *c == b'9' {
            *c = b'0';
        } else {
            *c += 1;
            return;
        }
    }
    d.insert(0, b'1');
}

fn range_count(lo: &[u8], hi: &[u8]) -> u64 {
    if lo.is_empty() {
        return 0;
    }
    let hi_negative = hi.first() == Some(&b'-');
    if lo[0] == b'0' {
        // String increment.
        let (l, h) = (lo.len(), hi.len());
        if l > h {
            return 0;
        }
        let hi_digits = !hi.is_empty() && hi.iter().all(u8::is_ascii_digit);
        let reachable = hi_digits && ((h == l && hi >= lo) || (h > l && hi[0] != b'0'));
        if reachable {
            return dec_to_u64_sat(&dec_sub(hi, lo)).saturating_add(1);
        }
        // Runs until the width exceeds len(hi): every value up to 10^h - 1.
        // int(lo) < 10^(l-1) <= 10^(h-1), so the count exceeds 9 * 10^(h-1).
        if h > 20 {
            return u64::MAX;
        }
        let lo_val: u128 = dec_to_u64_sat(lo) as u128;
        let total = 10u128.pow(h as u32) - lo_val;
        return u64::try_from(total).unwrap_or(u64::MAX);
    }
    if hi_negative || hi.is_empty() || !hi.iter().all(u8::is_ascii_digit) {
        return 0;
    }
    match dec_cmp(hi, lo) {
        Ordering::Less => 0,
        _ => dec_to_u64_sat(&dec_sub(hi, lo)).saturating_add(1),
    }
}

fn strip_zeros(d: &[u8]) -> &[u8] {
    let i = d.iter().position(|&c| c != b'0').unwrap_or(d.len());
    &d[i..]
}

/// Numeric comparison of two digit strings of any length.
pub(crate) fn dec_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let (a, b) = (strip_zeros(a), strip_zeros(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// `a - b` for digit strings with `a >= b`; result without leading zeros (empty for zero).
pub(crate) fn dec_sub(a: &[u8], b: &[u8]) -> Vec<u8> {
    let (a, b) = (strip_zeros(a), strip_zeros(b));
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0i16;
    for i in 0..a.len() {
        let da = (a[a.len() - 1 - i] - b'0') as i16;
        let db = if i < b.len() {
            (b[b.len() - 1 - i] - b'0') as i16
        } else {
            0
        };
        let mut v = da - db - borrow;
        if v < 0 {
            v += 10;
            borrow = 1;
        } else {
            borrow = 0;
        }
        out.push(b'0' + v as u8);
    }
    while out.last() == Some(&b'0') {
        out.pop();
    }
    out.reverse();
    out
}

/// `a + b` for digit strings; result without leading zeros (empty for zero).
pub(crate) fn dec_add(a: &[u8], b: &[u8]) -> Vec<u8> {
    let (a, b) = (strip_zeros(a), strip_zeros(b));
    let n = a.len().max(b.len());
    let mut out = Vec::with_capacity(n + 1);
    let mut carry = 0u8;
    for i in 0..n {
        let da = if i < a.len() {
            a[a.len() - 1 - i] - b'0'
        } else {
            0
        };
        let db = if i < b.len() {
            b[b.len() - 1 - i] - b'0'
        } else {
            0
        };
        let v = da + db + carry;
        out.push(b'0' + v % 10);
        carry = v / 10;
    }
    if carry > 0 {
        out.push(b'0' + carry);
    }
    while out.last() == Some(&b'0') {
        out.pop();
    }
    out.reverse();
    out
}

fn dec_to_u64_sat(d: &[u8]) -> u64 {
    let mut v: u64 = 0;
    for &c in strip_zeros(d) {
        v = match v
            .checked_mul(10)
            .and_then(|x| x.checked_add((c - b'0') as u64))
        {
            Some(x) => x,
            None => return u64::MAX,
        };
    }
    v
}

/// `sprintf("%d", start + n)`, zero-padded to `start`'s width when that is longer
/// (`sprintf("%0Wd", ...)`, the sign counting towards the width), as the `+` operator does.
/// `n` is (negative, digits).
pub(crate) fn increment_end(start: &str, n_negative: bool, n_digits: &str) -> String {
    let (s, n) = (start.as_bytes(), n_digits.as_bytes());
    let (negative, magnitude) = if !n_negative {
        (false, dec_add(s, n))
    } else if dec_cmp(s, n) != Ordering::Less {
        (false, dec_sub(s, n))
    } else {
        (true, dec_sub(n, s))
    };
    let mut digits = String::from_utf8_lossy(&magnitude).into_owned();
    if digits.is_empty() {
        digits.push('0');
    }
    let natural_len = digits.len() + usize::from(negative);
    let width = start.len();
    let mut out = String::with_capacity(width.max(natural_len));
    if negative {
        out.push('-');
    }
    if width > natural_len {
        out.push_str(&"0".repeat(width - natural_len));
    }
    out.push_str(&digits);
    out
}

/// Perl's numification of the increment text: optional white space, optional sign, decimal
/// digits. Returns (negative, digits); no digits means 0.
pub(crate) fn perl_number_prefix(s: &str) -> (bool, &str) {
    let t = s.trim_start_matches(crate::text::is_perl_space);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = t
        .bytes()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(t.len());
    (neg, &t[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(lo: &str, hi: &str) -> Vec<String> {
        PerlRange::new(lo, hi).collect()
    }

    #[test]
    fn numeric() {
        assert_eq!(r("1", "3"), ["1", "2", "3"]);
        assert_eq!(r("1", "05"), ["1", "2", "3", "4", "5"]);
        assert_eq!(r("9", "11"), ["9", "10", "11"]);
        assert!(r("5", "1").is_empty());
        assert!(r("5", "-4").is_empty());
        assert_eq!(
            PerlRange::new("1", "99999999999999999999999").len(),
            u64::MAX
        );
        assert!(r("99999999999999999999", "1").is_empty());
        assert_eq!(
            r("99999999999999999999999", "100000000000000000000001"),
            [
                "99999999999999999999999",
                "100000000000000000000000",
                "100000000000000000000001"
            ]
        );
    }

    #[test]
    fn string_increment() {
        assert_eq!(r("01", "03"), ["01", "02", "03"]);
        assert_eq!(r("098", "100"), ["098", "099", "100"]);
        assert!(r("01", "5").is_empty());
        let v = r("08", "07");
        assert_eq!(v.len(), 92);
        assert_eq!(v.first().unwrap(), "08");
        assert_eq!(v.last().unwrap(), "99");
        let v = r("01", "100");
        assert_eq!(v.len(), 100);
        assert_eq!(v.last().unwrap(), "100");
        assert_eq!(r("0", "3"), ["0", "1", "2", "3"]);
        assert_eq!(r("0", "0"), ["0"]);
        // hi with a leading zero and more digits is never reached: runs to 999.
        assert_eq!(r("01", "005").len(), 999);
        assert_eq!(r("01", "-4").len(), 99);
        assert_eq!(
            PerlRange::new("0", "99999999999999999999999").len(),
            u64::MAX
        );
        assert_eq!(
            PerlRange::new("01", "0000000000000000000000009").len(),
            u64::MAX
        );
    }

    #[test]
    fn increments() {
        assert_eq!(increment_end("10", false, "3"), "13");
        assert_eq!(increment_end("009", false, "2"), "011");
        assert_eq!(increment_end("08", false, "3"), "11");
        assert_eq!(increment_end("98", false, "3"), "101");
        assert_eq!(increment_end("5", true, "2"), "3");
        assert_eq!(increment_end("1", true, "5"), "-4");
        assert_eq!(increment_end("001", true, "5"), "-04");
        assert_eq!(increment_end("1", false, ""), "1");
        assert_eq!(perl_number_prefix(" 3abc"), (false, "3"));
        assert_eq!(perl_number_prefix("-2"), (true, "2"));
        assert_eq!(perl_number_prefix("abc"), (false, ""));
    }
}
