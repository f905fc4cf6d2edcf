//! Each sync policy of a series set loses, on a power cut, at most what
//! `SyncPolicy` documents: nothing acknowledged under `Always`; under
//! `EveryN(n)` at most the records since the last n-th; under `Interval`
//! nothing older than the interval once the committer's timer fired.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anomalyzer_store::{
    IncomingPoint, PowerLoss, SeriesIdentity, SeriesSet, SeriesSetOptions, SimStorage, SyncPolicy,
};

fn open(sim: &SimStorage, sync: SyncPolicy) -> SeriesSet {
    let mut options = SeriesSetOptions::with_conf(common::conf());
    options.sync = sync;
    options.snapshot_after_records = u64::MAX;
    SeriesSet::open_in(Arc::new(sim.clone()), Path::new("/state"), options)
        .unwrap()
        .0
}

fn cpu() -> SeriesIdentity {
    SeriesIdentity::new("cpu", &[]).unwrap()
}

fn push(set: &SeriesSet, t: i64) {
    set.apply_blocking(vec![IncomingPoint {
        series: cpu(),
        timestamp_ns: t,
        value: t as f64,
    }])
    .unwrap();
}

/// Points of `cpu` after a power cut that drops everything unsynced.
fn after_power_cut(sim: &SimStorage, set: SeriesSet, sync: SyncPolicy) -> u64 {
    sim.crash_after_ops(0);
    drop(set);
    sim.power_loss(PowerLoss::DropUnsynced);
    let set = open(sim, sync);
    set.with_series(&cpu(), |s| s.points()).unwrap_or(0)
}

#[test]
fn always_loses_nothing_acknowledged() {
    let sim = SimStorage::new();
    let set = open(&sim, SyncPolicy::Always);
    for t in 1..=5 {
        push(&set, t);
        assert_eq!(set.stats().durable_lsn, set.stats().last_lsn);
    }
    assert_eq!(after_power_cut(&sim, set, SyncPolicy::Always), 5);
}

#[test]
fn every_n_syncs_once_per_n_records() {
    let sim = SimStorage::new();
    let policy = SyncPolicy::EveryN(4);
    let set = open(&sim, policy);
    // The first request writes 2 records (creation and push), the next
    // two one each: the 4th record triggers the sync.
    for t in 1..=3 {
        push(&set, t);
    }
    assert_eq!(set.stats().durable_lsn, 4);
    push(&set, 4);
    push(&set, 5);
    assert_eq!(set.stats().last_lsn, 6);
    assert_eq!(set.stats().durable_lsn, 4);
    // The two records after the sync are within the documented window.
    assert_eq!(after_power_cut(&sim, set, policy), 3);
}

#[test]
fn interval_syncs_on_the_committers_timer() {
    let sim = SimStorage::new();
    let policy = SyncPolicy::Interval(Duration::from_millis(20));
    let set = open(&sim, policy);
    push(&set, 1);
    push(&set, 2);
    // No further request: the committer's wait times out and syncs.
    let mut waited = Duration::ZERO;
    while set.stats().durable_lsn < set.stats().last_lsn && waited < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
        waited += Duration::from_millis(10);
    }
    assert_eq!(set.stats().durable_lsn, 3, "{:?}", set.stats());
    assert_eq!(after_power_cut(&sim, set, policy), 2);
}

#[test]
fn never_leaves_it_to_the_snapshot() {
    let sim = SimStorage::new();
    let set = open(&sim, SyncPolicy::Never);
    push(&set, 1);
    push(&set, 2);
    assert_eq!(set.stats().durable_lsn, 0);
    set.snapshot_now().unwrap();
    push(&set, 3);
    // The snapshot made the first two durable; the third was not synced.
    assert_eq!(after_power_cut(&sim, set, SyncPolicy::Never), 2);
}
