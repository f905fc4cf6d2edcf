//! Readers for `anomalyzer score`'s input: one number per line, CSV with a
//! header row, or JSON lines. Each yields [`Point`]s with the line they came
//! from, so that a bad row can be reported as `file:line: why: text`.
//!
//! Streaming: rows are read one at a time and never collected here, so a
//! file of any length is scored in constant memory.

use std::fmt;
use std::io::{self, BufRead, Cursor, Read};

use anyhow::Result;

mod bounded_lines;
mod csv_rows;
mod json_line;
mod jsonl;
mod number;

pub use bounded_lines::{
    parse_max_line_bytes, BoundedLines, LineError, BOM, DEFAULT_MAX_LINE_BYTES,
};
pub use number::parse_value;

use csv_rows::CsvRows;
use jsonl::Jsonl;
use number::looks_like_number;

use crate::echo::echo;
use crate::exit::BadInput;

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
    /// The offending text (the whole row), cut as [`echo`] cuts it.
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
    /// The input itself failed (I/O, a line over the limit); reading cannot
    /// go on.
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
    /// `--max-line-bytes`: the longest line (or CSV row) accepted.
    pub max_line_bytes: usize,
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
    /// Reads the first non-blank line to decide the layout and the columns;
    /// a header or first row that makes the input unusable (no such column,
    /// no numeric column) is an error of its own. A UTF-8 byte-order mark
    /// at the very start is dropped, in every layout.
    pub fn new(source: String, reader: Box<dyn BufRead>, opts: &InputOptions) -> Result<Self> {
        let mut lines = BoundedLines::new(reader, opts.max_line_bytes);
        let first = match lines.next_nonblank() {
            Ok(first) => first.map(|(n, text)| (n, text.to_vec())),
            Err(e) => return Err(line_error(&source, e)),
        };
        let format = match (opts.format, &first) {
            (Format::Auto, None) => Format::Plain,
            (Format::Auto, Some((_, l))) if looks_like_number(l) => Format::Plain,
            (Format::Auto, Some((_, l))) if l.starts_with(b"{") => Format::Jsonl,
            (Format::Auto, Some(_)) => Format::Csv,
            (f, _) => f,
        };
        let plain = opts.format == Format::Plain || (format == Format::Plain && first.is_some());
        if plain && opts.column.is_some() {
            return Err(BadInput(
                "--column needs an input with named columns (CSV or JSON lines)".to_owned(),
            )
            .into());
        }
        let Some((first_line, first_text)) = first else {
            return Ok(Rows {
                source,
                kind: Kind::Empty,
            });
        };
        let kind = match format {
            Format::Plain | Format::Jsonl => {
                let lines = Lines {
                    inner: lines,
                    held: first_text,
                    pending: Some(first_line),
                };
                if format == Format::Plain {
                    Kind::Plain(lines)
                } else {
                    let mut j = Jsonl::new(lines, opts.column.clone());
                    j.peek_first(&source)?;
                    Kind::Jsonl(j)
                }
            }
            Format::Csv => {
                // The csv crate would drop a BOM from its first line even
                // where that is not the start of the input.
                if first_line > 1 && lines.current().trim_ascii_start().starts_with(BOM) {
                    return Err(BadInput(format!(
                        "{source}:{first_line}: a byte-order mark (U+FEFF) is allowed only at the very start of the input"
                    ))
                    .into());
                }
                // The csv reader sees the first line again (untrimmed, BOM
                // dropped), then the rest; lines before it were blank.
                let mut head = lines.current().to_vec();
                head.push(b'\n');
                let skipped = lines.bytes().saturating_sub(head.len() as u64);
                let max = lines.max();
                let reader: Box<dyn Read> = Box::new(Cursor::new(head).chain(lines.into_inner()));
                let csv = CsvRows::new(
                    &source,
                    reader,
                    opts.column.as_deref(),
                    max,
                    (first_line - 1, skipped),
                )?;
                match csv {
                    Some(csv) => Kind::Csv(Box::new(csv)),
                    None => Kind::Empty,
                }
            }
            Format::Auto => unreachable!("auto was resolved above"),
        };
        Ok(Rows { source, kind })
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
            Kind::Plain(l) => l.inner.bytes(),
            Kind::Jsonl(j) => j.lines.inner.bytes(),
            Kind::Csv(c) => c.position(),
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

/// Non-blank lines, the first one (read to detect the layout) held back.
struct Lines {
    inner: BoundedLines<Box<dyn BufRead>>,
    held: Vec<u8>,
    pending: Option<u64>,
}

impl Lines {
    /// The next line that is not blank, trimmed, with its line number.
    fn next_nonblank(&mut self) -> Result<Option<(u64, &[u8])>, LineError> {
        if let Some(n) = self.pending.take() {
            return Ok(Some((n, &self.held)));
        }
        self.inner.next_nonblank()
    }
}

fn next_plain(lines: &mut Lines, source: &str) -> Option<Result<Point, RowError>> {
    let (line, text) = match lines.next_nonblank() {
        Ok(Some(l)) => l,
        Ok(None) => return None,
        Err(e) => return Some(Err(RowError::Fatal(line_error(source, e)))),
    };
    Some(match parse_value(text) {
        Ok(value) => Ok(Point {
            line,
            timestamp: None,
            value,
        }),
        Err(why) => Err(invalid(source, line, &why.to_string(), text)),
    })
}

/// A line that could not be read: an I/O failure (exit 1) or a line over
/// the limit (exit 2).
fn line_error(source: &str, e: LineError) -> anyhow::Error {
    match e {
        LineError::Io(e) => anyhow::Error::new(e).context(format!("cannot read {source}")),
        LineError::TooLong(t) => BadInput(format!("{source}: {t}")).into(),
    }
}

fn invalid(source: &str, line: u64, reason: &str, text: &[u8]) -> RowError {
    RowError::Invalid(InvalidRow {
        source: source.to_owned(),
        line,
        reason: reason.to_owned(),
        text: echo(text),
    })
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
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
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
            Err("in:3: \"abc\" in column \"value\" is not a number: t2,abc".to_owned())
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
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
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
