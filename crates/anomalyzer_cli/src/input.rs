//! Readers for `anomalyzer score`'s input: one number per line, CSV with a
//! header row, or JSON lines. Each yields [`Point`]s with the line they came
//! from, so that a bad row can be reported as `file:line: why: text`.
//!
//! Streaming: rows are read one at a time and never collected here, so a
//! file of any length is scored in constant memory.

use std::fmt;
use std::io::{self, BufRead, Cursor, Read};

use anyhow::{Context, Result};

mod csv_rows;
mod jsonl;

use csv_rows::CsvRows;
use jsonl::Jsonl;

/// How the input is laid out (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Decide from the first line: a number means `plain`, `{` means
    /// `jsonl`, anything else is a CSV header.
    Auto,
    /// CSV with a header row.
    Csv,
    /// One number per line, no header.
    Plain,
    /// One JSON object (or bare number) per line.
    Jsonl,
}

/// The column named `timestamp`, carried from input to output when present.
pub const TIMESTAMP: &str = "timestamp";
/// The value column used when `--column` is not given and it exists.
pub const DEFAULT_COLUMN: &str = "value";

/// One input value.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// 1-based line of the input where the row starts.
    pub line: u64,
    /// The row's `timestamp`, verbatim, if the input has that column.
    pub timestamp: Option<String>,
    /// The value, always finite.
    pub value: f64,
}

/// A row that cannot be scored: the caller either stops (exit 2) or skips it
/// (`--on-invalid skip`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRow {
    /// The input's name as the user gave it (`<stdin>` for standard input).
    pub source: String,
    /// 1-based line number.
    pub line: u64,
    /// What is wrong, in words.
    pub reason: String,
    /// The offending text (the whole row).
    pub text: String,
}

impl fmt::Display for InvalidRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.source, self.line, self.reason, self.text
        )
    }
}

/// What reading the next row can give besides a point.
#[derive(Debug)]
pub enum RowError {
    /// A bad row; reading can go on after it.
    Invalid(InvalidRow),
    /// The input itself failed (I/O); reading cannot go on.
    Fatal(anyhow::Error),
}

impl From<io::Error> for RowError {
    fn from(e: io::Error) -> Self {
        RowError::Fatal(e.into())
    }
}

/// Options that shape how rows are read.
#[derive(Debug, Clone)]
pub struct InputOptions {
    /// Layout of the input.
    pub format: Format,
    /// `--column`: the value column (CSV) or key (JSON lines).
    pub column: Option<String>,
}

/// A reader of points over any byte stream.
pub struct Rows {
    source: String,
    kind: Kind,
}

enum Kind {
    Plain(Lines),
    Jsonl(Jsonl),
    Csv(Box<CsvRows>),
    Empty,
}

impl Rows {
    /// Opens `reader` (named `source` in messages) in the given layout.
    /// Reads ahead as far as needed to decide the layout and the columns;
    /// a header or first row that makes the input unusable (no such column,
    /// no numeric column) is an [`InvalidRow`]-style error of its own.
    pub fn new(source: String, reader: Box<dyn BufRead>, opts: &InputOptions) -> Result<Self> {
        let mut reader = reader;
        let format = match opts.format {
            Format::Auto => {
                // Read the first non-blank line to decide, then put the
                // consumed bytes back in front of the rest.
                let mut head = Vec::new();
                loop {
                    let start = head.len();
                    let n = reader
                        .read_until(b'\n', &mut head)
                        .with_context(|| format!("cannot read {source}"))?;
                    if n == 0 {
                        break;
                    }
                    if !trim_line(&head[start..]).is_empty() {
                        break;
                    }
                }
                let first = head
                    .split(|&b| b == b'\n')
                    .map(trim_line)
                    .find(|l| !l.is_empty());
                let format = match first {
                    None => {
                        return Ok(Rows {
                            source,
                            kind: Kind::Empty,
                        })
                    }
                    Some(l) if parse_number(l).is_some() => Format::Plain,
                    Some(l) if l.starts_with(b"{") => Format::Jsonl,
                    Some(_) => Format::Csv,
                };
                reader = Box::new(Cursor::new(head).chain(reader));
                format
            }
            f => f,
        };
        let kind = match format {
            Format::Plain => {
                if opts.column.is_some() {
                    return Err(crate::exit::BadInput(
                        "--column needs an input with named columns (CSV or JSON lines)".to_owned(),
                    )
                    .into());
                }
                Kind::Plain(Lines::new(reader))
            }
            Format::Jsonl => Kind::Jsonl(Jsonl::new(reader, opts.column.clone())),
            Format::Csv => match CsvRows::new(&source, reader, opts.column.as_deref())? {
                Some(csv) => Kind::Csv(Box::new(csv)),
                None => Kind::Empty,
            },
            Format::Auto => unreachable!("auto was resolved above"),
        };
        let mut rows = Rows { source, kind };
        if let Kind::Jsonl(j) = &mut rows.kind {
            j.peek_first(&rows.source)?;
        }
        Ok(rows)
    }

    /// True when the output should carry a `timestamp` column.
    pub fn has_timestamp(&self) -> bool {
        match &self.kind {
            Kind::Csv(c) => c.timestamp.is_some(),
            Kind::Jsonl(j) => j.has_timestamp,
            Kind::Plain(_) | Kind::Empty => false,
        }
    }

    /// Bytes consumed so far (for the progress bar).
    pub fn position(&self) -> u64 {
        match &self.kind {
            Kind::Plain(l) => l.bytes,
            Kind::Jsonl(j) => j.lines.bytes,
            Kind::Csv(c) => c.reader.position().byte(),
            Kind::Empty => 0,
        }
    }

    /// The next point, a bad row, or `None` at the end.
    pub fn next_point(&mut self) -> Option<Result<Point, RowError>> {
        let source = &self.source;
        match &mut self.kind {
            Kind::Plain(lines) => next_plain(lines, source),
            Kind::Jsonl(j) => j.next_point(source),
            Kind::Csv(c) => c.next_point(source),
            Kind::Empty => None,
        }
    }
}

/// A line reader that counts lines and bytes and strips the line ending.
struct Lines {
    reader: Box<dyn BufRead>,
    buf: Vec<u8>,
    line: u64,
    bytes: u64,
}

impl Lines {
    fn new(reader: Box<dyn BufRead>) -> Self {
        Lines {
            reader,
            buf: Vec::new(),
            line: 0,
            bytes: 0,
        }
    }

    /// The next line that is not blank, trimmed, with its line number.
    fn next_nonblank(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        loop {
            self.buf.clear();
            let n = self.reader.read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            self.bytes += n as u64;
            if !trim_line(&self.buf).is_empty() {
                return Ok(Some((self.line, trim_line(&self.buf))));
            }
        }
    }
}

fn next_plain(lines: &mut Lines, source: &str) -> Option<Result<Point, RowError>> {
    let (line, text) = match lines.next_nonblank() {
        Ok(Some(l)) => l,
        Ok(None) => return None,
        Err(e) => return Some(Err(read_error(source, e))),
    };
    Some(match parse_number(text) {
        Some(value) if value.is_finite() => Ok(Point {
            line,
            timestamp: None,
            value,
        }),
        Some(_) => Err(invalid(source, line, "not a finite number", text)),
        None => Err(invalid(source, line, "not a number", text)),
    })
}

fn read_error(source: &str, e: io::Error) -> RowError {
    RowError::Fatal(anyhow::Error::new(e).context(format!("cannot read {source}")))
}

fn invalid(source: &str, line: u64, reason: &str, text: &[u8]) -> RowError {
    RowError::Invalid(InvalidRow {
        source: source.to_owned(),
        line,
        reason: reason.to_owned(),
        text: String::from_utf8_lossy(text).into_owned(),
    })
}

/// Strips the line ending and surrounding whitespace.
fn trim_line(line: &[u8]) -> &[u8] {
    line.trim_ascii()
}

/// Parses a number as Rust's `f64::from_str` does (so `1e3`, `-0.5`, `inf`
/// and `NaN` are numbers; the callers refuse the non-finite ones).
fn parse_number(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(
        format: Format,
        column: Option<&str>,
        text: &str,
    ) -> (bool, Vec<Result<Point, String>>) {
        let opts = InputOptions {
            format,
            column: column.map(str::to_owned),
        };
        let reader: Box<dyn BufRead> = Box::new(Cursor::new(text.as_bytes().to_vec()));
        let mut rows = Rows::new("in".to_owned(), reader, &opts).unwrap();
        let mut out = Vec::new();
        while let Some(r) = rows.next_point() {
            out.push(r.map_err(|e| match e {
                RowError::Invalid(i) => i.to_string(),
                RowError::Fatal(e) => format!("fatal: {e:#}"),
            }));
        }
        (rows.has_timestamp(), out)
    }

    fn p(line: u64, ts: Option<&str>, value: f64) -> Result<Point, String> {
        Ok(Point {
            line,
            timestamp: ts.map(str::to_owned),
            value,
        })
    }

    #[test]
    fn auto_detects_each_layout() {
        let (ts, rows) = read(Format::Auto, None, "\n1\n 2.5 \n\n-3e1\n");
        assert!(!ts);
        assert_eq!(
            rows,
            vec![p(2, None, 1.0), p(3, None, 2.5), p(5, None, -30.0)]
        );

        let (ts, rows) = read(Format::Auto, None, "timestamp,value\nt1,1\nt2,2\n");
        assert!(ts);
        assert_eq!(rows, vec![p(2, Some("t1"), 1.0), p(3, Some("t2"), 2.0)]);

        let (ts, rows) = read(
            Format::Auto,
            None,
            "{\"timestamp\":\"t1\",\"value\":1}\n7\n{\"timestamp\":5,\"value\":2}\n",
        );
        assert!(ts);
        assert_eq!(
            rows,
            vec![p(1, Some("t1"), 1.0), p(2, None, 7.0), p(3, Some("5"), 2.0)]
        );

        let (ts, rows) = read(Format::Auto, None, "\n\n");
        assert!(!ts);
        assert!(rows.is_empty());
    }

    #[test]
    fn csv_picks_the_only_numeric_column_or_the_named_one() {
        let text = "host,timestamp,cpu\na,t1,1.5\na,t2,2\n";
        let (_, rows) = read(Format::Csv, None, text);
        assert_eq!(rows, vec![p(2, Some("t1"), 1.5), p(3, Some("t2"), 2.0)]);
        let text = "a,b\n1,10\n2,20\n";
        let (ts, rows) = read(Format::Csv, Some("b"), text);
        assert!(!ts);
        assert_eq!(rows, vec![p(2, None, 10.0), p(3, None, 20.0)]);
    }

    #[test]
    fn bad_rows_name_line_reason_and_text() {
        let (_, rows) = read(
            Format::Csv,
            None,
            "timestamp,value\nt1,1\nt2,abc\nt3\nt4,\nt5,NaN\n",
        );
        assert_eq!(rows[0], p(2, Some("t1"), 1.0));
        assert_eq!(
            rows[1],
            Err("in:3: \"abc\" in column \"value\" is not a finite number: t2,abc".to_owned())
        );
        assert_eq!(
            rows[2],
            Err("in:4: expected 2 fields, found 1: t3".to_owned())
        );
        assert_eq!(
            rows[3],
            Err("in:5: missing value in column \"value\": t4,".to_owned())
        );
        assert_eq!(
            rows[4],
            Err("in:6: \"NaN\" in column \"value\" is not a finite number: t5,NaN".to_owned())
        );
        let (_, rows) = read(Format::Plain, None, "1\nx y\ninf\n");
        assert_eq!(rows[1], Err("in:2: not a number: x y".to_owned()));
        assert_eq!(rows[2], Err("in:3: not a finite number: inf".to_owned()));
        let (_, rows) = read(
            Format::Jsonl,
            None,
            "{\"value\":1}\n{\"value\":\n{\"v\":1}\n",
        );
        assert!(rows[1]
            .as_ref()
            .unwrap_err()
            .starts_with("in:2: invalid JSON"));
        assert_eq!(
            rows[2],
            Err("in:3: missing value for \"value\": {\"v\":1}".to_owned())
        );
    }

    #[test]
    fn unusable_headers_are_refused_up_front() {
        let opts = |column: Option<&str>| InputOptions {
            format: Format::Csv,
            column: column.map(str::to_owned),
        };
        let open = |text: &str, column| {
            let reader: Box<dyn BufRead> = Box::new(Cursor::new(text.as_bytes().to_vec()));
            Rows::new("in".to_owned(), reader, &opts(column))
                .err()
                .map(|e| e.to_string())
        };
        let e = open("a,b\n1,2\n", None).unwrap();
        assert!(e.contains("not exactly one numeric column"), "{e}");
        assert!(e.contains("columns: a, b"), "{e}");
        let e = open("a,b\n1,2\n", Some("c")).unwrap();
        assert!(e.contains("no column named \"c\""), "{e}");
        assert_eq!(open("a,value\n1,2\n", None), None);
    }
}
