//! A read-only look at a state directory, for `anomalyzer inspect` and
//! monitoring: it takes no lock and modifies nothing.

use std::path::Path;

use anomalyzer_ts::AnomalyzerConf;

use crate::codec::FORMAT_VERSION;
use crate::paths::Paths;
use crate::recovery;
use crate::storage::{FsStorage, Storage};
use crate::{Error, RecoveryMode, RecoveryReport, Result};

/// What a state directory holds, as recovery would find it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StoreStatus {
    /// The on-disk format version.
    pub format_version: u32,
    /// The stored configuration.
    pub conf: AnomalyzerConf,
    /// Values ever pushed.
    pub push_count: u64,
    /// Values in the recovered window (at most `A + R`).
    pub window_len: usize,
    /// The recovered window, oldest first.
    pub window: Vec<f64>,
    /// What recovery found: `last_lsn`, `snapshot_lsn`, `wal_bytes`, torn
    /// tail, ...
    pub report: RecoveryReport,
}

/// Reads the state of `dir` without locking or modifying it. A writer
/// running at the same time is fine: its last record may show as a torn
/// tail.
///
/// # Errors
/// [`Error::NoState`] if `dir` holds no state; corruption as
/// [`RecoveryMode::TolerateTornTail`] reports it; [`Error::Io`].
pub fn inspect(dir: impl AsRef<Path>) -> Result<StoreStatus> {
    inspect_in(&FsStorage, dir.as_ref())
}

/// [`inspect`] over any [`Storage`].
///
/// # Errors
/// As [`inspect`].
pub fn inspect_in(storage: &dyn Storage, dir: &Path) -> Result<StoreStatus> {
    let paths = Paths::new(dir);
    let found =
        recovery::recover(storage, &paths, RecoveryMode::TolerateTornTail)?.ok_or_else(|| {
            Error::NoState {
                path: dir.to_owned(),
            }
        })?;
    let window: Vec<f64> = found.window.into_iter().collect();
    Ok(StoreStatus {
        format_version: FORMAT_VERSION,
        conf: found.conf,
        push_count: found.push_count,
        window_len: window.len(),
        window,
        report: found.report,
    })
}
