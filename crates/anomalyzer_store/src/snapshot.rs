//! Reading and writing the snapshot file.
//!
//! Writing is atomic replacement: the bytes go to `anomalyzer.snap.tmp`,
//! which is fsynced, renamed over `anomalyzer.snap`, and then the directory
//! is fsynced so the rename itself survives a power cut. A crash at any step
//! leaves either the old snapshot or the new one, never a mix.
//!
//! Reading streams the file: the header (with its own CRC) is checked before
//! anything is allocated, the whole-file CRC before the configuration is
//! trusted, and the window can never exceed the configuration's `A + R`
//! values.

use std::io::{self, Read};
use std::path::Path;

use anomalyzer_ts::AnomalyzerConf;

use crate::codec::{self, SNAP_HEADER_LEN};
use crate::paths::Paths;
use crate::storage::Storage;
use crate::{Error, Result};

/// A snapshot's contents.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    pub conf: AnomalyzerConf,
    pub lsn: u64,
    pub push_count: u64,
    pub window: Vec<f64>,
}

/// Writes a snapshot atomically (staging file, fsync, rename, directory fsync).
pub(crate) fn write(
    storage: &dyn Storage,
    paths: &Paths,
    conf: &AnomalyzerConf,
    lsn: u64,
    push_count: u64,
    window: &[f64],
) -> Result<()> {
    let bytes = codec::encode_snapshot(conf, lsn, push_count, window);
    let tmp = &paths.snap_tmp;
    let staged = (|| {
        let mut f = storage
            .create(tmp)
            .map_err(|e| Error::io("create", tmp, e))?;
        f.append(&bytes)
            .map_err(|e| Error::io("write snapshot to", tmp, e))?;
        f.sync_data().map_err(|e| Error::io("fsync", tmp, e))
    })();
    if let Err(e) = staged {
        // Best effort: a leftover staging file is ignored and removed at
        // the next open anyway.
        let _ = storage.remove_file(tmp);
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
    read_exact(r, &mut h, path, "header")?;
    let header = codec::decode_snapshot_header(&h).map_err(|e| e.into_error(path))?;
    let mut crc = crc32c::crc32c(&h);

    let mut conf_bytes = vec![0u8; header.conf_len as usize];
    read_exact(r, &mut conf_bytes, path, "configuration")?;
    crc = crc32c::crc32c_append(crc, &conf_bytes);
    // The header's own CRC vouches for these lengths; the whole-file CRC
    // is checked before the configuration is trusted, so any damage past
    // the header is reported as a checksum mismatch.
    let window_len = header.window_len as usize;
    if window_len > anomalyzer_ts::MAX_WINDOW || u64::from(header.window_len) > header.push_count {
        return Err(Error::format(
            path,
            format!(
                "window of {window_len} values for a push count of {}",
                header.push_count
            ),
        ));
    }
    let mut window = Vec::with_capacity(window_len.min(4096));
    let mut chunk = [0u8; 8 * 512];
    let mut left = window_len;
    while left > 0 {
        let n = left.min(512);
        let bytes = &mut chunk[..8 * n];
        read_exact(r, bytes, path, "window")?;
        crc = crc32c::crc32c_append(crc, bytes);
        for v in bytes.chunks_exact(8) {
            let mut a = [0u8; 8];
            a.copy_from_slice(v);
            window.push(f64::from_bits(u64::from_le_bytes(a)));
        }
        left -= n;
    }
    let mut stored = [0u8; 4];
    read_exact(r, &mut stored, path, "checksum")?;
    let stored = u32::from_le_bytes(stored);
    if stored != crc {
        return Err(Error::ChecksumMismatch {
            path: path.to_owned(),
            offset: 0,
            stored,
            computed: crc,
        });
    }
    let mut extra = [0u8; 1];
    match r.read(&mut extra) {
        Ok(0) => {}
        Ok(_) => return Err(Error::format(path, "bytes after the checksum")),
        Err(e) => return Err(Error::io("read", path, e)),
    }
    if codec::fingerprint(&conf_bytes) != header.fingerprint {
        return Err(Error::format(
            path,
            "configuration does not match its fingerprint",
        ));
    }
    let conf: AnomalyzerConf = serde_json::from_slice(&conf_bytes)
        .map_err(|e| Error::format(path, format!("stored configuration is invalid: {e}")))?;
    if window_len > conf.window_capacity() {
        return Err(Error::format(
            path,
            format!(
                "window of {window_len} values, more than the configuration's {}",
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
    Ok(Some(Snapshot {
        conf,
        lsn: header.lsn,
        push_count: header.push_count,
        window,
    }))
}
