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

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
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
    /// Where lines start (shared with [`Limited`]): the csv crate's own line
    /// numbers count a `\r\n` twice and put a record after blank lines on
    /// the first blank one, so lines are found here from its byte positions.
    lines: Rc<RefCell<LineStarts>>,
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
        let lines = Rc::new(RefCell::new(LineStarts::default()));
        let limited = Limited {
            inner: reader,
            handed_out: 0,
            since_newline: 0,
            at_line_start: true,
            lines: Rc::clone(&lines),
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
            lines,
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
                            .filter(|&i| record.get(i).is_some_and(looks_like_number))
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
        self.record_start.set(self.reader.position().byte());
        let got = match self.reader.read_byte_record(record) {
            Ok(got) => got,
            Err(e) => return Err(self.csv_error(source, e)),
        };
        if got && record.len() > MAX_FIELDS {
            let line = self.line_of(record);
            return Err(too_many_fields(source, line, record.len()));
        }
        Ok(got)
    }

    fn line_of(&mut self, r: &csv::ByteRecord) -> u64 {
        let byte = r.position().map_or(0, csv::Position::byte);
        self.line_at(byte)
    }

    /// The line of the first text at or after byte `byte` of the csv
    /// reader's input (a record's start, blank lines skipped); `byte` never
    /// decreases from one call to the next.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut lines = self.lines.borrow_mut();
        while lines.starts.front().is_some_and(|&(at, _)| at < byte) {
            lines.starts.pop_front();
        }
        let line = match lines.starts.front() {
            Some(&(_, line)) => line,
            None => lines.newlines + 1,
        };
        self.offset.0 + line
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
        let record = std::mem::take(&mut self.record);
        let line = self.line_of(&record);
        self.record = record;
        let r = &self.record;
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

    fn csv_error(&mut self, source: &str, e: csv::Error) -> anyhow::Error {
        if let csv::ErrorKind::Io(io) = e.kind() {
            if let Some(over) = io.get_ref().and_then(|i| i.downcast_ref::<OverLimit>()) {
                let line = match *over {
                    OverLimit::Line(n) => n,
                    OverLimit::Record => self.line_at(self.record_start.get()) - self.offset.0,
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
        let line = e.position().map(|p| self.line_at(p.byte()));
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

/// The lines that have text, as (byte offset of their first byte that is
/// not `\r`, line number), from the csv reader's input not yet behind the
/// record being read (so at most a buffer and a record long).
#[derive(Debug, Default)]
struct LineStarts {
    starts: VecDeque<(u64, u64)>,
    /// Newlines handed out so far.
    newlines: u64,
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
    at_line_start: bool,
    lines: Rc<RefCell<LineStarts>>,
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
        let base = self.handed_out;
        let mut lines = self.lines.borrow_mut();
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' {
                lines.newlines += 1;
                self.at_line_start = true;
                self.since_newline = 0;
                continue;
            }
            if b != b'\r' && self.at_line_start {
                let line = lines.newlines + 1;
                lines.starts.push_back((base + i as u64, line));
                self.at_line_start = false;
            }
            self.since_newline += 1;
            if self.since_newline > self.max {
                return Err(io::Error::other(OverLimit::Line(lines.newlines + 1)));
            }
        }
        self.handed_out += n as u64;
        Ok(n)
    }
}
