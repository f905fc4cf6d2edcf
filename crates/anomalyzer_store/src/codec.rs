//! The on-disk format, version 1. Every integer is fixed-width little-endian;
//! every checksum is CRC32C (Castagnoli, as in LevelDB, RocksDB and ext4),
//! unmasked, stored as a `u32`.
//!
//! A state directory holds:
//!
//! | file | what |
//! | --- | --- |
//! | `LOCK` | the writer's exclusive lock (content: the holder's pid, informative) |
//! | `anomalyzer.snap` | the latest snapshot: configuration, window, LSN |
//! | `anomalyzer.snap.tmp` | a snapshot being written (ignored and removed at open) |
//! | `anomalyzer.wal` | the write-ahead log: one record per push since the snapshot |
//!
//! **Log file** = a 16-byte header, then records back to back.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `"AZTSWAL\0"` |
//! | 8 | 4 | format version (`1`) |
//! | 12 | 4 | CRC32C of bytes 0..12 |
//!
//! **Record** = a 24-byte header and a payload; a push is 32 bytes.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 4 | CRC32C of bytes 4..24+len (header rest and payload) |
//! | 4 | 4 | payload length `len` |
//! | 8 | 8 | LSN: log sequence number, 1 for the first push ever, +1 per record |
//! | 16 | 4 | series id (`0`: the one detector of a directory) |
//! | 20 | 1 | kind (`1`: push) |
//! | 21 | 3 | reserved, zero |
//! | 24 | len | payload; push: the value as an IEEE-754 `f64` |
//!
//! LSNs and push counts above 2^62 are refused as damage.
//!
//! The series id and kind make the framing general: a store of many series
//! can share one log (and one fsync per group of records) without a new
//! format. Version 1 readers accept only series 0, kind 1, `len` 8.
//!
//! **Snapshot file** = a 48-byte header, the configuration, the window, a CRC.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `"AZTSSNAP"` |
//! | 8 | 4 | format version (`1`) |
//! | 12 | 4 | configuration length `c` (bytes) |
//! | 16 | 8 | configuration fingerprint: FNV-1a 64 of the configuration bytes |
//! | 24 | 8 | LSN: the last record this snapshot contains (0: none) |
//! | 32 | 8 | push count of the detector at that LSN |
//! | 40 | 4 | window length `w` (values, at most `A + R`) |
//! | 44 | 4 | CRC32C of bytes 0..44 (checked before anything is allocated) |
//! | 48 | c | configuration: UTF-8 JSON, the serde form of `AnomalyzerConf` |
//! | 48+c | 8w | window values, oldest first, `f64` |
//! | 48+c+8w | 4 | CRC32C of bytes 0..48+c+8w |
//!
//! Replay applies a record only if its LSN is above the snapshot's, so a
//! crash between a snapshot's rename and the log's truncation never counts
//! a push twice.

use anomalyzer_ts::AnomalyzerConf;

/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

pub(crate) const WAL_MAGIC: [u8; 8] = *b"AZTSWAL\0";
pub(crate) const WAL_HEADER_LEN: usize = 16;
pub(crate) const RECORD_HEADER_LEN: usize = 24;
/// The largest payload any version-1 record kind has (a push: one `f64`).
pub(crate) const PUSH_PAYLOAD_LEN: usize = 8;
pub(crate) const PUSH_RECORD_LEN: usize = RECORD_HEADER_LEN + PUSH_PAYLOAD_LEN;
pub(crate) const KIND_PUSH: u8 = 1;
pub(crate) const SERIES_DEFAULT: u32 = 0;

pub(crate) const SNAP_MAGIC: [u8; 8] = *b"AZTSSNAP";
pub(crate) const SNAP_HEADER_LEN: usize = 48;
/// Largest LSN and push count accepted from disk (2^62): far beyond any
/// real stream, and it keeps every `+ 1` in recovery and appends exact.
pub(crate) const MAX_LSN: u64 = 1 << 62;
/// Refuse configuration blobs larger than this before allocating.
pub(crate) const MAX_CONF_LEN: u32 = 1 << 16;

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
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

/// The log file's header.
pub(crate) fn encode_wal_header() -> [u8; WAL_HEADER_LEN] {
    let mut h = [0u8; WAL_HEADER_LEN];
    h[..8].copy_from_slice(&WAL_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let crc = crc32c::crc32c(&h[..12]);
    h[12..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks a log header; the error says what is wrong.
pub(crate) fn check_wal_header(h: &[u8; WAL_HEADER_LEN]) -> Result<(), HeaderError> {
    check_header_start(h, &WAL_MAGIC, 12, "write-ahead log")
}

/// The checks every header starts with, in this order: the magic, the
/// CRC32C of the first `crc_at` bytes (stored at `crc_at`), then the format
/// version at offset 8 (only trusted once the checksum holds).
fn check_header_start(
    h: &[u8],
    magic: &[u8; 8],
    crc_at: usize,
    what: &str,
) -> Result<(), HeaderError> {
    if h[..8] != magic[..] {
        return Err(HeaderError::Invalid(format!(
            "bad magic: not an anomalyzer {what}"
        )));
    }
    let computed = crc32c::crc32c(&h[..crc_at]);
    let stored = u32_at(h, crc_at);
    if computed != stored {
        return Err(HeaderError::Checksum { stored, computed });
    }
    let version = u32_at(h, 8);
    if version != FORMAT_VERSION {
        return Err(HeaderError::Invalid(format!(
            "format version {version}; this build reads version {FORMAT_VERSION}"
        )));
    }
    Ok(())
}

/// One push record.
pub(crate) fn encode_push(lsn: u64, value: f64) -> [u8; PUSH_RECORD_LEN] {
    let mut r = [0u8; PUSH_RECORD_LEN];
    r[4..8].copy_from_slice(&(PUSH_PAYLOAD_LEN as u32).to_le_bytes());
    r[8..16].copy_from_slice(&lsn.to_le_bytes());
    r[16..20].copy_from_slice(&SERIES_DEFAULT.to_le_bytes());
    r[20] = KIND_PUSH;
    r[24..].copy_from_slice(&value.to_bits().to_le_bytes());
    let crc = crc32c::crc32c(&r[4..]);
    r[..4].copy_from_slice(&crc.to_le_bytes());
    r
}

/// A decoded record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub crc: u32,
    pub len: usize,
    pub lsn: u64,
}

/// Parses a record header; an error names the first field out of range.
/// Version 1 knows one record kind, so anything else is damage.
pub(crate) fn parse_record_header(h: &[u8]) -> Result<RecordHeader, String> {
    let len = u32_at(h, 4);
    let series = u32_at(h, 16);
    let kind = h[20];
    if kind != KIND_PUSH {
        return Err(format!("unknown record kind {kind}"));
    }
    if len as usize != PUSH_PAYLOAD_LEN {
        return Err(format!("push record with payload length {len}"));
    }
    if series != SERIES_DEFAULT {
        return Err(format!("unknown series id {series}"));
    }
    if h[21..24] != [0, 0, 0] {
        return Err("reserved bytes are not zero".into());
    }
    let lsn = u64_at(h, 8);
    if lsn == 0 || lsn > MAX_LSN {
        return Err(format!("lsn {lsn} out of range"));
    }
    Ok(RecordHeader {
        crc: u32_at(h, 0),
        len: len as usize,
        lsn,
    })
}

/// Checks a whole record (header and payload) and returns its LSN and value.
pub(crate) fn decode_push(r: &[u8]) -> Result<(u64, f64), String> {
    let h = parse_record_header(&r[..RECORD_HEADER_LEN])?;
    if r.len() != RECORD_HEADER_LEN + h.len {
        return Err("record length mismatch".into());
    }
    let crc = crc32c::crc32c(&r[4..]);
    if crc != h.crc {
        return Err(format!(
            "record checksum mismatch (stored {:#010x}, computed {crc:#010x})",
            h.crc
        ));
    }
    let value = f64::from_bits(u64_at(r, RECORD_HEADER_LEN));
    if !value.is_finite() {
        return Err(format!("record holds a non-finite value {value}"));
    }
    Ok((h.lsn, value))
}

/// The configuration's bytes in a snapshot (its serde JSON form).
pub(crate) fn encode_conf(conf: &AnomalyzerConf) -> Vec<u8> {
    // The configuration is plain data (numbers, strings, bools): its JSON
    // serialisation cannot fail.
    serde_json::to_vec(conf).expect("AnomalyzerConf serialises to JSON")
}

/// FNV-1a 64 of the configuration bytes.
pub(crate) fn fingerprint(conf_bytes: &[u8]) -> u64 {
    conf_bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The fingerprint stored for `conf`.
#[must_use]
pub fn conf_fingerprint(conf: &AnomalyzerConf) -> u64 {
    fingerprint(&encode_conf(conf))
}

/// A decoded snapshot header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SnapshotHeader {
    pub conf_len: u32,
    pub fingerprint: u64,
    pub lsn: u64,
    pub push_count: u64,
    pub window_len: u32,
}

/// A whole snapshot file.
pub(crate) fn encode_snapshot(
    conf: &AnomalyzerConf,
    lsn: u64,
    push_count: u64,
    window: &[f64],
) -> Vec<u8> {
    let conf_bytes = encode_conf(conf);
    let mut b = Vec::with_capacity(SNAP_HEADER_LEN + conf_bytes.len() + 8 * window.len() + 4);
    b.extend_from_slice(&SNAP_MAGIC);
    b.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    // Window and conf sizes are bounded by the configuration's validation
    // (MAX_WINDOW = 2^24 values; a conf is a few hundred bytes).
    b.extend_from_slice(&(conf_bytes.len() as u32).to_le_bytes());
    b.extend_from_slice(&fingerprint(&conf_bytes).to_le_bytes());
    b.extend_from_slice(&lsn.to_le_bytes());
    b.extend_from_slice(&push_count.to_le_bytes());
    b.extend_from_slice(&(window.len() as u32).to_le_bytes());
    let hcrc = crc32c::crc32c(&b);
    b.extend_from_slice(&hcrc.to_le_bytes());
    b.extend_from_slice(&conf_bytes);
    for v in window {
        b.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    let crc = crc32c::crc32c(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

/// Checks and parses a snapshot header.
pub(crate) fn decode_snapshot_header(
    h: &[u8; SNAP_HEADER_LEN],
) -> Result<SnapshotHeader, HeaderError> {
    check_header_start(h, &SNAP_MAGIC, 44, "snapshot")?;
    let conf_len = u32_at(h, 12);
    if conf_len > MAX_CONF_LEN {
        return Err(HeaderError::Invalid(format!(
            "configuration of {conf_len} bytes"
        )));
    }
    let (lsn, push_count) = (u64_at(h, 24), u64_at(h, 32));
    if lsn > MAX_LSN || push_count > MAX_LSN {
        return Err(HeaderError::Invalid(format!(
            "lsn {lsn} or push count {push_count} out of range"
        )));
    }
    Ok(SnapshotHeader {
        conf_len,
        fingerprint: u64_at(h, 16),
        lsn,
        push_count,
        window_len: u32_at(h, 40),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_record_round_trips_and_every_bit_flip_is_caught() {
        let r = encode_push(42, -3.25);
        assert_eq!(decode_push(&r).unwrap(), (42, -3.25));
        for bit in 0..r.len() * 8 {
            let mut bad = r;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_push(&bad).is_err(), "bit {bit} flip undetected");
        }
    }

    #[test]
    fn wal_header_checks_magic_version_and_crc() {
        let h = encode_wal_header();
        check_wal_header(&h).unwrap();
        let mut v2 = h;
        v2[8] = 2;
        let crc = crc32c::crc32c(&v2[..12]);
        v2[12..].copy_from_slice(&crc.to_le_bytes());
        assert!(
            matches!(check_wal_header(&v2), Err(HeaderError::Invalid(r)) if r.contains("version 2"))
        );
        let mut bad = h;
        bad[0] ^= 1;
        assert!(
            matches!(check_wal_header(&bad), Err(HeaderError::Invalid(r)) if r.contains("magic"))
        );
        let mut crc = h;
        crc[13] ^= 1;
        assert!(matches!(
            check_wal_header(&crc),
            Err(HeaderError::Checksum { .. })
        ));
    }

    #[test]
    fn layout_is_fixed_little_endian() {
        let r = encode_push(0x0102_0304_0506_0708, 1.0);
        assert_eq!(&r[4..8], &[8, 0, 0, 0]);
        assert_eq!(&r[8..16], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(r[20], KIND_PUSH);
        assert_eq!(&r[24..], &1.0f64.to_le_bytes());
        assert_eq!(&encode_wal_header()[..8], b"AZTSWAL\0");
    }
}
