//! JSON lines: one object per line with the value under a key (`--column`,
//! default `value`, else the first row's only numeric field) and an
//! optional `timestamp`, or a bare number per line.

use std::io::BufRead;

use anyhow::Result;

use super::{invalid, read_error, Lines, Point, RowError, DEFAULT_COLUMN, TIMESTAMP};

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
    pub(super) fn new(reader: Box<dyn BufRead>, column: Option<String>) -> Self {
        Jsonl {
            lines: Lines::new(reader),
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
            Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot read {source}"))),
        };
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(&text) {
            self.has_timestamp = map.contains_key(TIMESTAMP);
            if self.column.is_none() && !map.contains_key(DEFAULT_COLUMN) {
                let numeric: Vec<&String> = map
                    .iter()
                    .filter(|(k, v)| k.as_str() != TIMESTAMP && v.is_number())
                    .map(|(k, _)| k)
                    .collect();
                match numeric.as_slice() {
                    [only] => self.column = Some((*only).clone()),
                    _ => {
                        return Err(crate::exit::BadInput(format!(
                            "{source}:{line}: no field named \"{DEFAULT_COLUMN}\" and not exactly one numeric field; choose one with --column (fields: {})",
                            map.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
                        ))
                        .into())
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
            Err(e) => return Some(Err(read_error(source, e))),
        };
        Some(self.parse(source, line, &text))
    }

    fn parse(&self, source: &str, line: u64, text: &[u8]) -> Result<Point, RowError> {
        let key = self.column.as_deref().unwrap_or(DEFAULT_COLUMN);
        let value: serde_json::Value = serde_json::from_slice(text)
            .map_err(|e| invalid(source, line, &format!("invalid JSON ({e})"), text))?;
        let (number, timestamp) = match &value {
            serde_json::Value::Number(n) => (Some(n), None),
            serde_json::Value::Object(map) => {
                let number = match map.get(key) {
                    Some(serde_json::Value::Number(n)) => Some(n),
                    Some(serde_json::Value::Null) | None => {
                        return Err(invalid(
                            source,
                            line,
                            &format!("missing value for \"{key}\""),
                            text,
                        ))
                    }
                    Some(_) => None,
                };
                let timestamp = map.get(TIMESTAMP).map(|t| match t {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                (number, timestamp)
            }
            _ => (None, None),
        };
        match number.and_then(serde_json::Number::as_f64) {
            Some(v) if v.is_finite() => Ok(Point {
                line,
                timestamp,
                value: v,
            }),
            _ => Err(invalid(
                source,
                line,
                &format!("\"{key}\" is not a finite number"),
                text,
            )),
        }
    }
}
