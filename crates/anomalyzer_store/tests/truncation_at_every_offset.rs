//! The log cut at every byte offset of its last records (as a crash
//! mid-write would leave it), and the snapshot cut at every offset: the log
//! recovers exactly its whole records and reports the rest as a torn tail;
//! a log cut inside its header, and a cut snapshot, are refused (both are
//! only ever put in place whole).

mod common;

use anomalyzer_store::{
    Error, PowerLoss, RecoveryMode, SimStorage, StoreOptions, SNAPSHOT_FILE, WAL_FILE,
};
use common::*;

#[test]
fn log_cut_at_every_offset_keeps_every_whole_record() {
    let conf = conf();
    let values = values(14, 12);
    let sim = SimStorage::new();
    let mut d = open_sim(&sim, Some(conf.clone()), StoreOptions::default()).unwrap();
    for &x in &values[..8] {
        d.push(x).unwrap();
    }
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);
    let wal = sim.read(&sim_file(WAL_FILE)).unwrap();
    let snap = sim.read(&sim_file(SNAPSHOT_FILE)).unwrap();
    let mut cases = 0;
    for len in 0..=wal.len() {
        let sim = SimStorage::new();
        sim.write_durable(&sim_file(SNAPSHOT_FILE), &snap);
        sim.write_durable(&sim_file(WAL_FILE), &wal[..len]);
        let what = format!("log cut at {len}");
        if len < WAL_HEADER {
            // The log is only ever put in place whole (written beside,
            // fsynced, renamed): a shorter one was emptied or cut, and the
            // snapshot cannot vouch for what is missing.
            for mode in [RecoveryMode::TolerateTornTail, RecoveryMode::Absolute] {
                let err = open_sim(&sim, None, StoreOptions::default().recovery(mode))
                    .err()
                    .unwrap_or_else(|| panic!("{what}: accepted in {mode:?}"));
                assert!(matches!(err, Error::LogMismatch { .. }), "{what}: {err}");
                assert!(
                    err.to_string().contains("shorter than a log header"),
                    "{err}"
                );
            }
            assert_eq!(
                sim.read(&sim_file(WAL_FILE)).unwrap(),
                &wal[..len],
                "{what}"
            );
            let d = open_sim(
                &sim,
                None,
                StoreOptions::default().recovery(RecoveryMode::Salvage),
            )
            .unwrap_or_else(|e| panic!("{what}: salvage: {e}"));
            assert_eq!(d.lsn(), 0, "{what}: carried on from the snapshot");
            let report = &d.recovery_report().salvage;
            assert_eq!(report.len(), 1, "{what}: {report:?}");
            assert_eq!(report[0].bytes_skipped as usize, len, "{what}");
            cases += 1;
            continue;
        }
        let mut d =
            open_sim(&sim, None, StoreOptions::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
        let whole = (len - WAL_HEADER) / PUSH_RECORD;
        let torn = (len - WAL_HEADER) % PUSH_RECORD;
        assert_eq!(d.lsn() as usize, whole, "{what}");
        assert_eq!(d.recovery_report().torn_tail_bytes as usize, torn, "{what}");
        // New pushes after the cut survive the next recovery.
        for &x in &values[whole..whole + 2] {
            d.push(x).unwrap();
        }
        drop(d);
        sim.power_loss(PowerLoss::DropUnsynced);
        let mut d = open_sim(&sim, None, StoreOptions::default()).unwrap();
        assert_eq!(d.recovery_report().torn_tail_bytes, 0, "{what}");
        assert_same_state(&mut d, &conf, &values[..whole + 2], &what);
        cases += 1;
    }
    println!("log truncation offsets: {cases}");
}

#[test]
fn snapshot_cut_at_every_offset_is_refused() {
    let sim = SimStorage::new();
    let mut d = open_sim(&sim, Some(conf()), StoreOptions::default()).unwrap();
    for x in values(15, 9) {
        d.push(x).unwrap();
    }
    d.compact().unwrap();
    drop(d);
    let snap = sim.read(&sim_file(SNAPSHOT_FILE)).unwrap();
    for len in 0..snap.len() {
        sim.write_durable(&sim_file(SNAPSHOT_FILE), &snap[..len]);
        let err = open_sim(&sim, None, StoreOptions::default()).unwrap_err();
        assert!(
            matches!(err, Error::BadFormat { .. }),
            "cut at {len}: {err}"
        );
    }
    println!("snapshot truncation offsets: {}", snap.len());
}
