//! Issue 9, points 2–4: a missing, emptied, shortened or older log is
//! damage, not a fresh start, and a file from another state directory is
//! refused. Before format version 2 each of these was accepted silently,
//! acknowledged pushes vanished and LSNs were reused. Salvage carries on
//! from the snapshot, keeps every valid record (also after an older
//! snapshot) and says per file what it could not recover.

mod common;

use anomalyzer_store::{
    Error, PowerLoss, RecoveryMode, SimStorage, Storage, StoreOptions, SNAPSHOT_FILE, WAL_FILE,
};
use common::*;

const INTERVAL: u64 = 12;

fn options(mode: RecoveryMode) -> StoreOptions {
    StoreOptions::default()
        .snapshot_interval(INTERVAL)
        .recovery(mode)
}

/// A directory after `n` pushes of `values(50, n)`, flushed to "disk".
fn after(n: usize) -> SimStorage {
    let sim = SimStorage::new();
    let mut d = open_sim(&sim, Some(conf()), options(RecoveryMode::default())).unwrap();
    for x in values(50, n) {
        d.push(x).unwrap();
    }
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);
    sim
}

fn files(sim: &SimStorage) -> (Vec<u8>, Option<Vec<u8>>) {
    (
        sim.read(&sim_file(SNAPSHOT_FILE)).unwrap(),
        sim.read(&sim_file(WAL_FILE)),
    )
}

/// Refused in both strict modes with `needle` in the message, nothing
/// changed; returns the message.
fn assert_refused(sim: &SimStorage, needle: &str) -> String {
    let before = files(sim);
    let mut msg = String::new();
    for mode in [RecoveryMode::TolerateTornTail, RecoveryMode::Absolute] {
        let err = open_sim(sim, None, options(mode)).unwrap_err();
        assert!(err.is_corruption(), "{mode:?}: {err}");
        msg = err.to_string();
        assert!(msg.contains(needle), "{mode:?}: {msg}");
        assert!(msg.contains(WAL_FILE), "names the file: {msg}");
        assert_eq!(files(sim), before, "a refused open changes nothing");
        assert!(anomalyzer_store::inspect_in(sim, &sim_dir()).is_err());
    }
    msg
}

#[test]
fn a_missing_log_is_refused_then_salvaged_from_the_snapshot() {
    let sim = after(15); // snapshot at LSN 12, records 13..15 in the log
    sim.remove_durable(&sim_file(WAL_FILE));
    let msg = assert_refused(
        &sim,
        "missing, but the snapshot expects records after LSN 12",
    );
    assert!(matches!(
        open_sim(&sim, None, options(RecoveryMode::default())).unwrap_err(),
        Error::LogMismatch { .. }
    ));
    println!("{msg}");

    let d = open_sim(&sim, None, options(RecoveryMode::Salvage)).unwrap();
    assert_eq!(d.lsn(), 12, "carried on from the snapshot");
    let report = &d.recovery_report().salvage;
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(report[0].file, sim_file(WAL_FILE));
    assert!(report[0].reasons[0].contains("missing"), "{report:?}");
    drop(d);
    // Salvage rewrote the state: a default open works and LSNs go on.
    let mut d = open_sim(&sim, None, options(RecoveryMode::default())).unwrap();
    assert!(d.push(1.0).unwrap().is_finite());
    assert_eq!(d.lsn(), 13);
}

#[test]
fn an_emptied_or_header_cut_log_is_refused() {
    for keep in [0, 1, 20, WAL_HEADER - 1] {
        let sim = after(15);
        let wal = sim.read(&sim_file(WAL_FILE)).unwrap();
        sim.write_durable(&sim_file(WAL_FILE), &wal[..keep]);
        assert_refused(&sim, "shorter than a log header");
    }
}

#[test]
fn an_older_copy_of_the_log_is_refused() {
    // The log as it was before the snapshot at LSN 24 (generation 2,
    // records 13..20), put back after it.
    let sim = after(20);
    let (_, old_wal) = files(&sim);
    let sim2 = after(26);
    sim2.write_durable(&sim_file(WAL_FILE), old_wal.as_ref().unwrap());
    // Its predecessor, but it ends before the snapshot's LSN.
    assert_refused(
        &sim2,
        "ends at LSN 20, but the snapshot holds records up to LSN 24",
    );

    // Two generations back: older than the predecessor.
    let sim3 = after(40);
    sim3.write_durable(&sim_file(WAL_FILE), old_wal.as_ref().unwrap());
    assert_refused(&sim3, "generation 2 is older than the generation 4");
}

#[test]
fn a_valid_record_after_an_older_snapshot_is_kept_by_salvage() {
    // The snapshot of LSN 12 put back beside the log of generation 3
    // (base 24, records 25..30).
    let old_snap = files(&after(15)).0;
    let sim = after(30);
    sim.write_durable(&sim_file(SNAPSHOT_FILE), &old_snap);
    assert_refused(
        &sim,
        "generation 3 is newer than the generation 2 the snapshot expects",
    );

    let d = open_sim(&sim, None, options(RecoveryMode::Salvage)).unwrap();
    let report = d.recovery_report().clone();
    assert_eq!(d.lsn(), 30, "every valid record kept");
    assert_eq!(d.detector().push_count(), 30, "the lost pushes still count");
    assert_eq!(report.lost_pushes, 12, "13..24 are lost");
    let wal = &report.salvage[0];
    assert_eq!((wal.records_kept, wal.pushes_lost), (6, 12), "{wal:?}");
    let all = values(50, 30);
    let window: Vec<f64> = d.detector().window().collect();
    assert_eq!(window, all[24..], "the window holds the kept records");
}

#[test]
fn files_of_another_directory_are_refused_in_every_mode() {
    let here = after(15);
    // Same configuration, but another directory id (SimStorage draws
    // reproducible ids: skip its first one).
    let other = SimStorage::new();
    other.new_directory_id().unwrap();
    drop(open_sim(&other, Some(conf()), options(RecoveryMode::default())).unwrap());
    let (_, foreign_wal) = files(&other);
    here.write_durable(&sim_file(WAL_FILE), foreign_wal.as_ref().unwrap());
    for mode in [
        RecoveryMode::TolerateTornTail,
        RecoveryMode::Absolute,
        RecoveryMode::Salvage,
    ] {
        let err = open_sim(&here, None, options(mode)).unwrap_err();
        assert!(matches!(err, Error::ForeignFile { .. }), "{mode:?}: {err}");
        let msg = err.to_string();
        assert!(
            msg.contains(WAL_FILE) && msg.contains("another state directory"),
            "{msg}"
        );
    }
    // A snapshot copied in is refused the same way, naming both files.
    let here = after(15);
    let (foreign_snap, _) = files(&other);
    here.write_durable(&sim_file(SNAPSHOT_FILE), &foreign_snap);
    let err = open_sim(&here, None, options(RecoveryMode::Salvage)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::ForeignFile { .. }), "{msg}");
    assert!(
        msg.contains(SNAPSHOT_FILE) && msg.contains(WAL_FILE),
        "{msg}"
    );
}
