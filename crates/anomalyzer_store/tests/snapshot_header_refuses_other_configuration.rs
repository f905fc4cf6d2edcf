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

/// Adopting a configuration with the same robust tests keeps their
/// histories, cut to the new bounds; other robust tests (or robust tests
/// where there were none) cannot be adopted once values were pushed, and
/// the refused open leaves the directory as it was.
#[test]
fn robust_histories_are_adopted_within_the_new_bounds_or_refused() {
    use anomalyzer_ts::{AnomalyzerConf, Method, Preset};
    let dir = tempfile::tempdir().unwrap();
    let robust = AnomalyzerConf::preset(Preset::Robust);
    let values = values(4, 300);
    let mut d = DurableAnomalyzer::open(dir.path(), robust.clone()).unwrap();
    for &x in &values {
        d.push(x).unwrap();
    }
    drop(d);
    let adopt = StoreOptions::default().on_conf_mismatch(OnConfMismatch::Adopt);
    let mut p = *robust.robust();
    p.likelihood_history = 100;
    p.alert_hold = 10;
    let smaller = robust.to_builder().robust(p).build().unwrap();
    let d = DurableAnomalyzer::open_with(dir.path(), Some(smaller.clone()), adopt).unwrap();
    let state = d.detector().state().robust.unwrap();
    assert_eq!(state.history, values, "history within the new bound");
    assert!(state.statistics.iter().all(|s| s.len() <= 100));
    assert_eq!(state.recent_scores.len(), 10);
    drop(d);

    let fewer = robust
        .to_builder()
        .methods([Method::RobustZ])
        .build()
        .unwrap();
    let err = DurableAnomalyzer::open_with(dir.path(), Some(fewer), adopt).unwrap_err();
    assert!(
        matches!(&err, Error::ConfigMismatch { fields, .. } if fields[0].contains("robust")),
        "{err}"
    );
    // The refused open changed nothing.
    let d = DurableAnomalyzer::open_with(dir.path(), None, StoreOptions::default()).unwrap();
    assert_eq!(d.detector().conf(), &smaller);
    drop(d);
    // A Go configuration adopts the window alone; robust tests cannot come
    // back from it.
    drop(DurableAnomalyzer::open_with(dir.path(), Some(conf()), adopt).unwrap());
    let err = DurableAnomalyzer::open_with(dir.path(), Some(robust), adopt).unwrap_err();
    assert!(matches!(err, Error::ConfigMismatch { .. }), "{err}");
    let d = DurableAnomalyzer::open_with(dir.path(), None, StoreOptions::default()).unwrap();
    assert_eq!(d.detector().conf(), &conf());
    assert_eq!(d.detector().push_count(), 300);
}
