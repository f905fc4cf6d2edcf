//! Log records: the framing every version shares, and the record kinds of
//! version 2 (layout in [`crate::codec`]).
//!
//! A record is a 24-byte header (CRC32C, payload length, LSN, series id,
//! kind, three reserved zero bytes) and a payload. Version 2 defines three
//! kinds, enough for one log shared by many series: a push, a push with a
//! timestamp, and the creation of a series (name, sorted labels,
//! configuration). Decoding checks everything a reader could trip over:
//! the checksum, every length against the bytes present, UTF-8, label order,
//! finite values, and a configuration that validates.

use anomalyzer_ts::AnomalyzerConf;

use crate::codec::{u32_at, u64_at, MAX_CONF_LEN, MAX_LSN};

/// Bytes of a record header.
pub(crate) const RECORD_HEADER_LEN: usize = 24;
/// Payload of a push: one `f64`.
pub(crate) const PUSH_PAYLOAD_LEN: usize = 8;
/// A whole push record.
pub(crate) const PUSH_RECORD_LEN: usize = RECORD_HEADER_LEN + PUSH_PAYLOAD_LEN;
/// Payload of a push with a timestamp: `i64` nanoseconds, then the `f64`.
pub(crate) const PUSH_AT_PAYLOAD_LEN: usize = 16;
/// Largest payload any record may have (a series creation is the only
/// variable-length one); checked before anything is buffered.
pub(crate) const MAX_RECORD_PAYLOAD: usize = 1 << 20;

/// Kind byte of a push.
pub(crate) const KIND_PUSH: u8 = 1;
/// Kind byte of a push with a timestamp.
pub(crate) const KIND_PUSH_AT: u8 = 2;
/// Kind byte of a series creation.
pub(crate) const KIND_CREATE_SERIES: u8 = 3;
/// The series of a single-series directory.
pub(crate) const SERIES_DEFAULT: u32 = 0;

/// One log record of format version 2 (its LSN travels beside it), for a
/// store of many series sharing one log; a single-series directory uses
/// only [`Record::Push`] of series 0.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Record {
    /// A value pushed to `series`.
    Push {
        /// The series id.
        series: u32,
        /// The value (finite).
        value: f64,
    },
    /// A value with its sample time (nanoseconds since the Unix epoch).
    PushAt {
        /// The series id.
        series: u32,
        /// Sample time, nanoseconds since the Unix epoch.
        timestamp_ns: i64,
        /// The value (finite).
        value: f64,
    },
    /// A new series: its id, name, labels sorted by key, configuration.
    CreateSeries {
        /// The id later records use.
        series: u32,
        /// The name (not empty, at most 65 535 bytes).
        name: String,
        /// Label names and values, sorted by name, no name twice.
        labels: Vec<(String, String)>,
        /// The series' detector configuration.
        conf: Box<AnomalyzerConf>,
    },
}

impl Record {
    fn kind(&self) -> u8 {
        match self {
            Record::Push { .. } => KIND_PUSH,
            Record::PushAt { .. } => KIND_PUSH_AT,
            Record::CreateSeries { .. } => KIND_CREATE_SERIES,
        }
    }

    fn series(&self) -> u32 {
        match self {
            Record::Push { series, .. }
            | Record::PushAt { series, .. }
            | Record::CreateSeries { series, .. } => *series,
        }
    }
}

/// A decoded record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub crc: u32,
    pub len: usize,
    pub lsn: u64,
    pub series: u32,
    pub kind: u8,
}

/// One push record of series 0 (the hot path: a fixed 32-byte array).
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

/// Appends a series' name and labels: `u16` name length, the name, `u16`
/// label count, then per label `u16` key length, key, `u16` value length,
/// value. (Shared by the series-creation record and snapshot sections.)
pub(crate) fn encode_identity(out: &mut Vec<u8>, name: &str, labels: &[(String, String)]) {
    let short = |out: &mut Vec<u8>, s: &str| {
        // Callers validate lengths (at most u16::MAX bytes each).
        out.extend_from_slice(&(s.len() as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    short(out, name);
    out.extend_from_slice(&(labels.len() as u16).to_le_bytes());
    for (k, v) in labels {
        short(out, k);
        short(out, v);
    }
}

/// A cursor over bytes whose lengths were not yet trusted: every read is
/// checked against what is left.
pub(crate) struct Cursor<'a> {
    pub bytes: &'a [u8],
    pub at: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.bytes.len() - self.at < n {
            return Err(format!("{what} runs past the end of its record"));
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    pub(crate) fn u16(&mut self, what: &str) -> Result<usize, String> {
        let b = self.take(2, what)?;
        Ok(usize::from(u16::from_le_bytes([b[0], b[1]])))
    }

    fn text(&mut self, what: &str) -> Result<String, String> {
        let n = self.u16(what)?;
        let b = self.take(n, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
    }

    pub(crate) fn rest(&self) -> usize {
        self.bytes.len() - self.at
    }
}

/// Reads what [`encode_identity`] wrote, checking the name is not empty
/// and label keys are not empty and strictly ascending (sorted, no repeat).
pub(crate) fn decode_identity(
    c: &mut Cursor<'_>,
) -> Result<(String, Vec<(String, String)>), String> {
    let name = c.text("series name")?;
    let count = c.u16("label count")?;
    let mut labels: Vec<(String, String)> = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let k = c.text("label name")?;
        let v = c.text("label value")?;
        if k.is_empty() {
            return Err("empty label name".into());
        }
        if labels.last().is_some_and(|(prev, _)| *prev >= k) {
            return Err(format!("label {k:?} out of order or repeated"));
        }
        labels.push((k, v));
    }
    Ok((name, labels))
}

/// Checks a series identity before it is written.
fn check_identity(name: &str, labels: &[(String, String)]) -> Result<(), String> {
    let too_long = |s: &str| s.len() > usize::from(u16::MAX);
    if name.is_empty() || too_long(name) {
        return Err(format!("series name of {} bytes", name.len()));
    }
    if labels.len() > usize::from(u16::MAX) {
        return Err(format!("{} labels", labels.len()));
    }
    for (i, (k, v)) in labels.iter().enumerate() {
        if k.is_empty() || too_long(k) || too_long(v) {
            return Err(format!("label {k:?} of bad length"));
        }
        if i > 0 && labels[i - 1].0 >= *k {
            return Err(format!("label {k:?} out of order or repeated"));
        }
    }
    Ok(())
}

/// The bytes of one version-2 record with LSN `lsn`.
///
/// # Errors
/// What no reader would accept, with the reason: an LSN of 0 or above
/// 2^62, a non-finite value, an empty or too long name, labels out of
/// order, a payload above 1 MiB.
pub fn encode_record(lsn: u64, record: &Record) -> Result<Vec<u8>, String> {
    if lsn == 0 || lsn > MAX_LSN {
        return Err(format!("lsn {lsn} out of range"));
    }
    let mut payload = Vec::new();
    match record {
        Record::Push { value, .. } => {
            check_finite(*value)?;
            payload.extend_from_slice(&value.to_bits().to_le_bytes());
        }
        Record::PushAt {
            timestamp_ns,
            value,
            ..
        } => {
            check_finite(*value)?;
            payload.extend_from_slice(&timestamp_ns.to_le_bytes());
            payload.extend_from_slice(&value.to_bits().to_le_bytes());
        }
        Record::CreateSeries {
            name, labels, conf, ..
        } => {
            check_identity(name, labels)?;
            encode_identity(&mut payload, name, labels);
            let conf = crate::codec::encode_conf(conf);
            payload.extend_from_slice(&(conf.len() as u32).to_le_bytes());
            payload.extend_from_slice(&conf);
        }
    }
    if payload.len() > MAX_RECORD_PAYLOAD {
        return Err(format!("payload of {} bytes", payload.len()));
    }
    let mut r = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
    r.extend_from_slice(&[0; 4]);
    r.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    r.extend_from_slice(&lsn.to_le_bytes());
    r.extend_from_slice(&record.series().to_le_bytes());
    r.extend_from_slice(&[record.kind(), 0, 0, 0]);
    r.extend_from_slice(&payload);
    let crc = crc32c::crc32c(&r[4..]);
    r[..4].copy_from_slice(&crc.to_le_bytes());
    Ok(r)
}

fn check_finite(value: f64) -> Result<(), String> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(format!("non-finite value {value}"))
    }
}

/// Parses a record header of a log of format `version`; an error names the
/// first field out of range. Version 1 knows only pushes of series 0.
pub(crate) fn parse_record_header(h: &[u8], version: u32) -> Result<RecordHeader, String> {
    let len = u32_at(h, 4) as usize;
    let series = u32_at(h, 16);
    let kind = h[20];
    let expected_len = match kind {
        KIND_PUSH => Some(PUSH_PAYLOAD_LEN),
        KIND_PUSH_AT if version >= 2 => Some(PUSH_AT_PAYLOAD_LEN),
        KIND_CREATE_SERIES if version >= 2 => None,
        _ => return Err(format!("unknown record kind {kind}")),
    };
    match expected_len {
        Some(want) if len != want => {
            return Err(format!("kind {kind} record with payload length {len}"))
        }
        None if len > MAX_RECORD_PAYLOAD => return Err(format!("payload length {len}")),
        _ => {}
    }
    if version == 1 && series != SERIES_DEFAULT {
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
        len,
        lsn,
        series,
        kind,
    })
}

/// Checks a whole record (header and payload, exactly) of a log of format
/// `version` and returns its LSN and contents.
///
/// # Errors
/// The reason the bytes are not a valid record (checksum, lengths, kind,
/// UTF-8, label order, finite values, configuration).
pub fn decode_record(r: &[u8], version: u32) -> Result<(u64, Record), String> {
    if r.len() < RECORD_HEADER_LEN {
        return Err("record shorter than its header".into());
    }
    let h = parse_record_header(&r[..RECORD_HEADER_LEN], version)?;
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
    let p = &r[RECORD_HEADER_LEN..];
    let series = h.series;
    let record = match h.kind {
        KIND_PUSH => {
            let value = f64::from_bits(u64_at(p, 0));
            check_finite(value).map_err(|e| format!("record holds a {e}"))?;
            Record::Push { series, value }
        }
        KIND_PUSH_AT => {
            let timestamp_ns = u64_at(p, 0) as i64;
            let value = f64::from_bits(u64_at(p, 8));
            check_finite(value).map_err(|e| format!("record holds a {e}"))?;
            Record::PushAt {
                series,
                timestamp_ns,
                value,
            }
        }
        _ => {
            let mut c = Cursor { bytes: p, at: 0 };
            let (name, labels) = decode_identity(&mut c)?;
            if name.is_empty() {
                return Err("empty series name".into());
            }
            let conf_len = c.take(4, "configuration length")?;
            let conf_len = u32_at(conf_len, 0);
            if conf_len > MAX_CONF_LEN {
                return Err(format!("configuration of {conf_len} bytes"));
            }
            let conf_bytes = c.take(conf_len as usize, "configuration")?;
            if c.rest() != 0 {
                return Err(format!("{} bytes after the configuration", c.rest()));
            }
            let conf: AnomalyzerConf = serde_json::from_slice(conf_bytes)
                .map_err(|e| format!("invalid configuration: {e}"))?;
            Record::CreateSeries {
                series,
                name,
                labels,
                conf: Box::new(conf),
            }
        }
    };
    Ok((h.lsn, record))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf() -> AnomalyzerConf {
        AnomalyzerConf::builder().active_size(2).build().unwrap()
    }

    fn all_kinds() -> Vec<Record> {
        vec![
            Record::Push {
                series: 0,
                value: -3.25,
            },
            Record::Push {
                series: 7,
                value: 1e300,
            },
            Record::PushAt {
                series: 3,
                timestamp_ns: -1_700_000_000_000_000_000,
                value: 0.5,
            },
            Record::CreateSeries {
                series: 9,
                name: "cpu_seconds".into(),
                labels: vec![("host".into(), "a".into()), ("job".into(), "node".into())],
                conf: Box::new(conf()),
            },
        ]
    }

    #[test]
    fn every_kind_round_trips_and_every_bit_flip_is_caught() {
        for (i, record) in all_kinds().into_iter().enumerate() {
            let lsn = 40 + i as u64;
            let bytes = encode_record(lsn, &record).unwrap();
            assert_eq!(decode_record(&bytes, 2).unwrap(), (lsn, record.clone()));
            for bit in 0..bytes.len() * 8 {
                let mut bad = bytes.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert!(
                    decode_record(&bad, 2).is_err(),
                    "{record:?}: bit {bit} flip undetected"
                );
            }
        }
    }

    #[test]
    fn the_fast_push_encoding_is_the_general_one() {
        let record = Record::Push {
            series: 0,
            value: 2.5,
        };
        assert_eq!(
            encode_push(5, 2.5).to_vec(),
            encode_record(5, &record).unwrap()
        );
    }

    #[test]
    fn version_1_knows_only_pushes_of_series_0() {
        let v1 = encode_push(1, 1.0);
        assert!(decode_record(&v1, 1).is_ok());
        for record in &all_kinds()[1..] {
            let bytes = encode_record(2, record).unwrap();
            assert!(decode_record(&bytes, 1).is_err(), "{record:?}");
        }
    }

    #[test]
    fn bad_contents_are_refused_with_a_reason() {
        let bad_labels = Record::CreateSeries {
            series: 1,
            name: "x".into(),
            labels: vec![("b".into(), "1".into()), ("a".into(), "2".into())],
            conf: Box::new(conf()),
        };
        assert!(encode_record(1, &bad_labels).unwrap_err().contains("order"));
        let nan = Record::Push {
            series: 0,
            value: f64::NAN,
        };
        assert!(encode_record(1, &nan).is_err());
        assert!(encode_record(0, &all_kinds()[0]).is_err());

        // A creation record with its labels swapped and the CRC fixed up.
        let ok = Record::CreateSeries {
            series: 1,
            name: "x".into(),
            labels: vec![("a".into(), "1".into()), ("b".into(), "2".into())],
            conf: Box::new(conf()),
        };
        let mut bytes = encode_record(1, &ok).unwrap();
        let at = bytes.windows(3).position(|w| w == [1, 0, b'a']).unwrap();
        bytes[at + 2] = b'c';
        let crc = crc32c::crc32c(&bytes[4..]);
        bytes[..4].copy_from_slice(&crc.to_le_bytes());
        let err = decode_record(&bytes, 2).unwrap_err();
        assert!(err.contains("out of order"), "{err}");

        // A payload length past the bound is refused from the header alone.
        let mut h = encode_record(1, &ok).unwrap();
        h[4..8].copy_from_slice(&((MAX_RECORD_PAYLOAD + 1) as u32).to_le_bytes());
        assert!(parse_record_header(&h[..RECORD_HEADER_LEN], 2).is_err());
    }
}
