//! Snapshot sections of a series set: the version-2 section layout (see
//! [`crate::codec`]) written straight from a series' entry, and a
//! streaming reader that shares configurations between series.
//!
//! Two things differ from a single-series snapshot (documented in
//! `docs/format.md`, "Series sets"):
//! - the detector-state field starts with tag byte `2` and the last
//!   point's probability (`f64`), then holds the robust part as usual
//!   (tag `1` ...) or nothing, so a restart needs no evaluation per series;
//! - the header's LSN is the log base at which the snapshot *started*
//!   (equal to the header's base); sections, written while the log goes
//!   on, may be at higher LSNs, and recovery checks the log reaches the
//!   highest of them.

use anomalyzer_ts::{Anomalyzer, DetectorState};
use std::io::{self, BufReader, Read};
use std::path::Path;

use super::conf_cache::ConfCache;
use super::identity::SeriesIdentity;
use super::shards::SeriesEntry;
use crate::codec::{self, DirectoryId, SNAP_HEADER_LEN};
use crate::section::{decode_section_header, SECTION_HEADER_LEN};
use crate::storage::Storage;
use crate::{detector_state, Error, Result};

/// Tag of the series-set prefix of the detector-state field.
const TAG_LAST_SCORE: u8 = 2;

/// Appends the section of `entry` (configuration JSON given, shared).
pub(crate) fn encode_entry(out: &mut Vec<u8>, entry: &SeriesEntry, conf_json: &[u8]) {
    let d = &entry.detector;
    let mut state = Vec::with_capacity(9);
    state.push(TAG_LAST_SCORE);
    state.extend_from_slice(&entry.last_probability.to_bits().to_le_bytes());
    if !d.conf().robust_methods().is_empty() {
        state.extend_from_slice(&detector_state::encode(d.state().robust.as_ref()));
    }
    let window_len = d.len();
    let body = entry.key.len() + conf_json.len() + 8 * window_len + state.len();
    let start = out.len();
    out.extend_from_slice(&((SECTION_HEADER_LEN - 4 + body + 4) as u32).to_le_bytes());
    out.extend_from_slice(&entry.id.to_le_bytes());
    out.extend_from_slice(&entry.last_lsn.to_le_bytes());
    out.extend_from_slice(&d.push_count().to_le_bytes());
    out.extend_from_slice(&entry.last_ts.to_le_bytes());
    out.extend_from_slice(&(window_len as u32).to_le_bytes());
    out.extend_from_slice(&(conf_json.len() as u32).to_le_bytes());
    out.extend_from_slice(&(entry.key.len() as u32).to_le_bytes());
    out.extend_from_slice(&(state.len() as u32).to_le_bytes());
    let crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&entry.key);
    out.extend_from_slice(conf_json);
    for v in d.window() {
        out.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    out.extend_from_slice(&state);
    let crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// The header of a series-set snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SetSnapshotHeader {
    pub dir_id: DirectoryId,
    pub sections: u32,
    pub generation: u64,
    pub base_lsn: u64,
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], path: &Path, what: &str) -> Result<()> {
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

/// Reads exactly `n` bytes, growing the buffer with what arrives (a
/// damaged length cannot make it allocate more than the file holds).
fn read_up_to(r: &mut impl Read, n: usize, path: &Path, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(n.min(1 << 16));
    r.take(n as u64)
        .read_to_end(&mut out)
        .map_err(|e| Error::io("read", path, e))?;
    if out.len() < n {
        return Err(Error::format(
            path,
            format!("truncated snapshot: file ends inside the {what}"),
        ));
    }
    Ok(out)
}

/// Reads a series-set snapshot, calling `on_series` with each series'
/// entry (rebuilt detector, its section's LSN as `last_lsn`); `None` if
/// there is no snapshot.
pub(crate) fn read_snapshot(
    storage: &dyn Storage,
    path: &Path,
    confs: &mut ConfCache,
    on_series: &mut dyn FnMut(SeriesEntry) -> Result<()>,
) -> Result<Option<SetSnapshotHeader>> {
    let Some(file) = storage
        .open_read(path)
        .map_err(|e| Error::io("open", path, e))?
    else {
        return Ok(None);
    };
    let mut r = BufReader::with_capacity(1 << 18, file);
    let mut h = [0u8; SNAP_HEADER_LEN];
    read_exact(&mut r, &mut h[..12], path, "header")?;
    let header_len = codec::snapshot_header_len(&h).map_err(|e| e.into_error(path))?;
    if header_len != SNAP_HEADER_LEN {
        return Err(Error::format(
            path,
            "a version-1 snapshot: a series set is written in version 2 only",
        ));
    }
    read_exact(&mut r, &mut h[12..], path, "header")?;
    let header = codec::decode_snapshot_header(&h).map_err(|e| e.into_error(path))?;
    let Some(dir_id) = header.dir_id else {
        return Err(Error::format(path, "snapshot without a directory id"));
    };
    if header.lsn != header.log_base_lsn {
        return Err(Error::format(
            path,
            format!(
                "snapshot lsn {} differs from its log base {}: not a series-set snapshot",
                header.lsn, header.log_base_lsn
            ),
        ));
    }
    let mut offset = SNAP_HEADER_LEN as u64;
    let mut previous: Option<u32> = None;
    for _ in 0..header.sections {
        let entry = read_section(&mut r, offset, path, confs)?;
        if previous.is_some_and(|p| entry.0.id <= p) {
            return Err(Error::format(
                path,
                format!(
                    "section of series {} after series {}: sections are by increasing series id",
                    entry.0.id,
                    previous.unwrap_or_default()
                ),
            ));
        }
        previous = Some(entry.0.id);
        offset += entry.1;
        on_series(entry.0)?;
    }
    let mut extra = [0u8; 1];
    match r.read(&mut extra) {
        Ok(0) => {}
        Ok(_) => return Err(Error::format(path, "bytes after the last section")),
        Err(e) => return Err(Error::io("read", path, e)),
    }
    Ok(Some(SetSnapshotHeader {
        dir_id,
        sections: header.sections,
        generation: header.log_generation,
        base_lsn: header.log_base_lsn,
    }))
}

fn read_section(
    r: &mut impl Read,
    offset: u64,
    path: &Path,
    confs: &mut ConfCache,
) -> Result<(SeriesEntry, u64)> {
    let mut sh = [0u8; SECTION_HEADER_LEN];
    read_exact(r, &mut sh, path, "section header")?;
    let header = decode_section_header(&sh).map_err(|e| match e.into_error(path) {
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
    let body = u64::from(header.len) - (SECTION_HEADER_LEN as u64 - 4) - 4;
    let bytes = read_up_to(r, body as usize, path, "section")?;
    let mut crc_bytes = [0u8; 4];
    read_exact(r, &mut crc_bytes, path, "section checksum")?;
    let computed = crc32c::crc32c_append(crc32c::crc32c(&sh), &bytes);
    let stored = u32::from_le_bytes(crc_bytes);
    if stored != computed {
        return Err(Error::ChecksumMismatch {
            path: path.to_owned(),
            offset,
            stored,
            computed,
        });
    }
    let bad = |reason: String| {
        Error::format(
            path,
            format!(
                "section of series {} at offset {offset}: {reason}",
                header.series
            ),
        )
    };
    let (identity, rest) = bytes.split_at(header.identity_len as usize);
    let (conf_bytes, rest) = rest.split_at(header.conf_len as usize);
    let (window_bytes, state) = rest.split_at(8 * header.window_len as usize);
    let key = SeriesIdentity::from_checked_bytes(identity).map_err(bad)?;
    let conf = confs.intern_json(conf_bytes).map_err(bad)?;
    if window_bytes.len() / 8 > conf.window_capacity() {
        return Err(bad(format!(
            "window of {} values, more than the configuration's {}",
            window_bytes.len() / 8,
            conf.window_capacity()
        )));
    }
    let window: Vec<f64> = window_bytes
        .chunks_exact(8)
        .map(|c| f64::from_bits(codec::u64_at(c, 0)))
        .collect();
    let Some((&TAG_LAST_SCORE, after_tag)) = state.split_first() else {
        return Err(bad("no last score in the detector state".into()));
    };
    if after_tag.len() < 8 {
        return Err(bad("detector state ends inside the last score".into()));
    }
    let last_probability = f64::from_bits(codec::u64_at(after_tag, 0));
    if !(0.0..=1.0).contains(&last_probability) {
        return Err(bad(format!("last probability {last_probability}")));
    }
    let robust = detector_state::decode(&after_tag[8..], &conf).map_err(bad)?;
    let detector = Anomalyzer::from_state(
        conf,
        DetectorState {
            window,
            push_count: header.push_count,
            robust,
        },
    )
    .map_err(|e| bad(e.to_string()))?;
    if header.lsn == 0 {
        return Err(bad("lsn 0".into()));
    }
    let entry = SeriesEntry {
        key: key.into_bytes(),
        detector,
        last_ts: header.last_timestamp_ns.unwrap_or(i64::MIN),
        last_probability,
        last_lsn: header.lsn,
        id: header.series,
    };
    Ok((entry, u64::from(header.len) + 4))
}
