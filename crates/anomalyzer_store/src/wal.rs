//! The write-ahead log's writer: append a record, sync it per policy.
//! A compaction does not truncate the log: it prepares the next
//! generation's log beside it and renames it into place.
//!
//! The writer keeps the length of the log's valid prefix. A failed append
//! is rolled back to it (`set_len`), so a disk that fills up mid-record
//! never leaves garbage that later records would land after. Errors are
//! returned as they are; the [`PersistenceManager`](crate::PersistenceManager)
//! decides which ones poison it.

use std::io;
use std::path::PathBuf;
use std::time::Instant;

use crate::codec::{self, DirectoryId, WAL_HEADER_LEN};
use crate::record;
use crate::storage::{Storage, StorageFile};
use crate::SyncPolicy;

/// Which operation of the writer failed.
#[derive(Debug)]
pub(crate) enum WalFailure {
    /// The append failed and was rolled back: the log is as before.
    Append(io::Error),
    /// The append failed and so did its rollback: the log's end is unknown.
    Rollback(io::Error),
    /// fdatasync failed: what the device holds is unknown.
    Sync(io::Error),
}

#[derive(Debug)]
pub(crate) struct WalWriter {
    pub path: PathBuf,
    /// Generation of this log (0: a version-1 log).
    pub generation: u64,
    file: Box<dyn StorageFile>,
    len: u64,
    last_lsn: u64,
    durable_lsn: u64,
    unsynced: u64,
    last_sync: Instant,
    policy: SyncPolicy,
}

/// Which step of opening or creating a log failed, for the error message.
pub(crate) type OpenFailure = (&'static str, io::Error);

impl WalWriter {
    /// Creates the log of `generation` (header only: directory id,
    /// generation, `base_lsn`) at `path` with `O_EXCL`, fsynced; a stale
    /// file there is removed first. The caller renames it into place and
    /// fsyncs the directory.
    pub(crate) fn create_staged(
        storage: &dyn Storage,
        path: PathBuf,
        dir_id: &DirectoryId,
        generation: u64,
        base_lsn: u64,
        policy: SyncPolicy,
    ) -> Result<Self, OpenFailure> {
        if storage.len(&path).map_err(|e| ("stat", e))?.is_some() {
            storage.remove_file(&path).map_err(|e| ("remove", e))?;
        }
        let mut file = storage.create_new(&path).map_err(|e| ("create", e))?;
        file.append(&codec::encode_wal_header(dir_id, generation, base_lsn))
            .map_err(|e| ("write the header of", e))?;
        file.sync_data().map_err(|e| ("fsync", e))?;
        let mut w = Self::with_file(path, file, WAL_HEADER_LEN as u64, base_lsn, policy);
        w.generation = generation;
        Ok(w)
    }

    /// Opens an existing log of `generation` whose valid prefix is
    /// `valid_len` bytes (with `file_len` bytes on disk): a longer file is
    /// truncated to the prefix and fsynced before anything is appended.
    pub(crate) fn open(
        storage: &dyn Storage,
        path: PathBuf,
        generation: u64,
        valid_len: u64,
        file_len: u64,
        last_lsn: u64,
        policy: SyncPolicy,
    ) -> Result<Self, OpenFailure> {
        let mut file = storage
            .open_append(&path)
            .map_err(|e| ("open for appending", e))?;
        if file_len != valid_len {
            file.set_len(valid_len)
                .map_err(|e| ("truncate the torn tail of", e))?;
            file.sync_data().map_err(|e| ("fsync", e))?;
        }
        let mut w = Self::with_file(path, file, valid_len, last_lsn, policy);
        w.generation = generation;
        Ok(w)
    }

    fn with_file(
        path: PathBuf,
        file: Box<dyn StorageFile>,
        len: u64,
        last_lsn: u64,
        policy: SyncPolicy,
    ) -> Self {
        WalWriter {
            path,
            generation: 0,
            file,
            len,
            last_lsn,
            durable_lsn: last_lsn,
            unsynced: 0,
            last_sync: Instant::now(),
            policy,
        }
    }

    /// Appends a push record with the next LSN and syncs if the policy says
    /// so. Returns the record's LSN.
    pub(crate) fn append_push(&mut self, value: f64) -> Result<u64, WalFailure> {
        // Recovery refuses LSNs above 2^62, so this cannot overflow.
        let lsn = self.last_lsn + 1;
        let record = record::encode_push(lsn, value);
        if let Err(e) = self.file.append(&record) {
            // Cut off whatever part of the record was written, so the next
            // record does not land after garbage.
            if self.file.size().is_ok_and(|len| len == self.len) {
                return Err(WalFailure::Append(e));
            }
            return Err(match self.file.set_len(self.len) {
                Ok(()) => WalFailure::Append(e),
                Err(rollback) => WalFailure::Rollback(io::Error::new(
                    rollback.kind(),
                    format!("{e}; rolling back the partial record also failed: {rollback}"),
                )),
            });
        }
        self.len += record.len() as u64;
        self.last_lsn = lsn;
        self.unsynced += 1;
        if self.policy.due(self.unsynced, self.last_sync.elapsed()) {
            self.sync()?;
        }
        Ok(lsn)
    }

    /// fdatasync if anything is unsynced.
    pub(crate) fn sync(&mut self) -> Result<(), WalFailure> {
        if self.unsynced > 0 {
            self.file.sync_data().map_err(WalFailure::Sync)?;
        }
        self.mark_synced();
        Ok(())
    }

    /// Syncs if the policy's interval has passed; true if it synced.
    pub(crate) fn sync_if_due(&mut self) -> Result<bool, WalFailure> {
        if self.policy.due(self.unsynced, self.last_sync.elapsed()) {
            self.sync()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn mark_synced(&mut self) {
        self.unsynced = 0;
        self.durable_lsn = self.last_lsn;
        self.last_sync = Instant::now();
    }

    /// Called once a snapshot holding every record is durable.
    pub(crate) fn snapshot_made_durable(&mut self) {
        self.mark_synced();
    }

    /// True if records were appended since the last sync.
    pub(crate) fn has_unsynced(&self) -> bool {
        self.unsynced > 0
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn last_lsn(&self) -> u64 {
        self.last_lsn
    }

    pub(crate) fn durable_lsn(&self) -> u64 {
        self.durable_lsn
    }

    pub(crate) fn policy(&self) -> SyncPolicy {
        self.policy
    }
}
