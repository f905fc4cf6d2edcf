//! Defect 8 of the seed: fsync on every push was the only policy. Each
//! policy now has a documented loss window on power cut; this checks them
//! against a disk that forgets everything un-synced, and that a process
//! crash (the OS survives) loses nothing under any policy.

mod common;

use std::time::Duration;

use anomalyzer_store::{PowerLoss, SimStorage, StoreOptions, SyncPolicy};
use common::*;

fn run(policy: SyncPolicy, n: usize, loss: Option<PowerLoss>) -> (u64, u64, u64) {
    let conf = conf();
    let values = values(9, n);
    let sim = SimStorage::new();
    let options = StoreOptions::default()
        .sync(policy)
        .snapshot_interval(1_000);
    let mut d = open_sim(&sim, Some(conf.clone()), options).unwrap();
    for &x in &values {
        d.push(x).unwrap();
    }
    let (lsn, durable) = (d.lsn(), d.durable_lsn());
    drop(d);
    match loss {
        Some(l) => sim.power_loss(l),
        None => sim.process_crash(),
    }
    let mut d = open_sim(&sim, None, options).unwrap();
    let recovered = d.lsn();
    assert!(
        recovered >= durable,
        "{policy}: lost durable pushes ({recovered} < {durable})"
    );
    assert_same_state(
        &mut d,
        &conf,
        &values[..recovered as usize],
        &policy.to_string(),
    );
    (lsn, durable, recovered)
}

#[test]
fn always_loses_nothing_acknowledged() {
    assert_eq!(
        run(SyncPolicy::Always, 23, Some(PowerLoss::DropUnsynced)),
        (23, 23, 23)
    );
}

#[test]
fn every_n_loses_at_most_n_minus_one() {
    let (lsn, durable, recovered) = run(SyncPolicy::EveryN(5), 23, Some(PowerLoss::DropUnsynced));
    assert_eq!((lsn, durable, recovered), (23, 20, 20));
}

#[test]
fn interval_loses_at_most_the_pushes_since_the_last_sync() {
    // A long interval: only the first push (due at once) is synced.
    let policy = SyncPolicy::Interval(Duration::from_secs(3600));
    let (lsn, durable, recovered) = run(policy, 10, Some(PowerLoss::DropUnsynced));
    assert_eq!(lsn, 10);
    assert_eq!(durable, recovered);
    assert!(durable <= 1, "{durable}");
    // A zero-length interval syncs every push.
    let (_, durable, recovered) = run(
        SyncPolicy::Interval(Duration::ZERO),
        10,
        Some(PowerLoss::DropUnsynced),
    );
    assert_eq!((durable, recovered), (10, 10));
}

#[test]
fn never_keeps_only_what_the_os_wrote() {
    let (lsn, durable, recovered) = run(SyncPolicy::Never, 12, Some(PowerLoss::DropUnsynced));
    assert_eq!((lsn, durable, recovered), (12, 0, 0));
    let (_, _, torn) = run(
        SyncPolicy::Never,
        12,
        Some(PowerLoss::TornUnsynced { seed: 3 }),
    );
    assert!(torn <= 12);
}

#[test]
fn a_process_crash_loses_nothing_under_any_policy() {
    for policy in [
        SyncPolicy::Always,
        SyncPolicy::EveryN(8),
        SyncPolicy::Interval(Duration::from_secs(3600)),
        SyncPolicy::Never,
    ] {
        let (lsn, _, recovered) = run(policy, 17, None);
        assert_eq!(recovered, lsn, "{policy}");
    }
}

#[test]
fn explicit_sync_makes_everything_durable() {
    let sim = SimStorage::new();
    let options = StoreOptions::default().sync(SyncPolicy::Never);
    let mut d = open_sim(&sim, Some(conf()), options).unwrap();
    for x in values(10, 9) {
        d.push(x).unwrap();
    }
    assert_eq!(d.durable_lsn(), 0);
    d.sync().unwrap();
    assert_eq!(d.durable_lsn(), 9);
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);
    assert_eq!(open_sim(&sim, None, options).unwrap().lsn(), 9);
}
