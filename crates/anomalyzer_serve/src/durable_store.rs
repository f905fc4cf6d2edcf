//! The durable [`SeriesStore`] of `anomalyzer serve`: an
//! [`anomalyzer_store::SeriesSet`] (one shared log, group commit,
//! incremental snapshots) behind the trait the router drives.
//!
//! A request is queued to the set's committer thread with a completion
//! that fills a small one-shot slot and wakes the handler's task, so no
//! HTTP handler holds a blocking thread while its points are made durable.

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use anomalyzer_store::{
    IncomingPoint, PointFate, SeriesIdentity, SeriesSet, SeriesSetOptions, SeriesView, SetRecovery,
    SyncPolicy,
};
use anomalyzer_ts::AnomalyzerConf;
use globset::GlobMatcher;

use crate::batch::{Batch, PointOutcome, RejectReason};
use crate::config::ServeConfig;
use crate::error::{Error, Result};
use crate::exposition::ServiceMetrics;
use crate::series_key::{IdentityLimits, SeriesKey};
use crate::store::{LastPoint, SeriesStatus, SeriesStore, StoreStats};
use crate::timestamp::Timestamp;

/// How [`DurableStore::open`] runs the store.
#[derive(Clone)]
pub struct DurableOptions {
    /// When the log is fsynced (`--sync`).
    pub sync: SyncPolicy,
    /// Most series (`--max-series`, default 1 000 000).
    pub max_series: u64,
    /// Gives new series their configuration (`--config`).
    pub config: Arc<ServeConfig>,
    /// Every fsync is observed into `metrics.fsync_seconds()`.
    pub metrics: ServiceMetrics,
}

impl Default for DurableOptions {
    fn default() -> Self {
        DurableOptions {
            sync: SyncPolicy::Always,
            max_series: anomalyzer_store::DEFAULT_MAX_SERIES,
            config: Arc::new(ServeConfig::default()),
            metrics: ServiceMetrics::default(),
        }
    }
}

impl fmt::Debug for DurableOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurableOptions")
            .field("sync", &self.sync)
            .field("max_series", &self.max_series)
            .finish_non_exhaustive()
    }
}

/// Stored identities were checked as [`SeriesKey`]s when they arrived;
/// rebuilding them must not fail because today's limits are smaller.
const STORED_LIMITS: IdentityLimits = IdentityLimits {
    max_name_bytes: usize::MAX,
    max_label_name_bytes: usize::MAX,
    max_label_value_bytes: usize::MAX,
    max_labels: usize::MAX,
};

fn key_of(view: &SeriesView<'_>) -> Option<SeriesKey> {
    let labels = view.labels().map(|(k, v)| (k.to_owned(), v.to_owned()));
    SeriesKey::new(view.name(), labels, &STORED_LIMITS).ok()
}

fn identity_of(key: &SeriesKey) -> Result<SeriesIdentity> {
    SeriesIdentity::new(key.name(), key.labels())
        .map_err(|reason| Error::InvalidSeries(format!("series {key}: {reason}")))
}

/// The durable multi-series store (see the module documentation).
pub struct DurableStore {
    set: SeriesSet,
}

impl fmt::Debug for DurableStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurableStore")
            .field("set", &self.set)
            .finish()
    }
}

/// Most series [`RecoverySummary::changed_conf`] lists by name.
pub const MAX_LISTED_CHANGED: usize = 100;

/// What recovery found. `Display` is one line for stderr.
#[derive(Debug, Clone)]
pub struct RecoverySummary {
    store: SetRecovery,
    changed: Vec<SeriesKey>,
    changed_count: u64,
}

impl RecoverySummary {
    /// The store's own account (series, records replayed, time taken,
    /// what was truncated).
    #[must_use]
    pub fn store(&self) -> &SetRecovery {
        &self.store
    }

    /// Series held after recovery.
    #[must_use]
    pub fn series(&self) -> u64 {
        self.store.series
    }

    /// Up to [`MAX_LISTED_CHANGED`] series whose stored configuration
    /// differs from what the configuration file would give them today
    /// (they keep theirs: a changed file applies to new series only).
    #[must_use]
    pub fn changed_conf(&self) -> &[SeriesKey] {
        &self.changed
    }

    /// How many series' stored configuration differs from today's.
    #[must_use]
    pub fn changed_conf_count(&self) -> u64 {
        self.changed_count
    }
}

impl fmt::Display for RecoverySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.store)?;
        if self.changed_count > 0 {
            write!(
                f,
                "; {} series keep a configuration that differs from the configuration file's (a changed file applies to new series only)",
                self.changed_count
            )?;
        }
        Ok(())
    }
}

impl DurableStore {
    /// Opens (creates when empty) `dir` and recovers. Blocking; may take
    /// seconds with a million series: call it on a blocking thread while
    /// `/readyz` answers 503.
    ///
    /// # Errors
    /// [`Error::Unavailable`] naming the directory and what is wrong with
    /// it (locked, damaged, unreadable).
    pub fn open(dir: &Path, options: DurableOptions) -> Result<(DurableStore, RecoverySummary)> {
        let config = Arc::clone(&options.config);
        let resolver: anomalyzer_store::ConfResolver =
            Arc::new(move |identity: &SeriesIdentity| {
                let labels = identity.labels().map(|(k, v)| (k.to_owned(), v.to_owned()));
                match SeriesKey::new(identity.name(), labels, &STORED_LIMITS) {
                    Ok(key) => config.resolve(&key).conf,
                    Err(_) => Arc::clone(config.default_conf()),
                }
            });
        let mut set_options = SeriesSetOptions::new(resolver);
        set_options.sync = options.sync;
        set_options.max_series = options.max_series;
        let histogram = options.metrics.fsync_seconds();
        set_options.on_fsync = Some(Arc::new(move |took| histogram.observe(took.as_secs_f64())));
        let (set, store) = SeriesSet::open(dir, set_options)
            .map_err(|e| Error::Unavailable(format!("state directory {}: {e}", dir.display())))?;
        let (changed, changed_count) = changed_confs(&set, &options.config);
        Ok((
            DurableStore { set },
            RecoverySummary {
                store,
                changed,
                changed_count,
            },
        ))
    }

    /// The SIGTERM path. Blocking: refuses new applies
    /// ([`Error::Unavailable`]), waits for in-flight ones, syncs, writes a
    /// full snapshot. Idempotent.
    ///
    /// # Errors
    /// [`Error::Unavailable`] if the final sync or snapshot failed (what
    /// was acknowledged is still in the log).
    pub fn shutdown(&self) -> Result<()> {
        self.set
            .shutdown()
            .map_err(|e| Error::Unavailable(e.to_string()))
    }

    /// Writes a whole snapshot now and waits for it (blocking).
    ///
    /// # Errors
    /// [`Error::Unavailable`] with the failure.
    pub fn snapshot_now(&self) -> Result<()> {
        self.set
            .snapshot_now()
            .map_err(|e| Error::Unavailable(e.to_string()))
    }

    /// The underlying series set.
    #[must_use]
    pub fn series_set(&self) -> &SeriesSet {
        &self.set
    }
}

/// Series whose stored configuration differs from what `config` gives.
fn changed_confs(set: &SeriesSet, config: &ServeConfig) -> (Vec<SeriesKey>, u64) {
    let by_name_only = config.patterns().next().is_none();
    // Without [[series]] blocks the answer depends only on the stored
    // configuration, of which there are few distinct ones.
    let mut known: Vec<(Arc<AnomalyzerConf>, bool)> = Vec::new();
    let mut listed = Vec::new();
    let mut count = 0u64;
    set.for_each(&mut |view| {
        let differs = if by_name_only {
            let stored = view.shared_conf();
            match known.iter().find(|(c, _)| Arc::ptr_eq(c, stored)) {
                Some((_, d)) => *d,
                None => {
                    let d = **stored != **config.default_conf();
                    known.push((Arc::clone(stored), d));
                    d
                }
            }
        } else {
            key_of(&view).is_some_and(|key| *config.resolve(&key).conf != *view.conf())
        };
        if differs {
            count += 1;
            if listed.len() < MAX_LISTED_CHANGED {
                listed.extend(key_of(&view));
            }
        }
    });
    listed.sort();
    (listed, count)
}

/// A one-shot slot the committer fills and the handler's task awaits.
struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

struct Receiver<T>(Arc<Mutex<Slot<T>>>);

/// Fills the slot once; if dropped unfilled (the committer went away), it
/// fills it with `on_drop`.
struct Sender<T> {
    slot: Arc<Mutex<Slot<T>>>,
    on_drop: Option<T>,
}

impl<T> Sender<T> {
    fn send(mut self, value: T) {
        self.on_drop = None;
        fill(&self.slot, value);
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(value) = self.on_drop.take() {
            fill(&self.slot, value);
        }
    }
}

fn fill<T>(slot: &Mutex<Slot<T>>, value: T) {
    let mut s = slot.lock().unwrap_or_else(PoisonError::into_inner);
    s.value = Some(value);
    if let Some(w) = s.waker.take() {
        w.wake();
    }
}

fn oneshot<T>(on_drop: T) -> (Sender<T>, Receiver<T>) {
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
    }));
    (
        Sender {
            slot: Arc::clone(&slot),
            on_drop: Some(on_drop),
        },
        Receiver(slot),
    )
}

impl<T> Future for Receiver<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match s.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

type Outcome = anomalyzer_store::Result<Vec<PointFate>>;

fn service_error(e: anomalyzer_store::Error) -> Error {
    match e {
        anomalyzer_store::Error::TooManySeries { limit, series } => {
            Error::TooManySeries { limit, series }
        }
        anomalyzer_store::Error::InvalidValue(e) => Error::Detector(e),
        other => Error::Unavailable(other.to_string()),
    }
}

impl SeriesStore for DurableStore {
    fn apply(&self, batch: &Batch) -> impl Future<Output = Result<Vec<PointOutcome>>> + Send {
        let points: Result<Vec<IncomingPoint>> = batch
            .points()
            .iter()
            .map(|p| {
                Ok(IncomingPoint {
                    series: identity_of(&p.key)?,
                    timestamp_ns: p.timestamp.as_nanos(),
                    value: p.value,
                })
            })
            .collect();
        let receiver = points.map(|points| {
            let (tx, rx) = oneshot::<Outcome>(Err(anomalyzer_store::Error::ShutDown));
            self.set.submit(points, Box::new(move |r| tx.send(r)));
            rx
        });
        async move {
            let fates = receiver?.await.map_err(service_error)?;
            Ok(fates
                .into_iter()
                .map(|f| match f {
                    PointFate::Scored(p) => PointOutcome::Scored(p),
                    PointFate::OutOfOrder => PointOutcome::Rejected(RejectReason::OutOfOrder),
                })
                .collect())
        }
    }

    fn is_ready(&self) -> bool {
        // A DurableStore exists only once recovery has finished.
        self.set.poisoned().is_none()
    }

    fn find(&self, pattern: &GlobMatcher) -> Vec<SeriesStatus> {
        let mut found = Vec::new();
        self.set.for_each(&mut |view| {
            if !pattern.is_match(view.name()) {
                return;
            }
            if let Some(key) = key_of(&view) {
                found.push(SeriesStatus {
                    key,
                    points: view.points(),
                    last: view.last().map(|(t, p)| (Timestamp::from_nanos(t), p)),
                });
            }
        });
        found.sort_by(|a, b| a.key.cmp(&b.key));
        found
    }

    fn explain(&self, key: &SeriesKey) -> Option<LastPoint> {
        let identity = identity_of(key).ok()?;
        self.set
            .with_series(&identity, |view| {
                let (t, _) = view.last()?;
                Some(LastPoint {
                    timestamp: Timestamp::from_nanos(t),
                    value: view.last_value()?,
                    explanation: view.explain()?,
                })
            })
            .flatten()
    }

    fn for_each_score(&self, min_score: f64, visit: &mut dyn FnMut(&SeriesKey, f64)) {
        self.set.for_each(&mut |view| {
            if let Some((_, p)) = view.last() {
                if p >= min_score {
                    if let Some(key) = key_of(&view) {
                        visit(&key, p);
                    }
                }
            }
        });
    }

    fn stats(&self) -> StoreStats {
        let s = self.set.stats();
        StoreStats {
            series: s.series,
            wal_bytes: s.wal_bytes,
        }
    }
}
