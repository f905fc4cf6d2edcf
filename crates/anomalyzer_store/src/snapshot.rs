//! Reading and writing the snapshot file.
//!
//! Writing is atomic replacement: the bytes go to `anomalyzer.snap.tmp`
//! (created with `O_EXCL`), which is fsynced, renamed over
//! `anomalyzer.snap`, and then the directory is fsynced so the rename
//! itself survives a power cut. A crash at any step leaves either the old
//! snapshot or the new one, never a mix.
//!
//! Reading streams the file: each header (with its own CRC) is checked
//! before anything is allocated, a section's CRC before its configuration is
//! trusted, and the window can never exceed the configuration's `A + R`
//! values. The detector-state field (the robust tests' histories, see
//! [`crate::detector_state`]) is read in chunks and checked against the
//! configuration's bounds. Version 1 snapshots are still read.

use std::io::{self, Read};
use std::path::Path;

use anomalyzer_ts::{AnomalyzerConf, RobustParts};

use crate::codec::{self, DirectoryId, SNAP_HEADER_LEN, SNAP_V1_HEADER_LEN};
use crate::paths::Paths;
use crate::record::{self, Cursor, SERIES_DEFAULT};
use crate::section::{self, Section, SECTION_HEADER_LEN};
use crate::storage::Storage;
use crate::{detector_state, Error, Result};

/// Which log a snapshot expects, and the LSN it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SnapshotMeta {
    /// `None` for a version-1 snapshot.
    pub dir_id: Option<DirectoryId>,
    /// 0 for version 1.
    pub log_generation: u64,
    pub log_base_lsn: u64,
    pub lsn: u64,
}

/// A snapshot's contents (one series: a single-series directory).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    pub version: u32,
    pub meta: SnapshotMeta,
    pub conf: AnomalyzerConf,
    pub push_count: u64,
    pub window: Vec<f64>,
    /// The robust pipeline's state; `None` for a configuration without
    /// robust tests (and for version 1).
    pub robust: Option<RobustParts>,
}

/// The bytes of a version-2 single-series snapshot.
pub(crate) fn encode(
    meta: &SnapshotMeta,
    dir_id: &DirectoryId,
    conf: &AnomalyzerConf,
    push_count: u64,
    window: &[f64],
    robust: Option<&RobustParts>,
) -> Vec<u8> {
    let section = Section {
        series: SERIES_DEFAULT,
        lsn: meta.lsn,
        name: String::new(),
        labels: Vec::new(),
        conf: conf.clone(),
        push_count,
        last_timestamp_ns: None,
        window: window.to_vec(),
        detector_state: detector_state::encode(robust),
    };
    encode_sections(dir_id, meta, std::slice::from_ref(&section))
}

/// The bytes of a version-2 snapshot of any number of series: the header
/// (at `meta.lsn`, the highest section LSN), then the sections in the
/// order given, which must be by increasing series id.
pub(crate) fn encode_sections(
    dir_id: &DirectoryId,
    meta: &SnapshotMeta,
    sections: &[Section],
) -> Vec<u8> {
    debug_assert!(sections.windows(2).all(|w| w[0].series < w[1].series));
    // The section count is bounded by the series ids (u32).
    let mut b = codec::encode_snapshot_header(
        dir_id,
        sections.len() as u32,
        meta.log_generation,
        meta.log_base_lsn,
        meta.lsn,
    )
    .to_vec();
    for section in sections {
        b.extend_from_slice(&section::encode_section(section));
    }
    b
}

/// Writes a snapshot atomically (staging file, fsync, rename, directory fsync).
pub(crate) fn write(storage: &dyn Storage, paths: &Paths, bytes: &[u8]) -> Result<()> {
    let tmp = &paths.snap_tmp;
    let staged = (|| {
        // A staging file left by an earlier failure is never read.
        if storage
            .len(tmp)
            .map_err(|e| Error::io("stat", tmp, e))?
            .is_some()
        {
            storage
                .remove_file(tmp)
                .map_err(|e| Error::io("remove", tmp, e))?;
        }
        let mut f = storage
            .create_new(tmp)
            .map_err(|e| Error::io("create", tmp, e))?;
        f.append(bytes)
            .map_err(|e| Error::io("write snapshot to", tmp, e))?;
        f.sync_data().map_err(|e| Error::io("fsync", tmp, e))
    })();
    if let Err(e) = staged {
        // Best effort: a leftover staging file is removed at the next open.
        if !matches!(e, Error::NotRegularFile { .. }) {
            let _ = storage.remove_file(tmp);
        }
        return Err(e);
    }
    storage
        .rename(tmp, &paths.snap)
        .map_err(|e| Error::io("rename snapshot into", &paths.snap, e))?;
    storage
        .sync_dir(&paths.dir)
        .map_err(|e| Error::io("fsync directory", &paths.dir, e))
}

fn read_exact(r: &mut dyn Read, buf: &mut [u8], path: &Path, what: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::format(
                path,
                format!("truncated snapshot: file ends inside the {what}"),
            )
        } else {
            Error::io("read", path, e)
        }
    })
}

/// Reads `n` values in chunks, adding their bytes to `crc`.
fn read_window(r: &mut dyn Read, n: usize, crc: &mut u32, path: &Path) -> Result<Vec<f64>> {
    let mut window = Vec::with_capacity(n.min(4096));
    let mut chunk = [0u8; 8 * 512];
    let mut left = n;
    while left > 0 {
        let k = left.min(512);
        let bytes = &mut chunk[..8 * k];
        read_exact(r, bytes, path, "window")?;
        *crc = crc32c::crc32c_append(*crc, bytes);
        for v in bytes.chunks_exact(8) {
            window.push(f64::from_bits(codec::u64_at(v, 0)));
        }
        left -= k;
    }
    Ok(window)
}

/// Reads exactly `n` bytes, growing the buffer with what arrives (so a
/// damaged length cannot make it allocate more than the file holds).
fn read_up_to(r: &mut dyn Read, n: usize, path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(n.min(1 << 16));
    r.take(n as u64)
        .read_to_end(&mut out)
        .map_err(|e| Error::io("read", path, e))?;
    if out.len() < n {
        return Err(Error::format(
            path,
            "truncated snapshot: file ends inside the detector state",
        ));
    }
    Ok(out)
}

fn read_crc(r: &mut dyn Read, computed: u32, path: &Path) -> Result<()> {
    let mut stored = [0u8; 4];
    read_exact(r, &mut stored, path, "checksum")?;
    let stored = u32::from_le_bytes(stored);
    if stored != computed {
        return Err(Error::ChecksumMismatch {
            path: path.to_owned(),
            offset: 0,
            stored,
            computed,
        });
    }
    Ok(())
}

fn expect_end(r: &mut dyn Read, path: &Path) -> Result<()> {
    let mut extra = [0u8; 1];
    match r.read(&mut extra) {
        Ok(0) => Ok(()),
        Ok(_) => Err(Error::format(path, "bytes after the last checksum")),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// The configuration and window checks both versions share, once the
/// checksums hold.
fn check_contents(conf_bytes: &[u8], window: &[f64], path: &Path) -> Result<AnomalyzerConf> {
    let conf: AnomalyzerConf = serde_json::from_slice(conf_bytes)
        .map_err(|e| Error::format(path, format!("stored configuration is invalid: {e}")))?;
    if window.len() > conf.window_capacity() {
        return Err(Error::format(
            path,
            format!(
                "window of {} values, more than the configuration's {}",
                window.len(),
                conf.window_capacity()
            ),
        ));
    }
    if let Some(bad) = window.iter().find(|v| !v.is_finite()) {
        return Err(Error::format(
            path,
            format!("non-finite value {bad} in the window"),
        ));
    }
    Ok(conf)
}

/// Reads and checks the snapshot; `None` if there is none.
pub(crate) fn read(storage: &dyn Storage, path: &Path) -> Result<Option<Snapshot>> {
    let Some(mut r) = storage
        .open_read(path)
        .map_err(|e| Error::io("open", path, e))?
    else {
        return Ok(None);
    };
    let r: &mut dyn Read = &mut r;
    let mut h = [0u8; SNAP_HEADER_LEN];
    read_exact(r, &mut h[..12], path, "header")?;
    let header_len = codec::snapshot_header_len(&h).map_err(|e| e.into_error(path))?;
    read_exact(r, &mut h[12..header_len], path, "header")?;
    let header = codec::decode_snapshot_header(&h[..header_len]).map_err(|e| e.into_error(path))?;
    let meta = SnapshotMeta {
        dir_id: header.dir_id,
        log_generation: header.log_generation,
        log_base_lsn: header.log_base_lsn,
        lsn: header.lsn,
    };
    if let Some(v1) = header.v1 {
        debug_assert_eq!(header_len, SNAP_V1_HEADER_LEN);
        let mut crc = crc32c::crc32c(&h[..header_len]);
        let mut conf_bytes = vec![0u8; v1.conf_len as usize];
        read_exact(r, &mut conf_bytes, path, "configuration")?;
        crc = crc32c::crc32c_append(crc, &conf_bytes);
        let window_len = v1.window_len as usize;
        if window_len > anomalyzer_ts::MAX_WINDOW || u64::from(v1.window_len) > v1.push_count {
            return Err(Error::format(
                path,
                format!(
                    "window of {window_len} values for a push count of {}",
                    v1.push_count
                ),
            ));
        }
        let window = read_window(r, window_len, &mut crc, path)?;
        read_crc(r, crc, path)?;
        expect_end(r, path)?;
        if codec::fingerprint(&conf_bytes) != v1.fingerprint {
            return Err(Error::format(
                path,
                "configuration does not match its fingerprint",
            ));
        }
        let conf = check_contents(&conf_bytes, &window, path)?;
        return Ok(Some(Snapshot {
            version: 1,
            meta,
            conf,
            push_count: v1.push_count,
            window,
            robust: None,
        }));
    }
    if header.sections != 1 {
        return Err(Error::format(
            path,
            format!(
                "snapshot of {} series; a single-series directory holds exactly one",
                header.sections
            ),
        ));
    }
    let mut sections = read_sections(r, 1, header.lsn, path)?;
    let section = sections.remove(0);
    if section.lsn != header.lsn {
        return Err(Error::format(
            path,
            format!(
                "section at lsn {} in a snapshot at lsn {}: a single-series snapshot is taken at one lsn",
                section.lsn, header.lsn
            ),
        ));
    }
    if section.series != SERIES_DEFAULT || !section.name.is_empty() || !section.labels.is_empty() {
        return Err(Error::format(
            path,
            format!(
                "holds series {} ({:?}); a single-series directory holds series 0",
                section.series, section.name
            ),
        ));
    }
    let conf = section.conf;
    let robust = detector_state::decode(&section.detector_state, &conf)
        .map_err(|e| Error::format(path, e))?;
    if robust.is_none() && !conf.robust_methods().is_empty() && section.push_count > 0 {
        return Err(Error::format(
            path,
            format!(
                "no detector state for a configuration with robust tests after {} pushes",
                section.push_count
            ),
        ));
    }
    Ok(Some(Snapshot {
        version: 2,
        meta,
        conf,
        push_count: section.push_count,
        window: section.window,
        robust,
    }))
}

/// Reads the `count` sections of a version-2 snapshot at `snapshot_lsn`
/// and checks that nothing follows them. Each section's CRC, identity and
/// contents are checked; series ids must increase strictly and no section
/// may hold a record past the snapshot's LSN. Sections are streamed, so a
/// damaged count cannot make the reader allocate more than the file holds.
pub(crate) fn read_sections(
    r: &mut dyn Read,
    count: u32,
    snapshot_lsn: u64,
    path: &Path,
) -> Result<Vec<Section>> {
    let mut sections: Vec<Section> = Vec::new();
    let mut offset = SNAP_HEADER_LEN as u64;
    for _ in 0..count {
        let (section, len) = read_section(r, offset, path)?;
        if let Some(prev) = sections.last() {
            if section.series <= prev.series {
                return Err(Error::format(
                    path,
                    format!(
                        "section of series {} after series {}: sections are by increasing series id",
                        section.series, prev.series
                    ),
                ));
            }
        }
        if section.lsn > snapshot_lsn {
            return Err(Error::format(
                path,
                format!(
                    "section of series {} at lsn {} in a snapshot at lsn {snapshot_lsn}",
                    section.series, section.lsn
                ),
            ));
        }
        offset += len;
        sections.push(section);
    }
    expect_end(r, path)?;
    Ok(sections)
}

/// Reads one section starting at file offset `offset`; returns it with its
/// length in bytes.
fn read_section(r: &mut dyn Read, offset: u64, path: &Path) -> Result<(Section, u64)> {
    let mut sh = [0u8; SECTION_HEADER_LEN];
    read_exact(r, &mut sh, path, "section header")?;
    let header = section::decode_section_header(&sh).map_err(|e| match e.into_error(path) {
        Error::ChecksumMismatch {
            path,
            stored,
            computed,
            ..
        } => Error::ChecksumMismatch {
            path,
            offset,
            stored,
            computed,
        },
        other => other,
    })?;
    let mut crc = crc32c::crc32c(&sh);
    let mut identity = vec![0u8; header.identity_len as usize];
    read_exact(r, &mut identity, path, "series identity")?;
    crc = crc32c::crc32c_append(crc, &identity);
    let mut conf_bytes = vec![0u8; header.conf_len as usize];
    read_exact(r, &mut conf_bytes, path, "configuration")?;
    crc = crc32c::crc32c_append(crc, &conf_bytes);
    let window = read_window(r, header.window_len as usize, &mut crc, path)?;
    let state = read_up_to(r, header.state_len as usize, path)?;
    crc = crc32c::crc32c_append(crc, &state);
    read_crc(r, crc, path)?;
    let mut c = Cursor {
        bytes: &identity,
        at: 0,
    };
    let (name, labels) = record::decode_identity(&mut c).map_err(|e| Error::format(path, e))?;
    if c.rest() != 0 {
        return Err(Error::format(path, "bytes after the series identity"));
    }
    let conf = check_contents(&conf_bytes, &window, path)?;
    let section = Section {
        series: header.series,
        lsn: header.lsn,
        name,
        labels,
        conf,
        push_count: header.push_count,
        last_timestamp_ns: header.last_timestamp_ns,
        window,
        detector_state: state,
    };
    let len = (SECTION_HEADER_LEN + identity.len() + conf_bytes.len() + 4) as u64
        + 8 * u64::from(header.window_len)
        + u64::from(header.state_len);
    Ok((section, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(series: u32, lsn: u64, name: &str) -> Section {
        Section {
            series,
            lsn,
            name: name.to_owned(),
            labels: vec![("host".to_owned(), format!("h{series}"))],
            conf: AnomalyzerConf::builder().active_size(1).build().unwrap(),
            push_count: 3,
            last_timestamp_ns: Some(1_000 + i64::from(series)),
            window: vec![1.0, 2.5, -3.0],
            detector_state: Vec::new(),
        }
    }

    fn meta(lsn: u64) -> SnapshotMeta {
        SnapshotMeta {
            dir_id: Some([7; 16]),
            log_generation: 2,
            log_base_lsn: 0,
            lsn,
        }
    }

    /// Parses the bytes after the snapshot header.
    fn parse(bytes: &[u8], count: u32, lsn: u64) -> Result<Vec<Section>> {
        let mut r: &[u8] = &bytes[SNAP_HEADER_LEN..];
        read_sections(&mut r, count, lsn, Path::new("anomalyzer.snap"))
    }

    #[test]
    fn sections_of_many_series_round_trip_with_their_own_lsns() {
        let sections = vec![
            section(0, 5, "cpu"),
            section(1, 9, "mem"),
            section(4, 2, ""),
        ];
        let bytes = encode_sections(&[7; 16], &meta(9), &sections);
        assert_eq!(parse(&bytes, 3, 9).unwrap(), sections);
    }

    #[test]
    fn sections_out_of_series_order_are_refused() {
        let sections = [section(3, 1, "a"), section(1, 1, "b")];
        let bytes = encode_sections(&[7; 16], &meta(1), &sections[..1]);
        let mut bytes = bytes;
        bytes.extend_from_slice(&section::encode_section(&sections[1]));
        let err = parse(&bytes, 2, 1).unwrap_err().to_string();
        assert!(err.contains("increasing series id"), "{err}");
    }

    #[test]
    fn a_section_past_the_snapshot_lsn_is_refused() {
        let bytes = encode_sections(&[7; 16], &meta(4), &[section(0, 8, "a")]);
        let err = parse(&bytes, 1, 4).unwrap_err().to_string();
        assert!(err.contains("at lsn 8 in a snapshot at lsn 4"), "{err}");
    }

    #[test]
    fn a_damaged_second_section_is_a_checksum_error_at_its_offset() {
        let sections = vec![section(0, 1, "a"), section(1, 1, "b")];
        let mut bytes = encode_sections(&[7; 16], &meta(1), &sections);
        let first = section::encode_section(&sections[0]).len();
        bytes[SNAP_HEADER_LEN + first + 5] ^= 1;
        match parse(&bytes, 2, 1) {
            Err(Error::ChecksumMismatch { offset, .. }) => {
                assert_eq!(offset, (SNAP_HEADER_LEN + first) as u64)
            }
            other => panic!("expected a checksum mismatch, got {other:?}"),
        }
    }

    #[test]
    fn bytes_after_the_last_section_are_refused() {
        let mut bytes = encode_sections(&[7; 16], &meta(1), &[section(0, 1, "a")]);
        bytes.push(0);
        assert!(parse(&bytes, 1, 1).is_err());
    }
}
