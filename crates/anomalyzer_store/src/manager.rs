//! [`PersistenceManager`]: the write-ahead log and snapshots of one
//! directory, with the recovered state it keeps in step.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf};

use crate::paths::Paths;
use crate::recovery::{self, Recovered};
use crate::storage::{DirLock, FsStorage, Storage};
use crate::wal::{WalFailure, WalWriter};
use crate::{
    lock, snapshot, Error, OnConfMismatch, RecoveryReport, Result, StoreOptions, SyncPolicy,
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
    conf: Arc<AnomalyzerConf>,
    wal: WalWriter,
    window: VecDeque<f64>,
    push_count: u64,
    snapshot_lsn: u64,
    options: StoreOptions,
    report: RecoveryReport,
    compaction_error: Option<String>,
    poisoned: Option<String>,
    // Declared last: released after everything else is dropped.
    _lock: Box<dyn DirLock>,
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
        storage
            .create_dir_all(dir)
            .map_err(|e| Error::io("create directory", dir, e))?;
        let lock = lock::acquire(&*storage, &paths.lock)?;
        let found = recovery::recover(&*storage, &paths, options.recovery)?;
        let s = &*storage;
        let Some(found) = found else {
            let conf = conf.ok_or_else(|| Error::NoState {
                path: dir.to_owned(),
            })?;
            // Snapshot (with the configuration) first, its entry synced,
            // then the log: a log without a snapshot is damage.
            snapshot::write(s, &paths, &conf, 0, 0, &[])?;
            let wal = WalWriter::create(s, paths.wal.clone(), 0, options.sync)
                .map_err(|e| Error::io("create", &paths.wal, e))?;
            s.sync_dir(dir)
                .map_err(|e| Error::io("fsync directory", dir, e))?;
            let capacity = conf.window_capacity();
            return Ok(PersistenceManager {
                storage,
                paths,
                conf: Arc::new(conf),
                wal,
                window: VecDeque::with_capacity(capacity),
                push_count: 0,
                snapshot_lsn: 0,
                options,
                report: RecoveryReport::default(),
                compaction_error: None,
                poisoned: None,
                _lock: lock,
            });
        };
        let Recovered {
            conf: stored,
            push_count,
            mut window,
            wal_valid_len,
            report,
        } = found;
        let mut must_compact = report.salvaged_bytes > 0;
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
        let last_lsn = report.last_lsn;
        let wal = match wal_valid_len {
            Some(valid) => WalWriter::open(
                s,
                paths.wal.clone(),
                valid,
                report.wal_bytes,
                last_lsn,
                options.sync,
            )
            .map_err(|e| Error::io("truncate the torn tail of", &paths.wal, e))?,
            None => {
                let wal = WalWriter::create(s, paths.wal.clone(), last_lsn, options.sync)
                    .map_err(|e| Error::io("create", &paths.wal, e))?;
                s.sync_dir(dir)
                    .map_err(|e| Error::io("fsync directory", dir, e))?;
                wal
            }
        };
        // A staging file left by a crash mid-snapshot is never read.
        if s.len(&paths.snap_tmp).ok().flatten().is_some() {
            s.remove_file(&paths.snap_tmp)
                .map_err(|e| Error::io("remove", &paths.snap_tmp, e))?;
        }
        let mut manager = PersistenceManager {
            storage,
            paths,
            conf: Arc::new(conf),
            wal,
            window,
            push_count,
            snapshot_lsn: report.snapshot_lsn,
            options,
            report,
            compaction_error: None,
            poisoned: None,
            _lock: lock,
        };
        if must_compact {
            manager.compact()?;
        }
        Ok(manager)
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
            WalFailure::Truncate(e) => self.poison(Error::io("truncate", path, e)),
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
            if let Err(e) = self.compact() {
                self.compaction_error = Some(e.to_string());
            }
        }
        Ok(lsn)
    }

    /// Writes a snapshot of the current state and empties the log: staging
    /// file, fsync, rename, directory fsync, then log truncation and fsync.
    /// A crash at any step loses nothing (replay skips records the snapshot
    /// holds).
    ///
    /// # Errors
    /// [`Error::Io`] (a failed fsync also poisons the writer);
    /// [`Error::Poisoned`].
    pub fn compact(&mut self) -> Result<()> {
        self.check_poisoned()?;
        let (a, b) = self.window.as_slices();
        let mut values = Vec::with_capacity(self.window.len());
        values.extend_from_slice(a);
        values.extend_from_slice(b);
        let lsn = self.wal.last_lsn();
        if let Err(e) = snapshot::write(
            &*self.storage,
            &self.paths,
            &self.conf,
            lsn,
            self.push_count,
            &values,
        ) {
            return Err(match &e {
                Error::Io { op, .. } if op.starts_with("fsync") => self.poison(e),
                _ => e,
            });
        }
        self.wal.snapshot_made_durable();
        self.snapshot_lsn = lsn;
        self.compaction_error = None;
        self.wal.truncate_all().map_err(|f| self.wal_error(f))
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

    /// Why the last automatic snapshot failed, until one succeeds.
    #[must_use]
    pub fn last_compaction_error(&self) -> Option<&str> {
        self.compaction_error.as_deref()
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

/// Serde names of the fields in which two configurations differ (empty if
/// they are equal), as listed by [`Error::ConfigMismatch`].
///
/// ```
/// use anomalyzer_ts::AnomalyzerConf;
/// let a = AnomalyzerConf::builder().active_size(1).build()?;
/// let b = a.to_builder().perm_count(50).seed(7).build()?;
/// assert_eq!(anomalyzer_store::conf_differences(&a, &b), ["perm_count", "seed"]);
/// # Ok::<(), anomalyzer_ts::Error>(())
/// ```
#[must_use]
pub fn conf_differences(a: &AnomalyzerConf, b: &AnomalyzerConf) -> Vec<&'static str> {
    let (a, b) = (a.to_builder(), b.to_builder());
    let mut fields = Vec::new();
    let mut check = |name, differs: bool| {
        if differs {
            fields.push(name);
        }
    };
    check("methods", a.methods != b.methods);
    check("active_size", a.active_size != b.active_size);
    check("n_seasons", a.n_seasons != b.n_seasons);
    check("perm_count", a.perm_count != b.perm_count);
    check(
        "sensitivity",
        a.sensitivity.to_bits() != b.sensitivity.to_bits(),
    );
    check(
        "upper_bound",
        a.upper_bound.map(f64::to_bits) != b.upper_bound.map(f64::to_bits),
    );
    check(
        "lower_bound",
        a.lower_bound.map(f64::to_bits) != b.lower_bound.map(f64::to_bits),
    );
    check("delay", a.delay != b.delay);
    check("seed", a.seed != b.seed);
    check("exact_ranks", a.exact_ranks != b.exact_ranks);
    fields
}
