//! The tiny Perl-expression evaluator used for the parenthesised groups of
//! `|PATTERN|REPLACEMENT|` values.
//!
//! [`parse`] turns a group into a syntax tree ([`Ast`]) once, which is then
//! evaluated for each node; [`evaluate`] is the recursive-descent parser that
//! evaluates while it parses. The two give the same value; the second also
//! gives the exact error of an expression that does not parse (a run-time
//! error before the syntax error comes first), so a group that [`parse`]
//! rejects is evaluated by it. Values are Perl-like scalars; arithmetic
//! follows `use integer`.

use std::borrow::Cow;

use crate::funcs;

/// Nesting limit for parentheses, unary operators and function calls, so that
/// hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 128;

/// A Perl-like scalar value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scalar<'a> {
    Undef,
    Int(i64),
    /// Borrowed when it is a capture of the node name.
    Str(Cow<'a, str>),
}

impl Scalar<'_> {
    /// Numeric value as Perl's `use integer` sees it.
    pub(crate) fn to_int(&self) -> i64 {
        match self {
            Scalar::Undef => 0,
            Scalar::Int(i) => *i,
            Scalar::Str(s) => str_to_int(s),
        }
    }

    /// String value (undef is the empty string).
    pub(crate) fn to_str(&self) -> Cow<'_, str> {
        match self {
            Scalar::Undef => Cow::Borrowed(""),
            Scalar::Int(i) => Cow::Owned(i.to_string()),
            Scalar::Str(s) => Cow::Borrowed(s.as_ref()),
        }
    }
}

/// Perl's whitespace for numeric conversion and `\s` on byte strings.
pub(crate) fn is_perl_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// Perl's string-to-number conversion followed by `use integer` truncation:
/// leading whitespace, an optional sign, digits, an optional fraction and
/// exponent. Anything that does not start like a number is 0. Out-of-range
/// values saturate.
pub(crate) fn str_to_int(s: &str) -> i64 {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_perl_space(b[i]) {
        i += 1;
    }
    let start = i;
    let negative = i < b.len() && b[i] == b'-';
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let digits_end = i;
    let mut is_float = false;
    if i < b.len() && b[i] == b'.' {
        let mut k = i + 1;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        if k > i + 1 || digits_end > digits_start {
            is_float = true;
            i = k;
        }
    }
    if digits_end == digits_start && !is_float {
        return 0;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut k = i + 1;
        if k < b.len() && (b[k] == b'+' || b[k] == b'-') {
            k += 1;
        }
        let exp_start = k;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        if k > exp_start {
            is_float = true;
            i = k;
        }
    }
    if is_float {
        // `as` saturates and maps NaN to 0.
        return s
            .get(start..i)
            .and_then(|t| t.parse::<f64>().ok())
            .map_or(0, |f| f as i64);
    }
    let mut acc: i128 = 0;
    for &d in &b[digits_start..digits_end] {
        acc = (acc * 10 + i128::from(d - b'0')).min(i128::from(u64::MAX));
    }
    if negative {
        acc = -acc;
    }
    acc.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// A piece of a double-quoted string: text, or a capture (`$n`) put in when
/// the string is evaluated.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Capture(Option<usize>),
}

/// A double-quoted string with the captures put in.
fn interpolate(pieces: &[Piece], caps: &[Option<&str>]) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Capture(n) => out.push_str(capture(caps, *n).unwrap_or("")),
        }
    }
    out
}

/// `$n` of `caps`; None when undefined.
fn capture<'c>(caps: &[Option<&'c str>], n: Option<usize>) -> Option<&'c str> {
    n.and_then(|n| caps.get(n)).copied().flatten()
}

#[derive(Debug, Clone, PartialEq)]
enum Tok<'s> {
    Num(i64),
    /// A single-quoted string.
    Str(String),
    /// A double-quoted string.
    Interp(Vec<Piece>),
    /// `$n`; `None` when the index does not fit (always undefined).
    Var(Option<usize>),
    Ident(&'s str),
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Dot,
    LParen,
    RParen,
    Comma,
    Eof,
}

/// Evaluate one Perl expression (a parenthesised group of a REPLACEMENT).
/// `caps[n]` is `$n`; missing or non-participating groups are undef.
pub(crate) fn evaluate<'c>(src: &str, caps: &[Option<&'c str>]) -> Result<Scalar<'c>, String> {
    let mut p = Parser {
        src,
        pos: 0,
        caps,
        peeked: None,
        depth: 0,
    };
    let v = p.comma_expr()?;
    match p.next()? {
        Tok::Eof => Ok(v),
        t => Err(format!(
            "syntax error: unexpected {} in {src:?}",
            describe(&t)
        )),
    }
}

fn describe(t: &Tok<'_>) -> String {
    match t {
        Tok::Num(n) => format!("number {n}"),
        Tok::Str(_) | Tok::Interp(_) => "string literal".to_string(),
        Tok::Var(Some(n)) => format!("${n}"),
        Tok::Var(None) => "capture variable".to_string(),
        Tok::Ident(s) => format!("word {s:?}"),
        Tok::Plus => "'+'".to_string(),
        Tok::Minus => "'-'".to_string(),
        Tok::Star => "'*'".to_string(),
        Tok::Slash => "'/'".to_string(),
        Tok::Percent => "'%'".to_string(),
        Tok::Dot => "'.'".to_string(),
        Tok::LParen => "'('".to_string(),
        Tok::RParen => "')'".to_string(),
        Tok::Comma => "','".to_string(),
        Tok::Eof => "end of expression".to_string(),
    }
}

struct Parser<'s, 'c, 'v> {
    src: &'s str,
    pos: usize,
    caps: &'v [Option<&'c str>],
    peeked: Option<Tok<'s>>,
    depth: usize,
}

impl<'s, 'c> Parser<'s, 'c, '_> {
    fn peek(&mut self) -> Result<&Tok<'s>, String> {
        if self.peeked.is_none() {
            let t = self.lex()?;
            self.peeked = Some(t);
        }
        Ok(self.peeked.as_ref().unwrap_or(&Tok::Eof))
    }

    fn next(&mut self) -> Result<Tok<'s>, String> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex(),
        }
    }

    fn capture(&self, n: Option<usize>) -> Scalar<'c> {
        match capture(self.caps, n) {
            Some(s) => Scalar::Str(Cow::Borrowed(s)),
            None => Scalar::Undef,
        }
    }

    // ----- lexer -------------------------------------------------------------

    fn lex(&mut self) -> Result<Tok<'s>, String> {
        let b = self.src.as_bytes();
        while self.pos < b.len() && is_perl_space(b[self.pos]) {
            self.pos += 1;
        }
        let Some(&c) = b.get(self.pos) else {
            return Ok(Tok::Eof);
        };
        let single = |t: Tok<'s>, p: &mut Self| {
            p.pos += 1;
            Ok(t)
        };
        match c {
            b'0'..=b'9' => self.lex_number(),
            b'\'' => self.lex_single_quoted(),
            b'"' => self.lex_double_quoted(),
            b'$' => {
                self.pos += 1;
                let (n, end) = self.lex_var_index(self.pos)?;
                self.pos = end;
                Ok(Tok::Var(n))
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let start = self.pos;
                while self.pos < b.len()
                    && (b[self.pos].is_ascii_alphanumeric() || b[self.pos] == b'_')
                {
                    self.pos += 1;
                }
                Ok(Tok::Ident(&self.src[start..self.pos]))
            }
            b'+' => single(Tok::Plus, self),
            b'-' => single(Tok::Minus, self),
            b'*' => {
                if b.get(self.pos + 1) == Some(&b'*') {
                    return Err("operator '**' is not supported".to_string());
                }
                single(Tok::Star, self)
            }
            b'/' => single(Tok::Slash, self),
            b'%' => single(Tok::Percent, self),
            b'.' => single(Tok::Dot, self),
            b'(' => single(Tok::LParen, self),
            b')' => single(Tok::RParen, self),
            b',' => single(Tok::Comma, self),
            _ => {
                let ch = self.src[self.pos..].chars().next().unwrap_or('?');
                Err(format!("unexpected character {ch:?}"))
            }
        }
    }

    /// After a `$` at `start`: `digits` or `{digits}`. Returns the capture
    /// index (None if it overflows) and the end position.
    fn lex_var_index(&self, start: usize) -> Result<(Option<usize>, usize), String> {
        let b = self.src.as_bytes();
        let (braced, mut i) = if b.get(start) == Some(&b'{') {
            (true, start + 1)
        } else {
            (false, start)
        };
        let ds = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == ds {
            let rest: String = self.src[start..].chars().take(12).collect();
            return Err(format!(
                "variable ${rest}... is not supported (only $1, $2, ... are)"
            ));
        }
        if braced {
            if b.get(i) != Some(&b'}') {
                return Err("unterminated ${...} variable".to_string());
            }
            i += 1;
        }
        let n: Option<usize> = self.src[ds..i].trim_end_matches('}').parse().ok();
        if n == Some(0) {
            return Err("variable $0 is not supported".to_string());
        }
        Ok((n, i))
    }

    fn lex_number(&mut self) -> Result<Tok<'s>, String> {
        let b = self.src.as_bytes();
        let start = self.pos;
        let (radix, mut i) = match (b[start], b.get(start + 1)) {
            (b'0', Some(b'x' | b'X')) => (16, start + 2),
            (b'0', Some(b'b' | b'B')) => (2, start + 2),
            (b'0', Some(b'0'..=b'9' | b'_')) => (8, start + 1),
            _ => (10, start),
        };
        let mut acc: i128 = 0;
        let mut any = radix == 8;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            if b[i] == b'_' {
                i += 1;
                continue;
            }
            let Some(d) = (b[i] as char).to_digit(36) else {
                break;
            };
            if d >= radix {
                if radix == 10 && (b[i] == b'e' || b[i] == b'E') {
                    return Err("floating-point numbers are not supported".to_string());
                }
                return Err(format!(
                    "illegal digit {:?} in number {:?}",
                    b[i] as char,
                    &self.src[start..=i]
                ));
            }
            acc = acc * i128::from(radix) + i128::from(d);
            if acc > i128::from(i64::MAX) {
                return Err(format!(
                    "integer literal {:?} is too large",
                    &self.src[start..=i]
                ));
            }
            any = true;
            i += 1;
        }
        if !any {
            return Err(format!("malformed number {:?}", &self.src[start..i]));
        }
        if radix == 10 && b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            return Err("floating-point numbers are not supported".to_string());
        }
        self.pos = i;
        Ok(Tok::Num(acc as i64))
    }

    fn lex_single_quoted(&mut self) -> Result<Tok<'s>, String> {
        let s = self.src;
        let mut out = String::new();
        let mut i = self.pos + 1;
        let mut run = i;
        let b = s.as_bytes();
        while i < b.len() {
            match b[i] {
                b'\\' if matches!(b.get(i + 1), Some(b'\\' | b'\'')) => {
                    out.push_str(&s[run..i]);
                    out.push(b[i + 1] as char);
                    i += 2;
                    run = i;
                }
                b'\'' => {
                    out.push_str(&s[run..i]);
                    self.pos = i + 1;
                    return Ok(Tok::Str(out));
                }
                _ => i += 1,
            }
        }
        Err("unterminated string literal".to_string())
    }

    fn lex_double_quoted(&mut self) -> Result<Tok<'s>, String> {
        let s = self.src;
        let b = s.as_bytes();
        let mut pieces = Vec::new();
        let mut out = String::new();
        let mut i = self.pos + 1;
        let mut run = i;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    out.push_str(&s[run..i]);
                    self.pos = i + 1;
                    if !out.is_empty() || pieces.is_empty() {
                        pieces.push(Piece::Text(out));
                    }
                    return Ok(Tok::Interp(pieces));
                }
                b'\\' => {
                    out.push_str(&s[run..i]);
                    let Some(next) = s[i + 1..].chars().next() else {
                        break;
                    };
                    i += 1 + next.len_utf8();
                    match next {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'f' => out.push('\x0c'),
                        'a' => out.push('\x07'),
                        'e' => out.push('\x1b'),
                        '0' => out.push('\0'),
                        'x' => {
                            let (ch, end) = lex_hex_escape(s, i);
                            out.push(ch);
                            i = end;
                        }
                        other => out.push(other),
                    }
                    run = i;
                }
                b'$' => {
                    out.push_str(&s[run..i]);
                    match b.get(i + 1) {
                        Some(b'0'..=b'9' | b'{') => {
                            let (n, end) = self.lex_var_index(i + 1)?;
                            if !out.is_empty() {
                                pieces.push(Piece::Text(std::mem::take(&mut out)));
                            }
                            pieces.push(Piece::Capture(n));
                            i = end;
                        }
                        Some(b'"') | None => {
                            out.push('$');
                            i += 1;
                        }
                        Some(_) => {
                            // Not a capture variable: always an error.
                            self.lex_var_index(i + 1)?;
                            out.push('$');
                            i += 1;
                        }
                    }
                    run = i;
                }
                _ => i += 1,
            }
        }
        Err("unterminated string literal".to_string())
    }

    // ----- grammar -----------------------------------------------------------

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("expression nested too deeply".to_string());
        }
        Ok(())
    }

    /// `a, b, c` in scalar context: the value of the last element.
    fn comma_expr(&mut self) -> Result<Scalar<'c>, String> {
        let mut v = self.add_expr()?;
        while *self.peek()? == Tok::Comma {
            self.next()?;
            if matches!(self.peek()?, Tok::RParen | Tok::Eof) {
                break;
            }
            v = self.add_expr()?;
        }
        Ok(v)
    }

    fn add_expr(&mut self) -> Result<Scalar<'c>, String> {
        let mut v = self.mul_expr()?;
        loop {
            let op = match self.peek()? {
                t @ (Tok::Plus | Tok::Minus | Tok::Dot) => t.clone(),
                _ => return Ok(v),
            };
            self.next()?;
            let r = self.mul_expr()?;
            v = match op {
                Tok::Plus => Scalar::Int(v.to_int().wrapping_add(r.to_int())),
                Tok::Minus => Scalar::Int(v.to_int().wrapping_sub(r.to_int())),
                _ => {
                    let mut s = v.to_str().into_owned();
                    s.push_str(&r.to_str());
                    Scalar::Str(Cow::Owned(s))
                }
            };
        }
    }

    fn mul_expr(&mut self) -> Result<Scalar<'c>, String> {
        let mut v = self.unary()?;
        loop {
            let op = match self.peek()? {
                t @ (Tok::Star | Tok::Slash | Tok::Percent) => t.clone(),
                _ => return Ok(v),
            };
            self.next()?;
            let (a, b) = (v.to_int(), self.unary()?.to_int());
            v = Scalar::Int(match op {
                Tok::Star => a.wrapping_mul(b),
                Tok::Slash if b == 0 => return Err("Illegal division by zero".to_string()),
                Tok::Slash => a.wrapping_div(b),
                _ if b == 0 => return Err("Illegal modulus zero".to_string()),
                _ => a.wrapping_rem(b),
            });
        }
    }

    fn unary(&mut self) -> Result<Scalar<'c>, String> {
        self.enter()?;
        let v = match self.peek()? {
            Tok::Minus => {
                self.next()?;
                Scalar::Int(self.unary()?.to_int().wrapping_neg())
            }
            Tok::Plus => {
                self.next()?;
                self.unary()?
            }
            _ => self.primary()?,
        };
        self.depth -= 1;
        Ok(v)
    }

    fn primary(&mut self) -> Result<Scalar<'c>, String> {
        match self.next()? {
            Tok::Num(n) => Ok(Scalar::Int(n)),
            Tok::Str(s) => Ok(Scalar::Str(Cow::Owned(s))),
            Tok::Interp(p) => Ok(Scalar::Str(Cow::Owned(interpolate(&p, self.caps)))),
            Tok::Var(n) => Ok(self.capture(n)),
            Tok::LParen => {
                if *self.peek()? == Tok::RParen {
                    self.next()?;
                    return Ok(Scalar::Undef); // `()` in scalar context
                }
                let v = self.comma_expr()?;
                match self.next()? {
                    Tok::RParen => Ok(v),
                    t => Err(format!(
                        "syntax error: expected ')' but found {}",
                        describe(&t)
                    )),
                }
            }
            Tok::Ident(name) => {
                if *self.peek()? != Tok::LParen {
                    return Err(format!(
                        "bareword {name:?} is not allowed (only calls such as {name}(...) of the supported functions)"
                    ));
                }
                self.next()?;
                let mut args = Vec::new();
                loop {
                    if *self.peek()? == Tok::RParen {
                        self.next()?;
                        break;
                    }
                    args.push(self.add_expr()?);
                    match self.next()? {
                        Tok::Comma => {}
                        Tok::RParen => break,
                        t => {
                            return Err(format!(
                                "syntax error in arguments of {name}(): unexpected {}",
                                describe(&t)
                            ))
                        }
                    }
                }
                funcs::call(name, &args)
            }
            t => Err(format!("syntax error: unexpected {}", describe(&t))),
        }
    }
}

/// A group parsed once ([`parse`]), evaluated for each node ([`Ast::eval`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ast(Node);

/// Binary operators of one precedence level are a flat chain (no deep tree
/// for a long `1+1+...+1`): evaluation recurses only as deep as the nesting
/// the parser allows.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Num(i64),
    Str(String),
    Interp(Vec<Piece>),
    Var(Option<usize>),
    /// `()`.
    Undef,
    Neg(Box<Node>),
    /// `a + b - c . d`, `a * b / c % d`: the first operand and the rest.
    Chain(Box<Node>, Vec<(Op, Node)>),
    /// `a, b, c`: every element is evaluated, the last is the value.
    Comma(Vec<Node>),
    Call(String, Vec<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Add,
    Sub,
    Concat,
    Mul,
    Div,
    Rem,
}

/// Parse one group; None when it is not a valid expression (then [`evaluate`]
/// gives the error, or the value before it).
pub(crate) fn parse(src: &str) -> Option<Ast> {
    let mut p = Parser {
        src,
        pos: 0,
        caps: &[],
        peeked: None,
        depth: 0,
    };
    let n = p.comma_node().ok()?;
    matches!(p.next(), Ok(Tok::Eof)).then_some(Ast(n))
}

impl<'s> Parser<'s, '_, '_> {
    fn comma_node(&mut self) -> Result<Node, String> {
        let mut items = vec![self.add_node()?];
        while *self.peek()? == Tok::Comma {
            self.next()?;
            if matches!(self.peek()?, Tok::RParen | Tok::Eof) {
                break;
            }
            items.push(self.add_node()?);
        }
        Ok(match items.len() {
            1 => items.pop().unwrap_or(Node::Undef),
            _ => Node::Comma(items),
        })
    }

    fn add_node(&mut self) -> Result<Node, String> {
        let first = self.mul_node()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek()? {
                Tok::Plus => Op::Add,
                Tok::Minus => Op::Sub,
                Tok::Dot => Op::Concat,
                _ => break,
            };
            self.next()?;
            rest.push((op, self.mul_node()?));
        }
        Ok(chain(first, rest))
    }

    fn mul_node(&mut self) -> Result<Node, String> {
        let first = self.unary_node()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek()? {
                Tok::Star => Op::Mul,
                Tok::Slash => Op::Div,
                Tok::Percent => Op::Rem,
                _ => break,
            };
            self.next()?;
            rest.push((op, self.unary_node()?));
        }
        Ok(chain(first, rest))
    }

    fn unary_node(&mut self) -> Result<Node, String> {
        self.enter()?;
        let n = match self.peek()? {
            Tok::Minus => {
                self.next()?;
                Node::Neg(Box::new(self.unary_node()?))
            }
            // Unary plus gives its operand unchanged.
            Tok::Plus => {
                self.next()?;
                self.unary_node()?
            }
            _ => self.primary_node()?,
        };
        self.depth -= 1;
        Ok(n)
    }

    fn primary_node(&mut self) -> Result<Node, String> {
        match self.next()? {
            Tok::Num(n) => Ok(Node::Num(n)),
            Tok::Str(s) => Ok(Node::Str(s)),
            Tok::Interp(p) => Ok(Node::Interp(p)),
            Tok::Var(n) => Ok(Node::Var(n)),
            Tok::LParen => {
                if *self.peek()? == Tok::RParen {
                    self.next()?;
                    return Ok(Node::Undef);
                }
                let n = self.comma_node()?;
                match self.next()? {
                    Tok::RParen => Ok(n),
                    _ => Err(String::new()),
                }
            }
            Tok::Ident(name) => {
                if *self.peek()? != Tok::LParen {
                    return Err(String::new());
                }
                self.next()?;
                let mut args = Vec::new();
                loop {
                    if *self.peek()? == Tok::RParen {
                        self.next()?;
                        break;
                    }
                    args.push(self.add_node()?);
                    match self.next()? {
                        Tok::Comma => {}
                        Tok::RParen => break,
                        _ => return Err(String::new()),
                    }
                }
                Ok(Node::Call(name.to_string(), args))
            }
            _ => Err(String::new()),
        }
    }
}

fn chain(first: Node, rest: Vec<(Op, Node)>) -> Node {
    if rest.is_empty() {
        first
    } else {
        Node::Chain(Box::new(first), rest)
    }
}

impl Ast {
    /// The group's value for one node's captures (`caps[n]` is `$n`).
    pub(crate) fn eval<'a>(&'a self, caps: &[Option<&'a str>]) -> Result<Scalar<'a>, String> {
        self.0.eval(caps)
    }
}

impl Node {
    /// In the order [`evaluate`] evaluates as it parses: left to right, operands before
    /// their operator, arguments before their call.
    fn eval<'a>(&'a self, caps: &[Option<&'a str>]) -> Result<Scalar<'a>, String> {
        Ok(match self {
            Node::Num(n) => Scalar::Int(*n),
            Node::Str(s) => Scalar::Str(Cow::Borrowed(s)),
            Node::Interp(p) => Scalar::Str(Cow::Owned(interpolate(p, caps))),
            Node::Var(n) => capture(caps, *n).map_or(Scalar::Undef, |s| Scalar::Str(s.into())),
            Node::Undef => Scalar::Undef,
            Node::Neg(n) => Scalar::Int(n.eval(caps)?.to_int().wrapping_neg()),
            Node::Chain(first, rest) => {
                let mut v = first.eval(caps)?;
                for (op, n) in rest {
                    v = apply(*op, v, n.eval(caps)?)?;
                }
                v
            }
            Node::Comma(items) => {
                let mut v = Scalar::Undef;
                for n in items {
                    v = n.eval(caps)?;
                }
                v
            }
            Node::Call(name, args) => {
                let args = args
                    .iter()
                    .map(|a| a.eval(caps))
                    .collect::<Result<Vec<_>, _>>()?;
                funcs::call(name, &args)?
            }
        })
    }
}

/// `l op r` as the evaluating parser computes it.
fn apply<'a>(op: Op, l: Scalar<'a>, r: Scalar<'a>) -> Result<Scalar<'a>, String> {
    if op == Op::Concat {
        let mut s = l.to_str().into_owned();
        s.push_str(&r.to_str());
        return Ok(Scalar::Str(Cow::Owned(s)));
    }
    let (a, b) = (l.to_int(), r.to_int());
    Ok(Scalar::Int(match op {
        // (Concat returned above.)
        Op::Add | Op::Concat => a.wrapping_add(b),
        Op::Sub => a.wrapping_sub(b),
        Op::Mul => a.wrapping_mul(b),
        Op::Div if b == 0 => return Err("Illegal division by zero".to_string()),
        Op::Div => a.wrapping_div(b),
        Op::Rem if b == 0 => return Err("Illegal modulus zero".to_string()),
        Op::Rem => a.wrapping_rem(b),
    }))
}

/// `\xHH` or `\x{HHHH}` starting at `i` (just after the `x`).
fn lex_hex_escape(s: &str, i: usize) -> (char, usize) {
    let b = s.as_bytes();
    if b.get(i) == Some(&b'{') {
        if let Some(close) = s[i + 1..].find('}') {
            let hex: String = s[i + 1..i + 1 + close]
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '_')
                .collect();
            let ch = u32::from_str_radix(&hex, 16)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or(if hex.is_empty() { '\0' } else { '\u{fffd}' });
            return (ch, i + 1 + close + 1);
        }
        return ('\0', i);
    }
    let mut end = i;
    while end < b.len() && end < i + 2 && b[end].is_ascii_hexdigit() {
        end += 1;
    }
    let v = u32::from_str_radix(&s[i..end], 16).unwrap_or(0);
    (char::from_u32(v).unwrap_or('\0'), end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(src: &str, caps: &[Option<&str>]) -> Result<String, String> {
        evaluate(src, caps).map(|v| v.to_str().into_owned())
    }

    #[test]
    fn numeric_conversion() {
        assert_eq!(str_to_int("07"), 7);
        assert_eq!(str_to_int("  -12abc"), -12);
        assert_eq!(str_to_int("abc"), 0);
        assert_eq!(str_to_int(""), 0);
        assert_eq!(str_to_int("3.9"), 3);
        assert_eq!(str_to_int("-3.9"), -3);
        assert_eq!(str_to_int("1e3"), 1000);
        assert_eq!(str_to_int("0x1A"), 0);
        assert_eq!(str_to_int(".5"), 0);
        assert_eq!(str_to_int("99999999999999999999999"), i64::MAX);
        assert_eq!(str_to_int("-99999999999999999999999"), i64::MIN);
    }

    #[test]
    fn arithmetic() {
        let c = [None, Some("07"), Some("x")];
        assert_eq!(ev("($1)", &c).unwrap(), "07");
        assert_eq!(ev("($1+0)", &c).unwrap(), "7");
        assert_eq!(ev("(7/2)", &c).unwrap(), "3");
        assert_eq!(ev("(-7/2)", &c).unwrap(), "-3");
        assert_eq!(ev("(-7%3)", &c).unwrap(), "-1");
        assert_eq!(ev("(7%-3)", &c).unwrap(), "1");
        assert_eq!(ev("(2+3*4)", &c).unwrap(), "14");
        assert_eq!(ev("((2+3)*4)", &c).unwrap(), "20");
        assert_eq!(ev("(- -3)", &c).unwrap(), "3");
        assert_eq!(ev("(-$1)", &c).unwrap(), "-7");
        assert_eq!(ev("($2+1)", &c).unwrap(), "1");
        assert_eq!(ev("($9+1)", &c).unwrap(), "1");
        assert_eq!(ev("($9)", &c).unwrap(), "");
        assert_eq!(ev("(${1}+1)", &c).unwrap(), "8");
        assert_eq!(ev("(1,2,3)", &c).unwrap(), "3");
        assert_eq!(ev("()", &c).unwrap(), "");
        assert_eq!(ev("('a'.$1.\"-$1\")", &c).unwrap(), "a07-07");
        assert_eq!(ev("(0x10+010+0b11+1_000)", &c).unwrap(), "1027");
        assert_eq!(
            ev("(9223372036854775807+1)", &c).unwrap(),
            i64::MIN.to_string()
        );
        assert_eq!(
            ev("(-9223372036854775807-1)/-1", &c).unwrap(),
            i64::MIN.to_string()
        );
        assert!(ev("('it''s')", &c).is_err());
        assert_eq!(ev(r"('it\'s\\')", &c).unwrap(), r"it's\");
        assert_eq!(
            ev(r#"("a\tb\x41\x{263A}\$1")"#, &c).unwrap(),
            "a\tbA\u{263A}$1"
        );
    }

    #[test]
    fn errors() {
        let c = [None, Some("0")];
        assert!(ev("(1/0)", &c).unwrap_err().contains("division by zero"));
        assert!(ev("(1/$1)", &c).unwrap_err().contains("division by zero"));
        assert!(ev("(1%0)", &c).unwrap_err().contains("modulus zero"));
        assert!(ev("(eth0)", &c).unwrap_err().contains("eth0"));
        assert!(ev("(system('ls'))", &c).unwrap_err().contains("system"));
        assert!(ev("(1.5)", &c).is_err());
        assert!(ev("(2**3)", &c).is_err());
        assert!(ev("(1", &c).is_err());
        assert!(ev("(1))", &c).is_err());
        assert!(ev("($x)", &c).is_err());
        assert!(ev("($0)", &c).is_err());
        assert!(ev("(08)", &c).is_err());
        assert!(ev("(99999999999999999999)", &c).is_err());
        assert!(ev("('abc", &c).is_err());
        assert!(ev("(1 2)", &c).is_err());
        let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(ev(&deep, &c).unwrap_err().contains("deeply"));
        let deep = format!("({}1)", "-".repeat(10_000));
        assert!(ev(&deep, &c).unwrap_err().contains("deeply"));
    }
}
