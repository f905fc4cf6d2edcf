//! The directory's writer lock: one writer per directory, across processes.
//!
//! The lock is an OS file lock (`flock`-style, via `File::try_lock`) on
//! `DIR/LOCK`, held for the writer's lifetime and released by the OS if the
//! process dies, so a `kill -9` never leaves a stale lock behind. Readers
//! (`inspect`) do not take it.

use crate::storage::{DirLock, LockFailure, Storage};
use crate::{Error, Result};
use std::path::Path;

/// Takes the writer lock of the directory whose lock file is `lock_path`,
/// without waiting.
pub(crate) fn acquire(storage: &dyn Storage, lock_path: &Path) -> Result<Box<dyn DirLock>> {
    storage
        .try_lock(lock_path)
        .map_err(|failure| match failure {
            LockFailure::Held(holder) => Error::Locked {
                path: lock_path.to_owned(),
                holder,
            },
            LockFailure::Io(e) => Error::io("lock", lock_path, e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::FsStorage;

    #[test]
    fn second_lock_fails_naming_the_path_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("LOCK");
        let first = acquire(&FsStorage, &path).unwrap();
        let err = acquire(&FsStorage, &path).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Locked { .. }), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        acquire(&FsStorage, &path).unwrap();
    }
}
