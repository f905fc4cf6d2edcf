//! Defect 4 of the seed: corruption in the middle of the log (valid records
//! after a bad one) was treated like a torn tail, and every push after it
//! vanished silently. It is now an error by default; salvage mode is an
//! explicit choice that keeps the valid records after the damage.

mod common;

use anomalyzer_store::{Error, PowerLoss, RecoveryMode, SimStorage, StoreOptions, WAL_FILE};
use common::*;

#[test]
fn damaged_record_followed_by_valid_ones_is_refused_then_salvaged() {
    let conf = conf();
    let values = values(5, 10);
    let sim = SimStorage::new();
    let mut d = open_sim(&sim, Some(conf.clone()), StoreOptions::default()).unwrap();
    for &x in &values {
        d.push(x).unwrap();
    }
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);
    let mut wal = sim.read(&sim_file(WAL_FILE)).unwrap();
    // Damage the value of record 5 (LSN 5).
    let at = WAL_HEADER + 4 * PUSH_RECORD;
    wal[at + 27] ^= 0x40;
    sim.write_durable(&sim_file(WAL_FILE), &wal);

    for mode in [RecoveryMode::TolerateTornTail, RecoveryMode::Absolute] {
        let err = open_sim(
            &sim,
            Some(conf.clone()),
            StoreOptions::default().recovery(mode),
        )
        .unwrap_err();
        match &err {
            Error::CorruptLog {
                offset,
                resume_offset,
                resume_lsn,
                ..
            } => {
                assert_eq!(*offset, at as u64);
                assert_eq!(*resume_offset, (at + PUSH_RECORD) as u64);
                assert_eq!(*resume_lsn, 6);
            }
            other => panic!("{mode:?}: expected CorruptLog, got {other}"),
        }
        assert!(
            err.to_string().contains("salvage"),
            "the error says how to proceed: {err}"
        );
    }
    assert_eq!(
        sim.read(&sim_file(WAL_FILE)).unwrap(),
        wal,
        "a refused open changes nothing"
    );

    let salvage = StoreOptions::default().recovery(RecoveryMode::Salvage);
    let d = open_sim(&sim, Some(conf.clone()), salvage).unwrap();
    let report = d.recovery_report().clone();
    assert_eq!(report.salvaged_bytes, 32);
    assert_eq!(report.lost_pushes, 1);
    // Per file: what was skipped, kept and lost, and why.
    assert_eq!(report.salvage.len(), 1, "{report:?}");
    let wal_report = &report.salvage[0];
    assert_eq!(wal_report.file, sim_file(WAL_FILE));
    assert_eq!(wal_report.bytes_skipped, 32);
    assert_eq!(wal_report.records_kept, 9);
    assert_eq!(wal_report.pushes_lost, 1);
    assert_eq!(wal_report.records_dropped, 0);
    assert!(
        wal_report.reasons.iter().any(|r| r.contains("checksum")),
        "{:?}",
        wal_report.reasons
    );
    assert_eq!(d.lsn(), 10);
    assert_eq!(d.detector().push_count(), 10, "the lost push still counts");
    let kept: Vec<f64> = values
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 4)
        .map(|(_, &v)| v)
        .collect();
    let window: Vec<f64> = d.detector().window().collect();
    assert_eq!(window, kept[kept.len() - 6..]);
    drop(d);
    // Salvage rewrote the state: a default open now succeeds.
    let d = open_sim(&sim, Some(conf), StoreOptions::default()).unwrap();
    assert_eq!(d.lsn(), 10);
    assert_eq!(d.detector().window().collect::<Vec<_>>(), window);
}
