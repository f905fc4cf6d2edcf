//! Recovery: the snapshot, then a streaming replay of the log.
//!
//! Reading never modifies anything (so `inspect` can use it); the writer
//! ([`PersistenceManager`](crate::PersistenceManager)) then acts on what was
//! found: it truncates a torn tail and fsyncs before accepting new appends.
//!
//! The log is read through a small buffer and the window is a ring of at
//! most `A + R` values, so memory does not grow with the log's length.
//!
//! Damage is classified like RocksDB's WAL recovery modes:
//! - **torn tail**: bad bytes from some offset to the end of the file with no
//!   valid later record: the last write was cut short by a crash. The
//!   records before it are kept; the tail is reported (and truncated by the
//!   writer).
//! - **mid-log corruption**: a bad record followed by a valid record with a
//!   later LSN. Acknowledged pushes would vanish if we stopped there, so it
//!   is an error unless the caller chose [`RecoveryMode::Salvage`].

use std::collections::VecDeque;
use std::io::{self, Read};

use anomalyzer_ts::AnomalyzerConf;

use crate::codec::{self, PUSH_RECORD_LEN, RECORD_HEADER_LEN, WAL_HEADER_LEN};
use crate::paths::Paths;
use crate::snapshot::{self, Snapshot};
use crate::storage::Storage;
use crate::{Error, Result};

/// How damage found in the log at recovery is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RecoveryMode {
    /// A torn tail is truncated and reported; corruption followed by valid
    /// records is an error ([`Error::CorruptLog`]). The default.
    #[default]
    TolerateTornTail,
    /// Any damage, even a torn tail, is an error ([`Error::TornTail`],
    /// [`Error::CorruptLog`]).
    Absolute,
    /// Damaged bytes are skipped and every valid record after them is kept;
    /// the pushes whose records were lost still count (LSNs and the push
    /// count keep their numbering), their values are missing from the
    /// window. The repaired state is written as a new snapshot at once.
    Salvage,
}

/// What recovery found and did. Plain data, for logs and `inspect`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// LSN stored in the snapshot.
    pub snapshot_lsn: u64,
    /// LSN of the last push recovered (the snapshot's if the log adds none).
    pub last_lsn: u64,
    /// Log records applied on top of the snapshot.
    pub replayed: u64,
    /// Log records skipped because the snapshot already holds them (a crash
    /// between a snapshot's rename and the log's truncation).
    pub already_in_snapshot: u64,
    /// Bytes of a torn last record (truncated by a writer).
    pub torn_tail_bytes: u64,
    /// Bytes of mid-log damage skipped ([`RecoveryMode::Salvage`] only).
    pub salvaged_bytes: u64,
    /// Pushes whose records were in the skipped bytes.
    pub lost_pushes: u64,
    /// Size of the log file as found (0 if missing).
    pub wal_bytes: u64,
}

/// The state a directory holds.
#[derive(Debug, Clone)]
pub(crate) struct Recovered {
    pub conf: AnomalyzerConf,
    pub push_count: u64,
    pub window: VecDeque<f64>,
    /// Length of the log's valid prefix; `None` if there is no log file.
    pub wal_valid_len: Option<u64>,
    pub report: RecoveryReport,
}

/// A read buffer over a stream that knows the file offset of what it holds.
struct LogReader<'a> {
    src: &'a mut dyn Read,
    buf: Vec<u8>,
    start: usize,
    base: u64,
    eof: bool,
}

impl<'a> LogReader<'a> {
    fn new(src: &'a mut dyn Read, base: u64) -> Self {
        LogReader {
            src,
            buf: Vec::with_capacity(64 * 1024),
            start: 0,
            base,
            eof: false,
        }
    }

    fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Buffers at least `n` bytes unless the stream ends first; returns how
    /// many are available.
    fn fill(&mut self, n: usize) -> io::Result<usize> {
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

    fn peek(&self, n: usize) -> &[u8] {
        &self.buf[self.start..self.start + n]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
    }

    /// Drains the rest of the stream; returns the end offset.
    fn end_offset(&mut self) -> io::Result<u64> {
        loop {
            let avail = self.buf.len() - self.start;
            self.consume(avail);
            if self.fill(1)? == 0 {
                return Ok(self.offset());
            }
        }
    }
}

/// Reads the one record at the reader's position. `Err(reason)` if the bytes
/// there are not a valid record (including a record cut by the end of file).
fn read_record(r: &mut LogReader<'_>) -> io::Result<Result<(u64, f64), String>> {
    let avail = r.fill(RECORD_HEADER_LEN)?;
    if avail < RECORD_HEADER_LEN {
        return Ok(Err(format!("{avail} bytes, less than a record header")));
    }
    let header = match codec::parse_record_header(r.peek(RECORD_HEADER_LEN)) {
        Ok(h) => h,
        Err(reason) => return Ok(Err(reason)),
    };
    let len = RECORD_HEADER_LEN + header.len;
    let avail = r.fill(len)?;
    if avail < len {
        return Ok(Err(format!("record cut short: {avail} of {len} bytes")));
    }
    Ok(codec::decode_push(r.peek(len)))
}

/// Scans forward byte by byte from the reader's position for a valid record
/// with an LSN above `floor`; returns its offset and LSN, leaving the reader
/// on it.
fn resync(r: &mut LogReader<'_>, floor: u64) -> io::Result<Option<(u64, u64)>> {
    loop {
        if r.fill(PUSH_RECORD_LEN)? < PUSH_RECORD_LEN {
            return Ok(None);
        }
        if let Ok((lsn, _)) = codec::decode_push(r.peek(PUSH_RECORD_LEN)) {
            if lsn > floor {
                return Ok(Some((r.offset(), lsn)));
            }
        }
        r.consume(1);
    }
}

/// Loads the directory's state without modifying anything; `None` if it
/// holds none (no snapshot and no log).
pub(crate) fn recover(
    storage: &dyn Storage,
    paths: &Paths,
    mode: RecoveryMode,
) -> Result<Option<Recovered>> {
    let wal_len = storage
        .len(&paths.wal)
        .map_err(|e| Error::io("stat", &paths.wal, e))?;
    let Some(snap) = snapshot::read(storage, &paths.snap)? else {
        return match wal_len {
            None => Ok(None),
            // The snapshot is written and its directory entry synced before
            // the log is created, so a log without one means damage.
            Some(_) => Err(Error::format(
                &paths.snap,
                "missing, but the directory has a write-ahead log",
            )),
        };
    };
    let Snapshot {
        conf,
        lsn: snapshot_lsn,
        push_count,
        window,
    } = snap;
    let capacity = conf.window_capacity();
    let mut ring: VecDeque<f64> = VecDeque::with_capacity(capacity);
    ring.extend(window);
    let mut report = RecoveryReport {
        snapshot_lsn,
        last_lsn: snapshot_lsn,
        wal_bytes: wal_len.unwrap_or(0),
        ..RecoveryReport::default()
    };
    let mut out = Recovered {
        conf,
        push_count,
        window: ring,
        wal_valid_len: None,
        report: RecoveryReport::default(),
    };
    let Some(wal_len) = wal_len else {
        out.report = report;
        return Ok(Some(out));
    };
    let Some(mut src) = storage
        .open_read(&paths.wal)
        .map_err(|e| Error::io("open", &paths.wal, e))?
    else {
        out.report = report;
        return Ok(Some(out));
    };
    let io_err = |e| Error::io("read", &paths.wal, e);

    let mut header = [0u8; WAL_HEADER_LEN];
    let mut got = 0;
    while got < WAL_HEADER_LEN {
        match src.read(&mut header[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
    if got < WAL_HEADER_LEN {
        // The log was being created when the process died: nothing in it
        // was ever acknowledged.
        report.torn_tail_bytes = got as u64;
        if mode == RecoveryMode::Absolute && got > 0 {
            return Err(Error::TornTail {
                path: paths.wal.clone(),
                offset: 0,
                bytes: got as u64,
                last_lsn: report.last_lsn,
            });
        }
        out.wal_valid_len = Some(0);
        out.report = report;
        return Ok(Some(out));
    }
    codec::check_wal_header(&header).map_err(|e| e.into_error(&paths.wal))?;

    let mut r = LogReader::new(&mut *src, WAL_HEADER_LEN as u64);
    // LSN of the previous record read from the file, applied or not.
    let mut prev: Option<u64> = None;
    let mut valid_len = WAL_HEADER_LEN as u64;
    loop {
        if r.fill(1).map_err(io_err)? == 0 {
            break;
        }
        let at = r.offset();
        let reason = match read_record(&mut r).map_err(io_err)? {
            Ok((lsn, value)) => {
                let in_sequence = match prev {
                    Some(p) => lsn == p.wrapping_add(1),
                    None => lsn >= 1 && lsn <= snapshot_lsn.saturating_add(1),
                };
                if in_sequence {
                    r.consume(PUSH_RECORD_LEN);
                    valid_len = r.offset();
                    prev = Some(lsn);
                    if lsn > snapshot_lsn {
                        if out.window.len() == capacity {
                            out.window.pop_front();
                        }
                        out.window.push_back(value);
                        out.push_count += 1;
                        report.replayed += 1;
                        report.last_lsn = lsn;
                    } else {
                        report.already_in_snapshot += 1;
                    }
                    continue;
                }
                match prev {
                    Some(p) => format!("record with lsn {lsn} after lsn {p}"),
                    None => format!(
                        "first record has lsn {lsn} but the snapshot ends at lsn {snapshot_lsn}"
                    ),
                }
            }
            Err(reason) => reason,
        };
        // Damage at `at`: a torn tail unless a valid later record follows.
        let floor = prev.unwrap_or(0).max(snapshot_lsn);
        r.consume(1);
        match resync(&mut r, floor).map_err(io_err)? {
            None => {
                let end = r.end_offset().map_err(io_err)?.max(wal_len);
                report.torn_tail_bytes = end - at;
                if mode == RecoveryMode::Absolute {
                    return Err(Error::TornTail {
                        path: paths.wal.clone(),
                        offset: at,
                        bytes: end - at,
                        last_lsn: report.last_lsn,
                    });
                }
                break;
            }
            Some((resume_offset, resume_lsn)) => {
                if mode != RecoveryMode::Salvage {
                    return Err(Error::CorruptLog {
                        path: paths.wal.clone(),
                        offset: at,
                        reason,
                        resume_offset,
                        resume_lsn,
                    });
                }
                report.salvaged_bytes += resume_offset - at;
                let expected = prev
                    .map_or(snapshot_lsn + 1, |p| p + 1)
                    .max(snapshot_lsn + 1);
                let lost = resume_lsn.saturating_sub(expected);
                report.lost_pushes += lost;
                // The lost pushes happened: keep counting them so LSN and
                // push count stay aligned.
                out.push_count += lost;
                report.last_lsn = resume_lsn - 1;
                prev = Some(resume_lsn - 1);
            }
        }
    }
    out.wal_valid_len = Some(valid_len);
    out.report = report;
    Ok(Some(out))
}
