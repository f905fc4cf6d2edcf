//! Defect 7 of the seed: the value was applied in memory before it was
//! logged, so when the log write failed the caller got an error but memory
//! already held the point. Now: validate, log, then apply. A failed write
//! leaves the detector unchanged; a failed fsync poisons the writer.

mod common;

use anomalyzer_store::{Error, FaultKind, PowerLoss, SimStorage, StoreOptions};
use common::*;

#[test]
fn failed_append_changes_nothing_and_the_next_push_works() {
    let conf = conf();
    let values = values(7, 12);
    let sim = SimStorage::new();
    let mut d = open_sim(&sim, Some(conf.clone()), StoreOptions::default()).unwrap();
    for &x in &values[..6] {
        d.push(x).unwrap();
    }
    let before = d.detector().clone();
    for kind in [
        FaultKind::Io,
        FaultKind::NoSpace,
        FaultKind::PermissionDenied,
    ] {
        sim.fail_nth_op(1, kind); // the append
        let err = d.push(99.0).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{kind:?}: {err}");
        assert_eq!(
            d.detector(),
            &before,
            "{kind:?}: memory must not hold an unlogged value"
        );
        assert_eq!(d.lsn(), 6);
    }
    // Invalid values are refused before anything is written.
    let ops = sim.op_count();
    assert!(matches!(
        d.push(f64::NAN).unwrap_err(),
        Error::InvalidValue(_)
    ));
    assert_eq!(sim.op_count(), ops, "nothing written for an invalid value");
    for &x in &values[6..] {
        d.push(x).unwrap();
    }
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);
    let mut d = open_sim(&sim, None, StoreOptions::default()).unwrap();
    assert_same_state(&mut d, &conf, &values, "after failed appends");
}

#[test]
fn failed_fsync_poisons_the_writer() {
    let conf = conf();
    let values = values(8, 5);
    let sim = SimStorage::new();
    let mut d = open_sim(&sim, Some(conf.clone()), StoreOptions::default()).unwrap();
    for &x in &values[..4] {
        d.push(x).unwrap();
    }
    let before = d.detector().clone();
    sim.fail_nth_op(2, FaultKind::Io); // append succeeds, fsync fails
    let err = d.push(values[4]).unwrap_err();
    assert!(matches!(err, Error::Io { op: "fsync", .. }), "{err}");
    assert_eq!(d.detector(), &before);
    let err = d.push(1.0).unwrap_err();
    assert!(matches!(err, Error::Poisoned { .. }), "{err}");
    assert!(err.to_string().contains("fsync"), "says why: {err}");
    assert!(
        d.compact().is_err() && d.sync().is_err(),
        "poisoned for every write"
    );
    assert!(d.manager().poisoned().is_some());
    drop(d);
    // Reopening recovers what is on disk: the 4 acknowledged pushes, and
    // the 5th only if its record made it (here the OS kept it).
    sim.process_crash();
    let d = open_sim(&sim, None, StoreOptions::default()).unwrap();
    assert!(d.lsn() == 4 || d.lsn() == 5);
    assert_eq!(
        d.detector().window().take(4).collect::<Vec<_>>()[..],
        values[..4]
    );
}
