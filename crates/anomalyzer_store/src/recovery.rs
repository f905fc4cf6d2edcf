//! Recovery: the snapshot, then a streaming replay of the log it expects.
//!
//! Reading never modifies anything (so `inspect` can use it); the writer
//! ([`PersistenceManager`](crate::PersistenceManager)) then acts on what was
//! found: it truncates a torn tail and fsyncs before accepting new appends,
//! and finishes an interrupted compaction or conversion.
//!
//! The log is opened *before* the snapshot is read, so a reader racing a
//! compaction holds either the log the snapshot expects or its predecessor.
//! It is read through a small buffer and the window is a ring of at most
//! `A + R` values (with robust tests, the detector itself, whose histories
//! are bounded by its configuration), so memory does not grow with the
//! log's length.
//!
//! Damage is classified like RocksDB's WAL recovery modes:
//! - **torn tail**: bad bytes from some offset to the end of the file with no
//!   valid later record: the last write was cut short by a crash. The
//!   records before it are kept; the tail is reported (and truncated by the
//!   writer). While a writer holds the lock, a reader reports such bytes as
//!   ignored instead: a record may simply be half written.
//! - **mid-log corruption**: a bad record followed by a valid record with a
//!   later LSN. Acknowledged pushes would vanish if we stopped there, so it
//!   is an error unless the caller chose [`RecoveryMode::Salvage`].
//! - **the wrong log**: missing, emptied, of another generation, ending
//!   before the snapshot's LSN ([`Error::LogMismatch`]), or of another
//!   directory ([`Error::ForeignFile`], refused in every mode).

use std::collections::VecDeque;
use std::io::{self, Read};
use std::path::Path;

use std::sync::Arc;

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, DetectorState};

use crate::codec::{self, id_hex, DirectoryId, LogIdentity, WAL_HEADER_LEN};
use crate::log_reader::{read_record, resync, LogReader};
use crate::paths::Paths;
use crate::record::{Record, SERIES_DEFAULT};
pub use crate::recovery_report::{FileSalvage, RecoveryReport};
use crate::snapshot::{self, Snapshot, SnapshotMeta};
use crate::storage::Storage;
use crate::{Error, Result};

/// How damage found in the state directory at recovery is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RecoveryMode {
    /// A torn tail is truncated and reported; corruption followed by valid
    /// records, and a log that is not the one the snapshot expects, are
    /// errors. The default.
    #[default]
    TolerateTornTail,
    /// Any damage, even a torn tail, is an error ([`Error::TornTail`],
    /// [`Error::CorruptLog`], [`Error::LogMismatch`]).
    Absolute,
    /// Damaged bytes are skipped and every valid record after them is kept;
    /// the pushes whose records were lost still count (LSNs and the push
    /// count keep their numbering), their values are missing from the
    /// window. A log that is not the one the snapshot expects is read for
    /// what it adds, or ignored if missing: recovery carries on from the
    /// snapshot. What could not be recovered is listed per file in
    /// [`RecoveryReport::salvage`]. The repaired state is written as a new
    /// snapshot at once. Files of another directory are still refused.
    Salvage,
}

/// What the writer must do with the log found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogState {
    /// No log, and the snapshot's expected log may simply be created.
    Missing,
    /// The log in place: append after cutting it to `valid_len` bytes.
    Usable {
        identity: LogIdentity,
        valid_len: u64,
        file_len: u64,
    },
    /// Salvage read what it could; the log must be replaced by a new one.
    Replace,
}

/// The state a directory holds.
#[derive(Debug, Clone)]
pub(crate) struct Recovered {
    pub snapshot_version: u32,
    pub meta: SnapshotMeta,
    pub conf: AnomalyzerConf,
    pub push_count: u64,
    pub window: VecDeque<f64>,
    /// For a configuration with robust tests: the whole detector, rebuilt
    /// from the snapshot's detector state and the log after it (their
    /// histories are more than the window).
    pub robust: Option<Anomalyzer>,
    pub log: LogState,
    /// The log is the snapshot's predecessor, or version 1, or salvage
    /// repaired something: write a new snapshot and log at once.
    pub must_compact: bool,
    pub report: RecoveryReport,
}

/// How the log found relates to the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// The log the snapshot expects.
    Current,
    /// Its predecessor (or, for generation 1, a version-1 log).
    Predecessor,
    /// Not acceptable: the message says why.
    Wrong(String),
}

fn judge(snap: &Snapshot, log: &LogIdentity) -> Verdict {
    let m = &snap.meta;
    if snap.version == 1 {
        return if log.version == 1 {
            Verdict::Current
        } else {
            Verdict::Wrong(format!(
                "a version-{} log beside a version-1 snapshot",
                log.version
            ))
        };
    }
    if log.version == 1 {
        return if m.log_generation == 1 {
            Verdict::Predecessor
        } else {
            Verdict::Wrong(format!(
                "a version-1 log, but the snapshot expects log generation {}",
                m.log_generation
            ))
        };
    }
    if log.generation == m.log_generation {
        if log.base_lsn == m.log_base_lsn {
            Verdict::Current
        } else {
            Verdict::Wrong(format!(
                "generation {} starts after LSN {}, but the snapshot expects it to start after LSN {}",
                log.generation, log.base_lsn, m.log_base_lsn
            ))
        }
    } else if log.generation + 1 == m.log_generation {
        Verdict::Predecessor
    } else if log.generation < m.log_generation {
        Verdict::Wrong(format!(
            "generation {} is older than the generation {} the snapshot expects (an old copy?); \
             the snapshot expects records after LSN {}",
            log.generation, m.log_generation, m.lsn
        ))
    } else {
        Verdict::Wrong(format!(
            "generation {} is newer than the generation {} the snapshot expects: the snapshot is older than the log",
            log.generation, m.log_generation
        ))
    }
}

/// Reads up to `n` bytes (fewer at the end of the stream).
fn read_up_to(src: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match src.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

fn mismatch(path: &Path, problem: String) -> Error {
    Error::LogMismatch {
        path: path.to_owned(),
        problem,
    }
}

/// Loads the directory's state without modifying anything; `None` if it
/// holds none (no snapshot and no log). `writer_active` says a writer holds
/// the lock: bytes after the last whole record are then ignored, not damage.
pub(crate) fn recover(
    storage: &dyn Storage,
    paths: &Paths,
    mode: RecoveryMode,
    writer_active: bool,
) -> Result<Option<Recovered>> {
    let wal_path = &paths.wal;
    // The log first: see the module documentation.
    let mut src = storage
        .open_read(wal_path)
        .map_err(|e| Error::io("open", wal_path, e))?;
    let Some(snap) = snapshot::read(storage, &paths.snap)? else {
        return match src {
            None => Ok(None),
            // The snapshot is written and its directory entry synced before
            // the log is created, so a log without one means damage.
            Some(_) => Err(Error::format(
                &paths.snap,
                "missing, but the directory has a write-ahead log",
            )),
        };
    };
    let salvage = mode == RecoveryMode::Salvage;
    let snapshot_lsn = snap.meta.lsn;
    let capacity = snap.conf.window_capacity();
    let mut out = Recovered {
        snapshot_version: snap.version,
        meta: snap.meta,
        conf: snap.conf.clone(),
        push_count: snap.push_count,
        window: VecDeque::with_capacity(capacity),
        robust: None,
        log: LogState::Missing,
        must_compact: snap.version == 1,
        report: RecoveryReport {
            snapshot_lsn,
            last_lsn: snapshot_lsn,
            format_version: snap.version,
            directory_id: snap.meta.dir_id.as_ref().map(id_hex),
            ..RecoveryReport::default()
        },
    };
    out.window.extend(snap.window.iter().copied());
    if !snap.conf.robust_methods().is_empty() {
        let state = DetectorState {
            window: snap.window.clone(),
            push_count: snap.push_count,
            robust: snap.robust.clone(),
        };
        out.robust = Some(
            Anomalyzer::from_state(Arc::new(snap.conf.clone()), state).map_err(|e| {
                Error::format(&paths.snap, format!("detector state is inconsistent: {e}"))
            })?,
        );
    }
    let mut file = FileSalvage {
        file: wal_path.clone(),
        ..FileSalvage::default()
    };
    let finish = |mut out: Recovered, file: FileSalvage| {
        if salvage && !file.is_clean() {
            out.must_compact = true;
            out.report.salvage.push(file);
        }
        Ok(Some(out))
    };

    let Some(src) = src.as_mut() else {
        // A crash while the directory was created, between its snapshot's
        // rename and its first log's: generation 1, nothing acknowledged,
        // and the first log still under its staging name (which the
        // snapshot's directory fsync made durable). Version 1 never knew.
        let creating = snap.meta.log_generation == 1
            && snapshot_lsn == 0
            && storage
                .len(&paths.wal_tmp)
                .map_err(|e| Error::io("stat", &paths.wal_tmp, e))?
                .is_some();
        if snap.version == 1 || creating {
            return finish(out, file);
        }
        let problem = format!(
            "missing, but the snapshot expects records after LSN {snapshot_lsn} (log generation {})",
            snap.meta.log_generation
        );
        if !salvage {
            return Err(mismatch(wal_path, problem));
        }
        file.reason(format!(
            "{problem}: carried on from the snapshot; any pushes after LSN {snapshot_lsn} are lost"
        ));
        out.log = LogState::Replace;
        return finish(out, file);
    };
    let src: &mut dyn Read = &mut **src;
    let head = read_up_to(src, WAL_HEADER_LEN).map_err(|e| Error::io("read", wal_path, e))?;
    let n = head.len();
    let parsed = if n < 12 {
        None
    } else {
        match codec::wal_header_len(&head) {
            Ok(len) if n < len => None,
            Ok(len) => Some(codec::decode_wal_header(&head[..len]).map(|id| (len, id))),
            Err(e) => Some(Err(e)),
        }
    };
    let (header_len, identity) = match parsed {
        Some(Ok(found)) => found,
        Some(Err(e)) => {
            let e = e.into_error(wal_path);
            if !salvage {
                return Err(e);
            }
            out.report.wal_bytes = n as u64;
            file.reason(format!(
                "{e}: its records were not read; carried on from the snapshot"
            ));
            out.log = LogState::Replace;
            return finish(out, file);
        }
        None => {
            out.report.wal_bytes = n as u64;
            if snap.version == 1 {
                // A version-1 log was created in place: this is a crash
                // while it was being created; nothing in it was acknowledged.
                out.report.torn_tail_bytes = n as u64;
                if mode == RecoveryMode::Absolute && n > 0 {
                    return Err(Error::TornTail {
                        path: wal_path.clone(),
                        offset: 0,
                        bytes: n as u64,
                        last_lsn: snapshot_lsn,
                    });
                }
                out.log = LogState::Replace;
                return finish(out, file);
            }
            let problem = format!(
                "{n} {}, shorter than a log header (emptied?), but the snapshot expects records after LSN {snapshot_lsn}",
                plural(n as u64, "byte", "bytes")
            );
            if !salvage {
                return Err(mismatch(wal_path, problem));
            }
            file.bytes_skipped += n as u64;
            file.reason(format!("{problem}: carried on from the snapshot"));
            out.log = LogState::Replace;
            return finish(out, file);
        }
    };
    out.report.wal_generation = identity.generation;
    if let (Some(snap_id), Some(log_id)) = (snap.meta.dir_id, identity.dir_id) {
        if snap_id != log_id {
            return Err(foreign(wal_path, &paths.snap, &log_id, &snap_id));
        }
    }
    let verdict = judge(&snap, &identity);
    // Records of the current log must start right after its base; of any
    // other, at most one after the snapshot (older ones are skipped).
    let mut expected_first = None;
    match &verdict {
        Verdict::Current if identity.version == 2 => expected_first = Some(identity.base_lsn + 1),
        Verdict::Current => {}
        Verdict::Predecessor => out.must_compact = true,
        Verdict::Wrong(problem) => {
            if !salvage {
                return Err(mismatch(wal_path, problem.clone()));
            }
            file.reason(format!(
                "{problem}: read for records after LSN {snapshot_lsn}"
            ));
        }
    }

    // The header bytes already read go back in front of the records.
    let mut chained = io::Cursor::new(head).chain(src);
    let mut r = LogReader::new(&mut chained);
    r.fill(header_len)
        .map_err(|e| Error::io("read", wal_path, e))?;
    r.consume(header_len);
    let version = identity.version;
    let io_err = |e| Error::io("read", wal_path, e);
    // LSN of the previous record applied or skipped in sequence.
    let mut prev: Option<u64> = None;
    let mut valid_len = header_len as u64;
    let report = &mut out.report;
    loop {
        if r.fill(1).map_err(io_err)? == 0 {
            break;
        }
        let at = r.offset();
        let damage = match read_record(&mut r, version).map_err(io_err)? {
            Ok((lsn, rec, len)) => {
                let expected = prev.map(|p| p + 1).or(expected_first);
                let in_sequence = match expected {
                    Some(e) => lsn == e,
                    None => lsn <= snapshot_lsn + 1,
                };
                let gap_from = expected.unwrap_or(snapshot_lsn + 1);
                let forward = !in_sequence && lsn > gap_from;
                if forward && !salvage {
                    // A valid record after a gap: the damage is the gap
                    // itself, and valid records resume right here.
                    let reason = match prev {
                        None if expected.is_none() => format!(
                            "first record has lsn {lsn} but the snapshot ends at lsn {snapshot_lsn}"
                        ),
                        _ => format!("record with lsn {lsn} where lsn {gap_from} was expected"),
                    };
                    return Err(Error::CorruptLog {
                        path: wal_path.clone(),
                        offset: at,
                        reason,
                        resume_offset: at,
                        resume_lsn: lsn,
                    });
                }
                if in_sequence || forward {
                    let Record::Push {
                        series: SERIES_DEFAULT,
                        value,
                    } = rec
                    else {
                        return Err(Error::format(
                            wal_path,
                            format!(
                                "record at offset {at} (lsn {lsn}) is not a push of series 0: \
                                 this log belongs to a store of many series"
                            ),
                        ));
                    };
                    if forward {
                        // The pushes in the gap happened: keep counting
                        // them so LSN and push count stay aligned.
                        let lost = lsn.saturating_sub(gap_from.max(snapshot_lsn + 1));
                        file.pushes_lost += lost;
                        report.lost_pushes += lost;
                        out.push_count += lost;
                        if let Some(d) = &mut out.robust {
                            count_lost_pushes(d, lost)?;
                        }
                        file.reason(format!(
                            "offset {at}: lsn {lsn} where lsn {gap_from} was expected: {lost} {} lost",
                            plural(lost, "push", "pushes")
                        ));
                    }
                    r.consume(len);
                    valid_len = r.offset();
                    prev = Some(lsn);
                    if lsn > snapshot_lsn {
                        if out.window.len() == capacity {
                            out.window.pop_front();
                        }
                        out.window.push_back(value);
                        out.push_count += 1;
                        if let Some(d) = &mut out.robust {
                            d.update(&[value])?;
                        }
                        report.replayed += 1;
                        report.last_lsn = lsn;
                        file.records_kept += 1;
                    } else {
                        report.already_in_snapshot += 1;
                    }
                    continue;
                }
                if salvage {
                    file.records_dropped += 1;
                }
                r.consume(len);
                format!(
                    "record with lsn {lsn} after lsn {}",
                    prev.unwrap_or(snapshot_lsn)
                )
            }
            Err(reason) => {
                r.consume(1);
                reason
            }
        };
        // Damage at `at`: a torn tail unless a valid later record follows.
        let floor = prev.unwrap_or(0).max(snapshot_lsn);
        match resync(&mut r, floor, version).map_err(io_err)? {
            None => {
                let end = r.end_offset().map_err(io_err)?;
                let bytes = end - at;
                if writer_active {
                    report.ignored_tail_bytes = bytes;
                    break;
                }
                report.torn_tail_bytes = bytes;
                if mode == RecoveryMode::Absolute {
                    return Err(Error::TornTail {
                        path: wal_path.clone(),
                        offset: at,
                        bytes,
                        last_lsn: report.last_lsn,
                    });
                }
                if salvage {
                    file.bytes_skipped += bytes;
                    file.reason(format!(
                        "offset {at}: torn tail of {bytes} {} ({damage}): cut off",
                        plural(bytes, "byte", "bytes")
                    ));
                }
                break;
            }
            Some((resume_offset, resume_lsn)) => {
                if !salvage {
                    return Err(Error::CorruptLog {
                        path: wal_path.clone(),
                        offset: at,
                        reason: damage,
                        resume_offset,
                        resume_lsn,
                    });
                }
                let skipped = resume_offset - at;
                report.salvaged_bytes += skipped;
                file.bytes_skipped += skipped;
                file.reason(format!(
                    "offsets {at}..{resume_offset}: {skipped} damaged {} skipped ({damage})",
                    plural(skipped, "byte", "bytes")
                ));
            }
        }
    }
    let end = r.end_offset().map_err(io_err)?;
    report.wal_bytes = end;
    let reached = prev.unwrap_or(identity.base_lsn);
    if identity.version == 2 && reached < snapshot_lsn && !matches!(verdict, Verdict::Wrong(_)) {
        let problem = format!(
            "ends at LSN {reached}, but the snapshot holds records up to LSN {snapshot_lsn}: \
             the log was shortened or is an old copy"
        );
        if !salvage {
            return Err(mismatch(wal_path, problem));
        }
        file.reason(format!("{problem}: carried on from the snapshot"));
    }
    out.log = if matches!(verdict, Verdict::Wrong(_)) {
        LogState::Replace
    } else {
        LogState::Usable {
            identity,
            valid_len,
            file_len: end,
        }
    };
    finish(out, file)
}

/// The error for a log whose directory id is not the snapshot's.
/// Salvage: `lost` pushes whose records are gone still count (the push
/// count seeds the Go tests' permutations); their values are missing from
/// the robust histories as from the window.
fn count_lost_pushes(d: &mut Anomalyzer, lost: u64) -> Result<()> {
    let mut state = d.state();
    state.push_count += lost;
    *d = Anomalyzer::from_state(Arc::clone(d.shared_conf()), state)?;
    Ok(())
}

fn foreign(wal: &Path, snap: &Path, log_id: &DirectoryId, snap_id: &DirectoryId) -> Error {
    Error::ForeignFile {
        path: wal.to_owned(),
        other: snap.to_owned(),
        problem: format!(
            "their directory ids {} and {} differ, so one of them was copied in from another state directory; put back this directory's own file",
            id_hex(log_id),
            id_hex(snap_id)
        ),
    }
}

/// `n` and the noun in the right number.
pub(crate) fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}
