//! The files of a state directory (see the format in [`crate::codec`]).

use std::path::{Path, PathBuf};

/// Name of the lock file.
pub const LOCK_FILE: &str = "LOCK";
/// Name of the snapshot file.
pub const SNAPSHOT_FILE: &str = "anomalyzer.snap";
/// Name of the snapshot's staging file.
pub const SNAPSHOT_TMP_FILE: &str = "anomalyzer.snap.tmp";
/// Name of the write-ahead log.
pub const WAL_FILE: &str = "anomalyzer.wal";
/// Name of the next generation's log while a compaction prepares it.
pub const WAL_TMP_FILE: &str = "anomalyzer.wal.tmp";

/// Full paths of one directory's files.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub dir: PathBuf,
    pub lock: PathBuf,
    pub snap: PathBuf,
    pub snap_tmp: PathBuf,
    pub wal: PathBuf,
    pub wal_tmp: PathBuf,
}

impl Paths {
    pub(crate) fn new(dir: &Path) -> Self {
        Paths {
            dir: dir.to_owned(),
            lock: dir.join(LOCK_FILE),
            snap: dir.join(SNAPSHOT_FILE),
            snap_tmp: dir.join(SNAPSHOT_TMP_FILE),
            wal: dir.join(WAL_FILE),
            wal_tmp: dir.join(WAL_TMP_FILE),
        }
    }
}
