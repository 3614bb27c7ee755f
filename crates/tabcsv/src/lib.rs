//! xCAT's `tabdump` / `tabrestore` CSV format.
//!
//! # Writer (`tabdump`)
//!
//! The header is `#` followed by the column names joined with `,`, unquoted.
//! Each record is one field per column joined with `,`: NULL and the empty
//! string give an empty, unquoted field; any other value is `"` + the value
//! with every `"` doubled + `"`. Commas and newlines are written raw inside
//! the quotes, so a record can span several physical lines.
//!
//! # Reader (`tabrestore`)
//!
//! * The first line must start with `#` ("Data missing header line starting
//!   with #"). Every `"` is removed from it, then the leading `#` and trailing
//!   whitespace; the rest is split on `,` (trailing empty names are dropped,
//!   as Perl's `split` does). Every name must be a schema column ("The header
//!   line indicates that column 'x' should exist, which is not defined in the
//!   schema for 't'"). The header may list a subset of the columns, in any
//!   order; duplicates are kept as they are, one field each.
//! * Every following physical line (split on `\n`) has its trailing
//!   whitespace (`[ \t\n\r\x0b\x0c]+$`, so also a CR of a CRLF file)
//!   stripped, then fields are read left to right, one per header column:
//!   * an empty field or the end of the line gives NULL (`None`), so missing
//!     trailing fields are NULL and a blank line is a record of NULLs;
//!   * a field starting with `"` is quoted, `""` inside it stands for `"`,
//!     and `""` alone gives the empty string (`Some("")`). The closing quote
//!     must be followed by `,` or the end of the line ("CSV unescaped \"").
//!     When the line has no closing quote, the next physical line (also
//!     stripped) is appended with a `\n` and the search goes on; at the end of
//!     the input the error is "CSV unmatched \"";
//!   * otherwise the field runs to the next `,`; a `"` in it is an error
//!     ("CSV missing opening \"");
//!   * text left after the field of the last header column is an error ("Too
//!     many fields on line N"). One `,` right after the last field is
//!     consumed like any separator, so a single trailing comma is accepted,
//!     as in xCAT.
//! * Lines starting with `#` after the header are data.
//! * After an error the reader goes on with the next physical line after the
//!   offending record, and reports every error.
//!
//! # Line numbers
//!
//! [`Record::line`] and [`CsvError::data_line`] are the 0-based index of the
//! record's first physical line among the data lines (the header is not
//! counted), which is how xCAT numbers the lines in its messages.
//! [`CsvError::physical_line`] is the 1-based line number in the file of the
//! offending field, for friendlier messages.
//!
//! # Round trip
//!
//! For any text that `tabdump` can produce, `write(parse(text)) == text`,
//! byte for byte. The exception is xCAT's own: a value with whitespace just
//! before an embedded newline loses that whitespace, because the reader
//! strips every physical line (`"a \nb"` reads back as `"a\nb"`).
//!
//! # Messages
//!
//! [`CsvError`]'s `Display` is xCAT's text prefixed with our position
//! (`line 3, column 7: CSV unmatched "`). xCAT words the last one as "Too
//! many fields on line N" with N = [`CsvError::data_line`].

use std::borrow::Cow;
use std::fmt;

/// One field: `None` = NULL (unquoted empty), `Some("")` = quoted empty `""`.
pub type Field = Option<String>;

/// A parsed `tabrestore` input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    /// The header's column names, in header order.
    pub columns: Vec<String>,
    /// The records, in input order.
    pub records: Vec<Record>,
}

/// One record of a `tabrestore` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 0-based index of the record's first physical line among the data lines
    /// (the header is not counted), as xCAT reports it.
    pub line: usize,
    /// One field per header column.
    pub fields: Vec<Field>,
}

impl Parsed {
    /// The CSV text `tabdump` would write for these columns and records.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        write_header(&mut out, &self.columns);
        for r in &self.records {
            write_record(&mut out, &r.fields);
        }
        out
    }
}

/// What went wrong; the `Display` texts are xCAT's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvErrorKind {
    /// The first line does not start with `#` (or there is no line).
    MissingHeader,
    /// A header column is not in the table's schema.
    UnknownColumn { column: String, table: String },
    /// An unquoted field contains a `"`.
    MissingOpeningQuote,
    /// A closing quote is followed by something other than `,` or the end of
    /// the line.
    UnescapedQuote,
    /// A quoted field runs to the end of the input.
    UnmatchedQuote,
    /// Text is left after the field of the last header column.
    TooManyFields,
}

impl fmt::Display for CsvErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvErrorKind::MissingHeader => f.write_str("Data missing header line starting with #"),
            CsvErrorKind::UnknownColumn { column, table } => write!(
                f,
                "The header line indicates that column '{column}' should exist, which is not defined in the schema for '{table}'"
            ),
            CsvErrorKind::MissingOpeningQuote => f.write_str("CSV missing opening \""),
            CsvErrorKind::UnescapedQuote => f.write_str("CSV unescaped \""),
            CsvErrorKind::UnmatchedQuote => f.write_str("CSV unmatched \""),
            CsvErrorKind::TooManyFields => f.write_str("Too many fields"),
        }
    }
}

/// An error in a `tabrestore` input, with its position.
///
/// `Display` gives `line P[, column C]: TEXT`, for example
/// `line 3, column 7: CSV unmatched "`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvError {
    pub kind: CsvErrorKind,
    /// xCAT's line number: the 0-based data-line index of the record (see
    /// [`Record::line`]); `None` for header errors.
    pub data_line: Option<usize>,
    /// 1-based line number in the file of the offending field (1 for header
    /// errors).
    pub physical_line: usize,
    /// 1-based column (in characters) of the offending field in that line;
    /// `None` for header errors.
    pub column: Option<usize>,
}

impl CsvError {
    fn header(kind: CsvErrorKind) -> Self {
        CsvError {
            kind,
            data_line: None,
            physical_line: 1,
            column: None,
        }
    }
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.physical_line)?;
        if let Some(c) = self.column {
            write!(f, ", column {c}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for CsvError {}

/// Write the header line `#col1,col2,...\n`.
pub fn write_header<S: AsRef<str>>(out: &mut String, columns: &[S]) {
    out.push('#');
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(c.as_ref());
    }
    out.push('\n');
}

/// Write one record: NULL or empty gives an empty unquoted field, anything
/// else `"..."` with `"` doubled; fields joined by `,`; a newline at the end.
///
/// Accepts `&[Option<&str>]` as well as `&[Option<String>]` (a record's
/// fields).
pub fn write_record<S: AsRef<str>>(out: &mut String, fields: &[Option<S>]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let Some(v) = f else { continue };
        let v = v.as_ref();
        if v.is_empty() {
            continue;
        }
        out.push('"');
        let mut parts = v.split('"');
        if let Some(first) = parts.next() {
            out.push_str(first);
        }
        for p in parts {
            out.push_str("\"\"");
            out.push_str(p);
        }
        out.push('"');
    }
    out.push('\n');
}

/// Perl's `\s` on byte strings.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

fn strip_end(line: &str) -> &str {
    line.trim_end_matches(is_space)
}

/// Parse a whole `tabrestore` input.
///
/// `known_columns` are the table's schema columns, `table` its name (for
/// messages). Header errors stop the parse; record errors are all collected
/// and returned together.
pub fn parse(text: &str, table: &str, known_columns: &[&str]) -> Result<Parsed, Vec<CsvError>> {
    let mut lines = text.split_terminator('\n');
    let header = match lines.next() {
        Some(h) if h.starts_with('#') => h,
        _ => return Err(vec![CsvError::header(CsvErrorKind::MissingHeader)]),
    };
    let cleaned: String = header.chars().filter(|&c| c != '"').collect();
    let cleaned = strip_end(&cleaned[1..]);
    let mut columns: Vec<String> = cleaned.split(',').map(str::to_string).collect();
    while columns.last().is_some_and(String::is_empty) {
        columns.pop();
    }
    let unknown: Vec<CsvError> = columns
        .iter()
        .filter(|c| !known_columns.contains(&c.as_str()))
        .map(|c| {
            CsvError::header(CsvErrorKind::UnknownColumn {
                column: c.clone(),
                table: table.to_string(),
            })
        })
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }

    let ncols = columns.len();
    let mut records = Vec::new();
    let mut errors = Vec::new();
    let mut next_index = 0usize; // data-line index of the next physical line
    while let Some(raw) = lines.next() {
        let first = next_index;
        next_index += 1;
        let mut line: Cow<'_, str> = Cow::Borrowed(strip_end(raw));
        match parse_record(&mut line, ncols, &mut lines, &mut next_index) {
            Ok(fields) => records.push(Record {
                line: first,
                fields,
            }),
            Err((kind, offset)) => {
                // Position of the offending field in the file.
                let before = &line[..offset.min(line.len())];
                let newlines = before.matches('\n').count();
                let line_start = before.rfind('\n').map_or(0, |p| p + 1);
                errors.push(CsvError {
                    kind,
                    data_line: Some(first),
                    physical_line: first + 2 + newlines,
                    column: Some(before[line_start..].chars().count() + 1),
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(Parsed { columns, records })
    } else {
        Err(errors)
    }
}

/// Parse the fields of one record from `line`, appending further physical
/// lines from `rest` while a quoted field is open. On error, returns the kind
/// and the byte offset in `line` of the offending field.
fn parse_record<'t>(
    line: &mut Cow<'t, str>,
    ncols: usize,
    rest: &mut impl Iterator<Item = &'t str>,
    next_index: &mut usize,
) -> Result<Vec<Field>, (CsvErrorKind, usize)> {
    let mut fields: Vec<Field> = Vec::with_capacity(ncols);
    let mut pos = 0usize;
    for _ in 0..ncols {
        let b = line.as_bytes();
        if pos >= b.len() {
            fields.push(None);
            continue;
        }
        if b[pos] == b',' {
            fields.push(None);
            pos += 1;
            continue;
        }
        // One scan for the end of an unquoted field or a quote before it.
        match b[pos..].iter().position(|&c| c == b',' || c == b'"') {
            Some(0) => {} // quoted field, below
            Some(k) if b[pos + k] == b'"' => return Err((CsvErrorKind::MissingOpeningQuote, pos)),
            Some(k) => {
                fields.push(Some(line[pos..pos + k].to_string()));
                pos += k + 1;
                continue;
            }
            None => {
                fields.push(Some(line[pos..].to_string()));
                pos = b.len();
                continue;
            }
        }
        // Quoted field: find the closing quote, joining lines as needed.
        let start = pos;
        let mut search = pos + 1;
        let mut escaped = false;
        loop {
            let b = line.as_bytes();
            match b[search..].iter().position(|&c| c == b'"') {
                Some(k) => {
                    let q = search + k;
                    match b.get(q + 1) {
                        Some(b'"') => {
                            escaped = true;
                            search = q + 2;
                        }
                        None | Some(b',') => {
                            let inner = &line[start + 1..q];
                            fields.push(Some(if escaped {
                                inner.replace("\"\"", "\"")
                            } else {
                                inner.to_string()
                            }));
                            pos = if q + 1 < b.len() { q + 2 } else { q + 1 };
                            break;
                        }
                        Some(_) => return Err((CsvErrorKind::UnescapedQuote, start)),
                    }
                }
                None => {
                    let Some(next) = rest.next() else {
                        return Err((CsvErrorKind::UnmatchedQuote, start));
                    };
                    *next_index += 1;
                    search = line.len();
                    let owned = line.to_mut();
                    owned.push('\n');
                    owned.push_str(strip_end(next));
                }
            }
        }
    }
    if pos < line.len() {
        return Err((CsvErrorKind::TooManyFields, pos));
    }
    Ok(fields)
}
