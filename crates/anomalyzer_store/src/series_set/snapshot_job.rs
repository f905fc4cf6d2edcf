//! Incremental snapshots: never stop-the-world over a million series.
//!
//! A snapshot *starts* at the log's last LSN `B` with the `n` series that
//! exist then: the header (generation `G + 1`, base `B`, LSN `B`, `n`
//! sections) goes to `anomalyzer.snap.tmp`. Between two groups the
//! committer writes the next slice of sections, each at its series' own
//! LSN, while ingest goes on; every record logged meanwhile (all above
//! `B`) is also kept as the *tail*. A section holds its series' records up
//! to its LSN, and every later record of it is in the tail, so the tail is
//! exactly the next generation's log.
//!
//! *Finishing* (between two groups, in this order): fsync the staged
//! snapshot; fsync the log; write the next log (header `G + 1`, base `B`,
//! the tail) as `anomalyzer.wal.tmp` and fsync it; rename the snapshot
//! into place and fsync the directory; rename the next log over
//! `anomalyzer.wal` and fsync the directory. A crash before the
//! snapshot's rename leaves the old snapshot and log; after it, the new
//! snapshot with the old log (its predecessor, which holds every record),
//! and recovery writes the new log itself. The old log is dropped only
//! once the new snapshot is durable.

use super::conf_cache::ConfCache;
use super::log::LogWriter;
use super::recovery::{install_log, stage_log};
use super::sections::encode_entry;
use super::shards::{Location, Shards};
use crate::codec::{self, DirectoryId};
use crate::paths::Paths;
use crate::storage::{Storage, StorageFile};
use crate::{Error, Result};

/// A snapshot being written.
#[derive(Debug)]
pub(crate) struct SnapshotJob {
    file: Box<dyn StorageFile>,
    next: u32,
    end: u32,
    base_lsn: u64,
    generation: u64,
    /// Every record logged since the start.
    pub tail: Vec<u8>,
    buf: Vec<u8>,
}

/// Why finishing failed, and whether the store can go on.
#[derive(Debug)]
pub(crate) enum FinishFailure {
    /// Nothing changed on disk that matters: the old snapshot and log hold.
    Abandoned(Error),
    /// The log's fsync failed, or the snapshot was renamed into place but
    /// a later step failed: what is on disk is unknown until a restart.
    Fatal(Error),
}

impl SnapshotJob {
    /// Starts a snapshot of the `count` series that exist, at the end of
    /// `log`.
    pub(crate) fn start(
        storage: &dyn Storage,
        paths: &Paths,
        dir_id: &DirectoryId,
        log: &LogWriter,
        count: u32,
    ) -> Result<Self> {
        let tmp = &paths.snap_tmp;
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
        let base_lsn = log.last_lsn();
        let generation = log.generation + 1;
        let header = codec::encode_snapshot_header(dir_id, count, generation, base_lsn, base_lsn);
        if let Err(e) = file.append(&header) {
            let _ = storage.remove_file(tmp);
            return Err(Error::io("write snapshot to", tmp, e));
        }
        Ok(SnapshotJob {
            file,
            next: 0,
            end: count,
            base_lsn,
            generation,
            tail: Vec::new(),
            buf: Vec::new(),
        })
    }

    /// Writes the next `slice` sections; true when all are written.
    pub(crate) fn step(
        &mut self,
        paths: &Paths,
        shards: &Shards,
        locations: &[Location],
        confs: &mut ConfCache,
        slice: usize,
    ) -> Result<bool> {
        let stop = self.end.min(self.next.saturating_add(slice.max(1) as u32));
        self.buf.clear();
        for id in self.next..stop {
            shards.inspect(locations[id as usize], |e| {
                let (_, json) = confs.canonical(e.detector.shared_conf());
                encode_entry(&mut self.buf, e, &json);
            });
        }
        self.file
            .append(&self.buf)
            .map_err(|e| Error::io("write snapshot to", &paths.snap_tmp, e))?;
        self.next = stop;
        Ok(self.next == self.end)
    }

    /// Removes the staging file after a failure (best effort).
    pub(crate) fn abandon(self, storage: &dyn Storage, paths: &Paths) {
        drop(self.file);
        let _ = storage.remove_file(&paths.snap_tmp);
    }

    /// Makes the snapshot current and returns the next generation's log
    /// (see the module documentation for the order).
    pub(crate) fn finish(
        mut self,
        storage: &dyn Storage,
        paths: &Paths,
        dir_id: &DirectoryId,
        log: &mut LogWriter,
        on_fsync: &dyn Fn(std::time::Duration),
    ) -> std::result::Result<LogWriter, FinishFailure> {
        debug_assert_eq!(self.next, self.end);
        let abandon = |e: Error, job: SnapshotJob| {
            job.abandon(storage, paths);
            FinishFailure::Abandoned(e)
        };
        if let Err(e) = self.file.sync_data() {
            return Err(abandon(Error::io("fsync", &paths.snap_tmp, e), self));
        }
        match log.sync() {
            Ok(Some(took)) => on_fsync(took),
            Ok(None) => {}
            Err(e) => {
                self.abandon(storage, paths);
                return Err(FinishFailure::Fatal(Error::Poisoned {
                    cause: format!("{e:?}"),
                }));
            }
        }
        let tail = std::mem::take(&mut self.tail);
        let next = match stage_log(
            storage,
            paths,
            dir_id,
            self.generation,
            self.base_lsn,
            (&tail, log.last_lsn()),
            log.policy(),
        ) {
            Ok(next) => next,
            Err(e) => return Err(abandon(e, self)),
        };
        drop(self.file);
        if let Err(e) = storage.rename(&paths.snap_tmp, &paths.snap) {
            let _ = storage.remove_file(&paths.snap_tmp);
            let _ = storage.remove_file(&paths.wal_tmp);
            return Err(FinishFailure::Abandoned(Error::io(
                "rename snapshot into",
                &paths.snap,
                e,
            )));
        }
        let installed = storage
            .sync_dir(&paths.dir)
            .map_err(|e| Error::io("fsync directory", &paths.dir, e))
            .and_then(|()| install_log(storage, paths));
        match installed {
            Ok(()) => Ok(next),
            Err(e) => Err(FinishFailure::Fatal(e)),
        }
    }
}
