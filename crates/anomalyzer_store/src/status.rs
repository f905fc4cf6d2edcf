//! A read-only look at a state directory, for `anomalyzer inspect` and
//! monitoring: it takes no lock and modifies nothing.
//!
//! While a writer holds the lock (asked of the kernel, without taking it),
//! bytes after the last whole record are a record being written, not
//! damage: they are reported as ignored. A compaction racing the read can
//! pair a snapshot with a log it no longer expects; the read is then
//! retried a bounded number of times.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use anomalyzer_ts::AnomalyzerConf;

use crate::paths::Paths;
use crate::recovery;
use crate::storage::{FsStorage, Storage};
use crate::{Error, RecoveryMode, RecoveryReport, Result};

/// Attempts at a consistent read while a writer is active.
const LIVE_ATTEMPTS: u32 = 50;

/// What a state directory holds, as recovery would find it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StoreStatus {
    /// The on-disk format version of the snapshot (1 or 2).
    pub format_version: u32,
    /// The stored configuration.
    pub conf: AnomalyzerConf,
    /// Values ever pushed.
    pub push_count: u64,
    /// Values in the recovered window (at most `A + R`).
    pub window_len: usize,
    /// The recovered window, oldest first.
    pub window: Vec<f64>,
    /// What recovery found: `last_lsn`, `snapshot_lsn`, `wal_bytes`, torn
    /// tail, ...
    pub report: RecoveryReport,
    /// True if a writer holds the directory's lock right now.
    pub writer_active: bool,
    /// The lock file's first line (`pid N` of the last writer), if any.
    pub writer: Option<String>,
    /// The last failed snapshot the writer recorded in the lock file.
    pub last_compaction_error: Option<String>,
}

/// Reads the state of `dir` without locking or modifying it. A writer
/// running at the same time is fine: a record it is writing is reported as
/// [`RecoveryReport::ignored_tail_bytes`], never as damage.
///
/// # Errors
/// [`Error::MissingDirectory`] if `dir` does not exist;
/// [`Error::NoState`] if it holds no state; corruption as
/// [`RecoveryMode::TolerateTornTail`] reports it; [`Error::Io`].
pub fn inspect(dir: impl AsRef<Path>) -> Result<StoreStatus> {
    inspect_in(&FsStorage, dir.as_ref())
}

/// [`inspect`] over any [`Storage`].
///
/// # Errors
/// As [`inspect`].
pub fn inspect_in(storage: &dyn Storage, dir: &Path) -> Result<StoreStatus> {
    if !storage.is_dir(dir).map_err(|e| Error::io("stat", dir, e))? {
        return Err(Error::MissingDirectory {
            path: dir.to_owned(),
        });
    }
    let paths = Paths::new(dir);
    let mut attempt = 0;
    let held = || {
        storage
            .lock_held(&paths.lock)
            .map_err(|e| Error::io("stat", &paths.lock, e))
            .map(|h| h.unwrap_or(false))
    };
    let (found, writer_active) = loop {
        attempt += 1;
        let before = held()?;
        let read = recovery::recover(storage, &paths, RecoveryMode::TolerateTornTail, before);
        // A writer that started during the read may have been writing
        // what we read: read again, knowing it is there.
        let started = !before && held()?;
        let active = before || started;
        match read {
            Ok(_) if started && attempt < LIVE_ATTEMPTS => {}
            Ok(found) => break (found, active),
            Err(e) if active && e.is_corruption() && attempt < LIVE_ATTEMPTS => {
                // A compaction replaced the files between our reads.
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(e),
        }
    };
    let found = found.ok_or_else(|| Error::NoState {
        path: dir.to_owned(),
    })?;
    let note = read_lock_note(storage, &paths.lock)?;
    let mut lines = note.lines();
    let writer = lines.next().map(str::to_owned).filter(|s| !s.is_empty());
    let last_compaction_error = lines
        .find_map(|l| l.strip_prefix("last_compaction_error: "))
        .map(str::to_owned);
    let window: Vec<f64> = found.window.into_iter().collect();
    Ok(StoreStatus {
        format_version: found.report.format_version,
        conf: found.conf,
        push_count: found.push_count,
        window_len: window.len(),
        window,
        report: found.report,
        writer_active,
        writer,
        last_compaction_error,
    })
}

/// The lock file's text (at most 4 KiB), empty if there is none.
fn read_lock_note(storage: &dyn Storage, lock: &Path) -> Result<String> {
    let Some(src) = storage
        .open_read(lock)
        .map_err(|e| Error::io("open", lock, e))?
    else {
        return Ok(String::new());
    };
    let mut bytes = Vec::new();
    src.take(4096)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", lock, e))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
