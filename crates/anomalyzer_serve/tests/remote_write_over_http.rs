//! `POST /api/v1/write` (Prometheus remote_write 1.0) through the router
//! against the in-memory test double.

mod support;

use anomalyzer_serve::{
    encode_write_request, IdentityLimits, Label, RejectReason, Sample, SeriesKey, ServeConfig,
    ServeOptions, TimeSeries, WriteRequest,
};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use support::{app, get, reference_scores, send};

fn series(name: &str, labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
    let mut all = vec![Label {
        name: "__name__".into(),
        value: name.into(),
    }];
    all.extend(labels.iter().map(|(k, v)| Label {
        name: (*k).into(),
        value: (*v).into(),
    }));
    all.sort_by(|a, b| a.name.cmp(&b.name));
    TimeSeries {
        labels: all,
        samples: samples
            .iter()
            .map(|&(timestamp, value)| Sample { value, timestamp })
            .collect(),
        histograms: Vec::new(),
    }
}

/// A request as Prometheus sends it.
fn remote_write(body: Vec<u8>) -> Request<Body> {
    Request::post("/api/v1/write")
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn samples_are_scored_per_series_and_answered_204() {
    let config = ServeConfig::default();
    let (router, store, metrics) = app(config.clone(), 100, ServeOptions::default());
    let up: Vec<(i64, f64)> = (0..12).map(|i| (1000 * i, (i % 3) as f64)).collect();
    let load: Vec<(i64, f64)> = (0..12).map(|i| (1000 * i, 0.5 + i as f64)).collect();
    let request = WriteRequest {
        timeseries: vec![
            series("up", &[("job", "node"), ("instance", "a:9100")], &up[..6]),
            series("node_load1", &[("instance", "a:9100")], &load),
        ],
    };
    let answer = send(&router, remote_write(encode_write_request(&request))).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    let rest = WriteRequest {
        timeseries: vec![series(
            "up",
            &[("instance", "a:9100"), ("job", "node")],
            &up[6..],
        )],
    };
    let answer = send(&router, remote_write(encode_write_request(&rest))).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(
        store.series_count(),
        2,
        "label order does not make a new series"
    );
    assert_eq!(store.points_of("up"), 12);
    assert_eq!(metrics.scored(), 24);

    // The last score of `up` is a bare detector's on the same values.
    let key = SeriesKey::new(
        "up",
        [
            ("job".into(), "node".into()),
            ("instance".into(), "a:9100".into()),
        ],
        &IdentityLimits::default(),
    )
    .unwrap();
    let values: Vec<f64> = up.iter().map(|s| s.1).collect();
    let expected = *reference_scores(&config, &key, &values).last().unwrap();
    let listed = send(&router, get("/api/v1/series?match=up")).await.json();
    assert_eq!(
        listed["series"][0]["probability"]
            .as_f64()
            .unwrap()
            .to_bits(),
        expected.to_bits()
    );
    assert_eq!(listed["series"][0]["timestamp"], "1970-01-01T00:00:11Z");
}

#[tokio::test]
async fn resent_samples_are_out_of_order_not_scored_twice() {
    let (router, store, metrics) = app(ServeConfig::default(), 100, ServeOptions::default());
    let request = WriteRequest {
        timeseries: vec![series("up", &[], &[(1000, 1.0), (2000, 1.0)])],
    };
    let body = encode_write_request(&request);
    for _ in 0..2 {
        let answer = send(&router, remote_write(body.clone())).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(store.points_of("up"), 2);
    assert_eq!(metrics.rejected(RejectReason::OutOfOrder), 2);
}

#[tokio::test]
async fn staleness_markers_are_counted_not_scored() {
    let (router, store, _) = app(ServeConfig::default(), 100, ServeOptions::default());
    let stale = f64::from_bits(0x7ff0_0000_0000_0002);
    let request = WriteRequest {
        timeseries: vec![series(
            "up",
            &[],
            &[(1000, 1.0), (2000, stale), (3000, f64::INFINITY)],
        )],
    };
    let answer = send(&router, remote_write(encode_write_request(&request))).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(store.points_of("up"), 1);
    let text = send(&router, get("/metrics")).await.body;
    assert!(
        text.contains(r#"anomalyzer_rejected_points_total{reason="stale marker"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"anomalyzer_rejected_points_total{reason="not finite"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_with_the_reason_and_apply_nothing() {
    let (router, store, _) = app(ServeConfig::default(), 100, ServeOptions::default());
    let good = series("up", &[], &[(1000, 1.0)]);
    let nameless = TimeSeries {
        labels: vec![Label {
            name: "job".into(),
            value: "x".into(),
        }],
        ..good.clone()
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not snappy at all".to_vec(), "not a snappy block"),
        (
            snap::raw::Encoder::new()
                .compress_vec(b"\x0a\x05ab")
                .unwrap(),
            "not a WriteRequest protobuf",
        ),
        (
            encode_write_request(&WriteRequest {
                timeseries: vec![good.clone(), nameless],
            }),
            "timeseries 1: no __name__ label",
        ),
    ];
    for (body, reason) in cases {
        let answer = send(&router, remote_write(body)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert!(answer.body.contains(reason), "{}", answer.body);
    }
    assert_eq!(
        store.series_count(),
        0,
        "the good series of a bad body was not applied"
    );

    let gzip = Request::post("/api/v1/write")
        .header("content-encoding", "gzip")
        .body(Body::from(encode_write_request(&WriteRequest {
            timeseries: vec![good],
        })))
        .unwrap();
    let answer = send(&router, gzip).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.body.contains("\"gzip\" is not snappy"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn a_decompression_bomb_is_refused_before_it_is_inflated() {
    let options = ServeOptions {
        max_decoded_bytes: 10_000,
        ..ServeOptions::default()
    };
    let (router, _, _) = app(ServeConfig::default(), 100, options);
    // Identical samples: tiny once compressed, large once inflated.
    let many: Vec<(i64, f64)> = vec![(1, 1.0); 5000];
    let body = encode_write_request(&WriteRequest {
        timeseries: vec![series("up", &[], &many)],
    });
    assert!(body.len() < 10_000, "compressed it fits");
    let answer = send(&router, remote_write(body)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.body.contains("at most 10000 are accepted"),
        "{}",
        answer.body
    );
}
