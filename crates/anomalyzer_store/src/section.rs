//! One series' section of a version-2 snapshot (layout in
//! [`crate::codec`]): a 52-byte header with its own CRC, so its lengths are
//! trusted before anything is allocated, then identity, configuration,
//! window, detector state and the section's CRC.
//!
//! Each section has its own LSN, so a snapshot of many series can be
//! written while the log goes on ("fuzzy", not stop-the-world): replay
//! skips a series' records at or below its section's LSN.

use anomalyzer_ts::AnomalyzerConf;

use crate::codec::{encode_conf, u32_at, u64_at, HeaderError, MAX_CONF_LEN, MAX_LSN};
use crate::record::MAX_RECORD_PAYLOAD;

/// Bytes of a section header.
pub(crate) const SECTION_HEADER_LEN: usize = 52;
/// Largest detector-state field accepted in a section (64 MiB; read in
/// chunks, so a header cannot make the reader allocate more than the file
/// holds).
pub(crate) const MAX_DETECTOR_STATE: u32 = 64 << 20;

/// One series' state in a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Section {
    pub series: u32,
    /// The last record of this series the section holds.
    pub lsn: u64,
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub conf: AnomalyzerConf,
    pub push_count: u64,
    pub last_timestamp_ns: Option<i64>,
    pub window: Vec<f64>,
    pub detector_state: Vec<u8>,
}

/// The lengths a section header announces, trusted after its CRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SectionHeader {
    pub len: u32,
    pub series: u32,
    pub lsn: u64,
    pub push_count: u64,
    pub last_timestamp_ns: Option<i64>,
    pub window_len: u32,
    pub conf_len: u32,
    pub identity_len: u32,
    pub state_len: u32,
}

/// Encodes one section.
pub(crate) fn encode_section(s: &Section) -> Vec<u8> {
    let conf = encode_conf(&s.conf);
    let mut identity = Vec::new();
    crate::record::encode_identity(&mut identity, &s.name, &s.labels);
    let body = identity.len() + conf.len() + 8 * s.window.len() + s.detector_state.len();
    let mut b = Vec::with_capacity(SECTION_HEADER_LEN + body + 4);
    // Lengths are bounded by validation (conf ≤ 64 KiB, window ≤ 2^24).
    b.extend_from_slice(&((SECTION_HEADER_LEN - 4 + body + 4) as u32).to_le_bytes());
    b.extend_from_slice(&s.series.to_le_bytes());
    b.extend_from_slice(&s.lsn.to_le_bytes());
    b.extend_from_slice(&s.push_count.to_le_bytes());
    b.extend_from_slice(&s.last_timestamp_ns.unwrap_or(i64::MIN).to_le_bytes());
    b.extend_from_slice(&(s.window.len() as u32).to_le_bytes());
    b.extend_from_slice(&(conf.len() as u32).to_le_bytes());
    b.extend_from_slice(&(identity.len() as u32).to_le_bytes());
    b.extend_from_slice(&(s.detector_state.len() as u32).to_le_bytes());
    let crc = crc32c::crc32c(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b.extend_from_slice(&identity);
    b.extend_from_slice(&conf);
    for v in &s.window {
        b.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    b.extend_from_slice(&s.detector_state);
    let crc = crc32c::crc32c(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

/// Checks a section header (its own CRC, then every length's bound).
pub(crate) fn decode_section_header(
    h: &[u8; SECTION_HEADER_LEN],
) -> Result<SectionHeader, HeaderError> {
    let computed = crc32c::crc32c(&h[..48]);
    let stored = u32_at(h, 48);
    if computed != stored {
        return Err(HeaderError::Checksum { stored, computed });
    }
    let sh = SectionHeader {
        len: u32_at(h, 0),
        series: u32_at(h, 4),
        lsn: u64_at(h, 8),
        push_count: u64_at(h, 16),
        last_timestamp_ns: Some(u64_at(h, 24) as i64).filter(|&t| t != i64::MIN),
        window_len: u32_at(h, 32),
        conf_len: u32_at(h, 36),
        identity_len: u32_at(h, 40),
        state_len: u32_at(h, 44),
    };
    let invalid = |m: String| Err(HeaderError::Invalid(m));
    if sh.push_count > MAX_LSN || sh.lsn > MAX_LSN {
        return invalid(format!(
            "lsn {} or push count {} out of range",
            sh.lsn, sh.push_count
        ));
    }
    if sh.conf_len > MAX_CONF_LEN || sh.state_len > MAX_DETECTOR_STATE {
        return invalid(format!(
            "configuration of {} bytes or detector state of {} bytes",
            sh.conf_len, sh.state_len
        ));
    }
    if sh.window_len as usize > anomalyzer_ts::MAX_WINDOW
        || u64::from(sh.window_len) > sh.push_count
    {
        return invalid(format!(
            "window of {} values for a push count of {}",
            sh.window_len, sh.push_count
        ));
    }
    // An identity fits in a series-creation record's payload, so it is
    // bounded like one (and allocated only within that bound).
    let max_identity = MAX_RECORD_PAYLOAD as u64;
    let body = u64::from(sh.identity_len)
        + u64::from(sh.conf_len)
        + 8 * u64::from(sh.window_len)
        + u64::from(sh.state_len);
    if u64::from(sh.identity_len) > max_identity
        || u64::from(sh.len) != (SECTION_HEADER_LEN - 4) as u64 + body + 4
    {
        return invalid(format!(
            "section length {} does not match its fields",
            sh.len
        ));
    }
    Ok(sh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_round_trips_its_lengths() {
        let conf = AnomalyzerConf::builder().active_size(1).build().unwrap();
        let s = Section {
            series: 5,
            lsn: 77,
            name: "cpu".into(),
            labels: vec![("host".into(), "a".into())],
            conf,
            push_count: 9,
            last_timestamp_ns: Some(-5),
            window: vec![1.0, 2.0],
            detector_state: vec![1, 2, 3],
        };
        let b = encode_section(&s);
        let mut sh = [0u8; SECTION_HEADER_LEN];
        sh.copy_from_slice(&b[..SECTION_HEADER_LEN]);
        let head = decode_section_header(&sh).unwrap();
        assert_eq!(head.len as usize, b.len() - 4);
        assert_eq!((head.window_len, head.state_len), (2, 3));
        assert_eq!(head.last_timestamp_ns, Some(-5));
        assert_eq!(head.lsn, 77);
        // A length that does not add up is refused even with its CRC right.
        let mut bad = sh;
        bad[0] ^= 1;
        let crc = crc32c::crc32c(&bad[..48]);
        bad[48..].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            decode_section_header(&bad),
            Err(HeaderError::Invalid(r)) if r.contains("section length")
        ));
    }
}
