//! Reading one value: a decimal literal that is a finite, normal (or zero)
//! `f64`. Shared by every input format and by `stream`.
//!
//! Rust's `f64::from_str` turns `1e400` into infinity and `1e-400` into 0
//! without complaint, and `4e-320` into a subnormal that has lost most of
//! its digits. Scoring those would score a different number than the one
//! written, so a literal whose value is not representable is refused as out
//! of range: overflow to infinity, underflow of a non-zero literal to 0, or
//! to a subnormal.

use std::fmt;

/// Why a text is not a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    /// Not a number at all.
    NotANumber,
    /// `inf`, `NaN` and the like.
    NotFinite,
    /// A finite literal too large for an `f64`.
    Overflow,
    /// A non-zero literal too small for a normal `f64`.
    Underflow,
    /// A byte-order mark inside the input (allowed only at its very start).
    ByteOrderMark,
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumberError::NotANumber => "not a number",
            NumberError::NotFinite => "not a finite number",
            NumberError::Overflow => "out of range (too large for a 64-bit float)",
            NumberError::Underflow => {
                "out of range (non-zero but too small for a normal 64-bit float)"
            }
            NumberError::ByteOrderMark => {
                "contains a byte-order mark (U+FEFF), which is allowed only at the very start of the input"
            }
        })
    }
}

/// Parses `text` (surrounding ASCII whitespace ignored) as a value.
pub fn parse_value(text: &[u8]) -> Result<f64, NumberError> {
    let text = text.trim_ascii();
    let Ok(s) = std::str::from_utf8(text) else {
        return Err(NumberError::NotANumber);
    };
    let Ok(v) = s.parse::<f64>() else {
        return Err(if s.contains('\u{feff}') {
            NumberError::ByteOrderMark
        } else {
            NumberError::NotANumber
        });
    };
    if v.is_nan() || (v.is_infinite() && !has_digit(s)) {
        return Err(NumberError::NotFinite);
    }
    if v.is_infinite() {
        return Err(NumberError::Overflow);
    }
    if (v == 0.0 && mantissa_is_nonzero(s)) || v.is_subnormal() {
        return Err(NumberError::Underflow);
    }
    Ok(v)
}

/// True when `text` parses as a number of any kind (for format detection
/// and header checks: `1e-400` and `inf` look like numbers too).
pub fn looks_like_number(text: &[u8]) -> bool {
    !matches!(
        parse_value(text),
        Err(NumberError::NotANumber | NumberError::ByteOrderMark)
    )
}

fn has_digit(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit())
}

/// True when a digit before the exponent is not 0 (`0.0e5` is zero, `1e-400`
/// is not).
fn mantissa_is_nonzero(s: &str) -> bool {
    s.bytes()
        .take_while(|&b| b != b'e' && b != b'E')
        .any(|b| (b'1'..=b'9').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_refusals() {
        let ok: &[(&str, f64)] = &[
            ("1", 1.0),
            (" -2.5 ", -2.5),
            ("1e3", 1000.0),
            ("0", 0.0),
            ("-0.0", -0.0),
            ("0e-999", 0.0),
            ("0.000e400", 0.0),
            ("2.2250738585072014e-308", f64::MIN_POSITIVE),
            ("1.7976931348623157e308", f64::MAX),
        ];
        for &(text, want) in ok {
            assert_eq!(parse_value(text.as_bytes()), Ok(want), "{text}");
        }
        let bad: &[(&str, NumberError)] = &[
            ("abc", NumberError::NotANumber),
            ("", NumberError::NotANumber),
            ("1,5", NumberError::NotANumber),
            ("inf", NumberError::NotFinite),
            ("-infinity", NumberError::NotFinite),
            ("NaN", NumberError::NotFinite),
            ("1e400", NumberError::Overflow),
            ("-2e308", NumberError::Overflow),
            ("1e-400", NumberError::Underflow),
            ("-1e-400", NumberError::Underflow),
            ("4e-320", NumberError::Underflow),
            ("0.00001e-310", NumberError::Underflow),
            ("\u{feff}1", NumberError::ByteOrderMark),
        ];
        for &(text, want) in bad {
            assert_eq!(parse_value(text.as_bytes()), Err(want), "{text}");
        }
        assert_eq!(parse_value(b"\xff1"), Err(NumberError::NotANumber));
    }

    #[test]
    fn out_of_range_literals_still_look_like_numbers() {
        for text in ["1e-400", "1e400", "inf", "3"] {
            assert!(looks_like_number(text.as_bytes()), "{text}");
        }
        for text in ["value", "\u{feff}1", "1 2"] {
            assert!(!looks_like_number(text.as_bytes()), "{text}");
        }
    }
}
