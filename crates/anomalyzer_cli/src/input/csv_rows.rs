//! CSV with a header row: the value column by name (`--column`, default
//! `value`, else the only numeric column of the first row), the
//! `timestamp` column carried verbatim. Rows are read as bytes and only the
//! needed fields are decoded.
//!
//! Bounded: the csv crate grows a record until it ends, so its input goes
//! through [`Limited`], which stops a physical line or a record (quoted
//! fields may span lines) longer than `--max-line-bytes` before the csv
//! reader sees the excess. A row, header included, may have at most
//! [`MAX_FIELDS`] fields. A header that names a column twice is refused.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Read};
use std::rc::Rc;

use anyhow::Result;

use super::bounded_lines::LineTooLong;
use super::{invalid, looks_like_number, parse_value, Point, RowError, DEFAULT_COLUMN, TIMESTAMP};
use crate::echo::{echo, echo_str};
use crate::exit::BadInput;

/// The most fields a CSV row may have.
pub const MAX_FIELDS: usize = 1024;

/// CSV with a header row.
pub(super) struct CsvRows {
    reader: csv::Reader<Limited>,
    /// Where the current record starts, in bytes (shared with [`Limited`]).
    record_start: Rc<Cell<u64>>,
    /// The line where the current record starts (blank lines before it
    /// included), for a record over the limit.
    record_line: u64,
    /// Lines and bytes before the header (blank lines the caller skipped).
    offset: (u64, u64),
    max: usize,
    headers: usize,
    value: usize,
    column: String,
    pub(super) timestamp: Option<usize>,
    record: csv::ByteRecord,
    /// The first record, read ahead to find the only numeric column.
    first: Option<csv::ByteRecord>,
}

impl CsvRows {
    /// `None` for an input without even a header row. `offset` is the lines
    /// and bytes that came before `reader`'s first byte.
    pub(super) fn new(
        source: &str,
        reader: Box<dyn Read>,
        column: Option<&str>,
        max: usize,
        offset: (u64, u64),
    ) -> Result<Option<Self>> {
        let record_start = Rc::new(Cell::new(0));
        let limited = Limited {
            inner: reader,
            handed_out: 0,
            since_newline: 0,
            newlines: 0,
            record_start: Rc::clone(&record_start),
            max: max as u64,
        };
        let reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true) // we report wrong field counts ourselves, with the row
            .trim(csv::Trim::All)
            .from_reader(limited);
        let mut rows = CsvRows {
            reader,
            record_start,
            record_line: 1,
            offset,
            max,
            headers: 0,
            value: 0,
            column: String::new(),
            timestamp: None,
            record: csv::ByteRecord::new(),
            first: None,
        };
        let header_line = offset.0 + 1;
        let headers: Vec<String> = match rows.reader.byte_headers() {
            Ok(h) => h
                .iter()
                .map(|h| String::from_utf8_lossy(h).into_owned())
                .collect(),
            Err(e) => return Err(rows.csv_error(source, e)),
        };
        if headers.is_empty() {
            return Ok(None);
        }
        if headers.len() > MAX_FIELDS {
            return Err(too_many_fields(source, header_line, headers.len()));
        }
        // A number where a column name should be is data without a header:
        // taking it as names would silently lose the first row.
        if let Some(h) = headers.iter().find(|h| looks_like_number(h.as_bytes())) {
            return Err(BadInput(format!(
                "{source}:{header_line}: \"{}\" is a number, not a column name: CSV input needs a header row (e.g. timestamp,value); for one number per line use --format plain",
                echo_str(h)
            ))
            .into());
        }
        if let Some(h) = headers.iter().find(|h| h.contains('\u{feff}')) {
            return Err(BadInput(format!(
                "{source}:{header_line}: column name \"{}\" contains a byte-order mark (U+FEFF), which is allowed only at the very start of the input",
                echo_str(h)
            ))
            .into());
        }
        for (j, h) in headers.iter().enumerate() {
            if let Some(i) = headers[..j].iter().position(|g| g == h) {
                return Err(BadInput(format!(
                    "{source}:{header_line}: column name \"{}\" appears twice (columns {} and {}); names must be unique",
                    echo_str(h),
                    i + 1,
                    j + 1
                ))
                .into());
            }
        }
        let columns = || echo_str(&headers.join(", "));
        let find = |name: &str| headers.iter().position(|h| h == name);
        let timestamp = find(TIMESTAMP);
        let value = match column {
            Some(name) => find(name).ok_or_else(|| {
                BadInput(format!(
                    "{source}:{header_line}: no column named \"{}\" (columns: {})",
                    echo_str(name),
                    columns()
                ))
            })?,
            None => match find(DEFAULT_COLUMN) {
                Some(i) => i,
                None => {
                    let mut record = csv::ByteRecord::new();
                    let got = rows.read(source, &mut record)?;
                    let numeric: Vec<usize> = if got {
                        (0..headers.len())
                            .filter(|&i| Some(i) != timestamp)
                            .filter(|&i| record.get(i).is_some_and(|f| parse_value(f).is_ok()))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    if got {
                        rows.first = Some(record);
                    }
                    match numeric.as_slice() {
                        [only] => *only,
                        _ => {
                            return Err(BadInput(format!(
                                "{source}:{header_line}: no column named \"{DEFAULT_COLUMN}\" and not exactly one numeric column; choose one with --column (columns: {})",
                                columns()
                            ))
                            .into())
                        }
                    }
                }
            },
        };
        rows.headers = headers.len();
        rows.column = headers[value].clone();
        rows.value = value;
        rows.timestamp = timestamp;
        Ok(Some(rows))
    }

    /// Bytes consumed so far.
    pub(super) fn position(&self) -> u64 {
        self.offset.1 + self.reader.position().byte()
    }

    /// Reads the next record into `record`; a limit exceeded is fatal.
    fn read(&mut self, source: &str, record: &mut csv::ByteRecord) -> Result<bool> {
        let at = self.reader.position();
        self.record_start.set(at.byte());
        self.record_line = at.line();
        let got = match self.reader.read_byte_record(record) {
            Ok(got) => got,
            Err(e) => return Err(self.csv_error(source, e)),
        };
        if got && record.len() > MAX_FIELDS {
            return Err(too_many_fields(source, self.line_of(record), record.len()));
        }
        Ok(got)
    }

    fn line_of(&self, r: &csv::ByteRecord) -> u64 {
        self.offset.0 + r.position().map_or(0, csv::Position::line)
    }

    pub(super) fn next_point(&mut self, source: &str) -> Option<Result<Point, RowError>> {
        if let Some(first) = self.first.take() {
            self.record = first;
        } else {
            let mut record = std::mem::take(&mut self.record);
            let got = self.read(source, &mut record);
            self.record = record;
            match got {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(RowError::Fatal(e))),
            }
        }
        let r = &self.record;
        let line = self.line_of(r);
        let row = || join_record(r);
        if r.len() != self.headers {
            return Some(Err(invalid(
                source,
                line,
                &format!("expected {} fields, found {}", self.headers, r.len()),
                &row(),
            )));
        }
        let field = r.get(self.value).unwrap_or_default();
        let value = match parse_value(field) {
            Ok(v) => v,
            Err(why) => {
                let column = echo_str(&self.column);
                let reason = if field.is_empty() {
                    format!("missing value in column \"{column}\"")
                } else {
                    format!("\"{}\" in column \"{column}\" is {why}", echo(field))
                };
                return Some(Err(invalid(source, line, &reason, &row())));
            }
        };
        let timestamp = self
            .timestamp
            .and_then(|i| r.get(i))
            .map(|t| String::from_utf8_lossy(t).into_owned());
        Some(Ok(Point {
            line,
            timestamp,
            value,
        }))
    }

    fn csv_error(&self, source: &str, e: csv::Error) -> anyhow::Error {
        if let csv::ErrorKind::Io(io) = e.kind() {
            if let Some(over) = io.get_ref().and_then(|i| i.downcast_ref::<OverLimit>()) {
                let line = match *over {
                    OverLimit::Line(n) => n,
                    OverLimit::Record => self.record_line,
                };
                let t = LineTooLong {
                    line: self.offset.0 + line,
                    max: self.max,
                };
                let what = match over {
                    OverLimit::Line(_) => t.to_string(),
                    OverLimit::Record => format!("{t} (a row whose quoted fields span lines)"),
                };
                return BadInput(format!("{source}: {what}")).into();
            }
        }
        let line = e.position().map(|p| self.offset.0 + p.line());
        let bad = matches!(e.kind(), csv::ErrorKind::Utf8 { .. });
        let msg = match line {
            Some(line) => format!("{source}:{line}: cannot read CSV"),
            None => format!("cannot read {source}"),
        };
        if bad {
            anyhow::Error::new(BadInput(format!("{msg}: {e}")))
        } else {
            anyhow::Error::new(e).context(msg)
        }
    }
}

fn too_many_fields(source: &str, line: u64, n: usize) -> anyhow::Error {
    BadInput(format!(
        "{source}:{line}: {n} fields, more than the limit of {MAX_FIELDS} per row"
    ))
    .into()
}

/// The record's fields joined by commas, for messages.
fn join_record(r: &csv::ByteRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(r.as_slice().len() + r.len());
    for (i, f) in r.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(f);
    }
    out
}

/// Why [`Limited`] stopped.
#[derive(Debug, Clone, Copy)]
enum OverLimit {
    /// A physical line (1-based, counted from the reader's start) too long.
    Line(u64),
    /// A record too long, though its lines are not.
    Record,
}

impl fmt::Display for OverLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("input over --max-line-bytes")
    }
}

impl std::error::Error for OverLimit {}

/// The csv reader's input: refuses to hand out the byte that would make a
/// physical line, or the record being read, longer than `max`.
struct Limited {
    inner: Box<dyn Read>,
    handed_out: u64,
    since_newline: u64,
    newlines: u64,
    record_start: Rc<Cell<u64>>,
    max: u64,
}

impl Read for Limited {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // The csv reader asks for more only when the record it is reading
        // has used up everything handed out so far.
        if self.handed_out - self.record_start.get() > self.max + 2 {
            return Err(io::Error::other(OverLimit::Record));
        }
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if b == b'\n' {
                self.newlines += 1;
                self.since_newline = 0;
            } else {
                self.since_newline += 1;
                if self.since_newline > self.max {
                    return Err(io::Error::other(OverLimit::Line(self.newlines + 1)));
                }
            }
        }
        self.handed_out += n as u64;
        Ok(n)
    }
}
