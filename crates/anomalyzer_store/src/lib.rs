//! Durable state for [`anomalyzer_ts`]: a write-ahead log (WAL) of every
//! push and periodic snapshots of the window (and of the robust tests'
//! histories, for `Preset::Robust`), so a detector comes back
//! exactly after `kill -9`, a power cut or a full disk.
//!
//! - Every log record carries its LSN and a CRC32C; the snapshot stores its
//!   LSN, the configuration (with a fingerprint) and a CRC32C. Replay skips
//!   what the snapshot already holds, so nothing is counted twice.
//! - A torn last record is truncated (and the truncation fsynced) before
//!   anything new is appended; damage followed by valid records is an
//!   error unless [`RecoveryMode::Salvage`] is chosen.
//! - Values are validated, logged, then applied: memory never holds what
//!   the log does not. A failed fsync poisons the writer.
//! - One writer per directory (an OS lock on `DIR/LOCK`). No file of the
//!   directory is reached through a symbolic link.
//! - Every header carries the directory's random id, and the snapshot names
//!   the log generation it expects: a missing, emptied, older or foreign
//!   log is refused instead of silently starting over.
//! - [`SyncPolicy`] trades fsyncs for throughput, each with its loss
//!   window documented.
//!
//! The format is documented in [`codec`] and in `docs/format.md`.
//!
//! ```
//! use anomalyzer_store::{DurableAnomalyzer, StoreOptions, SyncPolicy};
//! use anomalyzer_ts::AnomalyzerConf;
//!
//! let dir = tempfile::tempdir()?;
//! let conf = AnomalyzerConf::builder().active_size(2).build()?;
//! let options = StoreOptions::default().sync(SyncPolicy::EveryN(64));
//! let mut detector = DurableAnomalyzer::open_with(dir.path(), Some(conf), options)?;
//! for i in 0..100 {
//!     detector.push(f64::from(i % 7))?;
//! }
//! detector.sync()?; // make the last group durable before exiting
//! assert_eq!(detector.durable_lsn(), 100);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
mod compaction;
mod conf_differences;
mod detector_state;
mod durable;
mod error;
mod lock;
mod log_reader;
mod manager;
mod options;
mod paths;
mod record;
mod recovery;
mod recovery_report;
mod section;
mod series_set;
mod sim_storage;
mod snapshot;
mod status;
mod storage;
mod sync_policy;
mod wal;

pub use codec::{conf_fingerprint, FORMAT_VERSION, OLDEST_READABLE_VERSION};
pub use conf_differences::conf_differences;
pub use durable::DurableAnomalyzer;
pub use error::{Error, Result};
pub use manager::PersistenceManager;
pub use options::{OnConfMismatch, StoreOptions, DEFAULT_SNAPSHOT_INTERVAL};
pub use paths::{LOCK_FILE, SNAPSHOT_FILE, SNAPSHOT_TMP_FILE, WAL_FILE, WAL_TMP_FILE};
pub use record::{decode_record, encode_record, Record};
pub use recovery::{FileSalvage, RecoveryMode, RecoveryReport};
pub use series_set::{
    Completion, ConfResolver, FsyncObserver, IncomingPoint, PointFate, SeriesIdentity, SeriesSet,
    SeriesSetOptions, SeriesView, SetRecovery, SetStats, DEFAULT_MAX_SERIES,
};
pub use sim_storage::{FaultKind, PowerLoss, SimSpecial, SimStorage};
pub use status::{inspect, inspect_in, StoreStatus};
pub use storage::{
    AcquiredLock, DirLock, FsStorage, LockFailure, NotRegularFile, Storage, StorageFile,
};
pub use sync_policy::SyncPolicy;
