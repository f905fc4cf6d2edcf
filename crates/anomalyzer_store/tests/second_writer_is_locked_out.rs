//! Defect 6 of the seed: nothing stopped two processes from opening the
//! same directory and interleaving their writes. A second writer now fails
//! with an error naming the lock file, until the first one is gone.

mod common;

use anomalyzer_store::{DurableAnomalyzer, Error, LOCK_FILE};
use common::*;

#[test]
fn second_open_fails_naming_the_lock_and_the_first_keeps_working() {
    let conf = conf();
    let dir = tempfile::tempdir().unwrap();
    let mut first = DurableAnomalyzer::open(dir.path(), conf.clone()).unwrap();
    first.push(1.0).unwrap();
    let err = DurableAnomalyzer::open(dir.path(), conf.clone()).unwrap_err();
    let lock = dir.path().join(LOCK_FILE);
    match &err {
        Error::Locked { path, holder } => {
            assert_eq!(path, &lock);
            assert_eq!(
                holder.as_deref(),
                Some(format!("pid {}", std::process::id()).as_str())
            );
        }
        other => panic!("expected Locked, got {other}"),
    }
    assert!(
        err.to_string().contains(&lock.display().to_string()),
        "{err}"
    );
    // The refused writer touched nothing.
    first.push(2.0).unwrap();
    drop(first);
    let second = DurableAnomalyzer::open(dir.path(), conf).unwrap();
    assert_eq!(second.lsn(), 2);
}
