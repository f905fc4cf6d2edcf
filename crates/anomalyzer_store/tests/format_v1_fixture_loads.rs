//! The committed fixture of format version 1 (`tests/fixtures/v1/`, made
//! by the version-1 build from `FIXTURE_VALUES` with `conf()`, snapshot
//! interval 6) still loads, gives the documented numbers, is never changed
//! by `inspect`, and is converted to version 2 by the first writer: a
//! crash at any step of the conversion loses nothing.

mod common;

use std::path::{Path, PathBuf};

use anomalyzer_store::{
    DurableAnomalyzer, PowerLoss, SimStorage, StoreOptions, SNAPSHOT_FILE, WAL_FILE,
};
use common::*;

const FIXTURE_VALUES: [f64; 10] = [10.0, 10.5, 9.75, 11.0, 10.25, 30.0, 10.0, 9.5, 10.75, 12.0];

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).unwrap()
}

#[test]
fn version_1_fixture_loads_and_is_converted_by_the_first_writer() {
    let (snap, wal) = (fixture(SNAPSHOT_FILE), fixture(WAL_FILE));
    assert_eq!(&snap[8..12], &1u32.to_le_bytes(), "a version-1 snapshot");
    assert_eq!(wal.len(), 16 + 4 * 32);

    // Read-only status of the committed files.
    let status = anomalyzer_store::inspect(fixture_dir()).unwrap();
    assert_eq!(status.format_version, 1);
    assert_eq!(status.report.snapshot_lsn, 6);
    assert_eq!(status.report.last_lsn, 10);
    assert_eq!(status.report.directory_id, None);
    assert_eq!(status.window, FIXTURE_VALUES[4..]);
    assert_eq!(status.conf, conf());
    assert_eq!(
        (fixture(SNAPSHOT_FILE), fixture(WAL_FILE)),
        (snap.clone(), wal.clone())
    );

    // A writer on a copy continues exactly like a detector that never
    // stopped, and leaves a version-2 directory behind.
    let dir = tempfile::tempdir().unwrap();
    for name in [SNAPSHOT_FILE, WAL_FILE] {
        std::fs::copy(fixture_dir().join(name), dir.path().join(name)).unwrap();
    }
    let mut d = DurableAnomalyzer::open_with(dir.path(), None, StoreOptions::default()).unwrap();
    assert_eq!(d.manager().wal_generation(), 1);
    assert_same_state(&mut d, &conf(), &FIXTURE_VALUES, "fixture v1");
    drop(d);
    let status = anomalyzer_store::inspect(dir.path()).unwrap();
    assert_eq!(status.format_version, 2);
    assert_eq!(status.report.last_lsn, 13);
    assert!(status.report.directory_id.is_some());
    let snap2 = std::fs::read(dir.path().join(SNAPSHOT_FILE)).unwrap();
    assert_eq!(&snap2[8..12], &2u32.to_le_bytes());
    let wal2 = std::fs::read(dir.path().join(WAL_FILE)).unwrap();
    assert_eq!(&wal2[8..12], &2u32.to_le_bytes());
    assert_eq!(&wal2[16..32], &snap2[16..32], "one directory id in both");
}

#[test]
fn a_crash_at_any_step_of_the_conversion_loses_nothing() {
    let (snap, wal) = (fixture(SNAPSHOT_FILE), fixture(WAL_FILE));
    let plant = || {
        let sim = SimStorage::new();
        sim.write_durable(&sim_file(SNAPSHOT_FILE), &snap);
        sim.write_durable(&sim_file(WAL_FILE), &wal);
        sim
    };
    let dry = plant();
    let before = dry.op_count();
    drop(open_sim(&dry, None, StoreOptions::default()).unwrap());
    let ops = dry.op_count() - before;
    assert!(
        ops >= 10,
        "the conversion writes a snapshot and a log: {ops} ops"
    );
    let mut cases = 0;
    for k in 0..=ops {
        for mode in 0..3 {
            let sim = plant();
            sim.crash_after_ops(k);
            let _ = open_sim(&sim, None, StoreOptions::default());
            match mode {
                0 => sim.process_crash(),
                1 => sim.power_loss(PowerLoss::DropUnsynced),
                _ => sim.power_loss(PowerLoss::TornUnsynced { seed: k }),
            }
            let what = format!("crash after op {k} of the conversion, mode {mode}");
            let mut d = open_sim(&sim, None, StoreOptions::default())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_same_state(&mut d, &conf(), &FIXTURE_VALUES, &what);
            cases += 1;
        }
    }
    println!("conversion crash points: {cases}");
}
