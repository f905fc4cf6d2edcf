//! [`PersistenceManager`]: the write-ahead log and snapshots of one
//! directory, with the recovered state it keeps in step.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf};

use crate::codec::DirectoryId;
use crate::paths::Paths;
use crate::recovery::{self, LogState, Recovered};
use crate::snapshot::{self, SnapshotMeta};
use crate::storage::{DirLock, FsStorage, Storage};
use crate::wal::{WalFailure, WalWriter};
use crate::{
    conf_differences, lock, Error, OnConfMismatch, RecoveryReport, Result, StoreOptions, SyncPolicy,
};

/// The durable state of one detector: a write-ahead log of every push and a
/// snapshot of the window, in a directory this value holds locked.
///
/// It mirrors the detector's state (window of `A + R` values, push count,
/// LSN) so it can write snapshots on its own. Most callers want
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
    push_count: u64,
    snapshot_lsn: u64,
    options: StoreOptions,
    report: RecoveryReport,
    compaction_error: Option<String>,
    compaction_failures: u64,
    poisoned: Option<String>,
    // Declared last: released after everything else is dropped.
    lock: Box<dyn DirLock>,
}

/// A failed switch to the next log generation; `poison` when what the
/// device holds is no longer known (a failed fsync).
struct SwitchFailure {
    error: Error,
    poison: bool,
}

/// The state a snapshot is written from.
struct SnapshotState<'a> {
    dir_id: &'a DirectoryId,
    conf: &'a AnomalyzerConf,
    push_count: u64,
    window: &'a VecDeque<f64>,
    lsn: u64,
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
fn switch_generation(
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
    let bytes = snapshot::encode(&meta, state.dir_id, state.conf, state.push_count, &values);
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

/// What [`PersistenceManager::open_in`] created, so a refused open can
/// remove exactly that.
struct Created {
    dirs: Vec<PathBuf>,
    lock_file: bool,
}

impl Created {
    /// Removes what this open created (never anything else): in a directory
    /// it created, the files it wrote; the lock file it created; the
    /// directories, deepest first, if empty. Best effort: the open already
    /// failed, and its error is what the caller needs to see.
    fn undo(&self, s: &dyn Storage, paths: &Paths) {
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

impl PersistenceManager {
    /// Opens (or creates) the state directory `dir` on the real file system:
    /// takes its lock, recovers its state, truncates a torn tail.
    ///
    /// `conf` is required for a new directory; for an existing one it is
    /// checked against the stored configuration (see
    /// [`OnConfMismatch`]), and `None` means "use the stored one".
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

    /// [`open`](Self::open) over any [`Storage`] (for fault injection).
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_in(
        storage: Arc<dyn Storage>,
        dir: &Path,
        conf: Option<AnomalyzerConf>,
        options: StoreOptions,
    ) -> Result<Self> {
        let paths = Paths::new(dir);
        let s = &*storage;
        let mut created = Created {
            dirs: Vec::new(),
            lock_file: false,
        };
        for a in dir.ancestors().filter(|a| !a.as_os_str().is_empty()) {
            if s.is_dir(a).map_err(|e| Error::io("stat", a, e))? {
                break;
            }
            created.dirs.push(a.to_owned());
        }
        if let Err(e) = s.create_dir_all(dir) {
            created.undo(s, &paths);
            return Err(Error::io("create directory", dir, e));
        }
        let acquired = match lock::acquire(s, &paths.lock) {
            Ok(a) => a,
            Err(e) => {
                created.undo(s, &paths);
                return Err(e);
            }
        };
        created.lock_file = acquired.created;
        let mut lock = Some(acquired.lock);
        let result = Self::open_locked(
            Arc::clone(&storage),
            paths.clone(),
            conf,
            options,
            &mut lock,
        );
        if result.is_err() {
            // Still holding the lock: nobody else can be using what goes.
            created.undo(s, &paths);
            drop(lock);
        }
        result
    }

    fn open_locked(
        storage: Arc<dyn Storage>,
        paths: Paths,
        conf: Option<AnomalyzerConf>,
        options: StoreOptions,
        lock: &mut Option<Box<dyn DirLock>>,
    ) -> Result<Self> {
        let s = &*storage;
        // Staging files are never read; one that is a link or a special
        // file is refused here rather than removed or written through.
        for tmp in [&paths.snap_tmp, &paths.wal_tmp] {
            s.len(tmp).map_err(|e| Error::io("stat", tmp, e))?;
        }
        let found = recovery::recover(s, &paths, options.recovery, false)?;
        let Some(found) = found else {
            let conf = conf.ok_or_else(|| Error::NoState {
                path: paths.dir.clone(),
            })?;
            let dir_id = s
                .new_directory_id()
                .map_err(|e| Error::io("draw a directory id for", &paths.dir, e))?;
            // Snapshot (with the configuration) first, its entry synced,
            // then the log: a log without a snapshot is damage.
            let window = VecDeque::with_capacity(conf.window_capacity());
            let state = SnapshotState {
                dir_id: &dir_id,
                conf: &conf,
                push_count: 0,
                window: &window,
                lsn: 0,
            };
            let wal =
                switch_generation(s, &paths, &state, None, 1, options.sync).map_err(|f| f.error)?;
            return Ok(Self::assemble(
                storage,
                paths,
                dir_id,
                conf,
                wal,
                window,
                0,
                0,
                options,
                RecoveryReport {
                    format_version: crate::FORMAT_VERSION,
                    directory_id: Some(crate::codec::id_hex(&dir_id)),
                    wal_generation: 1,
                    ..RecoveryReport::default()
                },
                lock,
            ));
        };
        let Recovered {
            snapshot_version,
            meta,
            conf: stored,
            push_count,
            mut window,
            log,
            mut must_compact,
            mut report,
        } = found;
        let conf = match conf {
            Some(given) if given != stored => match options.on_conf_mismatch {
                OnConfMismatch::Refuse => {
                    return Err(Error::ConfigMismatch {
                        path: paths.snap.clone(),
                        fields: conf_differences(&stored, &given),
                        stored: Box::new(stored),
                        given: Box::new(given),
                    })
                }
                OnConfMismatch::Adopt => {
                    must_compact = true;
                    let keep = window.len().saturating_sub(given.window_capacity());
                    window.drain(..keep);
                    given
                }
            },
            _ => stored,
        };
        // A version-1 directory gets its id now; the compaction below
        // converts it (see docs/format.md).
        let dir_id = match meta.dir_id {
            Some(id) => id,
            None => s
                .new_directory_id()
                .map_err(|e| Error::io("draw a directory id for", &paths.dir, e))?,
        };
        let last_lsn = report.last_lsn;
        let wal = match log {
            LogState::Usable {
                identity,
                valid_len,
                file_len,
            } => Some(
                WalWriter::open(
                    s,
                    paths.wal.clone(),
                    identity.generation,
                    valid_len,
                    file_len,
                    last_lsn,
                    options.sync,
                )
                .map_err(|(op, e)| Error::io(op, &paths.wal, e))?,
            ),
            // The log the snapshot expects was never created: create it.
            LogState::Missing if snapshot_version == 2 => {
                let state = SnapshotState {
                    dir_id: &dir_id,
                    conf: &conf,
                    push_count,
                    window: &window,
                    lsn: meta.lsn,
                };
                let mut w = WalWriter::create_staged(
                    s,
                    paths.wal_tmp.clone(),
                    state.dir_id,
                    meta.log_generation,
                    meta.log_base_lsn,
                    options.sync,
                )
                .map_err(|(op, e)| Error::io(op, &paths.wal_tmp, e))?;
                s.rename(&paths.wal_tmp, &paths.wal)
                    .map_err(|e| Error::io("rename the new log into", &paths.wal, e))?;
                s.sync_dir(&paths.dir)
                    .map_err(|e| Error::io("fsync directory", &paths.dir, e))?;
                w.path = paths.wal.clone();
                Some(w)
            }
            LogState::Missing | LogState::Replace => None,
        };
        // Staging files left by a crash mid-compaction are never read.
        for tmp in [&paths.snap_tmp, &paths.wal_tmp] {
            if s.len(tmp).map_err(|e| Error::io("stat", tmp, e))?.is_some() {
                s.remove_file(tmp)
                    .map_err(|e| Error::io("remove", tmp, e))?;
            }
        }
        let mut snapshot_lsn = meta.lsn;
        let wal = match wal {
            Some(w) => w,
            None => {
                snapshot_lsn = last_lsn;
                // No usable log: write the snapshot and a new log now.
                let next_gen = if snapshot_version == 1 {
                    1
                } else {
                    meta.log_generation.max(report.wal_generation) + 1
                };
                let state = SnapshotState {
                    dir_id: &dir_id,
                    conf: &conf,
                    push_count,
                    window: &window,
                    lsn: last_lsn,
                };
                must_compact = false;
                switch_generation(s, &paths, &state, None, next_gen, options.sync)
                    .map_err(|f| f.error)?
            }
        };
        report.wal_generation = wal.generation;
        let mut manager = Self::assemble(
            storage,
            paths,
            dir_id,
            conf,
            wal,
            window,
            push_count,
            snapshot_lsn,
            options,
            report,
            lock,
        );
        if must_compact {
            if let Err(e) = manager.compact() {
                *lock = Some(manager.lock);
                return Err(e);
            }
        }
        Ok(manager)
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        storage: Arc<dyn Storage>,
        paths: Paths,
        dir_id: DirectoryId,
        conf: AnomalyzerConf,
        wal: WalWriter,
        window: VecDeque<f64>,
        push_count: u64,
        snapshot_lsn: u64,
        options: StoreOptions,
        report: RecoveryReport,
        lock: &mut Option<Box<dyn DirLock>>,
    ) -> Self {
        PersistenceManager {
            storage,
            paths,
            dir_id,
            conf: Arc::new(conf),
            wal,
            window,
            push_count,
            snapshot_lsn,
            options,
            report,
            compaction_error: None,
            compaction_failures: 0,
            poisoned: None,
            // open_in put it there and nothing else takes it before this.
            lock: lock
                .take()
                .expect("the lock is held until the manager owns it"),
        }
    }

    /// A detector in the recovered state (window and push count), which
    /// continues bit-identically to one that never stopped.
    ///
    /// # Errors
    /// Only if the state is inconsistent, which recovery already rules out.
    pub fn recover(&self) -> Result<Anomalyzer> {
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
        let state = SnapshotState {
            dir_id: &self.dir_id,
            conf: &self.conf,
            push_count: self.push_count,
            window: &self.window,
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
