//! Request bodies: JSON lines for `POST /api/v1/push` and a snappy
//! protobuf `WriteRequest` for `POST /api/v1/write`, from the same points.

use std::io::Write;

use anomalyzer_serve::{encode_write_request, Label, Sample, TimeSeries, WriteRequest, NAME_LABEL};

use crate::connection::Payload;
use crate::workload::{GenPoint, ID_LABEL, METRIC};

/// How points are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// JSON lines to `POST /api/v1/push`.
    Json,
    /// Prometheus remote_write 1.0 to `POST /api/v1/write`.
    RemoteWrite,
}

impl Format {
    /// The route the body goes to.
    #[must_use]
    pub fn path(self) -> &'static str {
        match self {
            Format::Json => "/api/v1/push",
            Format::RemoteWrite => "/api/v1/write",
        }
    }

    /// The status a successful answer has.
    #[must_use]
    pub fn success(self) -> u16 {
        match self {
            Format::Json => 200,
            Format::RemoteWrite => 204,
        }
    }

    /// The request body carrying `points`, with the headers that
    /// describe it (remote_write's as Prometheus sends them).
    #[must_use]
    pub fn encode(self, points: &[GenPoint]) -> Payload {
        match self {
            Format::Json => Payload {
                content_type: "application/x-ndjson",
                encoding: None,
                bytes: json_lines(points),
            },
            Format::RemoteWrite => Payload {
                content_type: "application/x-protobuf",
                encoding: Some("snappy"),
                bytes: remote_write(points),
            },
        }
    }
}

/// The id label's value of a series: zero-padded so names sort by id.
fn series_id(series: u64) -> String {
    format!("{series:07}")
}

/// One JSON object per line. The timestamp is Unix seconds with three
/// decimals (the milliseconds), which the server reads exactly enough to
/// keep each series' millisecond steps apart.
fn json_lines(points: &[GenPoint]) -> Vec<u8> {
    let mut body = Vec::with_capacity(points.len() * 96);
    for p in points {
        let seconds = p.timestamp_ms.div_euclid(1000);
        let millis = p.timestamp_ms.rem_euclid(1000);
        // Writing into a Vec cannot fail.
        let _ = writeln!(
            body,
            r#"{{"series":"{METRIC}","labels":{{"{ID_LABEL}":"{}"}},"timestamp":{seconds}.{millis:03},"value":{}}}"#,
            series_id(p.series),
            p.value
        );
    }
    body
}

/// One time series per point, with its one sample, as Prometheus sends a
/// scrape; labels sorted by name (`__name__` before `id`).
fn remote_write(points: &[GenPoint]) -> Vec<u8> {
    let timeseries = points
        .iter()
        .map(|p| TimeSeries {
            labels: vec![
                Label {
                    name: NAME_LABEL.to_owned(),
                    value: METRIC.to_owned(),
                },
                Label {
                    name: ID_LABEL.to_owned(),
                    value: series_id(p.series),
                },
            ],
            samples: vec![Sample {
                value: p.value,
                timestamp: p.timestamp_ms,
            }],
            histograms: Vec::new(),
        })
        .collect();
    encode_write_request(&WriteRequest { timeseries })
}

#[cfg(test)]
mod tests {
    use anomalyzer_serve::{decode_write_request, parse_push, IdentityLimits, Timestamp};

    use super::*;

    fn points() -> Vec<GenPoint> {
        vec![
            GenPoint {
                series: 3,
                timestamp_ms: 1_700_000_000_001,
                value: 50.25,
            },
            GenPoint {
                series: 1_234_567,
                timestamp_ms: 1_700_000_000_999,
                value: -0.1,
            },
        ]
    }

    /// `tolerance_ns`: a JSON number of seconds is an `f64`, exact to well
    /// under a microsecond here; remote_write milliseconds are exact.
    fn check(batch: &anomalyzer_serve::Batch, tolerance_ns: i64) {
        let got = batch.points();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].key.to_string(), r#"loadgen_value{id="0000003"}"#);
        assert_eq!(got[1].key.to_string(), r#"loadgen_value{id="1234567"}"#);
        assert_eq!(got[0].value, 50.25);
        assert_eq!(got[1].value, -0.1);
        for (p, want) in got.iter().zip([1_700_000_000_001, 1_700_000_000_999]) {
            let want = Timestamp::from_millis(want).unwrap().as_nanos();
            let error = (p.timestamp.as_nanos() - want).abs();
            assert!(
                error <= tolerance_ns,
                "{} vs {want}",
                p.timestamp.as_nanos()
            );
        }
    }

    #[test]
    fn the_server_reads_both_bodies_as_the_same_points() {
        let limits = IdentityLimits::default();
        let json = Format::Json.encode(&points()).bytes;
        check(&parse_push(&json, &limits).unwrap().batch, 1_000);
        let rw = Format::RemoteWrite.encode(&points()).bytes;
        check(&decode_write_request(&rw, &limits, 1 << 20).unwrap(), 0);
    }
}
