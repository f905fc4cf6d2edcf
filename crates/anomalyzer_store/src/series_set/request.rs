//! What callers hand the series set, what they get back, and the options
//! of a set.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anomalyzer_ts::AnomalyzerConf;

use super::identity::SeriesIdentity;
use crate::{Result, SyncPolicy};

/// One point of a request: its series, its time and its (finite) value.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingPoint {
    /// The series.
    pub series: SeriesIdentity,
    /// Sample time, nanoseconds since the Unix epoch.
    pub timestamp_ns: i64,
    /// The value; must be finite.
    pub value: f64,
}

/// What became of one point of a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PointFate {
    /// Logged (durable under the sync policy) and scored: the probability.
    Scored(f64),
    /// Its timestamp is not after its series' last accepted one (points
    /// earlier in the same request count): not logged, not scored.
    OutOfOrder,
}

/// Called once with a request's outcome, on the committer's thread: keep
/// it short (hand the result to a channel or a waker).
pub type Completion = Box<dyn FnOnce(Result<Vec<PointFate>>) + Send>;

/// Gives a new series its configuration (called once per series, when its
/// first point arrives; the set stores it and the series keeps it).
pub type ConfResolver = Arc<dyn Fn(&SeriesIdentity) -> Arc<AnomalyzerConf> + Send + Sync>;

/// Observes the duration of every fsync of the log.
pub type FsyncObserver = Arc<dyn Fn(Duration) + Send + Sync>;

/// Default of [`SeriesSetOptions::max_series`].
pub const DEFAULT_MAX_SERIES: u64 = 1_000_000;

/// How a series set runs.
#[derive(Clone)]
pub struct SeriesSetOptions {
    /// When the log is fsynced. Under [`SyncPolicy::Always`] a request
    /// completes only after the fsync that covers it (one per group);
    /// under the others as soon as its records are written, with the loss
    /// window [`SyncPolicy`] documents.
    pub sync: SyncPolicy,
    /// Most series; a request that would create more is refused whole.
    pub max_series: u64,
    /// The configuration of each new series.
    pub resolver: ConfResolver,
    /// Sees each fsync's duration.
    pub on_fsync: Option<FsyncObserver>,
    /// A new snapshot starts once this many records were logged since the
    /// last one started (bounds the log replayed at restart).
    pub snapshot_after_records: u64,
    /// Series written per snapshot slice, between two groups.
    pub snapshot_slice: usize,
    /// Most points waiting for the committer; a request beyond it is
    /// refused with [`Error::Unavailable`](crate::Error::Unavailable).
    pub max_queued_points: usize,
}

impl SeriesSetOptions {
    /// Options with the given resolver and the defaults: `Always`, a
    /// million series, a snapshot every 2 million records written 4096
    /// series at a time, at most 4 million queued points.
    #[must_use]
    pub fn new(resolver: ConfResolver) -> Self {
        SeriesSetOptions {
            sync: SyncPolicy::Always,
            max_series: DEFAULT_MAX_SERIES,
            resolver,
            on_fsync: None,
            snapshot_after_records: 2_000_000,
            snapshot_slice: 4096,
            max_queued_points: 4_000_000,
        }
    }

    /// Every series gets `conf`.
    #[must_use]
    pub fn with_conf(conf: AnomalyzerConf) -> Self {
        let conf = Arc::new(conf);
        Self::new(Arc::new(move |_| Arc::clone(&conf)))
    }
}

impl fmt::Debug for SeriesSetOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeriesSetOptions")
            .field("sync", &self.sync)
            .field("max_series", &self.max_series)
            .field("snapshot_after_records", &self.snapshot_after_records)
            .field("snapshot_slice", &self.snapshot_slice)
            .field("max_queued_points", &self.max_queued_points)
            .finish_non_exhaustive()
    }
}
