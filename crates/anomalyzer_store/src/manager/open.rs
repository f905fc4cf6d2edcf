//! Opening a directory: lock, recover, create or convert, finish an
//! interrupted compaction, and undo what a refused open created.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf};

use super::PersistenceManager;
use crate::codec::DirectoryId;
use crate::compaction::{switch_generation, Created, SnapshotState};
use crate::paths::Paths;
use crate::recovery::{self, LogState, Recovered};
use crate::storage::{DirLock, Storage};
use crate::wal::WalWriter;
use crate::{
    conf_differences, detector_state, lock, Error, OnConfMismatch, RecoveryReport, Result,
    StoreOptions,
};

impl PersistenceManager {
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
        match result {
            Ok(mut manager) => {
                manager.created = created;
                Ok(manager)
            }
            Err(e) => {
                // Still holding the lock: nobody else can be using what goes.
                created.undo(s, &paths);
                drop(lock);
                Err(e)
            }
        }
    }

    /// Closes a store its caller refuses after looking at it (say, the
    /// stored configuration conflicts with what the user asked for): if
    /// nothing was pushed since the open, removes what the open created
    /// (the lock file, or a new directory), as a refused open does. After a
    /// push it only closes, keeping everything.
    pub fn abandon(self) {
        if self.wal.last_lsn() == self.report.last_lsn {
            self.created.undo(&*self.storage, &self.paths);
        }
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
            check_fits(&conf, &paths)?;
            let robust = robust_mirror(&conf)?;
            let parts = robust.as_ref().and_then(|d| d.state().robust);
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
                robust: parts.as_ref(),
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
                robust,
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
            mut robust,
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
                    check_fits(&given, &paths)?;
                    must_compact = true;
                    let keep = window.len().saturating_sub(given.window_capacity());
                    window.drain(..keep);
                    robust = adopt_robust(robust, &stored, &given, &window, push_count, &paths)?;
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
                let mut w = WalWriter::create_staged(
                    s,
                    paths.wal_tmp.clone(),
                    &dir_id,
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
                let parts = robust.as_ref().and_then(|d| d.state().robust);
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
                    robust: parts.as_ref(),
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
            robust,
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
        robust: Option<Anomalyzer>,
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
            robust,
            push_count,
            snapshot_lsn,
            options,
            report,
            compaction_error: None,
            compaction_failures: 0,
            poisoned: None,
            // open_in put it there and nothing else takes it before this.
            created: Created {
                dirs: Vec::new(),
                lock_file: false,
            },
            lock: lock
                .take()
                .expect("the lock is held until the manager owns it"),
        }
    }
}

/// Refuses a configuration whose robust state could outgrow a snapshot.
fn check_fits(conf: &AnomalyzerConf, paths: &Paths) -> Result<()> {
    detector_state::check_fits(conf).map_err(|reason| Error::StateTooLarge {
        path: paths.dir.clone(),
        reason,
    })
}

/// The manager's mirror of a new detector with robust tests (`None`
/// without them: the window and push count are all a Go detector holds).
fn robust_mirror(conf: &AnomalyzerConf) -> Result<Option<Anomalyzer>> {
    if conf.robust_methods().is_empty() {
        return Ok(None);
    }
    Ok(Some(Anomalyzer::new(conf.clone(), &[])?))
}

/// The mirror under an adopted configuration: the recovered robust
/// histories, each cut to its newest values within the new configuration's
/// bounds (as its rings would hold them), when the robust tests are the
/// same; otherwise an error that says why (a robust pipeline cannot be
/// rebuilt from the window alone).
fn adopt_robust(
    recovered: Option<Anomalyzer>,
    stored: &AnomalyzerConf,
    given: &AnomalyzerConf,
    window: &VecDeque<f64>,
    push_count: u64,
    paths: &Paths,
) -> Result<Option<Anomalyzer>> {
    let methods = given.robust_methods();
    if methods.is_empty() {
        return Ok(None);
    }
    let same_tests = stored.robust_methods() == methods;
    if push_count > 0 && !same_tests {
        return Err(Error::ConfigMismatch {
            path: paths.snap.clone(),
            fields: vec!["methods (robust tests: their histories cannot be adopted)"],
            stored: Box::new(stored.clone()),
            given: Box::new(given.clone()),
        });
    }
    let newest = |v: &mut Vec<f64>, n: usize| {
        let cut = v.len().saturating_sub(n);
        v.drain(..cut);
    };
    let p = given.robust();
    // Nothing pushed yet: other robust tests simply start empty.
    let recovered = recovered.filter(|_| same_tests);
    let robust = recovered.and_then(|d| d.state().robust).map(|mut r| {
        newest(&mut r.history, p.history_len());
        for s in &mut r.statistics {
            newest(s, p.likelihood_history);
        }
        newest(&mut r.recent_scores, p.alert_hold);
        r
    });
    let state = anomalyzer_ts::DetectorState {
        window: window.iter().copied().collect(),
        push_count,
        robust,
    };
    Ok(Some(Anomalyzer::from_state(
        std::sync::Arc::new(given.clone()),
        state,
    )?))
}
