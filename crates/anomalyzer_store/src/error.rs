//! The crate's error type.
//!
//! Every kind a caller may want to react to differently has its own variant:
//! a torn tail (only an error in [`RecoveryMode::Absolute`]), a checksum
//! mismatch, corruption in the middle of the log, a configuration mismatch, a
//! directory locked by another writer, and a writer poisoned by a failed
//! fsync.
//!
//! [`RecoveryMode::Absolute`]: crate::RecoveryMode::Absolute

use std::io;
use std::path::PathBuf;

use anomalyzer_ts::AnomalyzerConf;

/// Everything that can go wrong while opening, recovering or writing a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call failed (disk full, permission denied,
    /// read-only file system, ...). Nothing that was acknowledged is lost;
    /// the operation that failed did not happen (a failed fsync poisons the
    /// writer instead, see [`Error::Poisoned`]).
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What we were doing (`"append to"`, `"fsync"`, `"rename"`, ...).
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Another process (or another handle in this one) holds the directory's
    /// writer lock.
    #[error("state directory is locked by another writer (lock file {}){}", path.display(), holder.as_deref().map(|h| format!(", held by {h}")).unwrap_or_default())]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// What the holder wrote in the lock file (its process id), if readable.
        holder: Option<String>,
    },
    /// The log ends in a partly written record. Tolerated (truncated and
    /// reported) by default; an error only in
    /// [`RecoveryMode::Absolute`](crate::RecoveryMode::Absolute).
    #[error("write-ahead log {} ends in a torn record: {bytes} {} from offset {offset} after the last valid record (lsn {last_lsn})", path.display(), crate::recovery::plural(*bytes, "byte", "bytes"))]
    TornTail {
        /// The log file.
        path: PathBuf,
        /// Offset of the first byte after the last valid record.
        offset: u64,
        /// Number of bytes after it.
        bytes: u64,
        /// LSN of the last valid record (or of the snapshot).
        last_lsn: u64,
    },
    /// A snapshot or log header whose CRC32C does not match its contents.
    #[error("checksum mismatch in {} at offset {offset}: stored {stored:#010x}, computed {computed:#010x}", path.display())]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// Offset of the checksummed region.
        offset: u64,
        /// Checksum read from disk.
        stored: u32,
        /// Checksum of the bytes read.
        computed: u32,
    },
    /// Bad records in the middle of the log, followed by valid ones: the
    /// pushes after the damage would be lost by treating it as a torn tail.
    /// Refused by default; [`RecoveryMode::Salvage`](crate::RecoveryMode::Salvage)
    /// skips the damaged bytes instead.
    #[error("write-ahead log {} is corrupt from offset {offset} ({reason}); valid records resume at offset {resume_offset} (lsn {resume_lsn}); refusing to drop them: open in salvage mode to skip the damaged bytes", path.display())]
    CorruptLog {
        /// The log file.
        path: PathBuf,
        /// Offset of the first bad byte.
        offset: u64,
        /// What was wrong with the record there.
        reason: String,
        /// Offset of the next valid record.
        resume_offset: u64,
        /// LSN of the next valid record.
        resume_lsn: u64,
    },
    /// A file that is not in our format, or in a format version we do not read.
    #[error("{} is not a valid state file: {reason}", path.display())]
    BadFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The directory holds state written with another detector configuration.
    #[error("state in {} was written with another configuration (differs in: {}); stored {stored:?}, given {given:?}; use the stored one or open with OnConfMismatch::Adopt", path.display(), fields.join(", "))]
    ConfigMismatch {
        /// The snapshot holding the stored configuration.
        path: PathBuf,
        /// Names of the fields that differ (serde names: `active_size`, ...).
        fields: Vec<&'static str>,
        /// The stored configuration.
        stored: Box<AnomalyzerConf>,
        /// The configuration the caller gave.
        given: Box<AnomalyzerConf>,
    },
    /// The state directory does not exist (`inspect` never creates it).
    #[error("{} does not exist", path.display())]
    MissingDirectory {
        /// The path given.
        path: PathBuf,
    },
    /// The configuration's detector state (its robust tests' histories)
    /// could outgrow what a snapshot section holds; nothing was created.
    #[error("{} cannot hold this configuration durably: {reason}", path.display())]
    StateTooLarge {
        /// The directory.
        path: PathBuf,
        /// The bound and what to lower.
        reason: String,
    },
    /// Opening a directory that holds no state without giving a configuration.
    #[error("{} holds no detector state and no configuration was given", path.display())]
    NoState {
        /// The directory.
        path: PathBuf,
    },
    /// An earlier fsync (or the rollback of a failed write) failed: what is on
    /// disk is unknown, so this writer refuses every further write. Reopen
    /// the directory to recover what is durable.
    #[error("the store's writer is poisoned since an earlier failure ({cause}); reopen the directory to recover")]
    Poisoned {
        /// The failure that poisoned it.
        cause: String,
    },
    /// A file of the state directory is a symbolic link, a directory, a
    /// FIFO or another non-regular file: it is never followed or opened.
    #[error("{} is {what}, not a regular file: the store never follows a link or opens a special file in its directory; remove it or put the real file there", path.display())]
    NotRegularFile {
        /// The file.
        path: PathBuf,
        /// What is there (`"a symbolic link"`, `"a directory"`, ...).
        what: &'static str,
    },
    /// The log is not the one the snapshot expects: missing, emptied, of
    /// another generation, or ending before the snapshot's LSN. Refused
    /// unless [`RecoveryMode::Salvage`](crate::RecoveryMode::Salvage), which
    /// carries on from the snapshot.
    #[error("{}: {problem}; refusing to open: acknowledged pushes may be missing (salvage mode carries on from the snapshot and reports what it could not recover)", path.display())]
    LogMismatch {
        /// The log file.
        path: PathBuf,
        /// What is wrong, e.g. `missing, but the snapshot expects records after LSN 1200`.
        problem: String,
    },
    /// The log and the snapshot carry different directory ids: one of them
    /// was copied in from another state directory. Refused in every
    /// recovery mode.
    #[error("{} does not belong with {}: {problem}", path.display(), other.display())]
    ForeignFile {
        /// The log.
        path: PathBuf,
        /// The snapshot.
        other: PathBuf,
        /// The ids found.
        problem: String,
    },
    /// A request would create a series past the series set's limit;
    /// nothing of it was applied.
    #[error("series limit reached: {limit} series exist, so the new series {series} is refused")]
    TooManySeries {
        /// The limit in force.
        limit: u64,
        /// The first new series that was refused.
        series: String,
    },
    /// The series set could not write a request's records (disk full, I/O
    /// error): the log was cut back and nothing of the request was applied
    /// or acknowledged; later requests succeed once the cause is gone.
    #[error("the store could not write the request: {reason}")]
    Unavailable {
        /// What failed.
        reason: String,
    },
    /// The series set was shut down and takes no more requests.
    #[error("the store is shut down")]
    ShutDown,
    /// A value the detector refuses (NaN or infinite); nothing was logged.
    #[error(transparent)]
    InvalidValue(#[from] anomalyzer_ts::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        if let Some(not_regular) = crate::storage::NotRegularFile::of(&source) {
            return Error::NotRegularFile {
                path: path.into(),
                what: not_regular.what,
            };
        }
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::BadFormat {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// True for errors that say the bytes on disk are damaged (checksum,
    /// torn tail in absolute mode, mid-log corruption, bad format, the
    /// wrong log, a file of another directory).
    #[must_use]
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            Error::TornTail { .. }
                | Error::ChecksumMismatch { .. }
                | Error::CorruptLog { .. }
                | Error::BadFormat { .. }
                | Error::LogMismatch { .. }
                | Error::ForeignFile { .. }
        )
    }
}
