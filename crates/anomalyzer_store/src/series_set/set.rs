//! [`SeriesSet`]: many series in one durable directory, fed through a
//! queue that one committer thread drains (group commit), read through
//! sharded locks while ingest goes on.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::committer::Committer;
use super::log::LogWriter;
use super::recovery::{self, SetRecovery};
use super::request::{Completion, IncomingPoint, PointFate, SeriesSetOptions};
use super::shards::{SeriesView, Shards};
use super::SeriesIdentity;
use crate::paths::Paths;
use crate::storage::{FsStorage, Storage};
use crate::{Error, Result};

/// One queued request.
pub(crate) struct Pending {
    pub points: Vec<IncomingPoint>,
    pub done: Completion,
}

/// What the committer takes from the queue at once.
pub(crate) struct Work {
    pub group: Vec<Pending>,
    pub closing: bool,
    pub snapshot_waiters: Vec<mpsc::Sender<Result<()>>>,
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    points: usize,
    closing: bool,
    snapshot_waiters: Vec<mpsc::Sender<Result<()>>>,
}

/// Figures of a series set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetStats {
    /// Series held.
    pub series: u64,
    /// Bytes of the current log file.
    pub wal_bytes: u64,
    /// LSN of the last record written.
    pub last_lsn: u64,
    /// LSN of the last record known durable.
    pub durable_lsn: u64,
    /// Snapshots completed since open.
    pub snapshots: u64,
    /// The last snapshot failure, if the last attempt failed.
    pub snapshot_error: Option<String>,
}

/// What the committer and the callers share.
pub(crate) struct Shared {
    pub shards: Shards,
    queue: Mutex<Queue>,
    wake: Condvar,
    poisoned: Mutex<Option<String>>,
    closed: AtomicBool,
    series: AtomicU64,
    wal_bytes: AtomicU64,
    last_lsn: AtomicU64,
    durable_lsn: AtomicU64,
    snapshots: AtomicU64,
    snapshot_error: Mutex<Option<String>>,
    max_queued_points: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn poisoned(&self) -> MutexGuard<'_, Option<String>> {
        lock(&self.poisoned)
    }

    /// Waits (at most `timeout`) for work and takes all of it; `None` when
    /// there is none yet.
    pub(crate) fn next_work(&self, timeout: Duration) -> Option<Work> {
        let mut q = lock(&self.queue);
        if q.pending.is_empty() && !q.closing && q.snapshot_waiters.is_empty() {
            if timeout.is_zero() {
                return Some(Work {
                    group: Vec::new(),
                    closing: false,
                    snapshot_waiters: Vec::new(),
                });
            }
            q = self
                .wake
                .wait_timeout(q, timeout)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        q.points = 0;
        Some(Work {
            group: std::mem::take(&mut q.pending),
            closing: q.closing,
            snapshot_waiters: std::mem::take(&mut q.snapshot_waiters),
        })
    }

    pub(crate) fn set_closed(&self) {
        self.closed.store(true, Ordering::Release);
        // Anything that raced in after the last drain is refused.
        let late = std::mem::take(&mut lock(&self.queue).pending);
        for p in late {
            (p.done)(Err(Error::ShutDown));
        }
    }

    pub(crate) fn note_log(&self, log: &LogWriter) {
        self.wal_bytes.store(log.len(), Ordering::Relaxed);
        self.last_lsn.store(log.last_lsn(), Ordering::Relaxed);
        self.durable_lsn.store(log.durable_lsn(), Ordering::Relaxed);
    }

    pub(crate) fn note_series(&self, n: u64) {
        self.series.store(n, Ordering::Relaxed);
    }

    pub(crate) fn note_snapshot_written(&self) {
        self.snapshots.fetch_add(1, Ordering::Relaxed);
        *lock(&self.snapshot_error) = None;
    }

    pub(crate) fn note_snapshot_error(&self, e: String) {
        *lock(&self.snapshot_error) = Some(e);
    }
}

/// Many series sharing one durable log (format in `docs/format.md`,
/// "Series sets"): group commit, out-of-order rejection, a series limit,
/// incremental snapshots and recovery.
///
/// ```
/// use anomalyzer_store::{IncomingPoint, PointFate, SeriesIdentity, SeriesSet, SeriesSetOptions};
/// use anomalyzer_ts::AnomalyzerConf;
///
/// let dir = tempfile::tempdir()?;
/// let options = SeriesSetOptions::with_conf(AnomalyzerConf::builder().active_size(1).build()?);
/// let (set, _) = SeriesSet::open(dir.path(), options.clone())?;
/// let cpu = SeriesIdentity::new("cpu", &[("host".into(), "a".into())])?;
/// let point = |t, value| IncomingPoint { series: cpu.clone(), timestamp_ns: t, value };
/// let fates = set.apply_blocking(vec![point(1, 1.0), point(2, 1.5), point(2, 9.0)])?;
/// assert!(matches!(fates[..], [PointFate::Scored(_), PointFate::Scored(_), PointFate::OutOfOrder]));
/// set.shutdown()?;
/// drop(set);
/// let (set, recovery) = SeriesSet::open(dir.path(), options)?;
/// assert_eq!(recovery.series, 1);
/// assert_eq!(set.with_series(&cpu, |s| s.points()), Some(2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SeriesSet {
    shared: Arc<Shared>,
    committer: Mutex<Option<JoinHandle<Result<()>>>>,
    shutdown: Mutex<Option<std::result::Result<(), String>>>,
}

impl std::fmt::Debug for SeriesSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesSet")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl SeriesSet {
    /// Opens (creating when empty) `dir` on the real file system and
    /// recovers it. Blocking: loads the snapshot and replays the log.
    ///
    /// # Errors
    /// What [`Error`] says: a locked directory, damage, a missing or
    /// foreign log, I/O failures.
    pub fn open(dir: &Path, options: SeriesSetOptions) -> Result<(SeriesSet, SetRecovery)> {
        Self::open_in(Arc::new(FsStorage), dir, options)
    }

    /// [`open`](Self::open) through any [`Storage`] (e.g. [`SimStorage`](crate::SimStorage)).
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_in(
        storage: Arc<dyn Storage>,
        dir: &Path,
        options: SeriesSetOptions,
    ) -> Result<(SeriesSet, SetRecovery)> {
        let paths = Paths::new(dir);
        let shards = Shards::new();
        let opened = recovery::open(&*storage, &paths, &shards, options.sync)?;
        let shared = Arc::new(Shared {
            shards,
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            poisoned: Mutex::new(None),
            closed: AtomicBool::new(false),
            series: AtomicU64::new(opened.locations.len() as u64),
            wal_bytes: AtomicU64::new(0),
            last_lsn: AtomicU64::new(0),
            durable_lsn: AtomicU64::new(0),
            snapshots: AtomicU64::new(0),
            snapshot_error: Mutex::new(None),
            max_queued_points: options.max_queued_points.max(1),
        });
        shared.note_log(&opened.log);
        let since_snapshot = opened.log.last_lsn() - opened.log.base_lsn;
        let committer = Committer {
            shared: Arc::clone(&shared),
            storage,
            paths,
            dir_id: opened.dir_id,
            log: opened.log,
            locations: opened.locations,
            confs: opened.confs,
            options,
            lock: opened.lock,
            snapshot: None,
            since_snapshot,
        };
        let handle = std::thread::Builder::new()
            .name("anomalyzer-committer".into())
            .spawn(move || committer.run())
            .map_err(|e| Error::Unavailable {
                reason: format!("cannot start the committer thread: {e}"),
            })?;
        Ok((
            SeriesSet {
                shared,
                committer: Mutex::new(Some(handle)),
                shutdown: Mutex::new(None),
            },
            opened.summary,
        ))
    }

    /// Queues a request; `done` is called once, on the committer's thread,
    /// with one fate per point (in order) once the request's records are
    /// durable under the sync policy, or with the error that refused all
    /// of it ([`Error::TooManySeries`], [`Error::Unavailable`],
    /// [`Error::Poisoned`], [`Error::ShutDown`], [`Error::InvalidValue`]).
    pub fn submit(&self, points: Vec<IncomingPoint>, done: Completion) {
        if let Some(position) = points.iter().position(|p| !p.value.is_finite()) {
            let value = points[position].value;
            done(Err(Error::InvalidValue(
                anomalyzer_ts::Error::NonFiniteValue { value, position },
            )));
            return;
        }
        if let Some(cause) = self.shared.poisoned().clone() {
            done(Err(Error::Poisoned { cause }));
            return;
        }
        let mut q = lock(&self.shared.queue);
        if q.closing || self.shared.closed.load(Ordering::Acquire) {
            drop(q);
            done(Err(Error::ShutDown));
            return;
        }
        if q.points > 0 && q.points + points.len() > self.shared.max_queued_points {
            let queued = q.points;
            drop(q);
            done(Err(Error::Unavailable {
                reason: format!("{queued} points are already waiting to be written"),
            }));
            return;
        }
        q.points += points.len();
        q.pending.push(Pending { points, done });
        drop(q);
        self.shared.wake.notify_one();
    }

    /// [`submit`](Self::submit), waiting for the outcome.
    ///
    /// # Errors
    /// As [`submit`](Self::submit) reports them.
    pub fn apply_blocking(&self, points: Vec<IncomingPoint>) -> Result<Vec<PointFate>> {
        let (tx, rx) = mpsc::channel();
        self.submit(
            points,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.recv().unwrap_or(Err(Error::ShutDown))
    }

    /// Writes a whole snapshot now (between two groups) and waits for it.
    ///
    /// # Errors
    /// The snapshot's failure; [`Error::ShutDown`] after shutdown.
    pub fn snapshot_now(&self) -> Result<()> {
        let (tx, rx) = mpsc::channel();
        {
            let mut q = lock(&self.shared.queue);
            if q.closing {
                return Err(Error::ShutDown);
            }
            q.snapshot_waiters.push(tx);
        }
        self.shared.wake.notify_one();
        rx.recv().unwrap_or(Err(Error::ShutDown))
    }

    /// Calls `f` with the series `identity` (under its shard's read lock).
    pub fn with_series<R>(
        &self,
        identity: &SeriesIdentity,
        f: impl FnOnce(SeriesView<'_>) -> R,
    ) -> Option<R> {
        self.shared.shards.with(identity, f)
    }

    /// Visits every series, one shard at a time (see the lock scheme in
    /// the shards module: ingest waits at most for one shard's visit).
    pub fn for_each(&self, visit: &mut dyn FnMut(SeriesView<'_>)) {
        self.shared.shards.for_each(visit);
    }

    /// Current figures.
    #[must_use]
    pub fn stats(&self) -> SetStats {
        let s = &self.shared;
        SetStats {
            series: s.series.load(Ordering::Relaxed),
            wal_bytes: s.wal_bytes.load(Ordering::Relaxed),
            last_lsn: s.last_lsn.load(Ordering::Relaxed),
            durable_lsn: s.durable_lsn.load(Ordering::Relaxed),
            snapshots: s.snapshots.load(Ordering::Relaxed),
            snapshot_error: lock(&s.snapshot_error).clone(),
        }
    }

    /// Why the set refuses writes, if a failed fsync poisoned it.
    #[must_use]
    pub fn poisoned(&self) -> Option<String> {
        self.shared.poisoned().clone()
    }

    /// Refuses new requests ([`Error::ShutDown`]), lets the committer
    /// finish every queued one, syncs the log and writes a full snapshot,
    /// then releases the directory. Blocking; idempotent (a second call
    /// returns the first one's outcome).
    ///
    /// # Errors
    /// The final sync's or snapshot's failure, or the poisoning cause.
    pub fn shutdown(&self) -> Result<()> {
        let mut outcome = lock(&self.shutdown);
        if let Some(done) = &*outcome {
            return done
                .clone()
                .map_err(|cause| Error::Unavailable { reason: cause });
        }
        lock(&self.shared.queue).closing = true;
        self.shared.wake.notify_one();
        let handle = lock(&self.committer).take();
        let result = match handle.map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(Error::Unavailable {
                reason: "the committer thread panicked".into(),
            }),
            None => Ok(()),
        };
        *outcome = Some(result.as_ref().map(|_| ()).map_err(ToString::to_string));
        result
    }
}

impl Drop for SeriesSet {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
