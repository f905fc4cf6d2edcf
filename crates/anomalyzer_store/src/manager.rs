//! [`PersistenceManager`]: the write-ahead log and snapshots of one
//! directory, with the recovered state it keeps in step.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf};

mod open;

use crate::codec::DirectoryId;
use crate::compaction::{switch_generation, Created, SnapshotState, SwitchFailure};
use crate::paths::Paths;
use crate::storage::{DirLock, FsStorage, Storage};
use crate::wal::{WalFailure, WalWriter};
use crate::{Error, RecoveryReport, Result, StoreOptions, SyncPolicy};

/// The durable state of one detector: a write-ahead log of every push and a
/// snapshot of the window, in a directory this value holds locked.
///
/// It mirrors the detector's state (window of `A + R` values, push count,
/// LSN; for a configuration with robust tests, the whole detector, whose
/// histories go into the snapshot's detector-state field) so it can write
/// snapshots on its own. Most callers want
/// [`DurableAnomalyzer`](crate::DurableAnomalyzer), which pairs it with the
/// detector so that no push can skip the log.
///
/// ```
/// use anomalyzer_store::{PersistenceManager, StoreOptions};
/// use anomalyzer_ts::AnomalyzerConf;
///
/// let dir = tempfile::tempdir()?;
/// let conf = AnomalyzerConf::builder().active_size(1).build()?;
/// let mut store = PersistenceManager::open(dir.path(), Some(conf), StoreOptions::default())?;
/// let mut detector = store.recover()?;
/// for x in [1.0, 2.0, 3.0] {
///     anomalyzer_ts::Anomalyzer::check_value(x)?; // validate,
///     store.record_push(x)?;                      // log,
///     detector.push(x)?;                          // apply.
/// }
/// assert_eq!(store.last_lsn(), 3);
/// drop(store);
///
/// let store = PersistenceManager::open(dir.path(), None, StoreOptions::default())?;
/// assert_eq!(store.recover()?.window().collect::<Vec<_>>(), [1.0, 2.0, 3.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PersistenceManager {
    storage: Arc<dyn Storage>,
    paths: Paths,
    dir_id: DirectoryId,
    conf: Arc<AnomalyzerConf>,
    wal: WalWriter,
    window: VecDeque<f64>,
    /// With robust tests: a detector kept in step, for its robust state.
    robust: Option<Anomalyzer>,
    push_count: u64,
    snapshot_lsn: u64,
    options: StoreOptions,
    report: RecoveryReport,
    compaction_error: Option<String>,
    compaction_failures: u64,
    poisoned: Option<String>,
    /// What this manager's open created (undone by `abandon`).
    created: Created,
    // Declared last: released after everything else is dropped.
    lock: Box<dyn DirLock>,
}

impl PersistenceManager {
    /// Opens (or creates) the state directory `dir` on the real file system:
    /// takes its lock, recovers its state, truncates a torn tail.
    ///
    /// `conf` is required for a new directory; for an existing one it is
    /// checked against the stored configuration (see
    /// [`OnConfMismatch`](crate::OnConfMismatch)), and `None` means "use the stored one".
    ///
    /// # Errors
    /// [`Error::Locked`] if another writer holds the directory;
    /// [`Error::NoState`] for a new directory without `conf`;
    /// [`Error::ConfigMismatch`]; corruption ([`Error::is_corruption`]);
    /// [`Error::Io`].
    pub fn open(
        dir: impl AsRef<Path>,
        conf: Option<AnomalyzerConf>,
        options: StoreOptions,
    ) -> Result<Self> {
        Self::open_in(Arc::new(FsStorage), dir.as_ref(), conf, options)
    }

    /// A detector in the recovered state (window, push count and, with
    /// robust tests, their histories), which continues bit-identically to
    /// one that never stopped.
    ///
    /// # Errors
    /// Only if the state is inconsistent, which recovery already rules out.
    pub fn recover(&self) -> Result<Anomalyzer> {
        if let Some(d) = &self.robust {
            return Ok(d.clone());
        }
        let (a, b) = self.window.as_slices();
        let mut values = Vec::with_capacity(self.window.len());
        values.extend_from_slice(a);
        values.extend_from_slice(b);
        Ok(Anomalyzer::from_parts(
            Arc::clone(&self.conf),
            &values,
            self.push_count,
        )?)
    }

    /// The detector kept in step for a configuration with robust tests.
    pub(crate) fn mirror(&self) -> Option<&Anomalyzer> {
        self.robust.as_ref()
    }

    fn check_poisoned(&self) -> Result<()> {
        match &self.poisoned {
            Some(cause) => Err(Error::Poisoned {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    fn poison(&mut self, err: Error) -> Error {
        self.poisoned = Some(err.to_string());
        err
    }

    fn wal_error(&mut self, failure: WalFailure) -> Error {
        let path = self.wal.path.clone();
        match failure {
            WalFailure::Append(e) => Error::io("append to", path, e),
            WalFailure::Rollback(e) => self.poison(Error::io("append to", path, e)),
            WalFailure::Sync(e) => self.poison(Error::io("fsync", path, e)),
        }
    }

    /// Logs one push of `value` (which the caller has validated with
    /// [`Anomalyzer::check_value`]) and returns its LSN; syncs per the
    /// policy, and writes a snapshot every `snapshot_interval` pushes. Call
    /// it before applying the value to the detector.
    ///
    /// On error nothing was logged (or, after a failed fsync, the writer is
    /// poisoned and the record's fate is unknown until reopened): do not
    /// apply the value. A failed automatic snapshot does not fail the push
    /// (the log still holds it); see
    /// [`last_compaction_error`](Self::last_compaction_error).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for NaN/±∞; [`Error::Io`]; [`Error::Poisoned`].
    pub fn record_push(&mut self, value: f64) -> Result<u64> {
        Anomalyzer::check_value(value)?;
        self.check_poisoned()?;
        let lsn = match self.wal.append_push(value) {
            Ok(lsn) => lsn,
            // A failed sync leaves the record written but maybe not
            // durable: poisoned, and not applied to the mirror either.
            Err(f) => return Err(self.wal_error(f)),
        };
        if self.window.len() == self.conf.window_capacity() {
            self.window.pop_front();
        }
        self.window.push_back(value);
        self.push_count += 1;
        if let Some(d) = &mut self.robust {
            // Checked above, so it cannot fail.
            d.update(&[value])?;
        }
        let pending = self.pending_wal_entries();
        if pending >= self.options.snapshot_interval
            && pending.is_multiple_of(self.options.snapshot_interval)
        {
            // A failed automatic snapshot does not fail the push (the log
            // holds it): it is recorded, shown by `inspect`, and retried
            // after the next `snapshot_interval` pushes.
            let _ = self.compact();
        }
        Ok(lsn)
    }

    /// Writes a snapshot of the current state and switches to a new log
    /// generation: the next log is prepared beside the current one, the
    /// snapshot written atomically, then the next log renamed into place
    /// (see `docs/format.md`). A crash at any step loses nothing and
    /// counts nothing twice.
    ///
    /// A failure is also kept for [`last_compaction_error`](Self::last_compaction_error)
    /// and written into the lock file, where `inspect` shows it.
    ///
    /// # Errors
    /// [`Error::Io`] (a failed fsync also poisons the writer);
    /// [`Error::NotRegularFile`] for a link or special file in the way;
    /// [`Error::Poisoned`].
    pub fn compact(&mut self) -> Result<()> {
        self.check_poisoned()?;
        let robust = self.robust.as_ref().and_then(|d| d.state().robust);
        let state = SnapshotState {
            dir_id: &self.dir_id,
            conf: &self.conf,
            push_count: self.push_count,
            window: &self.window,
            robust: robust.as_ref(),
            lsn: self.wal.last_lsn(),
        };
        let lsn = state.lsn;
        let next_gen = self.wal.generation + 1;
        let policy = self.wal.policy();
        match switch_generation(
            &*self.storage,
            &self.paths,
            &state,
            Some(&mut self.wal),
            next_gen,
            policy,
        ) {
            Ok(next) => {
                self.wal = next;
                self.snapshot_lsn = lsn;
                if self.compaction_error.take().is_some() {
                    self.write_lock_note();
                }
                Ok(())
            }
            Err(SwitchFailure { error, poison }) => {
                let error = if poison { self.poison(error) } else { error };
                self.compaction_failures += 1;
                self.compaction_error = Some(error.to_string());
                self.write_lock_note();
                Err(error)
            }
        }
    }

    /// The lock file's text: the holder, then the last failed snapshot.
    fn write_lock_note(&mut self) {
        let mut note = format!("pid {}", std::process::id());
        if let Some(e) = &self.compaction_error {
            note.push_str("\nlast_compaction_error: ");
            note.push_str(&e.replace('\n', " "));
        }
        // Informative only: the lock itself is what excludes.
        let _ = self.lock.write_note(&note);
    }

    /// fdatasync the log now if anything is unsynced (for `EveryN`,
    /// `Interval` and `Never`: a clean shutdown or an explicit checkpoint).
    ///
    /// # Errors
    /// [`Error::Io`] (poisons); [`Error::Poisoned`].
    pub fn sync(&mut self) -> Result<()> {
        self.check_poisoned()?;
        self.wal.sync().map_err(|f| self.wal_error(f))
    }

    /// Syncs if the policy's interval has passed (call from a timer under
    /// [`SyncPolicy::Interval`]); true if it synced.
    ///
    /// # Errors
    /// As [`sync`](Self::sync).
    pub fn sync_if_due(&mut self) -> Result<bool> {
        self.check_poisoned()?;
        self.wal.sync_if_due().map_err(|f| self.wal_error(f))
    }

    /// Size of the log in bytes (header included).
    #[must_use]
    pub fn wal_size_bytes(&self) -> u64 {
        self.wal.len()
    }

    /// Records in the log since the last snapshot.
    #[must_use]
    pub fn pending_wal_entries(&self) -> u64 {
        self.wal.last_lsn() - self.snapshot_lsn
    }

    /// Pushes between automatic snapshots.
    #[must_use]
    pub fn snapshot_interval(&self) -> u64 {
        self.options.snapshot_interval
    }

    /// LSN of the last push logged (0 before the first; the first is 1).
    #[must_use]
    pub fn last_lsn(&self) -> u64 {
        self.wal.last_lsn()
    }

    /// LSN up to which every push is on the device (survives power loss).
    #[must_use]
    pub fn durable_lsn(&self) -> u64 {
        self.wal.durable_lsn()
    }

    /// LSN held by the latest snapshot.
    #[must_use]
    pub fn snapshot_lsn(&self) -> u64 {
        self.snapshot_lsn
    }

    /// Values ever pushed (equals [`last_lsn`](Self::last_lsn) for a
    /// detector that started empty).
    #[must_use]
    pub fn push_count(&self) -> u64 {
        self.push_count
    }

    /// The configuration in force (stored in every snapshot).
    #[must_use]
    pub fn conf(&self) -> &Arc<AnomalyzerConf> {
        &self.conf
    }

    /// The sync policy.
    #[must_use]
    pub fn sync_policy(&self) -> SyncPolicy {
        self.wal.policy()
    }

    /// What recovery found when this manager was opened.
    #[must_use]
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    /// Why the last snapshot (automatic or explicit) failed, until one
    /// succeeds: the operation, the file and the OS error.
    #[must_use]
    pub fn last_compaction_error(&self) -> Option<&str> {
        self.compaction_error.as_deref()
    }

    /// Snapshots that failed since this manager was opened.
    #[must_use]
    pub fn compaction_failures(&self) -> u64 {
        self.compaction_failures
    }

    /// The directory's id (32 hex digits), in every header.
    #[must_use]
    pub fn directory_id(&self) -> String {
        crate::codec::id_hex(&self.dir_id)
    }

    /// The generation of the log being appended to.
    #[must_use]
    pub fn wal_generation(&self) -> u64 {
        self.wal.generation
    }

    /// Why the writer is poisoned, if it is.
    #[must_use]
    pub fn poisoned(&self) -> Option<&str> {
        self.poisoned.as_deref()
    }

    /// The state directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.paths.dir
    }

    /// Path of the log file.
    #[must_use]
    pub fn wal_path(&self) -> PathBuf {
        self.paths.wal.clone()
    }
}
