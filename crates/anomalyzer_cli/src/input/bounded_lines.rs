//! Reading lines with a bound on their length, in bounded chunks.
//!
//! `BufRead::read_until` keeps reading until it finds a newline, so one line
//! without a newline (a binary file, `/dev/zero`) would fill memory. This
//! reader copies at most `max` bytes of a line and stops with
//! [`LineTooLong`] as soon as a line turns out longer, without reading the
//! rest of it. A UTF-8 byte-order mark at the very start of the input is
//! dropped; anywhere else it is part of the text (and so an error where a
//! number is expected).

use std::fmt;
use std::io::{self, BufRead};

/// The default of `--max-line-bytes`: 1 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// Parses `--max-line-bytes`: a whole number of bytes, at least 1.
pub fn parse_max_line_bytes(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a whole number of bytes ({e})")),
    }
}

/// The UTF-8 encoding of U+FEFF.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A line longer than the limit (the line ending not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong {
    /// 1-based line number.
    pub line: u64,
    /// The limit it exceeds.
    pub max: usize,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} is longer than {} bytes (raise the limit with --max-line-bytes)",
            self.line, self.max
        )
    }
}

/// What reading a line can fail with.
#[derive(Debug)]
pub enum LineError {
    /// The input failed.
    Io(io::Error),
    /// The line is over the limit; reading stops there.
    TooLong(LineTooLong),
}

/// Lines of a byte stream, each at most `max` bytes, with line numbers.
pub struct BoundedLines<R> {
    reader: R,
    buf: Vec<u8>,
    max: usize,
    /// Lines read so far (the number of the last one).
    line: u64,
    /// Bytes consumed so far, line endings included.
    bytes: u64,
}

impl<R: BufRead> BoundedLines<R> {
    /// Lines of `reader`, each at most `max` bytes long.
    pub fn new(reader: R, max: usize) -> Self {
        BoundedLines {
            reader,
            buf: Vec::new(),
            max,
            line: 0,
            bytes: 0,
        }
    }

    /// Bytes consumed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }

    /// The next line, without its `\n`, or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<(u64, &[u8])>, LineError> {
        self.buf.clear();
        let mut got_any = false;
        let limit = self.max + self.bom_allowance();
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LineError::Io(e)),
            };
            if chunk.is_empty() {
                if !got_any {
                    return Ok(None);
                }
                break;
            }
            got_any = true;
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            if self.buf.len() + take > limit {
                return Err(LineError::TooLong(LineTooLong {
                    line: self.line + 1,
                    max: self.max,
                }));
            }
            self.buf.extend_from_slice(&chunk[..take]);
            let used = take + usize::from(done);
            self.reader.consume(used);
            self.bytes += used as u64;
            if done {
                break;
            }
        }
        self.line += 1;
        let text = if self.line == 1 && self.buf.starts_with(BOM) {
            &self.buf[BOM.len()..]
        } else {
            &self.buf[..]
        };
        if text.len() > self.max {
            return Err(LineError::TooLong(LineTooLong {
                line: self.line,
                max: self.max,
            }));
        }
        Ok(Some((self.line, text)))
    }

    /// The next line that is not blank, trimmed of ASCII whitespace.
    pub fn next_nonblank(&mut self) -> Result<Option<(u64, &[u8])>, LineError> {
        loop {
            match self.next_line()? {
                None => return Ok(None),
                Some((_, text)) if text.trim_ascii().is_empty() => {}
                Some(_) => break,
            }
        }
        // Borrow again: the loop's borrow ends at each iteration.
        let text = self.current();
        Ok(Some((self.line, text.trim_ascii())))
    }

    /// The last line read, BOM removed, untrimmed.
    pub fn current(&self) -> &[u8] {
        if self.line == 1 && self.buf.starts_with(BOM) {
            &self.buf[BOM.len()..]
        } else {
            &self.buf
        }
    }

    /// The underlying reader, positioned after the last line read.
    pub fn into_inner(self) -> R {
        self.reader
    }

    /// The first line may carry a BOM on top of `max` bytes of text.
    fn bom_allowance(&self) -> usize {
        if self.line == 0 {
            BOM.len()
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor, Read};

    fn all(text: &[u8], max: usize) -> Vec<Result<(u64, String), String>> {
        // A tiny buffer, so lines span many chunks.
        let mut lines =
            BoundedLines::new(BufReader::with_capacity(3, Cursor::new(text.to_vec())), max);
        let mut out = Vec::new();
        loop {
            match lines.next_line() {
                Ok(Some((n, t))) => out.push(Ok((n, String::from_utf8_lossy(t).into_owned()))),
                Ok(None) => return out,
                Err(LineError::TooLong(e)) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
                Err(LineError::Io(e)) => panic!("{e}"),
            }
        }
    }

    fn ok(n: u64, t: &str) -> Result<(u64, String), String> {
        Ok((n, t.to_owned()))
    }

    #[test]
    fn splits_lines_and_numbers_them() {
        assert_eq!(
            all(b"1\n\n22\r\nlast", 10),
            [ok(1, "1"), ok(2, ""), ok(3, "22\r"), ok(4, "last")]
        );
        assert!(all(b"", 10).is_empty());
    }

    #[test]
    fn a_line_at_the_limit_passes_and_one_byte_more_fails() {
        assert_eq!(all(b"12345\n6", 5), [ok(1, "12345"), ok(2, "6")]);
        assert_eq!(
            all(b"1\n123456\n", 5),
            [
                ok(1, "1"),
                Err(
                    "line 2 is longer than 5 bytes (raise the limit with --max-line-bytes)"
                        .to_owned()
                )
            ]
        );
        assert_eq!(all(b"123456", 5).len(), 1);
    }

    #[test]
    fn a_bom_is_dropped_at_the_very_start_only() {
        assert_eq!(
            all(b"\xEF\xBB\xBF12345\n\xEF\xBB\xBF2\n", 5),
            [ok(1, "12345"), ok(2, "\u{feff}2")]
        );
    }

    #[test]
    fn an_endless_line_is_refused_after_reading_about_max_bytes() {
        // An endless source: the reader must stop on its own.
        let endless = io::repeat(b'x').take(u64::MAX);
        let mut lines = BoundedLines::new(BufReader::with_capacity(4096, endless), 100_000);
        match lines.next_line() {
            Err(LineError::TooLong(e)) => assert_eq!(e.line, 1),
            other => panic!("{:?}", other.map(|o| o.map(|(n, _)| n))),
        }
        assert!(lines.bytes() <= 100_000, "read {} bytes", lines.bytes());
    }
}
