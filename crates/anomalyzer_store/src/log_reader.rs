//! Streaming reads of a log: a small buffer that knows file offsets, one
//! record at a time, and the byte-by-byte scan for the next valid record
//! after damage. Memory is bounded by the buffer (64 KiB, or one record of
//! at most 1 MiB), never by the log's length.

use std::io::{self, Read};

use crate::record::{self, Record, PUSH_AT_PAYLOAD_LEN, RECORD_HEADER_LEN};

/// Largest payload the scan after damage considers (the push kinds).
const MAX_RESYNC_PAYLOAD: usize = PUSH_AT_PAYLOAD_LEN;

/// A read buffer over a stream that knows the file offset of what it holds.
pub(crate) struct LogReader<'a> {
    src: &'a mut dyn Read,
    buf: Vec<u8>,
    start: usize,
    base: u64,
    eof: bool,
}

impl<'a> LogReader<'a> {
    pub(crate) fn new(src: &'a mut dyn Read) -> Self {
        LogReader {
            src,
            buf: Vec::with_capacity(64 * 1024),
            start: 0,
            base: 0,
            eof: false,
        }
    }

    pub(crate) fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Buffers at least `n` bytes unless the stream ends first; returns how
    /// many are available.
    pub(crate) fn fill(&mut self, n: usize) -> io::Result<usize> {
        while self.buf.len() - self.start < n && !self.eof {
            if self.start > 32 * 1024 {
                self.buf.drain(..self.start);
                self.base += self.start as u64;
                self.start = 0;
            }
            let old = self.buf.len();
            self.buf.resize(old + 64 * 1024, 0);
            let got = loop {
                match self.src.read(&mut self.buf[old..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => break r,
                }
            };
            match got {
                Ok(0) => {
                    self.buf.truncate(old);
                    self.eof = true;
                }
                Ok(k) => self.buf.truncate(old + k),
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        }
        Ok(self.buf.len() - self.start)
    }

    pub(crate) fn peek(&self, n: usize) -> &[u8] {
        &self.buf[self.start..self.start + n]
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n;
    }

    /// Drains the rest of the stream; returns the end offset.
    pub(crate) fn end_offset(&mut self) -> io::Result<u64> {
        loop {
            let avail = self.buf.len() - self.start;
            self.consume(avail);
            if self.fill(1)? == 0 {
                return Ok(self.offset());
            }
        }
    }
}

/// Reads the one record at the reader's position: its LSN, contents and
/// length. `Err(reason)` if the bytes there are not a valid record
/// (including a record cut by the end of file).
pub(crate) fn read_record(
    r: &mut LogReader<'_>,
    version: u32,
) -> io::Result<Result<(u64, Record, usize), String>> {
    let avail = r.fill(RECORD_HEADER_LEN)?;
    if avail < RECORD_HEADER_LEN {
        return Ok(Err(format!("{avail} bytes, less than a record header")));
    }
    let header = match record::parse_record_header(r.peek(RECORD_HEADER_LEN), version) {
        Ok(h) => h,
        Err(reason) => return Ok(Err(reason)),
    };
    let len = RECORD_HEADER_LEN + header.len;
    let avail = r.fill(len)?;
    if avail < len {
        return Ok(Err(format!("record cut short: {avail} of {len} bytes")));
    }
    Ok(record::decode_record(r.peek(len), version).map(|(lsn, rec)| (lsn, rec, len)))
}

/// Scans forward byte by byte from the reader's position for a valid push
/// record with an LSN above `floor`; returns its offset and LSN, leaving the
/// reader on it.
pub(crate) fn resync(
    r: &mut LogReader<'_>,
    floor: u64,
    version: u32,
) -> io::Result<Option<(u64, u64)>> {
    loop {
        if r.fill(RECORD_HEADER_LEN)? < RECORD_HEADER_LEN {
            return Ok(None);
        }
        // Only short records (pushes) are candidates: a crafted header
        // announcing a long payload at every offset would otherwise cost a
        // megabyte of checksum per byte scanned.
        let short = record::parse_record_header(r.peek(RECORD_HEADER_LEN), version)
            .is_ok_and(|h| h.len <= MAX_RESYNC_PAYLOAD);
        if !short {
            r.consume(1);
            continue;
        }
        if let Ok((lsn, _, _)) = read_record(r, version)? {
            if lsn > floor {
                return Ok(Some((r.offset(), lsn)));
            }
        }
        r.consume(1);
    }
}
