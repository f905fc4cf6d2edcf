//! The directory's writer lock: one writer per directory, across processes.
//!
//! The lock is an OS file lock (`flock`-style, via `File::try_lock`) on
//! `DIR/LOCK`, held for the writer's lifetime and released by the OS if the
//! process dies, so a `kill -9` never leaves a stale lock behind. Readers
//! (`inspect`) do not take it; they ask the kernel whether it is held. The
//! lock file is never reached through a symbolic link.

use crate::storage::{AcquiredLock, LockFailure, Storage};
use crate::{Error, Result};
use std::path::Path;

/// Takes the writer lock of the directory whose lock file is `lock_path`,
/// without waiting.
pub(crate) fn acquire(storage: &dyn Storage, lock_path: &Path) -> Result<AcquiredLock> {
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

    #[test]
    fn a_symlinked_lock_file_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "keep me").unwrap();
        let path = dir.path().join("LOCK");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let err = acquire(&FsStorage, &path).unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotRegularFile {
                    what: "a symbolic link",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("LOCK"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    }
}
