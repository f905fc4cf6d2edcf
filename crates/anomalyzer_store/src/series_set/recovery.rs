//! Opening a series set's directory: lock it, load the snapshot's sections,
//! replay the log above each series' section LSN, cut a torn tail, and
//! finish a compaction a crash interrupted.
//!
//! **Which log the snapshot accepts** (generation `S`, base `B`): the log of
//! generation `S` and base `B`, or its predecessor `S − 1` (a crash between
//! the snapshot's rename and the new log's); either must reach the highest
//! section LSN. In the second case the new log is written now (the old
//! log's records above `B`), exactly as the interrupted compaction would
//! have. A directory without a snapshot must hold the first log
//! (generation 1, base 0), or nothing at all (then it is created).
//!
//! Replay is cheap per record: values are appended without evaluating, and
//! each touched series is evaluated once at the end for its last score.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf};

use super::conf_cache::ConfCache;
use super::identity::SeriesIdentity;
use super::log::{self, LogWriter};
use super::sections;
use super::shards::{Location, SeriesEntry, Shards};
use crate::codec::{self, DirectoryId, WAL_HEADER_LEN};
use crate::log_reader::{self, LogReader};
use crate::paths::Paths;
use crate::record::{KIND_CREATE_SERIES, MAX_RECORD_PAYLOAD, RECORD_HEADER_LEN};
use crate::storage::{DirLock, Storage};
use crate::{Error, Record, Result, SyncPolicy};

/// What opening a series set found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetRecovery {
    /// Series held after recovery.
    pub series: u64,
    /// Series loaded from the snapshot.
    pub sections: u64,
    /// Log records applied.
    pub records_replayed: u64,
    /// Log records skipped because the snapshot already held them.
    pub records_skipped: u64,
    /// Bytes of a torn last record that were cut off.
    pub truncated_bytes: u64,
    /// True when the directory was empty and has been created.
    pub created: bool,
    /// True when a compaction interrupted by a crash was finished.
    pub finished_compaction: bool,
    /// How long opening took.
    pub elapsed: Duration,
}

impl fmt::Display for SetRecovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.created {
            return write!(f, "created a new state directory");
        }
        write!(
            f,
            "recovered {} series ({} from the snapshot), replayed {} log records (skipped {} already in the snapshot) in {:.3} s",
            self.series,
            self.sections,
            self.records_replayed,
            self.records_skipped,
            self.elapsed.as_secs_f64()
        )?;
        if self.truncated_bytes > 0 {
            write!(
                f,
                "; cut a torn record of {} bytes off the log's end",
                self.truncated_bytes
            )?;
        }
        if self.finished_compaction {
            f.write_str("; finished a compaction interrupted by a crash")?;
        }
        Ok(())
    }
}

/// An opened directory, ready for the committer.
#[derive(Debug)]
pub(crate) struct Opened {
    pub dir_id: DirectoryId,
    pub log: LogWriter,
    pub locations: Vec<Location>,
    pub lock: Box<dyn DirLock>,
    pub summary: SetRecovery,
    pub confs: ConfCache,
}

/// What replay keeps per series beyond the shards.
struct Replay<'a> {
    shards: &'a Shards,
    locations: Vec<Location>,
    confs: ConfCache,
    dirty: Vec<bool>,
    summary: SetRecovery,
    max_section_lsn: u64,
}

impl Replay<'_> {
    /// A create-series record.
    fn create(
        &mut self,
        lsn: u64,
        series: u32,
        key: SeriesIdentity,
        conf: Arc<AnomalyzerConf>,
    ) -> std::result::Result<(), String> {
        let known = self.locations.len();
        if (series as usize) < known {
            let loc = self.locations[series as usize];
            let (same, last_lsn) = self
                .shards
                .inspect(loc, |e| (*e.key == *key.as_bytes(), e.last_lsn));
            if !same || lsn > last_lsn {
                return Err(format!("series id {series} is created twice"));
            }
            self.summary.records_skipped += 1;
            return Ok(());
        }
        if series as usize != known {
            return Err(format!(
                "series id {series} created when {known} series exist"
            ));
        }
        if self.shards.locate(&key).is_some() {
            return Err(format!("series {key} is created twice"));
        }
        let entry = new_entry(key, conf, series, lsn)?;
        self.locations.push(self.shards.insert(entry));
        self.dirty.push(false);
        self.summary.records_replayed += 1;
        Ok(())
    }

    fn apply(&mut self, lsn: u64, record: Record) -> std::result::Result<(), String> {
        match record {
            Record::CreateSeries {
                series,
                name,
                labels,
                conf,
            } => {
                let key = SeriesIdentity::new(&name, &labels)?;
                let (conf, _) = self.confs.canonical(&Arc::new(*conf));
                self.create(lsn, series, key, conf)
            }
            Record::PushAt {
                series,
                timestamp_ns,
                value,
            } => {
                let Some(&loc) = self.locations.get(series as usize) else {
                    return Err(format!("push to series {series}, which was never created"));
                };
                let applied = self.shards.update(loc, |e| {
                    if lsn <= e.last_lsn {
                        return Ok(false);
                    }
                    if timestamp_ns <= e.last_ts {
                        return Err(format!(
                            "push to series {series} at {timestamp_ns} ns, not after its last at {} ns",
                            e.last_ts
                        ));
                    }
                    e.detector.update(&[value]).map_err(|err| err.to_string())?;
                    e.last_ts = timestamp_ns;
                    e.last_lsn = lsn;
                    Ok(true)
                })?;
                if applied {
                    self.dirty[series as usize] = true;
                    self.summary.records_replayed += 1;
                } else {
                    self.summary.records_skipped += 1;
                }
                Ok(())
            }
            _ => Err("a push without a timestamp: not a series-set log".into()),
        }
    }
}

/// The length of the create-series record at the reader's position, all
/// of it buffered; `None` for any other record (or a short one).
fn fast_create_len(reader: &mut LogReader<'_>) -> io::Result<Option<usize>> {
    if reader.fill(RECORD_HEADER_LEN)? < RECORD_HEADER_LEN {
        return Ok(None);
    }
    let h = reader.peek(RECORD_HEADER_LEN);
    if h[20] != KIND_CREATE_SERIES {
        return Ok(None);
    }
    let len = RECORD_HEADER_LEN + codec::u32_at(h, 4) as usize;
    if len > RECORD_HEADER_LEN + MAX_RECORD_PAYLOAD || reader.fill(len)? < len {
        return Ok(None);
    }
    Ok(Some(len))
}

/// A series' entry at creation, before its first point.
pub(crate) fn new_entry(
    key: SeriesIdentity,
    conf: Arc<AnomalyzerConf>,
    id: u32,
    lsn: u64,
) -> std::result::Result<SeriesEntry, String> {
    Ok(SeriesEntry {
        key: key.into_bytes(),
        detector: Anomalyzer::with_shared_conf(conf, &[]).map_err(|e| e.to_string())?,
        last_ts: i64::MIN,
        last_probability: 0.0,
        last_lsn: lsn,
        id,
    })
}

/// Opens (creating when empty) the directory of `paths`.
pub(crate) fn open(
    storage: &dyn Storage,
    paths: &Paths,
    shards: &Shards,
    policy: SyncPolicy,
) -> Result<Opened> {
    let started = Instant::now();
    storage
        .create_dir_all(&paths.dir)
        .map_err(|e| Error::io("create directory", &paths.dir, e))?;
    let lock = crate::lock::acquire(storage, &paths.lock)?.lock;
    for stale in [&paths.snap_tmp, &paths.wal_tmp] {
        if storage
            .len(stale)
            .map_err(|e| Error::io("stat", stale, e))?
            .is_some()
        {
            storage
                .remove_file(stale)
                .map_err(|e| Error::io("remove", stale, e))?;
        }
    }
    let mut replay = Replay {
        shards,
        locations: Vec::new(),
        confs: ConfCache::default(),
        dirty: Vec::new(),
        summary: SetRecovery::default(),
        max_section_lsn: 0,
    };
    let snapshot = {
        let locations = &mut replay.locations;
        let max_lsn = &mut replay.max_section_lsn;
        sections::read_snapshot(storage, &paths.snap, &mut replay.confs, &mut |entry| {
            if entry.id as usize != locations.len() {
                return Err(Error::format(
                    &paths.snap,
                    format!(
                        "section of series {} where series {} was expected: ids are dense",
                        entry.id,
                        locations.len()
                    ),
                ));
            }
            *max_lsn = (*max_lsn).max(entry.last_lsn);
            locations.push(shards.insert(entry));
            Ok(())
        })?
    };
    replay.summary.sections = replay.locations.len() as u64;
    replay.dirty = vec![false; replay.locations.len()];

    let wal = &paths.wal;
    let Some(file_len) = storage.len(wal).map_err(|e| Error::io("stat", wal, e))? else {
        if let Some(snap) = snapshot {
            return Err(Error::LogMismatch {
                path: wal.clone(),
                problem: format!(
                    "missing, but the snapshot expects the log of generation {}",
                    snap.generation
                ),
            });
        }
        let dir_id = storage
            .new_directory_id()
            .map_err(|e| Error::io("draw an id for", &paths.dir, e))?;
        let log = create_log(storage, paths, &dir_id, 1, 0, (&[], 0), policy)?;
        replay.summary.created = true;
        replay.summary.elapsed = started.elapsed();
        return Ok(Opened {
            dir_id,
            log,
            locations: Vec::new(),
            lock,
            summary: replay.summary,
            confs: replay.confs,
        });
    };

    let mut src = storage
        .open_read(wal)
        .map_err(|e| Error::io("open", wal, e))?
        .ok_or_else(|| Error::io("open", wal, io::ErrorKind::NotFound.into()))?;
    let mut reader = LogReader::new(&mut src);
    let got = reader
        .fill(WAL_HEADER_LEN)
        .map_err(|e| Error::io("read", wal, e))?;
    if got < WAL_HEADER_LEN {
        return Err(Error::format(
            wal,
            format!("{got} bytes, less than a log header"),
        ));
    }
    let identity =
        codec::decode_wal_header(reader.peek(WAL_HEADER_LEN)).map_err(|e| e.into_error(wal))?;
    reader.consume(WAL_HEADER_LEN);
    let Some(dir_id) = identity.dir_id else {
        return Err(Error::format(
            wal,
            "a version-1 log: not a series-set directory",
        ));
    };
    let predecessor = match snapshot {
        Some(snap) => {
            if snap.dir_id != dir_id {
                return Err(Error::ForeignFile {
                    path: wal.clone(),
                    other: paths.snap.clone(),
                    problem: format!(
                        "log of directory {}, snapshot of directory {}",
                        codec::id_hex(&dir_id),
                        codec::id_hex(&snap.dir_id)
                    ),
                });
            }
            if identity.generation == snap.generation && identity.base_lsn == snap.base_lsn {
                None
            } else if identity.generation + 1 == snap.generation
                && identity.base_lsn <= snap.base_lsn
            {
                Some(snap)
            } else {
                return Err(Error::LogMismatch {
                    path: wal.clone(),
                    problem: format!(
                        "generation {} with base lsn {}, but the snapshot expects generation {} with base lsn {}",
                        identity.generation, identity.base_lsn, snap.generation, snap.base_lsn
                    ),
                });
            }
        }
        None if identity.generation == 1 && identity.base_lsn == 0 => None,
        None => {
            return Err(Error::LogMismatch {
                path: wal.clone(),
                problem: format!(
                    "generation {} needs a snapshot, and there is none",
                    identity.generation
                ),
            })
        }
    };

    let mut expected = identity.base_lsn + 1;
    let mut valid_len = WAL_HEADER_LEN as u64;
    let mut tail = Vec::new();
    loop {
        let at = reader.offset();
        if let Some(len) = fast_create_len(&mut reader).map_err(|e| Error::io("read", wal, e))? {
            if let Some((lsn, series, key, json)) = log::decode_create(reader.peek(len)) {
                if lsn != expected {
                    return Err(Error::format(
                        wal,
                        format!(
                            "record at offset {at} has lsn {lsn} where {expected} was expected"
                        ),
                    ));
                }
                if let Some(snap) = predecessor {
                    if lsn > snap.base_lsn {
                        tail.extend_from_slice(reader.peek(len));
                    }
                }
                let created = replay
                    .confs
                    .intern_json(json)
                    .and_then(|conf| replay.create(lsn, series, key, conf));
                created.map_err(|reason| {
                    Error::format(wal, format!("record at offset {at}: {reason}"))
                })?;
                reader.consume(len);
                expected += 1;
                valid_len = reader.offset();
                continue;
            }
        }
        let read = log_reader::read_record(&mut reader, codec::FORMAT_VERSION)
            .map_err(|e| Error::io("read", wal, e))?;
        let (lsn, record, len) = match read {
            Ok(r) => r,
            Err(reason) => {
                if reader.fill(1).map_err(|e| Error::io("read", wal, e))? == 0 {
                    break; // the end
                }
                let resumed = log_reader::resync(&mut reader, expected - 1, codec::FORMAT_VERSION)
                    .map_err(|e| Error::io("read", wal, e))?;
                if let Some((resume_offset, resume_lsn)) = resumed {
                    return Err(Error::CorruptLog {
                        path: wal.clone(),
                        offset: at,
                        reason,
                        resume_offset,
                        resume_lsn,
                    });
                }
                break; // a torn tail
            }
        };
        if lsn != expected {
            return Err(Error::format(
                wal,
                format!("record at offset {at} has lsn {lsn} where {expected} was expected"),
            ));
        }
        if let Some(snap) = predecessor {
            if lsn > snap.base_lsn {
                tail.extend_from_slice(reader.peek(len));
            }
        }
        replay
            .apply(lsn, record)
            .map_err(|reason| Error::format(wal, format!("record at offset {at}: {reason}")))?;
        reader.consume(len);
        expected += 1;
        valid_len = reader.offset();
    }
    drop(reader);
    drop(src);
    let last_lsn = expected - 1;
    if replay.max_section_lsn > last_lsn {
        return Err(Error::LogMismatch {
            path: wal.clone(),
            problem: format!(
                "ends at lsn {last_lsn}, before the snapshot's series at lsn {}",
                replay.max_section_lsn
            ),
        });
    }
    // Each series touched by the log gets its last score once.
    for (id, dirty) in replay.dirty.iter().enumerate() {
        if *dirty {
            shards.update(replay.locations[id], |e| {
                e.last_probability = e.detector.eval();
            });
        }
    }
    replay.summary.truncated_bytes = file_len.saturating_sub(valid_len);
    replay.summary.series = replay.locations.len() as u64;
    let log = match predecessor {
        Some(snap) => {
            replay.summary.finished_compaction = true;
            create_log(
                storage,
                paths,
                &dir_id,
                snap.generation,
                snap.base_lsn,
                (&tail, last_lsn),
                policy,
            )?
        }
        None => {
            let mut file = storage
                .open_append(wal)
                .map_err(|e| Error::io("open for appending", wal, e))?;
            if file_len != valid_len {
                file.set_len(valid_len)
                    .map_err(|e| Error::io("truncate the torn tail of", wal, e))?;
                file.sync_data().map_err(|e| Error::io("fsync", wal, e))?;
            }
            LogWriter::new(
                wal.clone(),
                file,
                identity.generation,
                identity.base_lsn,
                valid_len,
                last_lsn,
                policy,
            )
        }
    };
    replay.summary.elapsed = started.elapsed();
    Ok(Opened {
        dir_id,
        log,
        locations: replay.locations,
        lock,
        summary: replay.summary,
        confs: replay.confs,
    })
}

/// Writes a log of `generation` with `base_lsn` holding `records` (whole
/// records, consecutive from `base_lsn + 1`, the last at `last_lsn`) under
/// the staging name and fsyncs it; [`install_log`] renames it into place.
pub(crate) fn stage_log(
    storage: &dyn Storage,
    paths: &Paths,
    dir_id: &DirectoryId,
    generation: u64,
    base_lsn: u64,
    (records, last_lsn): (&[u8], u64),
    policy: SyncPolicy,
) -> Result<LogWriter> {
    let tmp = &paths.wal_tmp;
    if storage
        .len(tmp)
        .map_err(|e| Error::io("stat", tmp, e))?
        .is_some()
    {
        storage
            .remove_file(tmp)
            .map_err(|e| Error::io("remove", tmp, e))?;
    }
    let mut file = storage
        .create_new(tmp)
        .map_err(|e| Error::io("create", tmp, e))?;
    let header = codec::encode_wal_header(dir_id, generation, base_lsn);
    let mut bytes = Vec::with_capacity(header.len() + records.len());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(records);
    let staged = file
        .append(&bytes)
        .map_err(|e| Error::io("write", tmp, e))
        .and_then(|()| file.sync_data().map_err(|e| Error::io("fsync", tmp, e)));
    if let Err(e) = staged {
        let _ = storage.remove_file(tmp);
        return Err(e);
    }
    Ok(LogWriter::new(
        paths.wal.clone(),
        file,
        generation,
        base_lsn,
        bytes.len() as u64,
        last_lsn.max(base_lsn),
        policy,
    ))
}

/// Renames the staged log over the log and fsyncs the directory.
pub(crate) fn install_log(storage: &dyn Storage, paths: &Paths) -> Result<()> {
    storage
        .rename(&paths.wal_tmp, &paths.wal)
        .map_err(|e| Error::io("rename the new log into", &paths.wal, e))?;
    storage
        .sync_dir(&paths.dir)
        .map_err(|e| Error::io("fsync directory", &paths.dir, e))
}

/// [`stage_log`] then [`install_log`].
fn create_log(
    storage: &dyn Storage,
    paths: &Paths,
    dir_id: &DirectoryId,
    generation: u64,
    base_lsn: u64,
    records: (&[u8], u64),
    policy: SyncPolicy,
) -> Result<LogWriter> {
    let log = stage_log(
        storage, paths, dir_id, generation, base_lsn, records, policy,
    )?;
    install_log(storage, paths)?;
    Ok(log)
}
