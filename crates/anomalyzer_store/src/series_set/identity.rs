//! A series' identity as compact bytes: the *identity* encoding of a
//! create-series record (`u16` name length, name, `u16` label count, then
//! per label `u16` length and name, `u16` length and value; labels sorted
//! by name). One boxed byte string per series, no `String` pairs, and the
//! same bytes the log and the snapshot hold, so nothing is re-encoded when
//! a series is written.

use std::fmt;

use xxhash_rust::xxh3::xxh3_64;

use crate::record::{decode_identity, encode_identity, Cursor};

/// The name and sorted labels of one series, as compact bytes (with their
/// hash, computed once: the committer looks a point's series up twice).
#[derive(Clone)]
pub struct SeriesIdentity {
    bytes: Box<[u8]>,
    hash: u64,
}

impl PartialEq for SeriesIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for SeriesIdentity {}

impl std::hash::Hash for SeriesIdentity {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl PartialOrd for SeriesIdentity {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SeriesIdentity {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes.cmp(&other.bytes)
    }
}

impl SeriesIdentity {
    /// Checks and encodes an identity: the name must not be empty, no
    /// string may exceed 65 535 bytes, labels must be sorted by name with
    /// no name twice and no empty name.
    ///
    /// # Errors
    /// What is wrong, in words.
    pub fn new(name: &str, labels: &[(String, String)]) -> Result<Self, String> {
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
        let mut bytes = Vec::with_capacity(
            4 + name.len()
                + labels
                    .iter()
                    .map(|(k, v)| 4 + k.len() + v.len())
                    .sum::<usize>(),
        );
        encode_identity(&mut bytes, name, labels);
        Ok(Self::from_trusted(bytes.into_boxed_slice()))
    }

    /// Wraps bytes read from disk after checking them like a reader does.
    pub(crate) fn from_checked_bytes(bytes: &[u8]) -> Result<Self, String> {
        let mut c = Cursor { bytes, at: 0 };
        let (name, _) = decode_identity(&mut c)?;
        if name.is_empty() {
            return Err("empty series name".into());
        }
        if c.rest() != 0 {
            return Err("bytes after the series identity".into());
        }
        Ok(Self::from_trusted(bytes.into()))
    }

    /// Wraps bytes that came from a checked identity.
    pub(crate) fn from_trusted(bytes: Box<[u8]>) -> Self {
        let hash = hash_bytes(&bytes);
        SeriesIdentity { bytes, hash }
    }

    /// The encoded bytes (as in a create-series record).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn into_bytes(self) -> Box<[u8]> {
        self.bytes
    }

    /// The hash the index uses (XXH3-64 of the bytes).
    pub(crate) fn hash(&self) -> u64 {
        self.hash
    }

    /// The metric name.
    #[must_use]
    pub fn name(&self) -> &str {
        name_of(&self.bytes)
    }

    /// The labels, sorted by name.
    pub fn labels(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        labels_of(&self.bytes)
    }
}

impl fmt::Debug for SeriesIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        let mut labels = self.labels().peekable();
        if labels.peek().is_some() {
            f.write_str("{")?;
            for (i, (k, v)) in labels.enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{k}={v:?}")?;
            }
            f.write_str("}")?;
        }
        Ok(())
    }
}

impl fmt::Display for SeriesIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    xxh3_64(bytes)
}

/// A `u16`-prefixed string at `at`; bytes were checked when the identity
/// was built, so a bad slice reads as empty rather than panicking.
fn short_at(bytes: &[u8], at: usize) -> (&str, usize) {
    let Some(len) = bytes.get(at..at + 2) else {
        return ("", bytes.len());
    };
    let len = usize::from(u16::from_le_bytes([len[0], len[1]]));
    let end = (at + 2 + len).min(bytes.len());
    let text = std::str::from_utf8(&bytes[(at + 2).min(end)..end]).unwrap_or("");
    (text, end)
}

pub(crate) fn name_of(bytes: &[u8]) -> &str {
    short_at(bytes, 0).0
}

pub(crate) fn labels_of(bytes: &[u8]) -> impl Iterator<Item = (&str, &str)> + '_ {
    let (_, after_name) = short_at(bytes, 0);
    let count = bytes
        .get(after_name..after_name + 2)
        .map_or(0, |c| u16::from_le_bytes([c[0], c[1]]));
    let mut at = after_name + 2;
    (0..count).map(move |_| {
        let (k, next) = short_at(bytes, at);
        let (v, next) = short_at(bytes, next);
        at = next;
        (k, v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_round_trip_and_refuse_bad_labels() {
        let labels = vec![("host".into(), "a".into()), ("job".into(), "node".into())];
        let id = SeriesIdentity::new("cpu", &labels).unwrap();
        assert_eq!(id.name(), "cpu");
        assert_eq!(
            id.labels().collect::<Vec<_>>(),
            vec![("host", "a"), ("job", "node")]
        );
        assert_eq!(id.to_string(), r#"cpu{host="a",job="node"}"#);
        assert_eq!(
            SeriesIdentity::from_checked_bytes(id.as_bytes()).unwrap(),
            id
        );
        let bare = SeriesIdentity::new("up", &[]).unwrap();
        assert_eq!(bare.labels().count(), 0);
        assert_eq!(bare.to_string(), "up");
        assert!(SeriesIdentity::new("", &[]).is_err());
        let unsorted = vec![("b".into(), "1".into()), ("a".into(), "2".into())];
        assert!(SeriesIdentity::new("x", &unsorted)
            .unwrap_err()
            .contains("order"));
        assert!(SeriesIdentity::from_checked_bytes(&id.as_bytes()[..5]).is_err());
        let mut extra = id.as_bytes().to_vec();
        extra.push(0);
        assert!(SeriesIdentity::from_checked_bytes(&extra).is_err());
    }
}
