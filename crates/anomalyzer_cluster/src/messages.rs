//! The bodies of points and score messages (docs/cluster.md).
//!
//! A points message is JSON lines `{"series", "labels", "t", "v"}` (`t` in
//! nanoseconds), one partition's share of one request in request order. A
//! score message is JSON lines `{"series", "labels", "timestamp", "value",
//! "probability"}`, the public interface of the cluster's output.

use anomalyzer_serve::{IdentityLimits, Point, SeriesKey, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Header naming the lease epoch that produced a score message.
pub const EPOCH_HEADER: &str = "Anomalyzer-Epoch";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WirePoint {
    series: String,
    #[serde(default)]
    labels: Map<String, Value>,
    t: i64,
    v: f64,
}

/// The points of a batch grouped by partition, request order kept inside
/// each group; groups by increasing partition. The second item of each
/// group is each point's index in the batch.
#[must_use]
pub fn group_by_partition(points: &[Point], partitions: u32) -> Vec<(u32, Vec<usize>)> {
    let mut groups: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for (i, p) in points.iter().enumerate() {
        // partition() is None only for zero partitions, refused at bootstrap.
        let part = p.key.partition(partitions).unwrap_or(0);
        groups.entry(part).or_default().push(i);
    }
    groups.into_iter().collect()
}

/// The body of a points message holding `points[indices]`.
#[must_use]
pub fn encode_points<'a>(points: impl IntoIterator<Item = &'a Point>) -> Vec<u8> {
    let mut out = Vec::new();
    for p in points {
        let wire = WirePoint {
            series: p.key.name().to_owned(),
            labels: labels_object(&p.key),
            t: p.timestamp.as_nanos(),
            v: p.value,
        };
        // Serialising a struct of strings and numbers cannot fail.
        if serde_json::to_writer(&mut out, &wire).is_ok() {
            out.push(b'\n');
        }
    }
    out
}

/// The `Nats-Msg-Id` of a points message: partition and the XXH3-128 of
/// its body, so a retried request is a duplicate JetStream drops.
#[must_use]
pub fn points_message_id(partition: u32, body: &[u8]) -> String {
    format!("{partition}:{:032x}", xxhash_rust::xxh3::xxh3_128(body))
}

/// Reads a points message back; `what` names it in errors.
pub fn decode_points(body: &[u8], what: &str) -> Result<Vec<Point>> {
    let limits = IdentityLimits::default();
    let mut points = Vec::new();
    for (n, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let corrupt = |reason: String| Error::Corrupt {
            what: format!("{what}, line {}", n + 1),
            reason,
        };
        let wire: WirePoint = serde_json::from_slice(line).map_err(|e| corrupt(e.to_string()))?;
        let labels = wire
            .labels
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                other => Err(corrupt(format!("label {k} is not a string: {other}"))),
            })
            .collect::<Result<Vec<_>>>()?;
        let key =
            SeriesKey::new(wire.series, labels, &limits).map_err(|e| corrupt(e.to_string()))?;
        anomalyzer_ts::Anomalyzer::check_value(wire.v).map_err(|e| corrupt(e.to_string()))?;
        points.push(Point {
            key,
            timestamp: Timestamp::from_nanos(wire.t),
            value: wire.v,
        });
    }
    Ok(points)
}

/// One line of a score message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreLine {
    /// The metric name.
    pub series: String,
    /// The series' labels.
    pub labels: Map<String, Value>,
    /// The point's timestamp, RFC 3339.
    pub timestamp: String,
    /// The point's value.
    pub value: f64,
    /// The detector's probability for it.
    pub probability: f64,
}

impl ScoreLine {
    /// The line for a scored point.
    #[must_use]
    pub fn new(point: &Point, probability: f64) -> Self {
        ScoreLine {
            series: point.key.name().to_owned(),
            labels: labels_object(&point.key),
            timestamp: point.timestamp.to_string(),
            value: point.value,
            probability,
        }
    }
}

/// The body of a score message.
#[must_use]
pub fn encode_scores(lines: &[ScoreLine]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        if serde_json::to_writer(&mut out, line).is_ok() {
            out.push(b'\n');
        }
    }
    out
}

/// Reads a score message's body (for consumers and tests).
pub fn decode_scores(body: &[u8]) -> Result<Vec<ScoreLine>> {
    body.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(n, l)| {
            serde_json::from_slice(l).map_err(|e| Error::Corrupt {
                what: format!("score message line {}", n + 1),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// The `Nats-Msg-Id` of the score message for points message `sequence`.
#[must_use]
pub fn score_message_id(partition: u32, sequence: u64) -> String {
    format!("{partition}:{sequence}")
}

fn labels_object(key: &SeriesKey) -> Map<String, Value> {
    key.labels()
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(name: &str, host: &str, t: i64, v: f64) -> Point {
        Point {
            key: SeriesKey::new(
                name,
                [("host".to_owned(), host.to_owned())],
                &IdentityLimits::default(),
            )
            .unwrap(),
            timestamp: Timestamp::from_nanos(t),
            value: v,
        }
    }

    #[test]
    fn points_round_trip_bit_for_bit() {
        let points = vec![
            point("cpu", "a", 1, 0.1 + 0.2),
            point("cpu", "b", -5, 1e-308),
            point("mem", "a", i64::MAX, -123.456_789_012_345_67),
        ];
        let body = encode_points(&points);
        let back = decode_points(&body, "test").unwrap();
        assert_eq!(back.len(), 3);
        for (a, b) in points.iter().zip(&back) {
            assert_eq!(a.key, b.key);
            assert_eq!(a.timestamp, b.timestamp);
            assert_eq!(a.value.to_bits(), b.value.to_bits());
        }
    }

    #[test]
    fn groups_keep_request_order_and_follow_the_stable_hash() {
        let points: Vec<Point> = (0..50)
            .map(|i| point("cpu", &format!("h{}", i % 7), i, 1.0))
            .collect();
        let groups = group_by_partition(&points, 4);
        let mut seen = 0;
        for (p, indices) in &groups {
            assert!(indices.windows(2).all(|w| w[0] < w[1]));
            for i in indices {
                assert_eq!(points[*i].key.partition(4), Some(*p));
            }
            seen += indices.len();
        }
        assert_eq!(seen, 50);
        assert!(groups.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn message_ids_depend_on_the_body_and_partition_only() {
        let body = encode_points(&[point("cpu", "a", 1, 2.0)]);
        assert_eq!(points_message_id(3, &body), points_message_id(3, &body));
        assert_ne!(points_message_id(3, &body), points_message_id(4, &body));
        let other = encode_points(&[point("cpu", "a", 2, 2.0)]);
        assert_ne!(points_message_id(3, &body), points_message_id(3, &other));
        assert_eq!(score_message_id(7, 42), "7:42");
    }

    #[test]
    fn corrupt_points_are_named_by_line() {
        let err =
            decode_points(b"{\"series\":\"cpu\",\"t\":1,\"v\":1}\n{bad\n", "msg 9").unwrap_err();
        assert!(err.to_string().contains("msg 9, line 2"), "{err}");
        let err = decode_points(b"{\"series\":\"1cpu\",\"t\":1,\"v\":1}\n", "m").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn score_lines_round_trip() {
        let p = point("cpu", "a", 1_700_000_000_000_000_000, 0.5);
        let lines = vec![ScoreLine::new(&p, 0.25)];
        let back = decode_scores(&encode_scores(&lines)).unwrap();
        assert_eq!(back, lines);
        assert_eq!(back[0].timestamp, "2023-11-14T22:13:20Z");
    }
}
