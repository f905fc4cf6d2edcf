//! How a store is opened: sync policy, recovery mode, compaction interval,
//! and what to do when the stored configuration differs from the given one.

use crate::{RecoveryMode, SyncPolicy};

/// Default number of pushes between snapshots.
pub const DEFAULT_SNAPSHOT_INTERVAL: u64 = 1_000;

/// What [`open`](crate::PersistenceManager::open_in) does when the directory
/// holds state written with another configuration than the one given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnConfMismatch {
    /// Fail with [`Error::ConfigMismatch`](crate::Error::ConfigMismatch) (the default).
    #[default]
    Refuse,
    /// Keep the stored values and push count, adopt the given configuration
    /// (the window keeps its last `A + R` values under the new sizes, the
    /// same robust tests their newest values within the new bounds), and
    /// write a snapshot with it at once. Robust tests that were not stored
    /// cannot be adopted once values were pushed.
    Adopt,
}

/// Options of a store; `StoreOptions::default()` then the setters.
///
/// ```
/// use std::time::Duration;
/// use anomalyzer_store::{RecoveryMode, StoreOptions, SyncPolicy};
///
/// let options = StoreOptions::default()
///     .sync(SyncPolicy::Interval(Duration::from_millis(100)))
///     .recovery(RecoveryMode::Absolute)
///     .snapshot_interval(10_000);
/// assert_eq!(options.snapshot_interval, 10_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct StoreOptions {
    /// When the log is fsynced (default [`SyncPolicy::Always`]).
    pub sync: SyncPolicy,
    /// How damage found at recovery is handled (default
    /// [`RecoveryMode::TolerateTornTail`]).
    pub recovery: RecoveryMode,
    /// Write a snapshot and empty the log after this many pushes (default
    /// 1 000, at least 1). Recovery replays at most this many records
    /// (unless compactions keep failing, which each push reports).
    pub snapshot_interval: u64,
    /// What to do with a configuration that differs from the stored one.
    pub on_conf_mismatch: OnConfMismatch,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            sync: SyncPolicy::Always,
            recovery: RecoveryMode::TolerateTornTail,
            snapshot_interval: DEFAULT_SNAPSHOT_INTERVAL,
            on_conf_mismatch: OnConfMismatch::Refuse,
        }
    }
}

impl StoreOptions {
    /// Sets the sync policy.
    pub fn sync(mut self, sync: SyncPolicy) -> Self {
        self.sync = sync;
        self
    }
    /// Sets the recovery mode.
    pub fn recovery(mut self, recovery: RecoveryMode) -> Self {
        self.recovery = recovery;
        self
    }
    /// Sets the snapshot interval (0 is taken as 1).
    pub fn snapshot_interval(mut self, pushes: u64) -> Self {
        self.snapshot_interval = pushes.max(1);
        self
    }
    /// Sets what to do on a configuration mismatch.
    pub fn on_conf_mismatch(mut self, policy: OnConfMismatch) -> Self {
        self.on_conf_mismatch = policy;
        self
    }
}
