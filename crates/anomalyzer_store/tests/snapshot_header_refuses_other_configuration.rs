//! Defect 9 of the seed: the snapshot held only the data, so reopening with
//! another window size or method set silently misread it (and it relied on
//! bincode, whose 3.0 release refuses to compile). The snapshot now has a
//! versioned header with a configuration fingerprint and the configuration
//! itself: a mismatch is a clear error unless the caller adopts the new one.

mod common;

use anomalyzer_store::{DurableAnomalyzer, Error, OnConfMismatch, StoreOptions, SNAPSHOT_FILE};
use common::*;

#[test]
fn other_configuration_is_refused_naming_the_fields() {
    let dir = tempfile::tempdir().unwrap();
    let values = values(11, 20);
    let mut d = DurableAnomalyzer::open(dir.path(), conf()).unwrap();
    for &x in &values {
        d.push(x).unwrap();
    }
    drop(d);
    let other = other_conf().to_builder().seed(5).build().unwrap();
    let err = DurableAnomalyzer::open(dir.path(), other.clone()).unwrap_err();
    match &err {
        Error::ConfigMismatch { fields, stored, .. } => {
            assert_eq!(fields, &["active_size", "seed"]);
            assert_eq!(**stored, conf());
        }
        e => panic!("expected ConfigMismatch, got {e}"),
    }
    assert!(err.to_string().contains("active_size, seed"), "{err}");

    // The stored configuration is used when none is given.
    let d = DurableAnomalyzer::open_with(dir.path(), None, StoreOptions::default()).unwrap();
    assert_eq!(d.detector().conf(), &conf());
    drop(d);

    // Adopting keeps the push count and the values held (6, the old
    // capacity; the new one is 9).
    let adopt = StoreOptions::default().on_conf_mismatch(OnConfMismatch::Adopt);
    let d = DurableAnomalyzer::open_with(dir.path(), Some(other.clone()), adopt).unwrap();
    assert_eq!(d.detector().conf(), &other);
    assert_eq!(d.detector().push_count(), 20);
    assert_eq!(d.detector().window().collect::<Vec<_>>(), values[20 - 6..]);
    drop(d);
    let d = DurableAnomalyzer::open(dir.path(), other).unwrap();
    assert_eq!(d.lsn(), 20, "adoption was written down");
}

#[test]
fn unknown_format_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(DurableAnomalyzer::open(dir.path(), conf()).unwrap());
    let path = dir.path().join(SNAPSHOT_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8] = 3; // version 3, header CRC fixed up so only the version is wrong
    let crc = crc32c::crc32c(&bytes[..60]);
    bytes[60..64].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = DurableAnomalyzer::open(dir.path(), conf()).unwrap_err();
    assert!(matches!(err, Error::BadFormat { .. }), "{err}");
    assert!(err.to_string().contains("format version 3"), "{err}");
}
