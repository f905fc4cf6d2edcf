//! Defect 2 of the seed: a torn last record was skipped at recovery but left
//! in the file, so new appends landed after the garbage and the next
//! recovery stopped there, silently dropping every push acknowledged since.
//! Recovery now truncates the log to its last valid record (and fsyncs)
//! before accepting appends.

mod common;

use std::fs::OpenOptions;
use std::io::Write;

use anomalyzer_store::{DurableAnomalyzer, RecoveryMode, StoreOptions, WAL_FILE};
use common::*;

#[test]
fn pushes_after_a_torn_tail_survive_the_next_recovery() {
    let conf = conf();
    let values = values(2, 30);
    let dir = tempfile::tempdir().unwrap();
    let mut d = DurableAnomalyzer::open(dir.path(), conf.clone()).unwrap();
    for &x in &values[..20] {
        d.push(x).unwrap();
    }
    drop(d);
    // A crash in the middle of writing record 21: 13 of its 32 bytes.
    let wal = file(dir.path(), WAL_FILE);
    let torn = &anomalyzer_record_bytes(21, values[20])[..13];
    OpenOptions::new()
        .append(true)
        .open(&wal)
        .unwrap()
        .write_all(torn)
        .unwrap();
    let len_with_tail = std::fs::metadata(&wal).unwrap().len();

    let mut d = DurableAnomalyzer::open(dir.path(), conf.clone()).unwrap();
    assert_eq!(d.recovery_report().torn_tail_bytes, 13);
    assert_eq!(d.lsn(), 20);
    assert_eq!(
        std::fs::metadata(&wal).unwrap().len(),
        len_with_tail - 13,
        "the torn tail is cut off before any append"
    );
    // Acknowledged after the torn tail: must survive the next recovery.
    for &x in &values[20..] {
        d.push(x).unwrap();
    }
    drop(d);
    let mut d = DurableAnomalyzer::open(dir.path(), conf.clone()).unwrap();
    assert_eq!(d.recovery_report().torn_tail_bytes, 0);
    assert_same_state(&mut d, &conf, &values, "after torn tail and more pushes");
}

#[test]
fn absolute_mode_refuses_a_torn_tail() {
    let conf = conf();
    let dir = tempfile::tempdir().unwrap();
    let mut d = DurableAnomalyzer::open(dir.path(), conf.clone()).unwrap();
    d.push(1.0).unwrap();
    drop(d);
    let wal = file(dir.path(), WAL_FILE);
    OpenOptions::new()
        .append(true)
        .open(&wal)
        .unwrap()
        .write_all(&[1, 2, 3])
        .unwrap();
    let err = DurableAnomalyzer::open_with(
        dir.path(),
        Some(conf),
        StoreOptions::default().recovery(RecoveryMode::Absolute),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            anomalyzer_store::Error::TornTail {
                bytes: 3,
                last_lsn: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        std::fs::metadata(&wal).unwrap().len(),
        (WAL_HEADER + PUSH_RECORD + 3) as u64,
        "refusal modifies nothing"
    );
}

/// The bytes of a push record as the format documents them.
fn anomalyzer_record_bytes(lsn: u64, value: f64) -> Vec<u8> {
    let mut r = vec![0u8; 32];
    r[4..8].copy_from_slice(&8u32.to_le_bytes());
    r[8..16].copy_from_slice(&lsn.to_le_bytes());
    r[20] = 1;
    r[24..].copy_from_slice(&value.to_le_bytes());
    let crc = crc32c::crc32c(&r[4..]);
    r[..4].copy_from_slice(&crc.to_le_bytes());
    r
}
