//! The on-disk format, version 2 (version 1 is still read). Every integer
//! is fixed-width little-endian; every checksum is CRC32C (Castagnoli, as in
//! LevelDB, RocksDB and ext4), unmasked, stored as a `u32`. `docs/format.md`
//! holds the same text.
//!
//! A state directory holds:
//!
//! | file | what |
//! | --- | --- |
//! | `LOCK` | the writer's exclusive lock; text: `pid N`, then the last failed snapshot, if any |
//! | `anomalyzer.snap` | the latest snapshot: directory id, expected log, one section per series |
//! | `anomalyzer.snap.tmp` | a snapshot being written (never read, removed at open) |
//! | `anomalyzer.wal` | the write-ahead log of the current generation |
//! | `anomalyzer.wal.tmp` | the next generation's log being prepared (never read, removed at open) |
//!
//! No file is reached through a symbolic link, and each must be a regular
//! file (see [`Storage`](crate::Storage)).
//!
//! **Log file** = a 56-byte header, then records back to back.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `"AZTSWAL\0"` |
//! | 8 | 4 | format version (`2`) |
//! | 12 | 4 | reserved, zero |
//! | 16 | 16 | directory id: 128 random bits drawn when the directory was created |
//! | 32 | 8 | generation: 1 for the directory's first log, +1 per compaction |
//! | 40 | 8 | base LSN: the log's first record has LSN base + 1 |
//! | 48 | 4 | reserved, zero |
//! | 52 | 4 | CRC32C of bytes 0..52 |
//!
//! **Record** = a 24-byte header and a payload (the framing of version 1).
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 4 | CRC32C of bytes 4..24+len (header rest and payload) |
//! | 4 | 4 | payload length `len` |
//! | 8 | 8 | LSN: 1 for the first record ever, +1 per record, never reused |
//! | 16 | 4 | series id (`0`: the one series of a single-series directory) |
//! | 20 | 1 | kind |
//! | 21 | 3 | reserved, zero |
//! | 24 | len | payload, by kind (below) |
//!
//! | kind | name | payload |
//! | --- | --- | --- |
//! | 1 | push | the value, `f64` (8 bytes) |
//! | 2 | push with timestamp | `i64` nanoseconds since the Unix epoch, then the value `f64` (16 bytes) |
//! | 3 | create series | identity (below), then `u32` configuration length `c` (≤ 65 536) and `c` bytes of configuration JSON |
//!
//! An *identity* is `u16` name length, the UTF-8 name (not empty), `u16`
//! label count, then per label `u16` length and UTF-8 name (not empty),
//! `u16` length and UTF-8 value; labels sorted by name, no name twice.
//! A payload is at most 1 MiB; values are finite. LSNs and push counts
//! above 2^62 are refused as damage. A single-series directory writes and
//! accepts only pushes of series 0; kinds 2 and 3 are for a store of many
//! series sharing one log.
//!
//! **Snapshot file** = a 64-byte header, then one section per series.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `"AZTSSNAP"` |
//! | 8 | 4 | format version (`2`) |
//! | 12 | 4 | section count `n` (a single-series directory: 1) |
//! | 16 | 16 | directory id (as in the log header) |
//! | 32 | 8 | log generation this snapshot expects |
//! | 40 | 8 | that log's base LSN |
//! | 48 | 8 | LSN: the last record this snapshot holds; the log must reach at least it |
//! | 56 | 4 | reserved, zero |
//! | 60 | 4 | CRC32C of bytes 0..60 (checked before anything is allocated) |
//!
//! **Section** (offsets from its start):
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 4 | section length `s`: bytes after this field, final CRC included |
//! | 4 | 4 | series id |
//! | 8 | 8 | section LSN: the series' records at or below it are in the section (at most the header's LSN) |
//! | 16 | 8 | push count of the series at the section's LSN |
//! | 24 | 8 | last timestamp, `i64` ns (`i64::MIN`: none) |
//! | 32 | 4 | window length `w` (values, at most the configuration's `A + R`) |
//! | 36 | 4 | configuration length `c` (≤ 65 536) |
//! | 40 | 4 | identity length `i` (≤ 1 MiB) |
//! | 44 | 4 | detector state length `d` (≤ 64 MiB; 0 for a configuration without robust tests) |
//! | 48 | 4 | CRC32C of bytes 0..48 of the section (lengths trusted only after it) |
//! | 52 | i | identity (as in a create-series record; empty name for series 0 of a single-series directory) |
//! | 52+i | c | configuration: UTF-8 JSON, the serde form of `AnomalyzerConf` |
//! | 52+i+c | 8w | window values, oldest first, `f64` |
//! | 52+i+c+8w | d | detector state: empty, or the robust pipeline's histories (below) |
//! | 52+i+c+8w+d | 4 | CRC32C of the section's bytes before it |
//!
//! `s` must equal `52 + i + c + 8w + d` (the section minus its length
//! field). Nothing may follow the last section. A single-series snapshot
//! has one section whose LSN is the header's; a series set's snapshot is
//! written while the log goes on, each section at its own LSN, its
//! header's LSN the log base at which it started (`docs/format.md`,
//! "Series sets"): replay skips each series' records at or below its
//! section's LSN.
//!
//! **Detector state** (`d` bytes): empty for a configuration without robust
//! tests (so a Go configuration's snapshot is unchanged); otherwise the
//! robust pipeline's `RobustParts`: a tag byte `1`, `u32` history length
//! `H` (≤ `history_len()`) and `H` values; `u32` test count `T` (= the
//! configuration's robust tests) and per test a `u32` count `L` (≤
//! `likelihood_history`) and `L` statistics; `u32` count `S` (≤
//! `alert_hold`) and `S` recent scores. All values `f64` bit patterns,
//! oldest first; nothing may follow. Counts are checked against the
//! configuration before anything is allocated, and the detector is rebuilt
//! with `Anomalyzer::from_state`. Still version 2: the field was unused
//! before (see `docs/format.md`, "Detector state").
//!
//! **Which log a snapshot accepts.** With snapshot generation `G`, base
//! `B` and LSN `L`: the log of generation `G` with base `B`, whose records
//! reach at least `L`; or its predecessor, generation `G − 1`, whose records
//! reach at least `L` (a crash between the snapshot's rename and the new
//! log's rename). Generation 1 accepts as predecessor a version-1 log (a
//! directory being converted), or no log at all if `L` is 0 and
//! `anomalyzer.wal.tmp` exists (a crash while the directory was created).
//! Records at or below `L` are skipped, so nothing is counted twice. Any
//! other log (missing, emptied, of another generation or directory, ending
//! before `L`) is refused.
//!
//! **Compaction order**: fsync the current log if needed; write the next
//! generation's header as `anomalyzer.wal.tmp`, fsync; write the snapshot
//! (staging file, fsync, rename, directory fsync); rename the next log
//! over `anomalyzer.wal`; fsync the directory.
//!
//! **Version 1** (still read, never written): the log header is 16 bytes
//! (magic, version `1`, CRC32C of bytes 0..12), no directory id or
//! generation; the snapshot header is 48 bytes (magic, version `1`,
//! configuration length, FNV-1a 64 fingerprint of the configuration, LSN,
//! push count, window length, CRC32C of bytes 0..44), then the
//! configuration, the window and a CRC32C of everything before it.

use anomalyzer_ts::AnomalyzerConf;

/// The format version this crate writes.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format version this crate reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// A state directory's random 128-bit id.
pub(crate) type DirectoryId = [u8; 16];

pub(crate) const WAL_MAGIC: [u8; 8] = *b"AZTSWAL\0";
/// Length of a version-2 log header.
pub(crate) const WAL_HEADER_LEN: usize = 56;
pub(crate) const WAL_V1_HEADER_LEN: usize = 16;

pub(crate) const SNAP_MAGIC: [u8; 8] = *b"AZTSSNAP";
pub(crate) const SNAP_HEADER_LEN: usize = 64;
pub(crate) const SNAP_V1_HEADER_LEN: usize = 48;
/// Largest LSN and push count accepted from disk (2^62): far beyond any
/// real stream, and it keeps every `+ 1` in recovery and appends exact.
pub(crate) const MAX_LSN: u64 = 1 << 62;
/// Refuse configuration blobs larger than this before allocating.
pub(crate) const MAX_CONF_LEN: u32 = 1 << 16;

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// A directory id as 32 hex digits, for messages and `inspect`.
pub(crate) fn id_hex(id: &DirectoryId) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a file header was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// The header's own CRC32C does not match.
    Checksum { stored: u32, computed: u32 },
    /// Bad magic, unknown version, or a field out of range.
    Invalid(String),
}

impl HeaderError {
    /// The crate error for the file at `path` (headers start at offset 0).
    pub(crate) fn into_error(self, path: &std::path::Path) -> crate::Error {
        match self {
            HeaderError::Checksum { stored, computed } => crate::Error::ChecksumMismatch {
                path: path.to_owned(),
                offset: 0,
                stored,
                computed,
            },
            HeaderError::Invalid(reason) => crate::Error::format(path, reason),
        }
    }
}

/// The version a header claims and the header length it implies; only
/// trusted once [`check_crc`] passes. Needs the first 12 bytes.
pub(crate) fn header_version(
    h: &[u8],
    magic: &[u8; 8],
    what: &str,
    v1_len: usize,
    v2_len: usize,
) -> Result<(u32, usize), HeaderError> {
    if h[..8] != magic[..] {
        return Err(HeaderError::Invalid(format!(
            "bad magic: not an anomalyzer {what}"
        )));
    }
    let version = u32_at(h, 8);
    // Any version but 1 is checked with the version-2 layout: a damaged
    // version field then shows as a checksum mismatch.
    Ok((version, if version == 1 { v1_len } else { v2_len }))
}

/// Checks the CRC32C stored in the last 4 bytes of `h` over the rest, then
/// that the (now trusted) version is one this build reads.
pub(crate) fn check_crc(h: &[u8], version: u32) -> Result<(), HeaderError> {
    let crc_at = h.len() - 4;
    let computed = crc32c::crc32c(&h[..crc_at]);
    let stored = u32_at(h, crc_at);
    if computed != stored {
        return Err(HeaderError::Checksum { stored, computed });
    }
    if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(HeaderError::Invalid(format!(
            "format version {version}; this build reads versions {OLDEST_READABLE_VERSION} to {FORMAT_VERSION}"
        )));
    }
    Ok(())
}

/// Which log this is: what its header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogIdentity {
    pub version: u32,
    /// `None` for version 1.
    pub dir_id: Option<DirectoryId>,
    /// 0 for version 1.
    pub generation: u64,
    /// 0 for version 1 (whose records may start anywhere up to the
    /// snapshot's LSN + 1).
    pub base_lsn: u64,
}

/// A version-2 log header.
pub(crate) fn encode_wal_header(
    dir_id: &DirectoryId,
    generation: u64,
    base_lsn: u64,
) -> [u8; WAL_HEADER_LEN] {
    let mut h = [0u8; WAL_HEADER_LEN];
    h[..8].copy_from_slice(&WAL_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[16..32].copy_from_slice(dir_id);
    h[32..40].copy_from_slice(&generation.to_le_bytes());
    h[40..48].copy_from_slice(&base_lsn.to_le_bytes());
    let crc = crc32c::crc32c(&h[..52]);
    h[52..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The header length of a log whose first 12 bytes are `h` (or an error).
pub(crate) fn wal_header_len(h: &[u8]) -> Result<usize, HeaderError> {
    header_version(
        h,
        &WAL_MAGIC,
        "write-ahead log",
        WAL_V1_HEADER_LEN,
        WAL_HEADER_LEN,
    )
    .map(|(_, len)| len)
}

/// Checks a whole log header (length from [`wal_header_len`]).
pub(crate) fn decode_wal_header(h: &[u8]) -> Result<LogIdentity, HeaderError> {
    let (version, _) = header_version(
        h,
        &WAL_MAGIC,
        "write-ahead log",
        WAL_V1_HEADER_LEN,
        WAL_HEADER_LEN,
    )?;
    check_crc(h, version)?;
    if version == 1 {
        return Ok(LogIdentity {
            version,
            dir_id: None,
            generation: 0,
            base_lsn: 0,
        });
    }
    if u32_at(h, 12) != 0 || u32_at(h, 48) != 0 {
        return Err(HeaderError::Invalid("reserved bytes are not zero".into()));
    }
    let mut id = [0u8; 16];
    id.copy_from_slice(&h[16..32]);
    let (generation, base_lsn) = (u64_at(h, 32), u64_at(h, 40));
    if generation == 0 || generation > MAX_LSN || base_lsn > MAX_LSN {
        return Err(HeaderError::Invalid(format!(
            "generation {generation} or base lsn {base_lsn} out of range"
        )));
    }
    Ok(LogIdentity {
        version,
        dir_id: Some(id),
        generation,
        base_lsn,
    })
}

/// The configuration's bytes in a snapshot (its serde JSON form).
pub(crate) fn encode_conf(conf: &AnomalyzerConf) -> Vec<u8> {
    // The configuration is plain data (numbers, strings, bools): its JSON
    // serialisation cannot fail.
    serde_json::to_vec(conf).expect("AnomalyzerConf serialises to JSON")
}

/// FNV-1a 64 of the configuration bytes (the version-1 snapshot field).
pub(crate) fn fingerprint(conf_bytes: &[u8]) -> u64 {
    conf_bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The fingerprint a version-1 snapshot stores for `conf`.
#[must_use]
pub fn conf_fingerprint(conf: &AnomalyzerConf) -> u64 {
    fingerprint(&encode_conf(conf))
}

/// What a snapshot header says (either version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SnapshotHeader {
    pub version: u32,
    /// `None` for version 1.
    pub dir_id: Option<DirectoryId>,
    pub sections: u32,
    /// The expected log (0 and 0 for version 1).
    pub log_generation: u64,
    pub log_base_lsn: u64,
    pub lsn: u64,
    /// Version 1 only: the one series' fields from the header.
    pub v1: Option<SnapshotV1Fields>,
}

/// The per-series fields a version-1 header carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SnapshotV1Fields {
    pub conf_len: u32,
    pub fingerprint: u64,
    pub push_count: u64,
    pub window_len: u32,
}

/// The header length of a snapshot whose first 12 bytes are `h`.
pub(crate) fn snapshot_header_len(h: &[u8]) -> Result<usize, HeaderError> {
    header_version(
        h,
        &SNAP_MAGIC,
        "snapshot",
        SNAP_V1_HEADER_LEN,
        SNAP_HEADER_LEN,
    )
    .map(|(_, len)| len)
}

/// Checks and parses a whole snapshot header (length from
/// [`snapshot_header_len`]).
pub(crate) fn decode_snapshot_header(h: &[u8]) -> Result<SnapshotHeader, HeaderError> {
    let (version, _) = header_version(
        h,
        &SNAP_MAGIC,
        "snapshot",
        SNAP_V1_HEADER_LEN,
        SNAP_HEADER_LEN,
    )?;
    check_crc(h, version)?;
    let range = |lsn: u64, count: u64| {
        if lsn > MAX_LSN || count > MAX_LSN {
            Err(HeaderError::Invalid(format!(
                "lsn {lsn} or push count {count} out of range"
            )))
        } else {
            Ok(())
        }
    };
    if version == 1 {
        let conf_len = u32_at(h, 12);
        if conf_len > MAX_CONF_LEN {
            return Err(HeaderError::Invalid(format!(
                "configuration of {conf_len} bytes"
            )));
        }
        let (lsn, push_count) = (u64_at(h, 24), u64_at(h, 32));
        range(lsn, push_count)?;
        return Ok(SnapshotHeader {
            version,
            dir_id: None,
            sections: 1,
            log_generation: 0,
            log_base_lsn: 0,
            lsn,
            v1: Some(SnapshotV1Fields {
                conf_len,
                fingerprint: u64_at(h, 16),
                push_count,
                window_len: u32_at(h, 40),
            }),
        });
    }
    if u32_at(h, 56) != 0 {
        return Err(HeaderError::Invalid("reserved bytes are not zero".into()));
    }
    let mut id = [0u8; 16];
    id.copy_from_slice(&h[16..32]);
    let (generation, base, lsn) = (u64_at(h, 32), u64_at(h, 40), u64_at(h, 48));
    range(lsn, base)?;
    if generation == 0 || generation > MAX_LSN || base > lsn {
        return Err(HeaderError::Invalid(format!(
            "log generation {generation} with base lsn {base} for snapshot lsn {lsn}"
        )));
    }
    Ok(SnapshotHeader {
        version,
        dir_id: Some(id),
        sections: u32_at(h, 12),
        log_generation: generation,
        log_base_lsn: base,
        lsn,
        v1: None,
    })
}

/// A version-2 snapshot header.
pub(crate) fn encode_snapshot_header(
    dir_id: &DirectoryId,
    sections: u32,
    log_generation: u64,
    log_base_lsn: u64,
    lsn: u64,
) -> [u8; SNAP_HEADER_LEN] {
    let mut h = [0u8; SNAP_HEADER_LEN];
    h[..8].copy_from_slice(&SNAP_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&sections.to_le_bytes());
    h[16..32].copy_from_slice(dir_id);
    h[32..40].copy_from_slice(&log_generation.to_le_bytes());
    h[40..48].copy_from_slice(&log_base_lsn.to_le_bytes());
    h[48..56].copy_from_slice(&lsn.to_le_bytes());
    let crc = crc32c::crc32c(&h[..60]);
    h[60..].copy_from_slice(&crc.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: DirectoryId = [7; 16];

    #[test]
    fn wal_header_round_trips_and_checks_magic_version_and_crc() {
        let h = encode_wal_header(&ID, 3, 1200);
        assert_eq!(wal_header_len(&h).unwrap(), WAL_HEADER_LEN);
        let id = decode_wal_header(&h).unwrap();
        assert_eq!(
            id,
            LogIdentity {
                version: 2,
                dir_id: Some(ID),
                generation: 3,
                base_lsn: 1200
            }
        );
        let mut v3 = h;
        v3[8] = 3;
        let crc = crc32c::crc32c(&v3[..52]);
        v3[52..].copy_from_slice(&crc.to_le_bytes());
        assert!(
            matches!(decode_wal_header(&v3), Err(HeaderError::Invalid(r)) if r.contains("version 3"))
        );
        let mut bad = h;
        bad[0] ^= 1;
        assert!(
            matches!(decode_wal_header(&bad), Err(HeaderError::Invalid(r)) if r.contains("magic"))
        );
        for byte in 8..WAL_HEADER_LEN {
            let mut flipped = h;
            flipped[byte] ^= 0x10;
            assert!(
                matches!(
                    wal_header_len(&flipped).and_then(|n| if n == flipped.len() {
                        decode_wal_header(&flipped)
                    } else {
                        decode_wal_header(&flipped[..n])
                    }),
                    Err(HeaderError::Checksum { .. })
                ),
                "byte {byte}"
            );
        }
    }

    #[test]
    fn version_1_log_header_is_still_read() {
        let mut h = [0u8; WAL_V1_HEADER_LEN];
        h[..8].copy_from_slice(&WAL_MAGIC);
        h[8..12].copy_from_slice(&1u32.to_le_bytes());
        let crc = crc32c::crc32c(&h[..12]);
        h[12..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(wal_header_len(&h).unwrap(), WAL_V1_HEADER_LEN);
        let id = decode_wal_header(&h).unwrap();
        assert_eq!((id.version, id.dir_id, id.generation), (1, None, 0));
    }

    #[test]
    fn snapshot_header_round_trips() {
        let h = encode_snapshot_header(&ID, 1, 4, 90, 95);
        assert_eq!(snapshot_header_len(&h).unwrap(), SNAP_HEADER_LEN);
        let d = decode_snapshot_header(&h).unwrap();
        assert_eq!(
            (
                d.dir_id,
                d.sections,
                d.log_generation,
                d.log_base_lsn,
                d.lsn
            ),
            (Some(ID), 1, 4, 90, 95)
        );
    }

    #[test]
    fn layout_is_fixed_little_endian() {
        let h = encode_wal_header(&ID, 0x0102, 0x0304);
        assert_eq!(&h[..8], b"AZTSWAL\0");
        assert_eq!(&h[8..12], &[2, 0, 0, 0]);
        assert_eq!(&h[32..34], &[2, 1]);
        assert_eq!(&h[40..42], &[4, 3]);
        let r = crate::record::encode_push(0x0102_0304_0506_0708, 1.0);
        assert_eq!(&r[4..8], &[8, 0, 0, 0]);
        assert_eq!(&r[8..16], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(&r[24..], &1.0f64.to_le_bytes());
    }
}
