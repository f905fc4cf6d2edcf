//! [`DurableAnomalyzer`]: a detector whose every push is logged first.

use std::path::Path;
use std::sync::Arc;

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Explanation};

use crate::storage::{FsStorage, Storage};
use crate::{PersistenceManager, RecoveryReport, Result, StoreOptions};

/// An [`Anomalyzer`] that survives crashes: it owns the detector and its
/// [`PersistenceManager`], so a push cannot skip the log.
///
/// `push` validates the value, logs it (synced per the
/// [`SyncPolicy`](crate::SyncPolicy)), then applies it. After `open` the
/// detector continues bit-identically to one that never stopped: the push
/// count that seeds its permutations is recovered with the window.
///
/// ```
/// use anomalyzer_store::DurableAnomalyzer;
/// use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Method};
///
/// let dir = tempfile::tempdir()?;
/// let conf = AnomalyzerConf::builder()
///     .methods([Method::Magnitude, Method::HighRank])
///     .active_size(1)
///     .build()?;
/// let mut reference = Anomalyzer::new(conf.clone(), &[])?;
///
/// let mut durable = DurableAnomalyzer::open(dir.path(), conf.clone())?;
/// for x in [10.0, 10.5, 9.8, 10.1] {
///     assert_eq!(durable.push(x)?, reference.push(x)?);
/// }
/// drop(durable); // or kill -9: every push that returned is in the log
///
/// let mut durable = DurableAnomalyzer::open(dir.path(), conf)?;
/// assert_eq!(durable.lsn(), 4);
/// assert_eq!(durable.push(30.0)?.to_bits(), reference.push(30.0)?.to_bits());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DurableAnomalyzer {
    /// `None` with robust tests: the manager keeps that detector in step
    /// (its histories go into the snapshots), and one copy is enough.
    detector: Option<Anomalyzer>,
    manager: PersistenceManager,
}

impl DurableAnomalyzer {
    /// Opens or creates the state directory `dir` with default options
    /// ([`SyncPolicy::Always`](crate::SyncPolicy::Always)): recovers the
    /// stored state, or starts empty with `conf`. A directory written with
    /// another configuration is refused.
    ///
    /// # Errors
    /// As [`PersistenceManager::open`].
    pub fn open(dir: impl AsRef<Path>, conf: AnomalyzerConf) -> Result<Self> {
        Self::open_with(dir, Some(conf), StoreOptions::default())
    }

    /// Opens with explicit options; `conf: None` uses the stored
    /// configuration (and fails with [`Error::NoState`](crate::Error::NoState)
    /// if there is none).
    ///
    /// # Errors
    /// As [`PersistenceManager::open`].
    pub fn open_with(
        dir: impl AsRef<Path>,
        conf: Option<AnomalyzerConf>,
        options: StoreOptions,
    ) -> Result<Self> {
        Self::open_in(Arc::new(FsStorage), dir.as_ref(), conf, options)
    }

    /// [`open_with`](Self::open_with) over any [`Storage`].
    ///
    /// # Errors
    /// As [`PersistenceManager::open`].
    pub fn open_in(
        storage: Arc<dyn Storage>,
        dir: &Path,
        conf: Option<AnomalyzerConf>,
        options: StoreOptions,
    ) -> Result<Self> {
        let manager = PersistenceManager::open_in(storage, dir, conf, options)?;
        let detector = match manager.mirror() {
            Some(_) => None,
            None => Some(manager.recover()?),
        };
        Ok(DurableAnomalyzer { detector, manager })
    }

    /// Validates `value`, logs it, applies it, and returns the probability
    /// that the series' latest behaviour is anomalous.
    ///
    /// On error the detector is unchanged and nothing was logged (after a
    /// failed fsync the store is poisoned instead: reopen it).
    ///
    /// # Errors
    /// [`Error::InvalidValue`](crate::Error::InvalidValue) for NaN/±∞;
    /// [`Error::Io`](crate::Error::Io); [`Error::Poisoned`](crate::Error::Poisoned).
    pub fn push(&mut self, value: f64) -> Result<f64> {
        Anomalyzer::check_value(value)?;
        self.manager.record_push(value)?;
        match &mut self.detector {
            Some(d) => Ok(d.push(value)?),
            // record_push applied it: push = apply, then evaluate.
            None => Ok(self.detector().eval()),
        }
    }

    /// [`push`](Self::push), returning every test's probability and weight.
    ///
    /// # Errors
    /// As [`push`](Self::push).
    pub fn push_explained(&mut self, value: f64) -> Result<Explanation> {
        Anomalyzer::check_value(value)?;
        self.manager.record_push(value)?;
        match &mut self.detector {
            Some(d) => Ok(d.push_explained(value)?),
            None => Ok(self.detector().explain()),
        }
    }

    /// Closes a store the caller refuses after looking at it; see
    /// [`PersistenceManager::abandon`].
    pub fn abandon(self) {
        self.manager.abandon();
    }

    /// The detector (read-only: pushes go through [`push`](Self::push)).
    #[must_use]
    pub fn detector(&self) -> &Anomalyzer {
        match (&self.detector, self.manager.mirror()) {
            (Some(d), _) | (None, Some(d)) => d,
            // open sets `detector` exactly when the manager has no mirror.
            (None, None) => unreachable!("a durable detector without its detector"),
        }
    }

    /// The persistence manager (read-only).
    #[must_use]
    pub fn manager(&self) -> &PersistenceManager {
        &self.manager
    }

    /// LSN of the last push (1 for the first push ever).
    #[must_use]
    pub fn lsn(&self) -> u64 {
        self.manager.last_lsn()
    }

    /// LSN up to which every push is on the device.
    #[must_use]
    pub fn durable_lsn(&self) -> u64 {
        self.manager.durable_lsn()
    }

    /// What recovery found at open.
    #[must_use]
    pub fn recovery_report(&self) -> &RecoveryReport {
        self.manager.recovery_report()
    }

    /// fdatasync the log now.
    ///
    /// # Errors
    /// As [`PersistenceManager::sync`].
    pub fn sync(&mut self) -> Result<()> {
        self.manager.sync()
    }

    /// Syncs if the interval policy says so; true if it synced.
    ///
    /// # Errors
    /// As [`PersistenceManager::sync`].
    pub fn sync_if_due(&mut self) -> Result<bool> {
        self.manager.sync_if_due()
    }

    /// Writes a snapshot and empties the log now.
    ///
    /// # Errors
    /// As [`PersistenceManager::compact`].
    pub fn compact(&mut self) -> Result<()> {
        self.manager.compact()
    }
}
