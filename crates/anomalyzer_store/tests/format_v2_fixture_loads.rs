//! The committed fixture of format version 2 (`tests/fixtures/v2/`, made
//! by `written_now` below with `conf()`, snapshot interval 6, on a
//! `SimStorage`, whose directory ids are reproducible) still loads, gives
//! the documented numbers, and is exactly what this build writes for the
//! same pushes. Regenerate (only for a new format version, in a new
//! directory) with `ANOMALYZER_WRITE_FIXTURE=1`.

mod common;

use std::path::{Path, PathBuf};

use anomalyzer_store::{
    DurableAnomalyzer, PowerLoss, SimStorage, StoreOptions, FORMAT_VERSION, SNAPSHOT_FILE, WAL_FILE,
};
use common::*;

const FIXTURE_VALUES: [f64; 10] = [10.0, 10.5, 9.75, 11.0, 10.25, 30.0, 10.0, 9.5, 10.75, 12.0];

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v2")
}

/// The files this build writes for the fixture's pushes.
fn written_now() -> (Vec<u8>, Vec<u8>) {
    let sim = SimStorage::new();
    let options = StoreOptions::default().snapshot_interval(6);
    let mut d = open_sim(&sim, Some(conf()), options).unwrap();
    for x in FIXTURE_VALUES {
        d.push(x).unwrap();
    }
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);
    (
        sim.read(&sim_file(SNAPSHOT_FILE)).unwrap(),
        sim.read(&sim_file(WAL_FILE)).unwrap(),
    )
}

#[test]
fn version_2_fixture_loads_and_matches_what_we_write() {
    let (snap, wal) = written_now();
    if std::env::var_os("ANOMALYZER_WRITE_FIXTURE").is_some() {
        std::fs::create_dir_all(fixture_dir()).unwrap();
        std::fs::write(fixture_dir().join(SNAPSHOT_FILE), &snap).unwrap();
        std::fs::write(fixture_dir().join(WAL_FILE), &wal).unwrap();
    }
    assert_eq!(
        FORMAT_VERSION, 2,
        "a new version needs a new fixture directory"
    );
    let fixture_snap = std::fs::read(fixture_dir().join(SNAPSHOT_FILE)).unwrap();
    let fixture_wal = std::fs::read(fixture_dir().join(WAL_FILE)).unwrap();
    assert_eq!(
        fixture_snap, snap,
        "snapshot bytes changed: that is a new format version"
    );
    assert_eq!(
        fixture_wal, wal,
        "log bytes changed: that is a new format version"
    );
    assert_eq!(fixture_wal.len(), WAL_HEADER + 4 * PUSH_RECORD);
    // The log of generation 2 starts after the snapshot at LSN 6.
    assert_eq!(&fixture_wal[32..40], &2u64.to_le_bytes());
    assert_eq!(&fixture_wal[40..48], &6u64.to_le_bytes());
    assert_eq!(&fixture_snap[32..40], &2u64.to_le_bytes());
    assert_eq!(&fixture_snap[48..56], &6u64.to_le_bytes());

    // Read-only status of the committed files.
    let status = anomalyzer_store::inspect(fixture_dir()).unwrap();
    assert_eq!(status.format_version, 2);
    assert_eq!(status.report.snapshot_lsn, 6);
    assert_eq!(status.report.last_lsn, 10);
    assert_eq!(status.report.wal_generation, 2);
    assert_eq!(
        status.report.directory_id.as_deref(),
        Some("315249445f4d49530100000000000000"),
        "SimStorage's first directory id"
    );
    assert_eq!(status.window, FIXTURE_VALUES[4..]);
    assert_eq!(status.conf, conf());

    // A writer on a copy continues exactly like a detector that never stopped.
    let dir = tempfile::tempdir().unwrap();
    for name in [SNAPSHOT_FILE, WAL_FILE] {
        std::fs::copy(fixture_dir().join(name), dir.path().join(name)).unwrap();
    }
    let mut d = DurableAnomalyzer::open_with(dir.path(), None, StoreOptions::default()).unwrap();
    assert_same_state(&mut d, &conf(), &FIXTURE_VALUES, "fixture v2");
}
