//! Issue 9, point 1: no file of a state directory is reached through a
//! symbolic link. A link (or a directory, or a FIFO) where `LOCK`,
//! `anomalyzer.wal`, `anomalyzer.snap` or a staging file belongs is refused
//! with an error naming the file and what it is; the link's target is never
//! opened, written, truncated or created. The state directory itself may be
//! a link. (Real files: symbolic links need no privileges.)

mod common;

use std::path::Path;

use anomalyzer_store::{
    inspect, DurableAnomalyzer, Error, SimSpecial, SimStorage, StoreOptions, LOCK_FILE,
    SNAPSHOT_FILE, SNAPSHOT_TMP_FILE, WAL_FILE, WAL_TMP_FILE,
};
use common::*;

const NAMES: [&str; 5] = [
    LOCK_FILE,
    WAL_FILE,
    SNAPSHOT_FILE,
    SNAPSHOT_TMP_FILE,
    WAL_TMP_FILE,
];

/// A directory with state in it (10 pushes, a compaction after 6).
fn populated(dir: &Path) {
    let options = StoreOptions::default().snapshot_interval(6);
    let mut d = DurableAnomalyzer::open_with(dir, Some(conf()), options).unwrap();
    for x in values(40, 10) {
        d.push(x).unwrap();
    }
}

fn assert_refused(err: &Error, name: &str, what: &str) {
    assert!(
        matches!(err, Error::NotRegularFile { what: w, .. } if *w == what),
        "{name}: {err}"
    );
    let msg = err.to_string();
    assert!(msg.contains(name) && msg.contains(what), "{msg}");
}

#[test]
fn a_link_in_place_of_any_file_is_refused_and_its_target_untouched() {
    for name in NAMES {
        for dangling in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let state = dir.path().join("state");
            populated(&state);
            let target = dir.path().join("target");
            if !dangling {
                std::fs::write(&target, b"precious").unwrap();
            }
            let link = state.join(name);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&target, &link).unwrap();
            let what = format!("{name} (dangling: {dangling})");

            let err = DurableAnomalyzer::open_with(&state, Some(conf()), StoreOptions::default())
                .unwrap_err();
            assert_refused(&err, name, "a symbolic link");
            if name != LOCK_FILE {
                // inspect takes no lock, so it only meets the data files;
                // it refuses them the same way.
                if let Err(e) = inspect(&state) {
                    assert_refused(&e, name, "a symbolic link");
                } else {
                    assert!(name.ends_with(".tmp"), "{what}: inspect followed the link");
                }
            }
            if dangling {
                assert!(!target.exists(), "{what}: the target was created");
            } else {
                assert_eq!(std::fs::read(&target).unwrap(), b"precious", "{what}");
            }
            assert!(
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink(),
                "{what}: the link is left as it was"
            );
        }
    }
}

#[test]
fn a_directory_or_fifo_in_place_of_a_file_is_refused() {
    for name in NAMES {
        let sim = SimStorage::new();
        drop(open_sim(&sim, Some(conf()), StoreOptions::default()).unwrap());
        for (special, what) in [
            (SimSpecial::Fifo, "a FIFO"),
            (SimSpecial::Directory, "a directory"),
        ] {
            sim.make_special(&sim_file(name), special);
            let err = open_sim(&sim, None, StoreOptions::default()).unwrap_err();
            assert_refused(&err, name, what);
        }
    }
    // On real files too: a FIFO (which a plain open would block on) and a
    // directory.
    for name in [LOCK_FILE, WAL_FILE, SNAPSHOT_FILE] {
        let dir = tempfile::tempdir().unwrap();
        populated(dir.path());
        let path = dir.path().join(name);
        std::fs::remove_file(&path).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo");
        let err =
            DurableAnomalyzer::open_with(dir.path(), None, StoreOptions::default()).unwrap_err();
        assert_refused(&err, name, "a FIFO");
    }
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    std::fs::remove_file(dir.path().join(WAL_FILE)).unwrap();
    std::fs::create_dir(dir.path().join(WAL_FILE)).unwrap();
    let err = DurableAnomalyzer::open_with(dir.path(), None, StoreOptions::default()).unwrap_err();
    assert_refused(&err, WAL_FILE, "a directory");
}

#[test]
fn a_hard_link_is_not_written_through() {
    for name in [LOCK_FILE, WAL_FILE] {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        populated(&state);
        // The file shares its contents with another name outside.
        let other = dir.path().join("other-name");
        std::fs::write(&other, b"precious").unwrap();
        std::fs::remove_file(state.join(name)).unwrap();
        std::fs::hard_link(&other, state.join(name)).unwrap();
        let err = DurableAnomalyzer::open_with(&state, None, StoreOptions::default()).unwrap_err();
        // The LOCK is refused as a hard link; the log's foreign contents
        // are refused as damage before it would be opened for writing.
        assert!(
            matches!(err, Error::NotRegularFile { .. }) || err.is_corruption(),
            "{name}: {err}"
        );
        assert!(err.to_string().contains(name), "{err}");
        assert_eq!(std::fs::read(&other).unwrap(), b"precious", "{name}");
    }
    // A log with a second name is refused before anything is appended.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    populated(&state);
    let backup = dir.path().join("backup.wal");
    std::fs::hard_link(state.join(WAL_FILE), &backup).unwrap();
    let before = std::fs::read(&backup).unwrap();
    let err = DurableAnomalyzer::open_with(&state, None, StoreOptions::default()).unwrap_err();
    assert!(err.to_string().contains("hard link"), "{err}");
    assert_eq!(std::fs::read(&backup).unwrap(), before);
}

#[test]
fn the_state_directory_itself_may_be_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    populated(&real);
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut d = DurableAnomalyzer::open_with(&link, None, StoreOptions::default()).unwrap();
    assert_same_state(
        &mut d,
        &conf(),
        &values(40, 10),
        "through a linked directory",
    );
    drop(d);
    assert_eq!(inspect(&link).unwrap().report.last_lsn, 13);
}
