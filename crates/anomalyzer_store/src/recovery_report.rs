//! What recovery found and did, per directory and (for salvage) per file:
//! plain data for logs, `stream`'s stderr and `inspect`.

use std::path::PathBuf;

#[cfg(doc)]
use crate::RecoveryMode;

/// What salvage did to one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileSalvage {
    /// The file.
    pub file: PathBuf,
    /// Damaged bytes skipped (a torn tail included).
    pub bytes_skipped: u64,
    /// Valid records applied.
    pub records_kept: u64,
    /// Valid records not applied, and not held by the snapshot either
    /// (the reasons say which).
    pub records_dropped: u64,
    /// Pushes known to have happened (from the LSNs) whose records are gone.
    pub pushes_lost: u64,
    /// What was wrong, one line per problem (at most 16, then a count).
    pub reasons: Vec<String>,
}

impl FileSalvage {
    pub(crate) fn reason(&mut self, why: String) {
        match self.reasons.len() {
            0..16 => self.reasons.push(why),
            16 => self.reasons.push("more problems not listed".into()),
            _ => {}
        }
    }

    /// True if salvage found nothing wrong in the file.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.bytes_skipped == 0
            && self.records_dropped == 0
            && self.pushes_lost == 0
            && self.reasons.is_empty()
    }
}

/// What recovery found and did. Plain data, for logs and `inspect`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// LSN stored in the snapshot.
    pub snapshot_lsn: u64,
    /// LSN of the last push recovered (the snapshot's if the log adds none).
    pub last_lsn: u64,
    /// Log records applied on top of the snapshot.
    pub replayed: u64,
    /// Log records skipped because the snapshot already holds them (a crash
    /// between a snapshot and the switch to the next log).
    pub already_in_snapshot: u64,
    /// Bytes of a torn last record (truncated by a writer).
    pub torn_tail_bytes: u64,
    /// Bytes at the end of the log that a reader ignored because a writer
    /// holds the lock (a record being written); not damage.
    pub ignored_tail_bytes: u64,
    /// Bytes of mid-log damage skipped ([`RecoveryMode::Salvage`] only).
    pub salvaged_bytes: u64,
    /// Pushes whose records were in the skipped bytes or missing.
    pub lost_pushes: u64,
    /// Size of the log file as found (0 if missing).
    pub wal_bytes: u64,
    /// The format version of the snapshot found (1 or 2).
    pub format_version: u32,
    /// The directory id (32 hex digits), `None` for version 1.
    pub directory_id: Option<String>,
    /// The log's generation (0: version 1 or missing).
    pub wal_generation: u64,
    /// Per file, what salvage skipped, kept and dropped (empty unless
    /// [`RecoveryMode::Salvage`] found something).
    pub salvage: Vec<FileSalvage>,
}
