//! Point timestamps: nanoseconds since the Unix epoch, read from RFC 3339
//! text, Unix seconds, or remote_write milliseconds.

use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::series_key::quote;

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_MILLI: i64 = 1_000_000;

/// A point in time, in nanoseconds since 1970-01-01T00:00:00Z. Nanoseconds
/// keep RFC 3339 fractions exact; the range is the years 1678 to 2262.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From nanoseconds since the epoch.
    #[must_use]
    pub fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    /// Nanoseconds since the epoch.
    #[must_use]
    pub fn as_nanos(self) -> i64 {
        self.0
    }

    /// From remote_write's milliseconds since the epoch; an error outside
    /// the representable range.
    pub fn from_millis(millis: i64) -> Result<Self> {
        millis
            .checked_mul(NANOS_PER_MILLI)
            .map(Timestamp)
            .ok_or_else(|| {
                Error::InvalidTimestamp(format!(
                    "timestamp {millis} ms is outside the years 1678 to 2262"
                ))
            })
    }

    /// Milliseconds since the epoch, rounded down (remote_write's unit).
    #[must_use]
    pub fn as_millis(self) -> i64 {
        self.0.div_euclid(NANOS_PER_MILLI)
    }

    /// Parses RFC 3339 text such as `2024-03-04T04:10:00Z` or
    /// `2024-03-04T05:10:00.5+01:00`.
    pub fn parse_rfc3339(text: &str) -> Result<Self> {
        let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
            Error::InvalidTimestamp(format!(
                "timestamp {} is not RFC 3339 (like 2024-03-04T04:10:00Z): {e}",
                quote(text)
            ))
        })?;
        i64::try_from(at.unix_timestamp_nanos())
            .map(Timestamp)
            .map_err(|_| {
                Error::InvalidTimestamp(format!(
                    "timestamp {} is outside the years 1678 to 2262",
                    quote(text)
                ))
            })
    }

    /// From whole Unix seconds.
    pub fn from_unix_seconds(seconds: i64) -> Result<Self> {
        seconds
            .checked_mul(NANOS_PER_SECOND)
            .map(Timestamp)
            .ok_or_else(|| {
                Error::InvalidTimestamp(format!(
                    "timestamp {seconds} s is outside the years 1678 to 2262"
                ))
            })
    }

    /// From fractional Unix seconds, rounded to the nearest nanosecond that
    /// the `f64` can tell apart.
    pub fn from_unix_seconds_f64(seconds: f64) -> Result<Self> {
        let nanos = (seconds * 1e9).round();
        // i64::MAX as f64 rounds up to 2^63, so the upper bound is exclusive.
        if !nanos.is_finite() || nanos < i64::MIN as f64 || nanos >= i64::MAX as f64 {
            return Err(Error::InvalidTimestamp(format!(
                "timestamp {seconds} s is outside the years 1678 to 2262"
            )));
        }
        // In range, checked just above.
        Ok(Timestamp(nanos as i64))
    }

    /// Reads a JSON timestamp: a string is RFC 3339, a number Unix seconds.
    pub fn from_json(value: &serde_json::Value) -> Result<Self> {
        match value {
            serde_json::Value::String(s) => Self::parse_rfc3339(s),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Self::from_unix_seconds(i),
                None => match n.as_f64() {
                    Some(f) => Self::from_unix_seconds_f64(f),
                    None => Err(Error::InvalidTimestamp(format!(
                        "timestamp {n} is outside the years 1678 to 2262"
                    ))),
                },
            },
            other => Err(Error::InvalidTimestamp(format!(
                "timestamp must be RFC 3339 text or Unix seconds, not {}",
                json_kind(other)
            ))),
        }
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, with as many fraction digits as needed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0))
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
        {
            Some(text) => f.write_str(&text),
            // Every i64 nanosecond count is a valid date; kept total anyway.
            None => write!(f, "{}ns", self.0),
        }
    }
}

/// "a string", "an array", ... for error messages about JSON values.
pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc3339_and_unix_seconds_agree() {
        let a = Timestamp::parse_rfc3339("2024-03-04T04:10:00Z").unwrap();
        let b = Timestamp::from_json(&json!(1_709_525_400)).unwrap();
        let c = Timestamp::parse_rfc3339("2024-03-04T05:10:00+01:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.to_string(), "2024-03-04T04:10:00Z");
    }

    #[test]
    fn fractions_are_kept() {
        let a = Timestamp::parse_rfc3339("2024-03-04T04:10:00.000000001Z").unwrap();
        let b = Timestamp::parse_rfc3339("2024-03-04T04:10:00Z").unwrap();
        assert_eq!(a.as_nanos() - b.as_nanos(), 1);
        let f = Timestamp::from_json(&json!(1.5)).unwrap();
        assert_eq!(f.as_nanos(), 1_500_000_000);
        assert_eq!(f.as_millis(), 1500);
        assert_eq!(Timestamp::from_millis(-1).unwrap().as_millis(), -1);
    }

    #[test]
    fn bad_timestamps_say_why() {
        let cases = [
            (json!("yesterday"), "not RFC 3339"),
            (json!("2024-03-04 04:10:00"), "not RFC 3339"),
            (json!(true), "not a boolean"),
            (json!(null), "not null"),
            (json!(1e300), "outside the years"),
            (json!(i64::MAX), "outside the years"),
            (json!(u64::MAX), "outside the years"),
        ];
        for (value, expected) in cases {
            let err = Timestamp::from_json(&value).unwrap_err().to_string();
            assert!(err.contains(expected), "{value}: {err}");
        }
        assert!(Timestamp::from_millis(i64::MAX).is_err());
    }
}
