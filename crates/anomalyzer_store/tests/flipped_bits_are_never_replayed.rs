//! Defect 3 of the seed: one magic byte was the only integrity check, so a
//! flipped bit in a value replayed a wrong number. Every record and the
//! snapshot carry a CRC32C. This test flips every single bit of a small log
//! and of a small snapshot: recovery never yields a wrong value.

mod common;

use anomalyzer_store::{Error, PowerLoss, SimStorage, StoreOptions, SNAPSHOT_FILE, WAL_FILE};
use common::*;

#[test]
fn every_bit_flip_of_a_small_log_is_caught() {
    let conf = conf();
    let values = values(3, 6);
    let sim = SimStorage::new();
    let mut d = open_sim(&sim, Some(conf.clone()), StoreOptions::default()).unwrap();
    for &x in &values {
        d.push(x).unwrap();
    }
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);
    let wal = sim.read(&sim_file(WAL_FILE)).unwrap();
    let (mut errors, mut torn) = (0, 0);
    for bit in 0..wal.len() * 8 {
        let mut bad = wal.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        sim.write_durable(&sim_file(WAL_FILE), &bad);
        let byte = bit / 8;
        match open_sim(&sim, Some(conf.clone()), StoreOptions::default()) {
            Ok(mut d) => {
                // Only damage to the last record can look like a torn write;
                // it is reported and the values before it are exact.
                assert!(
                    byte >= WAL_HEADER + 5 * PUSH_RECORD,
                    "bit {bit}: damage before the last record accepted"
                );
                assert_eq!(d.recovery_report().torn_tail_bytes, 32, "bit {bit}");
                assert_same_state(&mut d, &conf, &values[..5], &format!("bit {bit}"));
                torn += 1;
            }
            Err(e) => {
                assert!(e.is_corruption(), "bit {bit}: {e}");
                if byte >= WAL_HEADER {
                    assert!(matches!(e, Error::CorruptLog { .. }), "bit {bit}: {e}");
                }
                errors += 1;
            }
        }
        sim.write_durable(&sim_file(WAL_FILE), &wal);
    }
    assert_eq!(errors + torn, wal.len() * 8);
    assert_eq!(torn, 32 * 8, "the last record's bits");
    println!(
        "log bit flips: {} cases, {errors} refused, {torn} torn tails",
        wal.len() * 8
    );
}

#[test]
fn every_bit_flip_of_a_small_snapshot_is_refused() {
    let conf = conf();
    let values = values(4, 5);
    let sim = SimStorage::new();
    let mut d = open_sim(&sim, Some(conf.clone()), StoreOptions::default()).unwrap();
    for &x in &values {
        d.push(x).unwrap();
    }
    d.compact().unwrap();
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);
    let snap = sim.read(&sim_file(SNAPSHOT_FILE)).unwrap();
    let mut checksum = 0;
    for bit in 0..snap.len() * 8 {
        let mut bad = snap.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        sim.write_durable(&sim_file(SNAPSHOT_FILE), &bad);
        let err = open_sim(&sim, Some(conf.clone()), StoreOptions::default()).unwrap_err();
        assert!(err.is_corruption(), "bit {bit}: {err}");
        if matches!(err, Error::ChecksumMismatch { .. }) {
            checksum += 1;
        }
        assert!(
            anomalyzer_store::inspect_in(&sim, &sim_dir()).is_err(),
            "bit {bit}"
        );
    }
    sim.write_durable(&sim_file(SNAPSHOT_FILE), &snap);
    let mut d = open_sim(&sim, Some(conf.clone()), StoreOptions::default()).unwrap();
    assert_same_state(&mut d, &conf, &values, "intact snapshot");
    // Every flip but those in the 8-byte magic is a checksum mismatch.
    assert_eq!(checksum, snap.len() * 8 - 64);
    println!(
        "snapshot bit flips: {} cases, all refused ({checksum} as checksum mismatches)",
        snap.len() * 8
    );
}
