//! `POST /api/v1/push`: the JSON body, validated whole, and the JSON answer.
//!
//! A body is either JSON lines (one point object per line, blank lines
//! ignored) or one JSON array of point objects; a UTF-8 byte-order mark is
//! accepted at its very start. A point is
//! `{"series": "name", "labels": {"k": "v"}, "timestamp": T, "value": X}`
//! where `labels` is optional, `T` is RFC 3339 text or Unix seconds, and
//! `X` a finite number. Unknown fields and repeated fields or labels are
//! errors. The first bad point stops the parse with its 1-based line.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::batch::{Batch, Point, PointOutcome};
use crate::error::{Error, Result};
use crate::series_key::{IdentityLimits, SeriesKey};
use crate::store::labels_json;
use crate::timestamp::{json_kind, Timestamp};

/// A parsed, fully validated push body: the batch to apply and each point's
/// timestamp exactly as it was sent (echoed in the answer).
#[derive(Debug, Clone)]
pub struct PushRequest {
    /// The points, in body order.
    pub batch: Batch,
    /// The `timestamp` of each point as sent, same order as the batch.
    pub sent_timestamps: Vec<Value>,
}

/// One point object as it appears in the body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint {
    series: String,
    #[serde(default, deserialize_with = "label_pairs")]
    labels: Vec<(String, String)>,
    timestamp: Value,
    value: Value,
}

/// Parses and validates a whole push body; nothing is returned unless
/// every point is valid.
pub fn parse_push(body: &[u8], limits: &IdentityLimits) -> Result<PushRequest> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let first = body.iter().position(|b| !b.is_ascii_whitespace());
    let mut request = PushRequest {
        batch: Batch::default(),
        sent_timestamps: Vec::new(),
    };
    let mut points = Vec::new();
    match first {
        None => {}
        Some(start) if body[start] == b'[' => {
            let items: Vec<&RawValue> = serde_json::from_slice(body).map_err(|e| syntax(&e))?;
            for item in items {
                let line = line_of(body, item.get());
                let raw: RawPoint =
                    serde_json::from_str(item.get()).map_err(|e| Error::InvalidPush {
                        line,
                        reason: describe(&e),
                    })?;
                points.push(check_point(
                    raw,
                    limits,
                    line,
                    &mut request.sent_timestamps,
                )?);
            }
        }
        Some(_) => {
            for (index, text) in body.split(|&b| b == b'\n').enumerate() {
                let line = index + 1;
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let raw: RawPoint =
                    serde_json::from_slice(text).map_err(|e| Error::InvalidPush {
                        line,
                        reason: describe(&e),
                    })?;
                points.push(check_point(
                    raw,
                    limits,
                    line,
                    &mut request.sent_timestamps,
                )?);
            }
        }
    }
    request.batch = Batch::new(points)?;
    Ok(request)
}

fn check_point(
    raw: RawPoint,
    limits: &IdentityLimits,
    line: usize,
    sent: &mut Vec<Value>,
) -> Result<Point> {
    let at = |e: Error| Error::InvalidPush {
        line,
        reason: e.to_string(),
    };
    let key = SeriesKey::new(raw.series, raw.labels, limits).map_err(at)?;
    let timestamp = Timestamp::from_json(&raw.timestamp).map_err(at)?;
    let value = match &raw.value {
        Value::Number(n) => n.as_f64().filter(|v| v.is_finite()),
        other => {
            return Err(Error::InvalidPush {
                line,
                reason: format!(
                    "`value` is {} where a number was expected",
                    json_kind(other)
                ),
            })
        }
    }
    .ok_or_else(|| Error::InvalidPush {
        line,
        reason: format!("`value` {} is not a finite number", raw.value),
    })?;
    sent.push(raw.timestamp);
    Ok(Point {
        key,
        timestamp,
        value,
    })
}

/// The 1-based line of `item`, a slice of `body`.
fn line_of(body: &[u8], item: &str) -> usize {
    // `item` borrows from `body` (serde_json's borrowed RawValue), so its
    // address lies within it; saturate in case it ever does not.
    let offset = (item.as_ptr() as usize).saturating_sub(body.as_ptr() as usize);
    let offset = offset.min(body.len());
    1 + body[..offset].iter().filter(|&&b| b == b'\n').count()
}

fn syntax(e: &serde_json::Error) -> Error {
    Error::InvalidPush {
        line: e.line().max(1),
        reason: describe(e),
    }
}

/// serde_json's message without its trailing "at line L column C" (the
/// line is reported on its own).
fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// Reads a labels object into pairs, keeping repeats so that they are
/// reported rather than silently resolved.
fn label_pairs<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<(String, String)>, D::Error> {
    struct Pairs;
    impl<'de> Visitor<'de> for Pairs {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of label names to string values")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some((k, v)) = map.next_entry::<String, String>()? {
                pairs.push((k, v));
            }
            Ok(pairs)
        }
        fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(Pairs)
}

/// The success answer: `{"accepted": N, "results": [...]}` with one result
/// per point in body order, `{"series", "labels", "timestamp",
/// "probability"}`; a rejected point has `"probability": null` and
/// `"rejected": "<reason>"`.
#[must_use]
pub fn push_response(request: &PushRequest, outcomes: &[PointOutcome]) -> Value {
    let mut accepted = 0u64;
    let results: Vec<Value> = request
        .batch
        .points()
        .iter()
        .zip(&request.sent_timestamps)
        .zip(outcomes)
        .map(|((point, sent), outcome)| {
            let mut result = json!({
                "series": point.key.name(),
                "labels": labels_json(&point.key),
                "timestamp": sent,
                "probability": outcome.probability(),
            });
            match outcome {
                PointOutcome::Scored(_) => accepted += 1,
                PointOutcome::Rejected(reason) => {
                    result["rejected"] = Value::String(reason.reason().to_owned());
                }
            }
            result
        })
        .collect();
    json!({ "accepted": accepted, "results": results })
}

/// The error answer: `{"error": "...", "line": N}` (`line` only for a bad
/// point of the body).
#[must_use]
pub fn error_response(error: &Error) -> Value {
    match error {
        Error::InvalidPush { line, reason } => json!({ "error": reason, "line": line }),
        other => json!({ "error": other.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::RejectReason;

    fn parse(body: &str) -> Result<PushRequest> {
        parse_push(body.as_bytes(), &IdentityLimits::default())
    }

    fn error_at(body: &str) -> (usize, String) {
        match parse(body).unwrap_err() {
            Error::InvalidPush { line, reason } => (line, reason),
            other => panic!("not a push error: {other:?}"),
        }
    }

    #[test]
    fn json_lines_and_arrays_give_the_same_batch() {
        let lines = "\u{feff}{\"series\":\"cpu\",\"labels\":{\"host\":\"a\"},\"timestamp\":\"2024-03-04T04:10:00Z\",\"value\":1.5}\n\n{\"series\":\"up\",\"timestamp\":1709525400,\"value\":2}\n";
        let array = r#"[
            {"series":"cpu","labels":{"host":"a"},"timestamp":"2024-03-04T04:10:00Z","value":1.5},
            {"series":"up","timestamp":1709525400,"value":2}
        ]"#;
        let a = parse(lines).unwrap();
        let b = parse(array).unwrap();
        assert_eq!(a.batch, b.batch);
        assert_eq!(a.batch.len(), 2);
        assert_eq!(a.batch.points()[0].key.to_string(), r#"cpu{host="a"}"#);
        assert_eq!(a.batch.points()[0].timestamp, a.batch.points()[1].timestamp);
        assert_eq!(a.sent_timestamps[1], json!(1_709_525_400));
    }

    #[test]
    fn empty_bodies_are_empty_batches() {
        assert!(parse("").unwrap().batch.is_empty());
        assert!(parse(" \n\n").unwrap().batch.is_empty());
        assert!(parse("[]").unwrap().batch.is_empty());
    }

    #[test]
    fn errors_name_the_line_of_the_bad_point() {
        let cases: &[(&str, usize, &str)] = &[
            ("{\"series\":\"a\",\"timestamp\":1,\"value\":1}\n{\"series\":\"a\",\"timestamp\":2}", 2, "missing field `value`"),
            ("{\"series\":\"a\",\"timestamp\":1,\"value\":\"1.5\"}", 1, "is a string where a number was expected"),
            ("\n\n{\"series\":\"a\",\"timestamp\":\"now\",\"value\":1}", 3, "not RFC 3339"),
            ("{\"series\":\"a b\",\"timestamp\":1,\"value\":1}", 1, "not a metric name"),
            ("{\"series\":\"a\",\"timestamp\":1,\"value\":1,\"value\":2}", 1, "duplicate field `value`"),
            ("{\"series\":\"a\",\"timestamp\":1,\"value\":1,\"extra\":2}", 1, "unknown field `extra`"),
            ("{\"series\":\"a\",\"labels\":{\"h\":\"x\",\"h\":\"y\"},\"timestamp\":1,\"value\":1}", 1, "label \"h\" twice"),
            ("{\"series\":\"a\",\"labels\":{\"h\":1},\"timestamp\":1,\"value\":1}", 1, "invalid type: integer"),
            ("{\"series\":\"a\",\"timestamp\":1,\"value\":1e999}", 1, "number out of range"),
            ("{\"series\":\"a\",", 1, "EOF"),
            ("[{\"series\":\"a\",\"timestamp\":1,\"value\":1},\n\n {\"series\":\"a\",\"timestamp\":1}]", 3, "missing field `value`"),
            ("[{\"series\":\"a\",\"timestamp\":1,\"value\":1},\n{]", 2, "key must be a string"),
            ("[]\n[]", 2, "trailing characters"),
        ];
        for (body, line, expected) in cases {
            let (got_line, reason) = error_at(body);
            assert_eq!(got_line, *line, "{body}: {reason}");
            assert!(reason.contains(expected), "{body}: {reason}");
            assert!(!reason.contains(" at line "), "{reason}");
        }
    }

    #[test]
    fn crlf_line_endings_are_accepted() {
        let body = "{\"series\":\"a\",\"timestamp\":1,\"value\":1}\r\n\r\n{\"series\":\"a\",\"timestamp\":2,\"value\":2}\r\n";
        assert_eq!(parse(body).unwrap().batch.len(), 2);
    }

    proptest::proptest! {
        // A fixed seed: the same cases on every run.
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 64,
            rng_seed: proptest::test_runner::RngSeed::Fixed(12),
            ..Default::default()
        })]

        /// Any valid points, written as JSON lines or as an array, read back
        /// as the same batch, values bit for bit.
        #[test]
        fn written_points_read_back_exactly(
            points in proptest::collection::vec(
                ("[a-z_][a-z0-9_:]{0,10}", proptest::collection::btree_map("[a-z][a-z0-9_]{0,5}", "[^\\x00]{1,8}", 0..3), -1_000_000_000i64..4_000_000_000i64, proptest::num::f64::NORMAL | proptest::num::f64::ZERO),
                0..20,
            )
        ) {
            let objects: Vec<Value> = points
                .iter()
                .map(|(series, labels, t, v)| json!({"series": series, "labels": labels, "timestamp": t, "value": v}))
                .collect();
            let lines: String = objects.iter().map(|o| o.to_string() + "\n").collect();
            let array = serde_json::to_string_pretty(&objects).unwrap();
            let a = parse(&lines).unwrap();
            let b = parse(&array).unwrap();
            proptest::prop_assert_eq!(&a.batch, &b.batch);
            for (p, (series, labels, t, v)) in a.batch.points().iter().zip(&points) {
                proptest::prop_assert_eq!(p.key.name(), series.as_str());
                proptest::prop_assert_eq!(p.key.labels().len(), labels.len());
                proptest::prop_assert_eq!(p.timestamp, Timestamp::from_unix_seconds(*t).unwrap());
                proptest::prop_assert_eq!(p.value.to_bits(), v.to_bits());
            }
        }
    }

    #[test]
    fn null_labels_are_no_labels() {
        let r = parse(r#"{"series":"a","labels":null,"timestamp":1,"value":1}"#).unwrap();
        assert!(r.batch.points()[0].key.labels().is_empty());
    }

    #[test]
    fn the_answer_has_one_result_per_point() {
        let r = parse(
            "{\"series\":\"cpu\",\"labels\":{\"host\":\"a\"},\"timestamp\":\"2024-03-04T04:10:00Z\",\"value\":1}\n{\"series\":\"cpu\",\"labels\":{\"host\":\"a\"},\"timestamp\":1,\"value\":2}",
        )
        .unwrap();
        let answer = push_response(
            &r,
            &[
                PointOutcome::Scored(0.25),
                PointOutcome::Rejected(RejectReason::OutOfOrder),
            ],
        );
        assert_eq!(
            answer,
            json!({
                "accepted": 1,
                "results": [
                    {"series": "cpu", "labels": {"host": "a"}, "timestamp": "2024-03-04T04:10:00Z", "probability": 0.25},
                    {"series": "cpu", "labels": {"host": "a"}, "timestamp": 1, "probability": null, "rejected": "out of order"},
                ]
            })
        );
    }

    #[test]
    fn the_error_answer_has_error_and_line() {
        let err = parse("\n{").unwrap_err();
        let answer = error_response(&err);
        assert_eq!(answer["line"], json!(2));
        assert!(answer["error"].as_str().unwrap().contains("EOF"));
        let other = error_response(&Error::Unavailable("disk full".into()));
        assert_eq!(other, json!({"error": "store unavailable: disk full"}));
    }
}
