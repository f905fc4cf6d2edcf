//! Defect 1 of the seed: a crash after the snapshot's rename but before the
//! log is truncated made the next recovery load the new snapshot *and*
//! replay the old log on top, counting every push twice. Records carry
//! LSNs; replay skips what the snapshot holds.

mod common;

use anomalyzer_store::{PowerLoss, SimStorage, StoreOptions, SNAPSHOT_FILE, WAL_FILE};
use common::*;

#[test]
fn crash_between_rename_and_truncation_replays_nothing_twice() {
    let conf = conf();
    let values = values(1, 25);
    let sim = SimStorage::new();
    let options = StoreOptions::default().snapshot_interval(1_000);
    let mut d = open_sim(&sim, Some(conf.clone()), options).unwrap();
    for &x in &values {
        d.push(x).unwrap();
    }
    // Compaction is: create tmp, write, fsync, rename, fsync dir, truncate
    // log, fsync log. Let it run up to and including the directory fsync.
    sim.crash_after_ops(5);
    assert!(
        d.compact().is_err(),
        "the simulated crash must stop compaction"
    );
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);

    // The new snapshot is in place and the old log still holds all 25 records.
    let wal = sim.read(&sim_file(WAL_FILE)).unwrap();
    assert_eq!(wal.len(), 16 + 25 * 32, "log not truncated");
    let snap = sim.read(&sim_file(SNAPSHOT_FILE)).unwrap();
    assert_eq!(
        u64::from_le_bytes(snap[24..32].try_into().unwrap()),
        25,
        "snapshot LSN"
    );

    let mut d = open_sim(&sim, Some(conf.clone()), options).unwrap();
    let report = d.recovery_report().clone();
    assert_eq!(report.already_in_snapshot, 25);
    assert_eq!(report.replayed, 0);
    assert_same_state(
        &mut d,
        &conf,
        &values,
        "after crash between rename and truncation",
    );
}
