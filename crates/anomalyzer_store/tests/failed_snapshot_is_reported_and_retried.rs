//! Issue 9, point 6: a failed snapshot or compaction is not silent. It
//! used to be ignored while the log grew without bound. Now the push still
//! succeeds (the log holds it), the failure is kept with the operation, the
//! file and the OS error, written into the lock file where `inspect` shows
//! it, and the snapshot is retried after the next `snapshot_interval`
//! pushes; success clears it.

mod common;

use anomalyzer_store::{inspect_in, FaultKind, PowerLoss, SimStorage, StoreOptions};
use common::*;

#[test]
fn a_failed_snapshot_is_kept_shown_by_inspect_and_retried() {
    let conf = conf();
    let values = values(60, 12);
    let sim = SimStorage::new();
    let options = StoreOptions::default().snapshot_interval(4);
    let mut d = open_sim(&sim, Some(conf.clone()), options).unwrap();
    for &x in &values[..3] {
        d.push(x).unwrap();
    }
    // The 4th push: append, fsync, then the snapshot's first step (create
    // the next log beside the current one) fails.
    sim.fail_nth_op(3, FaultKind::PermissionDenied);
    d.push(values[3]).unwrap();
    let err = d.manager().last_compaction_error().unwrap().to_owned();
    assert!(
        err.contains("create") && err.contains("anomalyzer.wal.tmp") && err.contains("os error 13"),
        "{err}"
    );
    assert_eq!(d.manager().compaction_failures(), 1);
    assert_eq!(
        d.manager().pending_wal_entries(),
        4,
        "the log keeps the pushes"
    );
    let status = inspect_in(&sim, &sim_dir()).unwrap();
    assert!(status.writer_active);
    assert_eq!(status.last_compaction_error.as_deref(), Some(err.as_str()));
    assert_eq!(status.report.last_lsn, 4);

    // Retried after the next interval: it succeeds and clears the failure.
    for &x in &values[4..8] {
        d.push(x).unwrap();
    }
    assert_eq!(d.manager().last_compaction_error(), None);
    assert_eq!(d.manager().pending_wal_entries(), 0);
    assert_eq!(
        inspect_in(&sim, &sim_dir()).unwrap().last_compaction_error,
        None
    );

    // A failed rename of the snapshot: not poisoned, the log still
    // accepts pushes, nothing is lost.
    for &x in &values[8..11] {
        d.push(x).unwrap();
    }
    // append, fsync, create, header, fsync, create, write, fsync, rename.
    sim.fail_nth_op(9, FaultKind::Io);
    d.push(values[11]).unwrap();
    let err = d.manager().last_compaction_error().unwrap();
    assert!(err.contains("rename snapshot into"), "{err}");
    assert!(d.manager().poisoned().is_none());
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);
    let mut d = open_sim(&sim, None, options).unwrap();
    assert_same_state(&mut d, &conf, &values, "after failed snapshots");
}
