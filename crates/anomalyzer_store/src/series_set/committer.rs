//! The committer thread: the only owner of the log. It drains every
//! request queued, decides them in order ([`super::plan`]), writes the
//! group's records with one write, fsyncs once per group (under
//! [`SyncPolicy::Always`](crate::SyncPolicy::Always)), applies the group to
//! the detectors and only then completes each request. Between groups it
//! writes the next slice of a snapshot in progress.
//!
//! Failures: a failed write fails its group with
//! [`Error::Unavailable`] after cutting the log back (nothing applied;
//! later groups succeed once space returns). A failed fsync, or a write
//! whose cut-back failed, poisons the set: every later request fails with
//! [`Error::Poisoned`] until the process restarts and recovers.

use std::sync::Arc;
use std::time::Duration;

use super::conf_cache::ConfCache;
use super::log::{LogFailure, LogWriter};
use super::plan::{Context, GroupPlan, Target};
use super::recovery::new_entry;
use super::request::{PointFate, SeriesSetOptions};
use super::set::{Pending, Shared};
use super::shards::{Location, MAX_SERIES};
use super::snapshot_job::{FinishFailure, SnapshotJob};
use super::SeriesIdentity;
use crate::codec::DirectoryId;
use crate::paths::Paths;
use crate::storage::{DirLock, Storage};
use crate::{Error, Result, SyncPolicy};

/// Everything the committer owns.
pub(crate) struct Committer {
    pub shared: Arc<Shared>,
    pub storage: Arc<dyn Storage>,
    pub paths: Paths,
    pub dir_id: DirectoryId,
    pub log: LogWriter,
    pub locations: Vec<Location>,
    pub confs: ConfCache,
    pub options: SeriesSetOptions,
    pub lock: Box<dyn DirLock>,
    pub snapshot: Option<SnapshotJob>,
    /// Records logged since the last snapshot started.
    pub since_snapshot: u64,
}

impl Committer {
    fn observe_fsync(&self, took: Duration) {
        if let Some(observe) = &self.options.on_fsync {
            observe(took);
        }
    }

    fn poison(&mut self, cause: String) {
        let mut p = self.shared.poisoned();
        if p.is_none() {
            *p = Some(cause);
        }
        drop(p);
        if let Some(job) = self.snapshot.take() {
            job.abandon(&*self.storage, &self.paths);
        }
    }

    fn poisoned_error(&self) -> Option<Error> {
        self.shared
            .poisoned()
            .clone()
            .map(|cause| Error::Poisoned { cause })
    }

    /// The thread's body; returns when the set shuts down.
    pub(crate) fn run(mut self) -> Result<()> {
        loop {
            let Some(work) = self.shared.next_work(self.wait_for()) else {
                continue;
            };
            if !work.group.is_empty() {
                self.commit(work.group);
            } else if self.log.sync_due() {
                self.sync_or_poison();
            }
            if work.closing {
                let result = self.shut_down();
                self.shared.set_closed();
                return result;
            }
            self.advance_snapshot();
            for waiter in work.snapshot_waiters {
                let _ = waiter.send(self.full_snapshot());
            }
        }
    }

    /// How long the committer may sleep when idle.
    fn wait_for(&self) -> Duration {
        if self.snapshot.is_some() {
            return Duration::ZERO;
        }
        self.log.next_sync_in().unwrap_or(Duration::from_secs(3600))
    }

    fn sync_or_poison(&mut self) -> bool {
        match self.log.sync() {
            Ok(took) => {
                if let Some(took) = took {
                    self.observe_fsync(took);
                }
                self.shared.note_log(&self.log);
                true
            }
            Err(e) => {
                self.poison(log_failure_text(e));
                false
            }
        }
    }

    /// Decides, writes, syncs and applies one group, then completes it.
    fn commit(&mut self, group: Vec<Pending>) {
        if let Some(e) = self.poisoned_error() {
            for p in group {
                (p.done)(Err(clone_error(&e)));
            }
            return;
        }
        let (requests, dones): (Vec<_>, Vec<_>) =
            group.into_iter().map(|p| (p.points, p.done)).unzip();
        let mut plan = GroupPlan::new(self.locations.len() as u64, self.log.last_lsn() + 1);
        {
            let mut cx = Context {
                shards: &self.shared.shards,
                max_series: self.options.max_series.min(MAX_SERIES),
                resolver: &self.options.resolver,
                confs: &mut self.confs,
            };
            for points in &requests {
                plan.add(points, &mut cx);
            }
        }
        let written = self.log.append(&plan.bytes, plan.records, plan.last_lsn());
        let failure = match written {
            Ok(()) => None,
            Err(LogFailure::Write(e)) => Some(Error::Unavailable {
                reason: format!("cannot write to {}: {e}", self.log.path.display()),
            }),
            Err(e) => {
                let cause = log_failure_text(e);
                self.poison(cause.clone());
                Some(Error::Poisoned { cause })
            }
        };
        if failure.is_none() {
            if let Some(job) = &mut self.snapshot {
                job.tail.extend_from_slice(&plan.bytes);
            }
            let must_sync = self.log.policy() == SyncPolicy::Always || self.log.sync_due();
            // After a failed fsync the records may or may not be on the
            // device: nothing is applied or acknowledged (poisoned below).
            if must_sync {
                self.sync_or_poison();
            }
        }
        let failure = failure.or_else(|| self.poisoned_error());
        if let Some(e) = failure {
            for (done, fates) in dones.into_iter().zip(plan.fates) {
                done(Err(match fates {
                    Err(refusal) => refusal,
                    Ok(_) => clone_error(&e),
                }));
            }
            return;
        }
        self.apply(&mut plan);
        self.since_snapshot += plan.records;
        self.shared.note_log(&self.log);
        self.shared.note_series(self.locations.len() as u64);
        for (done, fates) in dones.into_iter().zip(plan.fates) {
            done(fates.map(|f| {
                f.into_iter()
                    .map(|f| f.unwrap_or(PointFate::OutOfOrder))
                    .collect()
            }));
        }
    }

    /// Creates the group's new series and feeds its pushes, in log order.
    fn apply(&mut self, plan: &mut GroupPlan<'_>) {
        let shards = &self.shared.shards;
        let mut new_locations = Vec::with_capacity(plan.creates.len());
        for c in &plan.creates {
            debug_assert_eq!(c.id as usize, self.locations.len());
            let key = SeriesIdentity::from_trusted(c.key.clone());
            // A configuration that builds a detector was checked when the
            // resolver's configuration was built; an empty window always
            // succeeds.
            let Ok(entry) = new_entry(key, Arc::clone(&c.conf), c.id, c.lsn) else {
                continue;
            };
            let loc = shards.insert(entry);
            self.locations.push(loc);
            new_locations.push(loc);
        }
        for push in &plan.pushes {
            let loc = match push.target {
                Target::Existing(loc) => loc,
                Target::New(at) => new_locations[at],
            };
            let probability = shards.update(loc, |e| {
                // Values were checked finite when the request was queued.
                let p = e.detector.push(push.value).unwrap_or(0.0);
                e.last_ts = push.ts;
                e.last_lsn = push.lsn;
                e.last_probability = p;
                p
            });
            if let Ok(fates) = &mut plan.fates[push.request] {
                fates[push.point] = Some(PointFate::Scored(probability));
            }
        }
    }

    /// Starts a snapshot when enough was logged, or writes its next slice
    /// (finishing it after the last).
    fn advance_snapshot(&mut self) {
        if self.shared.poisoned().is_some() {
            return;
        }
        if self.snapshot.is_none() {
            if self.since_snapshot < self.options.snapshot_after_records {
                return;
            }
            match SnapshotJob::start(
                &*self.storage,
                &self.paths,
                &self.dir_id,
                &self.log,
                self.locations.len() as u32,
            ) {
                Ok(job) => {
                    self.snapshot = Some(job);
                    self.since_snapshot = 0;
                }
                Err(e) => {
                    self.snapshot_failed(&e);
                    return;
                }
            }
        }
        let Some(job) = &mut self.snapshot else {
            return;
        };
        let slice = self.options.snapshot_slice;
        match job.step(
            &self.paths,
            &self.shared.shards,
            &self.locations,
            &mut self.confs,
            slice,
        ) {
            Ok(false) => {}
            Ok(true) => {
                if let Err(e) = self.finish_snapshot() {
                    self.snapshot_failed(&e);
                }
            }
            Err(e) => {
                if let Some(job) = self.snapshot.take() {
                    job.abandon(&*self.storage, &self.paths);
                }
                self.snapshot_failed(&e);
            }
        }
    }

    fn snapshot_failed(&mut self, e: &Error) {
        self.shared.note_snapshot_error(e.to_string());
        // Retry after half the usual amount of logging.
        self.since_snapshot = self.options.snapshot_after_records / 2;
    }

    fn finish_snapshot(&mut self) -> Result<()> {
        let Some(job) = self.snapshot.take() else {
            return Ok(());
        };
        let last_lsn = self.log.last_lsn();
        let observer = self.options.on_fsync.clone();
        let observe = |d: Duration| {
            if let Some(o) = &observer {
                o(d);
            }
        };
        match job.finish(
            &*self.storage,
            &self.paths,
            &self.dir_id,
            &mut self.log,
            &observe,
        ) {
            Ok(next) => {
                self.since_snapshot = last_lsn - next.base_lsn;
                self.log = next;
                self.shared.note_log(&self.log);
                self.shared.note_snapshot_written();
                Ok(())
            }
            Err(FinishFailure::Abandoned(e)) => Err(e),
            Err(FinishFailure::Fatal(e)) => {
                let cause = e.to_string();
                self.poison(cause);
                Err(e)
            }
        }
    }

    /// A whole snapshot now (a slice in progress is abandoned first).
    fn full_snapshot(&mut self) -> Result<()> {
        if let Some(e) = self.poisoned_error() {
            return Err(e);
        }
        if let Some(job) = self.snapshot.take() {
            job.abandon(&*self.storage, &self.paths);
        }
        let mut job = SnapshotJob::start(
            &*self.storage,
            &self.paths,
            &self.dir_id,
            &self.log,
            self.locations.len() as u32,
        )?;
        self.since_snapshot = 0;
        let step = job.step(
            &self.paths,
            &self.shared.shards,
            &self.locations,
            &mut self.confs,
            usize::MAX,
        );
        if let Err(e) = step {
            job.abandon(&*self.storage, &self.paths);
            return Err(e);
        }
        self.snapshot = Some(job);
        self.finish_snapshot()
    }

    /// Shutdown: the queue is drained; sync and write a full snapshot.
    fn shut_down(&mut self) -> Result<()> {
        if let Some(e) = self.poisoned_error() {
            return Err(e);
        }
        if !self.sync_or_poison() {
            return Err(self.poisoned_error().unwrap_or(Error::ShutDown));
        }
        let result = self.full_snapshot();
        if let Err(e) = &result {
            self.shared.note_snapshot_error(e.to_string());
        }
        let _ = self
            .lock
            .write_note(&format!("pid {} (shut down)", std::process::id()));
        result
    }
}

fn log_failure_text(e: LogFailure) -> String {
    match e {
        LogFailure::Write(e) => e.to_string(),
        LogFailure::Fatal(cause) => cause,
    }
}

/// Errors are not `Clone` (they may carry an `io::Error`); every request of
/// a failed group gets its own copy in words.
pub(crate) fn clone_error(e: &Error) -> Error {
    match e {
        Error::Poisoned { cause } => Error::Poisoned {
            cause: cause.clone(),
        },
        Error::Unavailable { reason } => Error::Unavailable {
            reason: reason.clone(),
        },
        Error::TooManySeries { limit, series } => Error::TooManySeries {
            limit: *limit,
            series: series.clone(),
        },
        Error::ShutDown => Error::ShutDown,
        other => Error::Unavailable {
            reason: other.to_string(),
        },
    }
}
