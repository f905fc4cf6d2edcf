//! Compaction: a snapshot and the switch to the next log generation, in
//! the crash-safe order `docs/format.md` describes; and the undoing of what
//! a refused open created.

use std::collections::VecDeque;
use std::path::PathBuf;

use anomalyzer_ts::{AnomalyzerConf, RobustParts};

use crate::codec::DirectoryId;
use crate::paths::Paths;
use crate::snapshot::{self, SnapshotMeta};
use crate::storage::Storage;
use crate::wal::{WalFailure, WalWriter};
use crate::{Error, SyncPolicy};

/// A failed switch to the next log generation; `poison` when what the
/// device holds is no longer known (a failed fsync).
pub(crate) struct SwitchFailure {
    pub error: Error,
    pub poison: bool,
}

/// The state a snapshot is written from.
pub(crate) struct SnapshotState<'a> {
    pub dir_id: &'a DirectoryId,
    pub conf: &'a AnomalyzerConf,
    pub push_count: u64,
    pub window: &'a VecDeque<f64>,
    /// The robust pipeline's state, for a configuration with robust tests.
    pub robust: Option<&'a RobustParts>,
    pub lsn: u64,
}

/// Compaction: writes a snapshot of `state` that expects log generation
/// `next_gen` (starting after `state.lsn`), then puts that log in place.
///
/// Order: sync the old log (so, as the snapshot's predecessor, it reaches
/// the snapshot's LSN even after a power cut); write the next log as
/// `anomalyzer.wal.tmp` and fsync it; write the snapshot atomically; rename
/// the next log over `anomalyzer.wal`; fsync the directory. A crash before
/// the snapshot's rename leaves the old pair; after it, the new snapshot
/// with its predecessor log, which recovery accepts; after the log's
/// rename, the new pair.
pub(crate) fn switch_generation(
    s: &dyn Storage,
    paths: &Paths,
    state: &SnapshotState<'_>,
    old: Option<&mut WalWriter>,
    next_gen: u64,
    policy: SyncPolicy,
) -> std::result::Result<WalWriter, SwitchFailure> {
    let keep = |error| SwitchFailure {
        error,
        poison: false,
    };
    if let Some(old) = old {
        if old.has_unsynced() {
            old.sync().map_err(|f| match f {
                WalFailure::Sync(e) | WalFailure::Append(e) | WalFailure::Rollback(e) => {
                    SwitchFailure {
                        error: Error::io("fsync", &old.path, e),
                        poison: true,
                    }
                }
            })?;
        }
    }
    let tmp = &paths.wal_tmp;
    let mut next =
        WalWriter::create_staged(s, tmp.clone(), state.dir_id, next_gen, state.lsn, policy)
            .map_err(|(op, e)| {
                let error = Error::io(op, tmp, e);
                if !matches!(error, Error::NotRegularFile { .. }) {
                    let _ = s.remove_file(tmp);
                }
                keep(error)
            })?;
    let meta = SnapshotMeta {
        dir_id: Some(*state.dir_id),
        log_generation: next_gen,
        log_base_lsn: state.lsn,
        lsn: state.lsn,
    };
    let (a, b) = state.window.as_slices();
    let mut values = Vec::with_capacity(state.window.len());
    values.extend_from_slice(a);
    values.extend_from_slice(b);
    let bytes = snapshot::encode(
        &meta,
        state.dir_id,
        state.conf,
        state.push_count,
        &values,
        state.robust,
    );
    if let Err(error) = snapshot::write(s, paths, &bytes) {
        let _ = s.remove_file(tmp);
        // After a failed directory fsync the rename's fate is unknown; a
        // failed fsync of the staging file only discards that file.
        let poison = matches!(&error, Error::Io { op, .. } if *op == "fsync directory");
        return Err(SwitchFailure { error, poison });
    }
    if let Err(e) = s.rename(tmp, &paths.wal) {
        // The old log stays in place, and the new snapshot accepts it as
        // its predecessor: appending to it is still safe.
        let _ = s.remove_file(tmp);
        return Err(keep(Error::io("rename the next log into", &paths.wal, e)));
    }
    s.sync_dir(&paths.dir).map_err(|e| SwitchFailure {
        error: Error::io("fsync directory", &paths.dir, e),
        poison: true,
    })?;
    next.path = paths.wal.clone();
    next.snapshot_made_durable();
    Ok(next)
}

/// What [`PersistenceManager::open_in`](crate::PersistenceManager::open_in) created, so a refused open can
/// remove exactly that.
#[derive(Debug)]
pub(crate) struct Created {
    pub dirs: Vec<PathBuf>,
    pub lock_file: bool,
}

impl Created {
    /// Removes what this open created (never anything else): in a directory
    /// it created, the files it wrote; the lock file it created; the
    /// directories, deepest first, if empty. Best effort: the open already
    /// failed, and its error is what the caller needs to see.
    pub(crate) fn undo(&self, s: &dyn Storage, paths: &Paths) {
        if !self.dirs.is_empty() {
            for f in [&paths.snap, &paths.snap_tmp, &paths.wal, &paths.wal_tmp] {
                let _ = s.remove_file(f);
            }
        }
        if self.lock_file || !self.dirs.is_empty() {
            let _ = s.remove_file(&paths.lock);
        }
        for d in &self.dirs {
            let _ = s.remove_dir(d);
        }
    }
}
