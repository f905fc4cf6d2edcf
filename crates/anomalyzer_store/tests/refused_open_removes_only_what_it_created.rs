//! Issue 9, point 7: an open that is refused (no configuration for a new
//! directory, a configuration that differs, damage, a failure while
//! creating) removes the directories and the `LOCK` file it created
//! itself, and never anything it did not create. `inspect` on a path that
//! does not exist says so.

mod common;

use anomalyzer_store::{
    inspect, DurableAnomalyzer, Error, FaultKind, OnConfMismatch, SimStorage, StoreOptions,
    LOCK_FILE, SNAPSHOT_FILE, WAL_FILE,
};
use common::*;

fn open(
    dir: &std::path::Path,
    conf: Option<anomalyzer_ts::AnomalyzerConf>,
) -> Result<DurableAnomalyzer, Error> {
    DurableAnomalyzer::open_with(dir, conf, StoreOptions::default())
}

#[test]
fn a_refused_open_of_a_new_path_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let nested = tmp.path().join("a/b/state");
    let err = open(&nested, None).unwrap_err();
    assert!(matches!(err, Error::NoState { .. }), "{err}");
    assert!(
        !tmp.path().join("a").exists(),
        "created directories removed"
    );
    assert!(tmp.path().exists(), "the existing parent is kept");

    // An empty directory the user made: kept, but not the LOCK we made.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(matches!(
        open(&empty, None).unwrap_err(),
        Error::NoState { .. }
    ));
    assert!(empty.is_dir());
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}

#[test]
fn a_refused_open_of_existing_state_removes_only_its_own_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let mut d = open(&dir, Some(conf())).unwrap();
    d.push(1.0).unwrap();
    drop(d);
    let snap = std::fs::read(dir.join(SNAPSHOT_FILE)).unwrap();
    let wal = std::fs::read(dir.join(WAL_FILE)).unwrap();

    // The LOCK of an earlier writer stays.
    let err = open(&dir, Some(other_conf())).unwrap_err();
    assert!(matches!(err, Error::ConfigMismatch { .. }), "{err}");
    assert!(dir.join(LOCK_FILE).exists());

    // A copy without a LOCK: the LOCK this open made goes again.
    std::fs::remove_file(dir.join(LOCK_FILE)).unwrap();
    let err = open(&dir, Some(other_conf())).unwrap_err();
    assert!(matches!(err, Error::ConfigMismatch { .. }), "{err}");
    assert!(!dir.join(LOCK_FILE).exists(), "its own LOCK removed");
    assert_eq!(std::fs::read(dir.join(SNAPSHOT_FILE)).unwrap(), snap);
    assert_eq!(std::fs::read(dir.join(WAL_FILE)).unwrap(), wal);

    // Damage: the same.
    std::fs::remove_file(dir.join(WAL_FILE)).unwrap();
    assert!(open(&dir, None).unwrap_err().is_corruption());
    assert!(!dir.join(LOCK_FILE).exists());
    assert!(
        dir.join(SNAPSHOT_FILE).exists(),
        "never removes what it did not create"
    );
    let _ = OnConfMismatch::Refuse;
}

#[test]
fn a_creation_that_fails_midway_removes_the_new_directory() {
    for k in 1..12 {
        let sim = SimStorage::new();
        sim.fail_nth_op(k, FaultKind::NoSpace);
        match open_sim(&sim, Some(conf()), StoreOptions::default()) {
            Ok(_) => continue,
            Err(e) => {
                assert!(!sim.dir_exists(&sim_dir()), "op {k}: {e}: directory left");
                assert!(sim.files().is_empty(), "op {k}: {e}: {:?}", sim.files());
            }
        }
    }
}

#[test]
fn inspect_of_a_path_that_does_not_exist_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let err = inspect(&missing).unwrap_err();
    assert!(matches!(err, Error::MissingDirectory { .. }), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!missing.exists(), "inspect creates nothing");
    let err = inspect(tmp.path()).unwrap_err();
    assert!(matches!(err, Error::NoState { .. }), "{err}");
}

#[test]
fn abandoning_an_open_before_any_push_undoes_it_after_a_push_keeps_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    drop(open(&dir, Some(conf())).unwrap());
    std::fs::remove_file(dir.join(LOCK_FILE)).unwrap();
    // Looked at and refused by the caller: its own LOCK goes again.
    open(&dir, None).unwrap().abandon();
    assert!(!dir.join(LOCK_FILE).exists());
    assert!(dir.join(SNAPSHOT_FILE).exists() && dir.join(WAL_FILE).exists());

    // Once something was pushed, abandoning only closes.
    let mut d = open(&dir, None).unwrap();
    d.push(3.0).unwrap();
    d.abandon();
    assert!(dir.join(LOCK_FILE).exists());
    assert_eq!(inspect(&dir).unwrap().report.last_lsn, 1);

    // A new directory abandoned before any push disappears.
    let fresh = tmp.path().join("fresh");
    open(&fresh, Some(conf())).unwrap().abandon();
    assert!(!fresh.exists());
}
