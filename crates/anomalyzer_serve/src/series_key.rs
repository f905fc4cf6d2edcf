//! Series identity: a metric name plus a sorted label set, its canonical
//! byte form, and the stable hash that places a series in a partition.
//!
//! # Canonical key
//!
//! The canonical key of `name{k1="v1",k2="v2"}` (labels sorted by name,
//! byte-wise) is the byte string
//!
//! ```text
//! name 0xFF k1 0xFF v1 0xFF k2 0xFF v2
//! ```
//!
//! (no trailing separator; a series without labels is just `name`). `0xFF`
//! never occurs in UTF-8, so two different series never share a key.
//!
//! # Stable hash and partitions
//!
//! [`SeriesKey::stable_hash`] is XXH3-64 with seed 0 over the canonical key
//! bytes, and the partition of a series among `P` partitions is
//! `stable_hash % P`. Both are part of the on-disk and cluster contract
//! (issue 13): they never change between versions.

use std::fmt;

use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};

/// The byte that separates the parts of a canonical key: it is never part
/// of UTF-8 text.
const SEPARATOR: u8 = 0xFF;

/// The label that carries the metric name in exported series
/// (`anomalyzer_anomaly_score{series="cpu",...}`). A series' own label of
/// that name is exported as `exported_series`, as Prometheus does on a
/// label clash (see [`SeriesKey::exported_labels`]).
pub const SERIES_LABEL: &str = "series";

/// The prefix a clashing label gets in exported series.
const EXPORTED_PREFIX: &str = "exported_";

/// Size limits on a series' identity, checked when a point arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentityLimits {
    /// Most bytes in a metric name.
    pub max_name_bytes: usize,
    /// Most bytes in a label name.
    pub max_label_name_bytes: usize,
    /// Most bytes in a label value.
    pub max_label_value_bytes: usize,
    /// Most labels on one series.
    pub max_labels: usize,
}

impl Default for IdentityLimits {
    /// 256-byte names, 128-byte label names, 1024-byte label values, 32 labels.
    fn default() -> Self {
        IdentityLimits {
            max_name_bytes: 256,
            max_label_name_bytes: 128,
            max_label_value_bytes: 1024,
            max_labels: 32,
        }
    }
}

/// One series: its metric name and its labels sorted by name. Built only
/// through [`SeriesKey::new`], so every key obeys the naming rules and the
/// [`IdentityLimits`] it was checked against.
///
/// The canonical key of `name{k1="v1",k2="v2"}` (labels sorted by name,
/// byte-wise) is the byte string `name 0xFF k1 0xFF v1 0xFF k2 0xFF v2`
/// (a series without labels is just `name`); `0xFF` never occurs in UTF-8,
/// so two series never share a key. [`stable_hash`](Self::stable_hash) is
/// XXH3-64, seed 0, over those bytes, and the partition among `P` is
/// `stable_hash % P`: both are a contract that never changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    name: String,
    labels: Vec<(String, String)>,
}

impl SeriesKey {
    /// Checks and builds a series identity. The name must match
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*`
    /// (not starting with `__`, no repeats), label
    /// values must be non-empty, and every size within `limits`. Labels may
    /// come in any order; they are sorted here.
    pub fn new(
        name: impl Into<String>,
        labels: impl IntoIterator<Item = (String, String)>,
        limits: &IdentityLimits,
    ) -> Result<Self> {
        let name = name.into();
        check_metric_name(&name, limits)?;
        let mut labels: Vec<(String, String)> = labels.into_iter().collect();
        if labels.len() > limits.max_labels {
            return Err(Error::InvalidSeries(format!(
                "series {} has {} labels; at most {} are allowed",
                quote(&name),
                labels.len(),
                limits.max_labels
            )));
        }
        labels.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for pair in labels.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(Error::InvalidSeries(format!(
                    "series {} has label {} twice",
                    quote(&name),
                    quote(&pair[0].0)
                )));
            }
        }
        for (label, value) in &labels {
            check_label(&name, label, value, limits)?;
        }
        Ok(SeriesKey { name, labels })
    }

    /// The metric name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The labels, sorted by name.
    #[must_use]
    pub fn labels(&self) -> &[(String, String)] {
        &self.labels
    }

    /// The canonical key bytes (format in [`SeriesKey`]'s documentation).
    #[must_use]
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let len = self.name.len()
            + self
                .labels
                .iter()
                .map(|(k, v)| k.len() + v.len() + 2)
                .sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(self.name.as_bytes());
        for (k, v) in &self.labels {
            out.push(SEPARATOR);
            out.extend_from_slice(k.as_bytes());
            out.push(SEPARATOR);
            out.extend_from_slice(v.as_bytes());
        }
        out
    }

    /// XXH3-64 (seed 0) of the canonical key bytes: stable across versions
    /// and machines.
    #[must_use]
    pub fn stable_hash(&self) -> u64 {
        xxh3_64(&self.canonical_bytes())
    }

    /// The labels of this series' exported score: `series="<name>"` and
    /// its own labels, sorted by name. An own label that clashes with an
    /// exported one is renamed with `exported_` in front (repeatedly, until
    /// it no longer clashes), so nothing is lost or overwritten.
    #[must_use]
    pub fn exported_labels(&self) -> Vec<(String, String)> {
        let mut out = Vec::with_capacity(self.labels.len() + 1);
        out.push((SERIES_LABEL.to_owned(), self.name.clone()));
        for (k, v) in &self.labels {
            let mut name = k.clone();
            while name == SERIES_LABEL || self.labels.iter().any(|(o, _)| *o == name && o != k) {
                name.insert_str(0, EXPORTED_PREFIX);
            }
            out.push((name, v.clone()));
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The partition of this series among `partitions` (`stable_hash %
    /// partitions`); `None` when `partitions` is 0.
    #[must_use]
    pub fn partition(&self, partitions: u32) -> Option<u32> {
        let p = u64::from(partitions);
        // The remainder is below `partitions`, so it fits in a u32.
        (p != 0).then(|| (self.stable_hash() % p) as u32)
    }
}

impl fmt::Display for SeriesKey {
    /// The Prometheus form: `name{k1="v1",k2="v2"}`, or `name` alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.labels.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (k, v)) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}=\"{}\"", v.escape_default())?;
        }
        f.write_str("}")
    }
}

fn check_metric_name(name: &str, limits: &IdentityLimits) -> Result<()> {
    if name.is_empty() {
        return Err(Error::InvalidSeries("series name is empty".into()));
    }
    if name.len() > limits.max_name_bytes {
        return Err(Error::InvalidSeries(format!(
            "series name {} is {} bytes; at most {} are allowed",
            quote(name),
            name.len(),
            limits.max_name_bytes
        )));
    }
    let valid = name.bytes().enumerate().all(|(i, b)| {
        b.is_ascii_alphabetic() || b == b'_' || b == b':' || (i > 0 && b.is_ascii_digit())
    });
    if !valid {
        return Err(Error::InvalidSeries(format!(
            "series name {} is not a metric name: use letters, digits, `_` and `:`, not starting with a digit",
            quote(name)
        )));
    }
    Ok(())
}

fn check_label(series: &str, label: &str, value: &str, limits: &IdentityLimits) -> Result<()> {
    let bad = |reason: String| {
        Err(Error::InvalidSeries(format!(
            "series {}: label {} {reason}",
            quote(series),
            quote(label)
        )))
    };
    if label.is_empty() {
        return Err(Error::InvalidSeries(format!(
            "series {} has a label with an empty name",
            quote(series)
        )));
    }
    if label.len() > limits.max_label_name_bytes {
        return bad(format!(
            "has a {}-byte name; at most {} are allowed",
            label.len(),
            limits.max_label_name_bytes
        ));
    }
    let valid = label
        .bytes()
        .enumerate()
        .all(|(i, b)| b.is_ascii_alphabetic() || b == b'_' || (i > 0 && b.is_ascii_digit()));
    if !valid {
        return bad(
            "is not a label name: use letters, digits and `_`, not starting with a digit".into(),
        );
    }
    if label.starts_with("__") {
        return bad("starts with `__`, which is reserved".into());
    }
    if value.is_empty() {
        return bad("has an empty value".into());
    }
    if value.len() > limits.max_label_value_bytes {
        return bad(format!(
            "has a {}-byte value; at most {} are allowed",
            value.len(),
            limits.max_label_value_bytes
        ));
    }
    Ok(())
}

/// Quotes user text for an error message: at most 80 characters, then the
/// full size, so a huge name cannot make a huge message.
pub(crate) fn quote(text: &str) -> String {
    const SHOWN: usize = 80;
    match text.char_indices().nth(SHOWN) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &text[..cut], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, labels: &[(&str, &str)]) -> Result<SeriesKey> {
        SeriesKey::new(
            name,
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            &IdentityLimits::default(),
        )
    }

    #[test]
    fn labels_are_sorted_and_order_does_not_matter() {
        let a = key("cpu", &[("zone", "b"), ("host", "a")]).unwrap();
        let b = key("cpu", &[("host", "a"), ("zone", "b")]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.labels()[0].0, "host");
        assert_eq!(a.to_string(), r#"cpu{host="a",zone="b"}"#);
        assert_eq!(a.stable_hash(), b.stable_hash());
    }

    #[test]
    fn canonical_bytes_are_as_documented() {
        let k = key("cpu", &[("host", "a"), ("dc", "x")]).unwrap();
        assert_eq!(k.canonical_bytes(), b"cpu\xFFdc\xFFx\xFFhost\xFFa".to_vec());
        assert_eq!(key("up", &[]).unwrap().canonical_bytes(), b"up".to_vec());
    }

    #[test]
    fn stable_hash_is_xxh3_64_of_the_canonical_key() {
        // Published XXH3-64 test vector for the empty input (seed 0): the
        // hash function itself is pinned, not only our use of it.
        assert_eq!(xxh3_64(b""), 0x2D06_8005_38D3_94C2);
        let k = key("cpu", &[("host", "a")]).unwrap();
        assert_eq!(k.stable_hash(), xxh3_64(b"cpu\xFFhost\xFFa"));
        // Pinned value: a change here breaks every existing partitioning.
        assert_eq!(k.stable_hash(), 0x78E5_A3E7_C2EF_4355);
        assert_eq!(k.partition(64), Some((k.stable_hash() % 64) as u32));
        assert_eq!(k.partition(64), Some(0x15));
        assert_eq!(k.partition(0), None);
    }

    #[test]
    fn partitions_spread_series() {
        let mut counts = [0usize; 8];
        for i in 0..8000 {
            let k = key("req", &[("id", &i.to_string())]).unwrap();
            counts[k.partition(8).unwrap() as usize] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "uneven partitions: {counts:?}");
        }
    }

    #[test]
    fn separator_makes_keys_unambiguous() {
        let a = key("a", &[("b", "c_d")]).unwrap();
        let b = key("a", &[("b_c", "d")]).unwrap();
        assert_ne!(a.canonical_bytes(), b.canonical_bytes());
    }

    #[test]
    fn bad_identities_are_refused_with_the_reason() {
        let cases: &[(&str, &[(&str, &str)], &str)] = &[
            ("", &[], "series name is empty"),
            ("9lives", &[], "not a metric name"),
            ("cpu load", &[], "not a metric name"),
            ("cpu", &[("host", "")], "empty value"),
            ("cpu", &[("__name__", "x")], "reserved"),
            ("cpu", &[("1x", "x")], "not a label name"),
            ("cpu", &[("", "x")], "empty name"),
            ("cpu", &[("a", "1"), ("a", "2")], "label \"a\" twice"),
        ];
        for (name, labels, expected) in cases {
            let err = key(name, labels).unwrap_err().to_string();
            assert!(err.contains(expected), "{name} {labels:?}: {err}");
        }
        assert!(key("ns:metric_total", &[("_x", "é\"\n")]).is_ok());
    }

    #[test]
    fn limits_are_enforced_and_named() {
        let limits = IdentityLimits {
            max_name_bytes: 4,
            max_label_name_bytes: 2,
            max_label_value_bytes: 3,
            max_labels: 1,
        };
        let mk = |name: &str, labels: &[(&str, &str)]| {
            SeriesKey::new(
                name,
                labels.iter().map(|(k, v)| (k.to_string(), v.to_string())),
                &limits,
            )
            .map_err(|e| e.to_string())
        };
        assert!(mk("abcd", &[("ab", "xyz")]).is_ok());
        assert!(mk("abcde", &[]).unwrap_err().contains("5 bytes; at most 4"));
        assert!(mk("a", &[("abc", "x")])
            .unwrap_err()
            .contains("3-byte name; at most 2"));
        assert!(mk("a", &[("a", "xxxx")])
            .unwrap_err()
            .contains("4-byte value; at most 3"));
        assert!(mk("a", &[("a", "x"), ("b", "y")])
            .unwrap_err()
            .contains("2 labels; at most 1"));
    }

    #[test]
    fn exported_labels_carry_the_name_and_rename_clashes() {
        let k = key("cpu", &[("host", "a")]).unwrap();
        assert_eq!(
            k.exported_labels(),
            vec![("host".into(), "a".into()), ("series".into(), "cpu".into())]
        );
        let clash = key("cpu", &[("series", "s"), ("exported_series", "e")]).unwrap();
        assert_eq!(
            clash.exported_labels(),
            vec![
                ("exported_exported_series".into(), "s".into()),
                ("exported_series".into(), "e".into()),
                ("series".into(), "cpu".into()),
            ]
        );
    }

    #[test]
    fn long_names_are_quoted_short() {
        let long = "x".repeat(10_000);
        let err = key(&long, &[]).unwrap_err().to_string();
        assert!(err.len() < 300, "{err}");
        assert!(err.contains("(10000 bytes)"), "{err}");
    }
}
