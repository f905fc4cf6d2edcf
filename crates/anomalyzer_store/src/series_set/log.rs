//! The shared log of a series set: record encoding for the hot path and
//! the writer that appends one group's bytes with one `write`.
//!
//! Records are the version-2 kinds (see [`crate::codec`]): a series'
//! creation (kind 3, with its identity and configuration JSON) and a push
//! with a timestamp (kind 2). The encoders here write the same bytes as
//! [`encode_record`](crate::encode_record) without building a [`Record`](crate::Record).

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::identity::SeriesIdentity;
use crate::record::{
    decode_identity, Cursor, KIND_CREATE_SERIES, KIND_PUSH_AT, PUSH_AT_PAYLOAD_LEN,
    RECORD_HEADER_LEN,
};
use crate::storage::StorageFile;
use crate::SyncPolicy;

/// Bytes of a push-with-timestamp record.
#[cfg(test)]
const PUSH_AT_RECORD_LEN: usize = RECORD_HEADER_LEN + PUSH_AT_PAYLOAD_LEN;

fn header(out: &mut Vec<u8>, payload_len: usize, lsn: u64, series: u32, kind: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(payload_len as u32).to_le_bytes());
    out.extend_from_slice(&lsn.to_le_bytes());
    out.extend_from_slice(&series.to_le_bytes());
    out.extend_from_slice(&[kind, 0, 0, 0]);
    start
}

fn seal(out: &mut [u8], start: usize) {
    let crc = crc32c::crc32c(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Appends a push-with-timestamp record (the value is finite: batches are
/// checked before they reach the committer).
pub(crate) fn encode_push_at(out: &mut Vec<u8>, lsn: u64, series: u32, ts: i64, value: f64) {
    let start = header(out, PUSH_AT_PAYLOAD_LEN, lsn, series, KIND_PUSH_AT);
    out.extend_from_slice(&ts.to_le_bytes());
    out.extend_from_slice(&value.to_bits().to_le_bytes());
    seal(out, start);
}

/// Appends a create-series record from the identity bytes and the
/// configuration's JSON.
pub(crate) fn encode_create(
    out: &mut Vec<u8>,
    lsn: u64,
    series: u32,
    identity: &[u8],
    conf_json: &[u8],
) {
    let payload = identity.len() + 4 + conf_json.len();
    let start = header(out, payload, lsn, series, KIND_CREATE_SERIES);
    out.extend_from_slice(identity);
    out.extend_from_slice(&(conf_json.len() as u32).to_le_bytes());
    out.extend_from_slice(conf_json);
    seal(out, start);
}

/// A create-series record's LSN, series id, identity and configuration
/// JSON, read without parsing the JSON (recovery interns configurations
/// by their bytes: a million creations share one parse). `None` when the
/// bytes are anything else; the general decoder then says why.
pub(crate) fn decode_create(record: &[u8]) -> Option<(u64, u32, SeriesIdentity, &[u8])> {
    let h = crate::record::parse_record_header(record.get(..RECORD_HEADER_LEN)?, 2).ok()?;
    if h.kind != KIND_CREATE_SERIES || record.len() != RECORD_HEADER_LEN + h.len {
        return None;
    }
    if crc32c::crc32c(&record[4..]) != h.crc {
        return None;
    }
    let payload = &record[RECORD_HEADER_LEN..];
    let mut c = Cursor {
        bytes: payload,
        at: 0,
    };
    decode_identity(&mut c).ok()?;
    let identity_len = c.at;
    let conf_len = c.take(4, "configuration length").ok()?;
    let conf_len = u32::from_le_bytes([conf_len[0], conf_len[1], conf_len[2], conf_len[3]]);
    if conf_len > crate::codec::MAX_CONF_LEN || c.rest() != conf_len as usize {
        return None;
    }
    let identity = SeriesIdentity::from_checked_bytes(&payload[..identity_len]).ok()?;
    Some((h.lsn, h.series, identity, &payload[c.at..]))
}

/// Why a group could not be written.
#[derive(Debug)]
pub(crate) enum LogFailure {
    /// The write failed and was cut back: the log is as before.
    Write(io::Error),
    /// The write failed and so did cutting it back, or fsync failed: what
    /// the file holds is unknown.
    Fatal(String),
}

/// The open log of the current generation.
#[derive(Debug)]
pub(crate) struct LogWriter {
    pub path: PathBuf,
    pub generation: u64,
    pub base_lsn: u64,
    file: Box<dyn StorageFile>,
    len: u64,
    last_lsn: u64,
    durable_lsn: u64,
    unsynced: u64,
    last_sync: Instant,
    policy: SyncPolicy,
}

impl LogWriter {
    pub(crate) fn new(
        path: PathBuf,
        file: Box<dyn StorageFile>,
        generation: u64,
        base_lsn: u64,
        len: u64,
        last_lsn: u64,
        policy: SyncPolicy,
    ) -> Self {
        LogWriter {
            path,
            generation,
            base_lsn,
            file,
            len,
            last_lsn,
            durable_lsn: last_lsn,
            unsynced: 0,
            last_sync: Instant::now(),
            policy,
        }
    }

    /// Appends one group's records (`records` of them, ending at LSN
    /// `last_lsn`) with one write; a failed write is cut back.
    pub(crate) fn append(
        &mut self,
        bytes: &[u8],
        records: u64,
        last_lsn: u64,
    ) -> Result<(), LogFailure> {
        if bytes.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.append(bytes) {
            if self.file.size().is_ok_and(|len| len == self.len) {
                return Err(LogFailure::Write(e));
            }
            return Err(match self.file.set_len(self.len) {
                Ok(()) => LogFailure::Write(e),
                Err(rollback) => LogFailure::Fatal(format!(
                    "cannot write to {}: {e}; cutting the partial write back also failed: {rollback}",
                    self.path.display()
                )),
            });
        }
        self.len += bytes.len() as u64;
        self.last_lsn = last_lsn;
        self.unsynced += records;
        Ok(())
    }

    /// Whether the policy wants an fsync now.
    pub(crate) fn sync_due(&self) -> bool {
        self.policy.due(self.unsynced, self.last_sync.elapsed())
    }

    /// fdatasync if anything is unsynced; returns how long it took.
    pub(crate) fn sync(&mut self) -> Result<Option<Duration>, LogFailure> {
        if self.unsynced == 0 {
            return Ok(None);
        }
        let started = Instant::now();
        self.file
            .sync_data()
            .map_err(|e| LogFailure::Fatal(format!("cannot fsync {}: {e}", self.path.display())))?;
        self.unsynced = 0;
        self.durable_lsn = self.last_lsn;
        self.last_sync = Instant::now();
        Ok(Some(started.elapsed()))
    }

    /// How long until the interval policy wants a sync (for the committer's
    /// wait), if records are waiting for one.
    pub(crate) fn next_sync_in(&self) -> Option<Duration> {
        match self.policy {
            SyncPolicy::Interval(d) if self.unsynced > 0 => {
                Some(d.saturating_sub(self.last_sync.elapsed()))
            }
            _ => None,
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn last_lsn(&self) -> u64 {
        self.last_lsn
    }

    pub(crate) fn durable_lsn(&self) -> u64 {
        self.durable_lsn
    }

    pub(crate) fn policy(&self) -> SyncPolicy {
        self.policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode_record, Record};
    use anomalyzer_ts::AnomalyzerConf;

    #[test]
    fn the_fast_encoders_write_what_encode_record_writes() {
        let mut out = Vec::new();
        encode_push_at(&mut out, 9, 4, -17, 2.5);
        let record = Record::PushAt {
            series: 4,
            timestamp_ns: -17,
            value: 2.5,
        };
        assert_eq!(out, encode_record(9, &record).unwrap());
        assert_eq!(out.len(), PUSH_AT_RECORD_LEN);

        let conf = AnomalyzerConf::builder().active_size(2).build().unwrap();
        let labels = vec![("host".to_string(), "a".to_string())];
        let identity = super::super::SeriesIdentity::new("cpu", &labels).unwrap();
        let mut out = Vec::new();
        encode_create(
            &mut out,
            3,
            7,
            identity.as_bytes(),
            &crate::codec::encode_conf(&conf),
        );
        let record = Record::CreateSeries {
            series: 7,
            name: "cpu".into(),
            labels,
            conf: Box::new(conf),
        };
        assert_eq!(out, encode_record(3, &record).unwrap());
        let (lsn, series, decoded, json) = decode_create(&out).unwrap();
        assert_eq!((lsn, series), (3, 7));
        assert_eq!(decoded, identity);
        assert_eq!(json, crate::codec::encode_conf(&conf_of(&record)));
        let mut bad = out.clone();
        bad[30] ^= 1;
        assert!(decode_create(&bad).is_none());
        assert!(decode_create(&out[..out.len() - 1]).is_none());
    }

    fn conf_of(record: &Record) -> AnomalyzerConf {
        match record {
            Record::CreateSeries { conf, .. } => (**conf).clone(),
            _ => unreachable!(),
        }
    }
}
