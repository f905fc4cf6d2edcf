//! CSV with a header row: the value column by name (`--column`, default
//! `value`, else the only numeric column of the first row), the
//! `timestamp` column carried verbatim. Rows are read as bytes and only the
//! needed fields are decoded.

use std::io::BufRead;

use anyhow::Result;

use super::{invalid, parse_number, Point, RowError, DEFAULT_COLUMN, TIMESTAMP};

/// CSV with a header row.
pub(super) struct CsvRows {
    pub(super) reader: csv::Reader<Box<dyn BufRead>>,
    headers: usize,
    value: usize,
    column: String,
    pub(super) timestamp: Option<usize>,
    record: csv::ByteRecord,
    /// The first record, read ahead to find the only numeric column.
    first: Option<csv::ByteRecord>,
}

impl CsvRows {
    /// `None` for an input without even a header row.
    pub(super) fn new(
        source: &str,
        reader: Box<dyn BufRead>,
        column: Option<&str>,
    ) -> Result<Option<Self>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true) // we report wrong field counts ourselves, with the row
            .trim(csv::Trim::All)
            .from_reader(reader);
        let headers: Vec<String> = reader
            .byte_headers()
            .map_err(|e| csv_error(source, e))?
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect();
        if headers.is_empty() {
            return Ok(None);
        }
        // A number where a column name should be is data without a header:
        // taking it as names would silently lose the first row.
        if let Some(h) = headers
            .iter()
            .find(|h| parse_number(h.as_bytes()).is_some())
        {
            return Err(crate::exit::BadInput(format!(
                "{source}:1: \"{h}\" is a number, not a column name: CSV input needs a header row (e.g. timestamp,value); for one number per line use --format plain"
            ))
            .into());
        }
        let find = |name: &str| headers.iter().position(|h| h == name);
        let timestamp = find(TIMESTAMP);
        let mut first = None;
        let value = match column {
            Some(name) => find(name).ok_or_else(|| {
                crate::exit::BadInput(format!(
                    "{source}:1: no column named \"{name}\" (columns: {})",
                    headers.join(", ")
                ))
            })?,
            None => match find(DEFAULT_COLUMN) {
                Some(i) => i,
                None => {
                    let mut record = csv::ByteRecord::new();
                    let got = reader
                        .read_byte_record(&mut record)
                        .map_err(|e| csv_error(source, e))?;
                    let numeric: Vec<usize> = if got {
                        (0..headers.len())
                            .filter(|&i| Some(i) != timestamp)
                            .filter(|&i| record.get(i).and_then(parse_number).is_some())
                            .collect()
                    } else {
                        Vec::new()
                    };
                    if got {
                        first = Some(record);
                    }
                    match numeric.as_slice() {
                        [only] => *only,
                        _ => {
                            return Err(crate::exit::BadInput(format!(
                                "{source}:1: no column named \"{DEFAULT_COLUMN}\" and not exactly one numeric column; choose one with --column (columns: {})",
                                headers.join(", ")
                            ))
                            .into())
                        }
                    }
                }
            },
        };
        Ok(Some(CsvRows {
            reader,
            headers: headers.len(),
            column: headers[value].clone(),
            value,
            timestamp,
            record: csv::ByteRecord::new(),
            first,
        }))
    }

    pub(super) fn next_point(&mut self, source: &str) -> Option<Result<Point, RowError>> {
        if let Some(first) = self.first.take() {
            self.record = first;
        } else {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(RowError::Fatal(csv_error(source, e)))),
            }
        }
        let r = &self.record;
        let line = r.position().map_or(0, csv::Position::line);
        let row = || join_record(r);
        if r.len() != self.headers {
            return Some(Err(invalid(
                source,
                line,
                &format!("expected {} fields, found {}", self.headers, r.len()),
                row().as_bytes(),
            )));
        }
        let field = r.get(self.value).unwrap_or_default();
        let value = match parse_number(field) {
            Some(v) if v.is_finite() => v,
            _ => {
                let reason = if field.is_empty() {
                    format!("missing value in column \"{}\"", self.column)
                } else {
                    format!(
                        "\"{}\" in column \"{}\" is not a finite number",
                        String::from_utf8_lossy(field),
                        self.column
                    )
                };
                return Some(Err(invalid(source, line, &reason, row().as_bytes())));
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
}

/// The record's fields joined by commas, for messages.
fn join_record(r: &csv::ByteRecord) -> String {
    r.iter()
        .map(|f| String::from_utf8_lossy(f))
        .collect::<Vec<_>>()
        .join(",")
}

fn csv_error(source: &str, e: csv::Error) -> anyhow::Error {
    let line = e.position().map(csv::Position::line);
    let bad = matches!(e.kind(), csv::ErrorKind::Utf8 { .. });
    let msg = match line {
        Some(line) => format!("{source}:{line}: cannot read CSV"),
        None => format!("cannot read {source}"),
    };
    if bad {
        anyhow::Error::new(crate::exit::BadInput(format!("{msg}: {e}")))
    } else {
        anyhow::Error::new(e).context(msg)
    }
}
