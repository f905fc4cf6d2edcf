//! Prometheus remote_write 1.0: the protobuf messages (written by hand with
//! prost's derive macros, field numbers as in Prometheus' `prompb`), the
//! snappy block framing, decoding a body into a [`Batch`], and encoding the
//! `anomaly_score` series this service writes out.
//!
//! Decoding rules: every time series needs a `__name__` label (its metric
//! name) and valid labels, else the whole body is refused with the reason.
//! Prometheus staleness markers and other non-finite values are not scored
//! but counted (`stale marker`, `not finite`), as are native histogram
//! samples (`native histogram`): only float samples are read. Exemplars and
//! metadata are ignored.

use std::collections::HashMap;

use prost::Message;

use crate::batch::{Batch, Point, RejectReason};
use crate::error::{Error, Result};
use crate::series_key::{IdentityLimits, SeriesKey};
use crate::timestamp::Timestamp;

/// The label that holds a remote_write series' metric name.
pub const NAME_LABEL: &str = "__name__";

/// The metric name of the scores this service writes out.
pub const SCORE_METRIC: &str = "anomaly_score";

/// Prometheus' staleness marker: a NaN with this exact bit pattern.
const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    /// The series, each with its samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    /// Labels, sorted by name, `__name__` among them.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Float samples, oldest first.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Native histogram samples, kept as raw bytes: they are only counted.
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub histograms: Vec<Vec<u8>>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Eq, Message)]
pub struct Label {
    /// Label name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Label value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// A remote_write body: the protobuf of `request`, snappy block compressed.
#[must_use]
pub fn encode_write_request(request: &WriteRequest) -> Vec<u8> {
    let raw = request.encode_to_vec();
    // Compressing a byte slice into a Vec cannot fail but on inputs larger
    // than snappy's 4 GiB block limit, which a request never reaches.
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

/// Decodes a remote_write body into a validated batch; `max_decoded_bytes`
/// bounds the uncompressed size, checked before anything is allocated.
pub fn decode_write_request(
    body: &[u8],
    limits: &IdentityLimits,
    max_decoded_bytes: usize,
) -> Result<Batch> {
    let len = snap::raw::decompress_len(body)
        .map_err(|e| Error::InvalidRemoteWrite(format!("not a snappy block: {e}")))?;
    if len > max_decoded_bytes {
        return Err(Error::InvalidRemoteWrite(format!(
            "decompresses to {len} bytes; at most {max_decoded_bytes} are accepted"
        )));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| Error::InvalidRemoteWrite(format!("not a snappy block: {e}")))?;
    let request = WriteRequest::decode(raw.as_slice())
        .map_err(|e| Error::InvalidRemoteWrite(format!("not a WriteRequest protobuf: {e}")))?;
    to_batch(request, limits)
}

fn to_batch(request: WriteRequest, limits: &IdentityLimits) -> Result<Batch> {
    let mut points = Vec::new();
    let (mut stale, mut not_finite, mut histograms) = (0u64, 0u64, 0u64);
    for (index, series) in request.timeseries.into_iter().enumerate() {
        let at =
            |reason: String| Error::InvalidRemoteWrite(format!("timeseries {index}: {reason}"));
        let mut name = None;
        let mut labels = Vec::with_capacity(series.labels.len().saturating_sub(1));
        for label in series.labels {
            if label.name == NAME_LABEL {
                if name.is_some() {
                    return Err(at(format!("label {NAME_LABEL} appears twice")));
                }
                name = Some(label.value);
            } else {
                labels.push((label.name, label.value));
            }
        }
        let name = name.ok_or_else(|| at(format!("no {NAME_LABEL} label")))?;
        let key = SeriesKey::new(name, labels, limits).map_err(|e| at(e.to_string()))?;
        histograms += series.histograms.len() as u64;
        for sample in series.samples {
            if sample.value.to_bits() == STALE_NAN_BITS {
                stale += 1;
                continue;
            }
            if !sample.value.is_finite() {
                not_finite += 1;
                continue;
            }
            let timestamp =
                Timestamp::from_millis(sample.timestamp).map_err(|e| at(e.to_string()))?;
            points.push(Point {
                key: key.clone(),
                timestamp,
                value: sample.value,
            });
        }
    }
    let mut batch = Batch::new(points)?;
    batch.note_skipped(RejectReason::StaleMarker, stale);
    batch.note_skipped(RejectReason::NotFinite, not_finite);
    batch.note_skipped(RejectReason::NativeHistogram, histograms);
    Ok(batch)
}

/// The `anomaly_score` series for scored points, grouped per series in
/// first-seen order: labels `__name__="anomaly_score"`, `series="<metric
/// name>"` and the series' own labels (see
/// [`SeriesKey::exported_labels`]), sorted by name as remote_write
/// requires; timestamps in milliseconds.
#[must_use]
pub fn score_write_request<'a>(
    scores: impl IntoIterator<Item = (&'a SeriesKey, Timestamp, f64)>,
) -> WriteRequest {
    let mut index: HashMap<&SeriesKey, usize> = HashMap::new();
    let mut timeseries: Vec<TimeSeries> = Vec::new();
    for (key, timestamp, probability) in scores {
        let slot = *index.entry(key).or_insert_with(|| {
            timeseries.push(TimeSeries {
                labels: score_labels(key),
                samples: Vec::new(),
                histograms: Vec::new(),
            });
            timeseries.len() - 1
        });
        timeseries[slot].samples.push(Sample {
            value: probability,
            timestamp: timestamp.as_millis(),
        });
    }
    WriteRequest { timeseries }
}

fn score_labels(key: &SeriesKey) -> Vec<Label> {
    let mut labels: Vec<Label> = key
        .exported_labels()
        .into_iter()
        .map(|(name, value)| Label { name, value })
        .collect();
    labels.push(Label {
        name: NAME_LABEL.to_owned(),
        value: SCORE_METRIC.to_owned(),
    });
    labels.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(name: &str, value: &str) -> Label {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }

    fn series(labels: Vec<Label>, samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries {
            labels,
            samples: samples
                .iter()
                .map(|&(timestamp, value)| Sample { value, timestamp })
                .collect(),
            histograms: Vec::new(),
        }
    }

    fn decode(request: &WriteRequest) -> Result<Batch> {
        decode_write_request(
            &encode_write_request(request),
            &IdentityLimits::default(),
            1 << 20,
        )
    }

    #[test]
    fn samples_become_points_of_their_series() {
        let request = WriteRequest {
            timeseries: vec![
                series(
                    vec![label("__name__", "up"), label("job", "node")],
                    &[(1000, 1.0), (2000, 0.0)],
                ),
                series(
                    vec![label("instance", "a"), label("__name__", "load")],
                    &[(1500, 2.5)],
                ),
            ],
        };
        let batch = decode(&request).unwrap();
        let shown: Vec<(String, i64, f64)> = batch
            .points()
            .iter()
            .map(|p| (p.key.to_string(), p.timestamp.as_millis(), p.value))
            .collect();
        assert_eq!(
            shown,
            vec![
                (r#"up{job="node"}"#.to_owned(), 1000, 1.0),
                (r#"up{job="node"}"#.to_owned(), 2000, 0.0),
                (r#"load{instance="a"}"#.to_owned(), 1500, 2.5),
            ]
        );
        assert!(batch.skipped().is_empty());
    }

    #[test]
    fn stale_markers_non_finite_and_histograms_are_counted_not_scored() {
        let mut s = series(
            vec![label("__name__", "up")],
            &[
                (1, f64::from_bits(STALE_NAN_BITS)),
                (2, f64::NAN),
                (3, f64::INFINITY),
                (4, 7.0),
            ],
        );
        s.histograms = vec![vec![8, 1], vec![8, 2]];
        let batch = decode(&WriteRequest {
            timeseries: vec![s],
        })
        .unwrap();
        assert_eq!(batch.len(), 1);
        assert_eq!(batch.points()[0].value, 7.0);
        assert_eq!(
            batch.skipped(),
            &[
                (RejectReason::StaleMarker, 1),
                (RejectReason::NotFinite, 2),
                (RejectReason::NativeHistogram, 2)
            ]
        );
    }

    #[test]
    fn malformed_bodies_give_a_reason() {
        let limits = IdentityLimits::default();
        let err = |body: &[u8], max: usize| {
            decode_write_request(body, &limits, max)
                .unwrap_err()
                .to_string()
        };
        assert!(err(b"\xff\xff\xff\xff\xff\xff", 1 << 20).contains("not a snappy block"));
        let not_proto = snap::raw::Encoder::new()
            .compress_vec(b"\x0a\xff\xff")
            .unwrap();
        assert!(err(&not_proto, 1 << 20).contains("not a WriteRequest protobuf"));
        let big = encode_write_request(&WriteRequest {
            timeseries: vec![series(vec![label("__name__", &"x".repeat(200))], &[])],
        });
        assert!(err(&big, 100).contains("at most 100 are accepted"));

        let cases = [
            (vec![label("job", "x")], "timeseries 0: no __name__ label"),
            (
                vec![label("__name__", "a"), label("__name__", "b")],
                "appears twice",
            ),
            (vec![label("__name__", "a b")], "not a metric name"),
            (vec![label("__name__", "a"), label("__x", "b")], "reserved"),
        ];
        for (labels, expected) in cases {
            let e = decode(&WriteRequest {
                timeseries: vec![series(labels, &[(1, 1.0)])],
            })
            .unwrap_err();
            assert_eq!(e.status(), 400);
            assert!(e.to_string().contains(expected), "{e}");
        }
        let e = decode(&WriteRequest {
            timeseries: vec![series(vec![label("__name__", "a")], &[(i64::MAX, 1.0)])],
        })
        .unwrap_err();
        assert!(e.to_string().contains("outside the years"), "{e}");
    }

    #[test]
    fn a_known_wire_encoding_is_read() {
        // WriteRequest{timeseries:[{labels:[{__name__,"up"}], samples:[{1.0, 5}]}]}
        // encoded by hand from the protobuf wire format.
        let label = [b"\x0a\x08__name__".as_slice(), b"\x12\x02up"].concat();
        let sample = [b"\x09".as_slice(), &1.0f64.to_le_bytes(), b"\x10\x05"].concat();
        let series = [
            &[0x0a, label.len() as u8][..],
            &label,
            &[0x12, sample.len() as u8],
            &sample,
        ]
        .concat();
        let request = [&[0x0a, series.len() as u8][..], &series].concat();
        let body = snap::raw::Encoder::new().compress_vec(&request).unwrap();
        let batch = decode_write_request(&body, &IdentityLimits::default(), 1 << 20).unwrap();
        assert_eq!(batch.points()[0].key.name(), "up");
        assert_eq!(batch.points()[0].timestamp.as_millis(), 5);
        assert_eq!(batch.points()[0].value, 1.0);
    }

    #[test]
    fn scores_are_written_as_sorted_anomaly_score_series() {
        let limits = IdentityLimits::default();
        let a = SeriesKey::new(
            "cpu",
            [("host".into(), "a".into()), ("Zone".into(), "1".into())],
            &limits,
        )
        .unwrap();
        let b = SeriesKey::new("mem", [], &limits).unwrap();
        let t = |ms| Timestamp::from_millis(ms).unwrap();
        let request = score_write_request([(&a, t(1), 0.5), (&b, t(1), 0.25), (&a, t(2), 0.75)]);
        assert_eq!(request.timeseries.len(), 2);
        let names: Vec<&str> = request.timeseries[0]
            .labels
            .iter()
            .map(|l| l.name.as_str())
            .collect();
        assert_eq!(names, ["Zone", "__name__", "host", "series"]);
        assert_eq!(request.timeseries[0].labels[1].value, "anomaly_score");
        assert_eq!(request.timeseries[0].labels[3].value, "cpu");
        assert_eq!(request.timeseries[0].samples.len(), 2);
        assert_eq!(request.timeseries[0].samples[1].timestamp, 2);
        // The wire round trip is lossless.
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&encode_write_request(&request))
            .unwrap();
        assert_eq!(WriteRequest::decode(raw.as_slice()).unwrap(), request);
    }
}
