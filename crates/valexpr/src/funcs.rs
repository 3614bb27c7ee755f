//! The functions callable inside a parenthesised group: `sprintf` and the
//! xCAT helpers `a2idx`, `a2zidx`, `dim2idx`, `skip`, `ipadd`, `mknum`.
//!
//! As in Perl, missing arguments are undef (0 or "") and extra arguments are
//! ignored.

use crate::expr::Scalar;

/// Widths and precisions above this are refused, so a value cannot ask for a
/// gigabyte of padding.
const MAX_WIDTH: usize = 4096;

static UNDEF: Scalar<'static> = Scalar::Undef;

fn arg<'a, 'b>(args: &'a [Scalar<'b>], i: usize) -> &'a Scalar<'b> {
    args.get(i).unwrap_or(&UNDEF)
}

fn int_arg(args: &[Scalar<'_>], i: usize) -> i64 {
    arg(args, i).to_int()
}

pub(crate) fn call(name: &str, args: &[Scalar<'_>]) -> Result<Scalar<'static>, String> {
    let v = match name {
        "sprintf" => Scalar::Str(sprintf(args)?.into()),
        "a2idx" => Scalar::Int(a2idx(&arg(args, 0).to_str()) + 1),
        "a2zidx" => Scalar::Int(a2idx(&arg(args, 0).to_str())),
        "dim2idx" => Scalar::Int(dim2idx(args)),
        "skip" => Scalar::Int(skip(int_arg(args, 0), &arg(args, 1).to_str())),
        "ipadd" => {
            let o: Vec<i64> = (0..7).map(|i| int_arg(args, i)).collect();
            Scalar::Str(ipadd([o[0], o[1], o[2], o[3]], o[4], o[5], o[6])?.into())
        }
        "mknum" => Scalar::Int(mknum(&arg(args, 0).to_str())),
        _ => {
            return Err(format!(
                "unknown function {name}() (supported: sprintf, a2idx, a2zidx, dim2idx, skip, ipadd, mknum)"
            ))
        }
    };
    Ok(v)
}

/// 0-based index of the first character as a letter: `ord(lc(c)) - 97`
/// (`a` = 0). Non-letters give whatever that formula gives; "" gives -97.
fn a2idx(s: &str) -> i64 {
    let cp = s
        .chars()
        .next()
        .map_or(0, |c| c.to_lowercase().next().unwrap_or(c) as i64);
    cp - 97
}

/// Mixed-radix, 1-based: `dim2idx(v1, n2, v2, n3, v3, ...)` is
/// `((v1 - 1) * n2 + v2 - 1) * n3 + v3 ...`; `dim2idx(2, 4, 3)` = 7.
fn dim2idx(args: &[Scalar<'_>]) -> i64 {
    let mut idx = int_arg(args, 0);
    let mut i = 1;
    while i < args.len() {
        let n = int_arg(args, i);
        let v = int_arg(args, i + 1);
        idx = idx.wrapping_sub(1).wrapping_mul(n).wrapping_add(v);
        i += 2;
    }
    idx
}

/// Renumber `idx` so that the listed ranges do not count: the result is `idx`
/// minus the number of skipped values below `idx`. `spec` is a comma-separated
/// list of `start[:count]` (count defaults to 1). With `'3:2'` the values 3
/// and 4 are skipped, so 1, 2, 5, 6, 7 become 1, 2, 3, 4, 5 and
/// `skip(7, '3:2')` = 5. A skipped value itself maps to the same number as the
/// next kept value. Ranges may overlap; counts below 1 skip nothing.
fn skip(idx: i64, spec: &str) -> i64 {
    let mut ranges: Vec<(i128, i128)> = spec
        .split(',')
        .filter_map(|part| {
            let part = part.trim();
            if part.is_empty() {
                return None;
            }
            let (start, count) = match part.split_once(':') {
                Some((s, c)) => (crate::expr::str_to_int(s), crate::expr::str_to_int(c)),
                None => (crate::expr::str_to_int(part), 1),
            };
            (count > 0).then(|| (i128::from(start), i128::from(start) + i128::from(count)))
        })
        .collect();
    ranges.sort_unstable();
    let idx128 = i128::from(idx);
    let mut skipped: i128 = 0;
    let mut covered_to = i128::MIN; // end (exclusive) of what was counted so far
    for (start, end) in ranges {
        let lo = start.max(covered_to);
        let hi = end.min(idx128);
        if hi > lo {
            skipped += hi - lo;
        }
        covered_to = covered_to.max(end);
    }
    (idx128 - skipped).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// IPv4 addition that carries across octets and skips the first `skipstart`
/// and the last `skipend` host numbers (0..=255) of every /24.
///
/// The usable host numbers of a /24 are `skipstart ..= 255 - skipend`. The
/// base address counts as position 0 when it is usable; a base in the skipped
/// low range counts as the first usable host of its /24, one in the skipped
/// high range as the first usable host of the next /24. The result is the
/// usable address `add` positions further on. So `ipadd(10,0,0,0,300,0,0)` is
/// 10.0.1.44 and `ipadd(10,0,0,0,300,1,1)` is 10.0.1.47 (254 usable hosts per
/// /24: 10.0.0.1 is position 0, 10.0.0.254 is 253, 10.0.1.1 is 254).
fn ipadd(octets: [i64; 4], add: i64, skipstart: i64, skipend: i64) -> Result<String, String> {
    if skipstart < 0 || skipend < 0 {
        return Err("ipadd: the skip counts must not be negative".to_string());
    }
    let usable = 256 - i128::from(skipstart) - i128::from(skipend);
    if usable <= 0 {
        return Err(format!(
            "ipadd: skipping {skipstart} low and {skipend} high host numbers leaves none"
        ));
    }
    let base = octets
        .iter()
        .fold(0i128, |acc, &o| acc * 256 + i128::from(o));
    let net = base.div_euclid(256);
    let host = base.rem_euclid(256);
    let pos = net * usable + (host - i128::from(skipstart)).max(0) + i128::from(add);
    let addr = pos.div_euclid(usable) * 256 + pos.rem_euclid(usable) + i128::from(skipstart);
    if !(0..1i128 << 32).contains(&addr) {
        return Err("ipadd: the result is outside the IPv4 address space".to_string());
    }
    Ok(format!(
        "{}.{}.{}.{}",
        (addr >> 24) & 255,
        (addr >> 16) & 255,
        (addr >> 8) & 255,
        addr & 255
    ))
}

/// Sum of the byte values of the string.
fn mknum(s: &str) -> i64 {
    s.bytes().map(i64::from).sum()
}

/// Perl's `sprintf(FORMAT, LIST)` for the integer and string conversions:
/// `%c %s %d %i %u %o %x %X %b %B %%` (and `%D %U %O`), with flags `-+ 0#`,
/// width and precision (numbers or `*`), explicit argument indexes (`%2$s`)
/// and ignored size modifiers (`l`, `h`, `q`, ...). Floating-point
/// conversions are an error; any other directive is copied literally, as Perl
/// does.
pub(crate) fn sprintf(args: &[Scalar<'_>]) -> Result<String, String> {
    let fmt = arg(args, 0).to_str();
    let fmt: &str = &fmt;
    let b = fmt.as_bytes();
    let mut out = String::with_capacity(fmt.len() + 8);
    let mut next_arg = 1usize;
    let mut i = 0;
    let mut run = 0;
    while i < b.len() {
        if b[i] != b'%' {
            i += 1;
            continue;
        }
        out.push_str(&fmt[run..i]);
        let start = i;
        i += 1;
        if b.get(i) == Some(&b'%') {
            out.push('%');
            i += 1;
            run = i;
            continue;
        }
        // Explicit argument index: %N$...
        let mut explicit: Option<usize> = None;
        {
            let mut k = i;
            while k < b.len() && b[k].is_ascii_digit() {
                k += 1;
            }
            if k > i && b.get(k) == Some(&b'$') {
                explicit = fmt[i..k].parse().ok();
                i = k + 1;
            }
        }
        let mut spec = Spec::default();
        while let Some(&c) = b.get(i) {
            match c {
                b'-' => spec.left = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                b'0' => spec.zero = true,
                b'#' => spec.alt = true,
                _ => break,
            }
            i += 1;
        }
        // Width.
        if b.get(i) == Some(&b'*') {
            i += 1;
            let w = int_arg(args, next_arg);
            next_arg += 1;
            if w < 0 {
                spec.left = true;
            }
            spec.width = usize::try_from(w.unsigned_abs()).unwrap_or(usize::MAX);
        } else {
            let (w, k) = parse_num(fmt, i);
            spec.width = w;
            i = k;
        }
        // Precision.
        if b.get(i) == Some(&b'.') {
            i += 1;
            if b.get(i) == Some(&b'*') {
                i += 1;
                let p = int_arg(args, next_arg);
                next_arg += 1;
                spec.precision = usize::try_from(p).ok(); // negative: as if omitted
            } else {
                let (p, k) = parse_num(fmt, i);
                spec.precision = Some(p);
                i = k;
            }
        }
        if spec.width > MAX_WIDTH || spec.precision.unwrap_or(0) > MAX_WIDTH {
            return Err(format!("sprintf: width or precision above {MAX_WIDTH}"));
        }
        // Size modifiers have no meaning for 64-bit integers.
        while matches!(
            b.get(i),
            Some(b'h' | b'l' | b'q' | b'L' | b'V' | b'j' | b'z' | b't')
        ) {
            i += 1;
        }
        let Some(&conv) = b.get(i) else {
            // Incomplete directive at the end: copied as is.
            out.push_str(&fmt[start..]);
            run = b.len();
            break;
        };
        let supported = matches!(
            conv,
            b'c' | b's'
                | b'd'
                | b'i'
                | b'u'
                | b'o'
                | b'x'
                | b'X'
                | b'b'
                | b'B'
                | b'D'
                | b'U'
                | b'O'
        );
        if matches!(conv, b'e' | b'E' | b'f' | b'F' | b'g' | b'G' | b'a' | b'A') {
            return Err(format!(
                "sprintf: floating-point conversion %{} is not supported",
                conv as char
            ));
        }
        if !supported {
            // Perl prints an invalid directive literally. Copy up to and
            // including the offending character.
            let end = fmt[i..].chars().next().map_or(i, |c| i + c.len_utf8());
            out.push_str(&fmt[start..end]);
            i = end;
            run = i;
            continue;
        }
        i += 1;
        run = i;
        let value = match explicit {
            Some(n) => arg(args, n),
            None => {
                next_arg += 1;
                arg(args, next_arg - 1)
            }
        };
        format_one(&mut out, &spec, conv, value);
    }
    out.push_str(&fmt[run.min(b.len())..]);
    Ok(out)
}

#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    zero: bool,
    alt: bool,
    width: usize,
    precision: Option<usize>,
}

/// Decimal number at `i` (0 when there are no digits); saturates.
fn parse_num(s: &str, mut i: usize) -> (usize, usize) {
    let b = s.as_bytes();
    let mut n: usize = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        n = n
            .saturating_mul(10)
            .saturating_add(usize::from(b[i] - b'0'));
        i += 1;
    }
    (n, i)
}

fn format_one(out: &mut String, spec: &Spec, conv: u8, value: &Scalar<'_>) {
    match conv {
        b's' | b'c' => {
            let s: String = if conv == b'c' {
                let n = value.to_int();
                u32::try_from(n)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{fffd}')
                    .to_string()
            } else {
                let s = value.to_str();
                match spec.precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s.into_owned(),
                }
            };
            // Perl zero-pads strings too when asked.
            pad(out, spec, "", &s, spec.zero && !spec.left);
        }
        _ => {
            let n = value.to_int();
            let (sign, digits, prefix) = match conv {
                b'd' | b'i' | b'D' => {
                    let sign = if n < 0 {
                        "-"
                    } else if spec.plus {
                        "+"
                    } else if spec.space {
                        " "
                    } else {
                        ""
                    };
                    (sign, n.unsigned_abs().to_string(), "")
                }
                b'u' | b'U' => ("", (n as u64).to_string(), ""),
                b'o' | b'O' => ("", format!("{:o}", n as u64), ""),
                b'x' => (
                    "",
                    format!("{:x}", n as u64),
                    if n != 0 { "0x" } else { "" },
                ),
                b'X' => (
                    "",
                    format!("{:X}", n as u64),
                    if n != 0 { "0X" } else { "" },
                ),
                b'b' => (
                    "",
                    format!("{:b}", n as u64),
                    if n != 0 { "0b" } else { "" },
                ),
                _ => (
                    "",
                    format!("{:b}", n as u64),
                    if n != 0 { "0B" } else { "" },
                ),
            };
            let mut digits = match spec.precision {
                // A precision of 0 with the value 0 prints no digits.
                Some(0) if n == 0 => String::new(),
                Some(p) if digits.len() < p => "0".repeat(p - digits.len()) + &digits,
                _ => digits,
            };
            let mut prefix = if spec.alt { prefix } else { "" };
            if spec.alt && matches!(conv, b'o' | b'O') && !digits.starts_with('0') {
                digits.insert(0, '0');
                prefix = "";
            }
            let head = format!("{sign}{prefix}");
            let zero = spec.zero && !spec.left && spec.precision.is_none();
            pad(out, spec, &head, &digits, zero);
        }
    }
}

/// Write `head` + `body` padded to the width: spaces on the left (or right
/// with `-`), or zeros between `head` and `body`.
fn pad(out: &mut String, spec: &Spec, head: &str, body: &str, zero: bool) {
    let len = head.chars().count() + body.chars().count();
    let fill = spec.width.saturating_sub(len);
    let filler = |out: &mut String, c: char| {
        for _ in 0..fill {
            out.push(c);
        }
    };
    if spec.left {
        out.push_str(head);
        out.push_str(body);
        filler(out, ' ');
    } else if zero {
        out.push_str(head);
        filler(out, '0');
        out.push_str(body);
    } else {
        filler(out, ' ');
        out.push_str(head);
        out.push_str(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Scalar<'static> {
        Scalar::Str(v.to_string().into())
    }
    fn i(v: i64) -> Scalar<'static> {
        Scalar::Int(v)
    }
    fn pf(args: &[Scalar<'_>]) -> String {
        sprintf(args).unwrap()
    }

    #[test]
    fn sprintf_conversions() {
        assert_eq!(pf(&[s("%02d"), i(2)]), "02");
        assert_eq!(pf(&[s("%03d"), s("7")]), "007");
        assert_eq!(
            pf(&[s("%5d|%-5d|%05d"), i(42), i(42), i(-42)]),
            "   42|42   |-0042"
        );
        assert_eq!(pf(&[s("%+d % d %d"), i(5), i(5), i(-5)]), "+5  5 -5");
        assert_eq!(
            pf(&[s("%.3d|%5.3d|%05.3d"), i(7), i(7), i(7)]),
            "007|  007|  007"
        );
        assert_eq!(pf(&[s("%.0d|"), i(0)]), "|");
        assert_eq!(pf(&[s("%s-%s"), s("a"), i(3)]), "a-3");
        assert_eq!(
            pf(&[
                s("%5s|%-5s|%.2s|%05s"),
                s("ab"),
                s("ab"),
                s("abcd"),
                s("ab")
            ]),
            "   ab|ab   |ab|000ab"
        );
        assert_eq!(
            pf(&[
                s("%x %X %#x %#X %o %#o %b %#b"),
                i(255),
                i(255),
                i(255),
                i(255),
                i(8),
                i(8),
                i(5),
                i(5)
            ]),
            "ff FF 0xff 0XFF 10 010 101 0b101"
        );
        assert_eq!(pf(&[s("%04x"), i(10)]), "000a");
        assert_eq!(pf(&[s("%x"), i(-1)]), "ffffffffffffffff");
        assert_eq!(pf(&[s("%u"), i(-1)]), "18446744073709551615");
        assert_eq!(pf(&[s("%c%c"), i(65), i(0x263A)]), "A\u{263A}");
        assert_eq!(pf(&[s("100%%")]), "100%");
        assert_eq!(
            pf(&[s("%*d|%-*d|%.*d"), i(4), i(1), i(3), i(2), i(3), i(5)]),
            "   1|2  |005"
        );
        assert_eq!(pf(&[s("%2$s %1$s"), s("a"), s("b")]), "b a");
        assert_eq!(pf(&[s("%ld %lld %hd"), i(1), i(2), i(3)]), "1 2 3");
        assert_eq!(pf(&[s("%d %s|"),]), "0 |");
        assert_eq!(pf(&[s("%y %d"), i(1)]), "%y 1");
        assert_eq!(pf(&[s("abc%")]), "abc%");
        assert_eq!(pf(&[s("%5")]), "%5");
        assert_eq!(pf(&[]), "");
        assert!(sprintf(&[s("%f"), i(1)]).is_err());
        assert!(sprintf(&[s("%99999d"), i(1)]).is_err());
        assert!(sprintf(&[s("%.99999999999999999999999d"), i(1)]).is_err());
    }

    #[test]
    fn helpers() {
        assert_eq!(call("a2idx", &[s("a")]).unwrap(), i(1));
        assert_eq!(call("a2idx", &[s("B")]).unwrap(), i(2));
        assert_eq!(call("a2idx", &[s("zeta")]).unwrap(), i(26));
        assert_eq!(call("a2zidx", &[s("a")]).unwrap(), i(0));
        assert_eq!(call("a2zidx", &[s("c")]).unwrap(), i(2));
        assert_eq!(call("dim2idx", &[i(2), i(4), i(3)]).unwrap(), i(7));
        assert_eq!(call("dim2idx", &[i(1), i(4), i(1)]).unwrap(), i(1));
        assert_eq!(
            call("dim2idx", &[i(2), i(3), i(1), i(4), i(2)]).unwrap(),
            i(14)
        );
        assert_eq!(call("dim2idx", &[i(5)]).unwrap(), i(5));
        assert_eq!(call("skip", &[i(7), s("3:2")]).unwrap(), i(5));
        assert_eq!(call("skip", &[i(2), s("3:2")]).unwrap(), i(2));
        assert_eq!(call("skip", &[i(5), s("3:2")]).unwrap(), i(3));
        assert_eq!(call("skip", &[i(7), s("3")]).unwrap(), i(6));
        assert_eq!(call("skip", &[i(10), s("3:2, 6")]).unwrap(), i(7));
        assert_eq!(call("skip", &[i(10), s("3:3,4:3")]).unwrap(), i(6));
        assert_eq!(call("skip", &[i(10), s("3:0,,")]).unwrap(), i(10));
        assert_eq!(
            call("ipadd", &[i(10), i(0), i(0), i(0), i(300), i(0), i(0)]).unwrap(),
            s("10.0.1.44")
        );
        assert_eq!(
            call("ipadd", &[i(10), i(0), i(0), i(0), i(300), i(1), i(1)]).unwrap(),
            s("10.0.1.47")
        );
        assert_eq!(
            call("ipadd", &[i(10), i(0), i(0), i(5), i(0), i(1), i(1)]).unwrap(),
            s("10.0.0.5")
        );
        assert_eq!(
            call("ipadd", &[i(10), i(0), i(0), i(0), i(0), i(1), i(1)]).unwrap(),
            s("10.0.0.1")
        );
        assert_eq!(
            call("ipadd", &[i(10), i(0), i(0), i(254), i(1), i(1), i(1)]).unwrap(),
            s("10.0.1.1")
        );
        assert_eq!(
            call("ipadd", &[i(10), i(0), i(0), i(10), i(-10), i(0), i(0)]).unwrap(),
            s("10.0.0.0")
        );
        assert_eq!(
            call("ipadd", &[i(10), i(255), i(255), i(255), i(1), i(0), i(0)]).unwrap(),
            s("11.0.0.0")
        );
        assert!(call("ipadd", &[i(255), i(255), i(255), i(255), i(1), i(0), i(0)]).is_err());
        assert!(call("ipadd", &[i(10), i(0), i(0), i(0), i(1), i(128), i(128)]).is_err());
        assert!(call("ipadd", &[i(10), i(0), i(0), i(0), i(1), i(-1), i(0)]).is_err());
        assert_eq!(call("mknum", &[s("ab")]).unwrap(), i(97 + 98));
        assert_eq!(call("mknum", &[]).unwrap(), i(0));
        assert!(call("exec", &[]).unwrap_err().contains("exec"));
    }
}
