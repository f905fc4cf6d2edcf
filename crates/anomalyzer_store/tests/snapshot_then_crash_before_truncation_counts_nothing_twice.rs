//! Defect 1 of the seed: a crash after the snapshot's rename but before the
//! log is truncated made the next recovery load the new snapshot *and*
//! replay the old log on top, counting every push twice. Records carry
//! LSNs; replay skips what the snapshot holds. In format version 2 the old
//! log is not truncated but replaced by the next generation's: a crash
//! between the snapshot's rename and the log's leaves the snapshot with its
//! predecessor log, which recovery accepts and skips.

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
    // Compaction is: create the next log beside the current one, write
    // its header, fsync it; create the snapshot's staging file, write,
    // fsync, rename, fsync the directory; rename the next log into place,
    // fsync the directory. Let it run up to the snapshot's directory fsync.
    sim.crash_after_ops(8);
    assert!(
        d.compact().is_err(),
        "the simulated crash must stop compaction"
    );
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);

    // The new snapshot is in place and the old log still holds all 25 records.
    let wal = sim.read(&sim_file(WAL_FILE)).unwrap();
    assert_eq!(wal.len(), WAL_HEADER + 25 * PUSH_RECORD, "log not replaced");
    assert_eq!(u64_at(&wal, 32), 1, "the old log's generation");
    let snap = sim.read(&sim_file(SNAPSHOT_FILE)).unwrap();
    assert_eq!(u64_at(&snap, 48), 25, "snapshot LSN");
    assert_eq!(u64_at(&snap, 32), 2, "the snapshot expects the next log");

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
    // The writer finished the switch at open: the log is the one the
    // snapshot expects.
    assert_eq!(d.manager().wal_generation(), 2);
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
