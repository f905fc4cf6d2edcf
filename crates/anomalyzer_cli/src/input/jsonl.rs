//! JSON lines: one object per line with the value under a key (`--column`,
//! default `value`, else the first row's only numeric field) and an
//! optional `timestamp`, or a bare number per line.
//!
//! Each line is parsed strictly ([`JsonLine`]): a repeated key is an error,
//! and the value is read from the digits written, so `1e-400` is refused as
//! out of range and `"1.5"` is named as a string.

use anyhow::Result;
use serde_json::value::RawValue;

use super::json_line::{kind, JsonLine};
use super::{invalid, line_error, parse_value, Lines, Point, RowError, DEFAULT_COLUMN, TIMESTAMP};
use crate::echo::echo_str;

/// JSON lines: each line an object with the value under `column` (default
/// `value`, else the object's only numeric field), or a bare number.
pub(super) struct Jsonl {
    pub(super) lines: Lines,
    column: Option<String>,
    pub(super) has_timestamp: bool,
    /// The first row, read ahead to find the columns.
    first: Option<Result<Point, RowError>>,
}

impl Jsonl {
    pub(super) fn new(lines: Lines, column: Option<String>) -> Self {
        Jsonl {
            lines,
            column,
            has_timestamp: false,
            first: None,
        }
    }

    /// Reads the first row to learn the value key and whether there are
    /// timestamps.
    pub(super) fn peek_first(&mut self, source: &str) -> Result<()> {
        let (line, text) = match self.lines.next_nonblank() {
            Ok(Some((line, text))) => (line, text.to_vec()),
            Ok(None) => return Ok(()),
            Err(e) => return Err(line_error(source, e)),
        };
        if let Some(JsonLine::Object(entries)) = std::str::from_utf8(&text)
            .ok()
            .and_then(|t| JsonLine::parse(t).ok())
        {
            self.has_timestamp = entries.iter().any(|(k, _)| k == TIMESTAMP);
            let has_default = entries.iter().any(|(k, _)| k == DEFAULT_COLUMN);
            if self.column.is_none() && !has_default {
                let numeric: Vec<&str> = entries
                    .iter()
                    .filter(|(k, v)| k != TIMESTAMP && kind(v) == "a number")
                    .map(|(k, _)| k.as_ref())
                    .collect();
                match numeric.as_slice() {
                    [only] => self.column = Some((*only).to_owned()),
                    _ => {
                        let names: Vec<&str> = entries.iter().map(|(k, _)| k.as_ref()).collect();
                        return Err(crate::exit::BadInput(format!(
                            "{source}:{line}: no field named \"{DEFAULT_COLUMN}\" and not exactly one numeric field; choose one with --column (fields: {})",
                            echo_str(&names.join(", "))
                        ))
                        .into());
                    }
                }
            }
        }
        self.first = Some(self.parse(source, line, &text));
        Ok(())
    }

    pub(super) fn next_point(&mut self, source: &str) -> Option<Result<Point, RowError>> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        let (line, text) = match self.lines.next_nonblank() {
            Ok(Some((line, text))) => (line, text.to_vec()),
            Ok(None) => return None,
            Err(e) => return Some(Err(RowError::Fatal(line_error(source, e)))),
        };
        Some(self.parse(source, line, &text))
    }

    fn parse(&self, source: &str, line: u64, text: &[u8]) -> Result<Point, RowError> {
        let key = self.column.as_deref().unwrap_or(DEFAULT_COLUMN);
        let bad = |reason: &str| invalid(source, line, reason, text);
        let utf8 = std::str::from_utf8(text).map_err(|e| bad(&format!("invalid JSON ({e})")))?;
        let parsed = JsonLine::parse(utf8).map_err(|e| bad(&format!("invalid JSON ({e})")))?;
        let (raw, timestamp) = match &parsed {
            JsonLine::Other(raw) => (*raw, None),
            JsonLine::Object(_) => {
                let raw = match parsed.get(key) {
                    Some(raw) if raw.get() != "null" => raw,
                    _ => return Err(bad(&format!("missing value for \"{}\"", echo_str(key)))),
                };
                (raw, parsed.get(TIMESTAMP).map(timestamp_text))
            }
        };
        let what = match &parsed {
            JsonLine::Object(_) => format!("\"{}\"", echo_str(key)),
            JsonLine::Other(_) => "the line".to_owned(),
        };
        let found = kind(raw);
        if found != "a number" {
            return Err(bad(&format!(
                "{what} is {found} where a number was expected"
            )));
        }
        match parse_value(raw.get().as_bytes()) {
            Ok(value) => Ok(Point {
                line,
                timestamp,
                value,
            }),
            Err(why) => Err(bad(&format!("{what} is {why}"))),
        }
    }
}

/// A timestamp as written: a string's contents, or any other value's text.
fn timestamp_text(raw: &RawValue) -> String {
    serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_owned())
}
