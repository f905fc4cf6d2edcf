//! Civil timestamps as NAB's files and labels write them
//! (`YYYY-MM-DD HH:MM:SS`, optionally with fractional seconds, a `T`
//! separator or a trailing `Z`), parsed just far enough to compare them:
//! a label's `2014-02-19 10:50:00.000000` must equal a row's
//! `2014-02-19 10:50:00`, and rows must be checked for order.

use std::fmt;

/// A parsed timestamp, ordered as time is. No calendar arithmetic is
/// needed: fields compare in order from the year down to the nanosecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    fields: [u32; 7],
}

/// Why a text is not a timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadStamp(pub &'static str);

impl fmt::Display for BadStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Stamp {
    /// Parses `YYYY-MM-DD[ T]HH:MM[:SS[.fraction]][Z]`.
    pub fn parse(text: &str) -> Result<Stamp, BadStamp> {
        let text = text.trim();
        let text = text.strip_suffix('Z').unwrap_or(text);
        let b = text.as_bytes();
        const SHAPE: BadStamp = BadStamp("expected a timestamp like 2014-02-19 10:50:00");
        if b.len() < 16
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b' ' | b'T')
            || b[13] != b':'
        {
            return Err(SHAPE);
        }
        let num = |range: std::ops::Range<usize>| -> Result<u32, BadStamp> {
            let s = &text[range];
            if s.bytes().all(|c| c.is_ascii_digit()) {
                s.parse().map_err(|_| SHAPE)
            } else {
                Err(SHAPE)
            }
        };
        let (year, month, day, hour, minute) = (
            num(0..4)?,
            num(5..7)?,
            num(8..10)?,
            num(11..13)?,
            num(14..16)?,
        );
        let (mut second, mut nanos) = (0, 0);
        let rest = &text[16..];
        if !rest.is_empty() {
            let rest = rest.strip_prefix(':').ok_or(SHAPE)?;
            if rest.len() < 2 {
                return Err(SHAPE);
            }
            second = num(17..19)?;
            let frac = &rest[2..];
            if !frac.is_empty() {
                let digits = frac.strip_prefix('.').ok_or(SHAPE)?;
                if digits.is_empty()
                    || digits.len() > 9
                    || !digits.bytes().all(|c| c.is_ascii_digit())
                {
                    return Err(SHAPE);
                }
                // Scale to nanoseconds: "5" is 500 000 000 ns.
                nanos =
                    digits.parse::<u32>().map_err(|_| SHAPE)? * 10u32.pow(9 - digits.len() as u32);
            }
        }
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(BadStamp("timestamp field out of range"));
        }
        Ok(Stamp {
            fields: [year, month, day, hour, minute, second, nanos],
        })
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [y, mo, d, h, mi, s, ns] = self.fields;
        write!(f, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")?;
        if ns > 0 {
            write!(f, ".{ns:09}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_and_row_spellings_are_equal() {
        let row = Stamp::parse("2014-02-19 10:50:00").unwrap();
        assert_eq!(Stamp::parse("2014-02-19 10:50:00.000000").unwrap(), row);
        assert_eq!(Stamp::parse("2014-02-19T10:50:00Z").unwrap(), row);
        assert_eq!(Stamp::parse("2014-02-19 10:50").unwrap(), row);
        assert_eq!(row.to_string(), "2014-02-19 10:50:00");
    }

    #[test]
    fn order_is_time_order() {
        let a = Stamp::parse("2013-12-31 23:59:59.5").unwrap();
        let b = Stamp::parse("2014-01-01 00:00:00").unwrap();
        assert!(a < b);
        assert!(Stamp::parse("2014-01-01 00:00:00.1").unwrap() > b);
    }

    #[test]
    fn malformed_stamps_are_refused() {
        for bad in [
            "",
            "2014-02-19",
            "yesterday",
            "2014-13-01 00:00:00",
            "2014-02-19 10:50:0",
            "2014-02-19 10:50:00.",
            "2014/02/19 10:50:00",
            "2014-02-19 25:00:00",
        ] {
            assert!(Stamp::parse(bad).is_err(), "{bad:?}");
        }
    }
}
