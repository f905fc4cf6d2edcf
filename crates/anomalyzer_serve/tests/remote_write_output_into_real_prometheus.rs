//! The `--remote-write` output writes `anomaly_score` into a real
//! Prometheus (started with `--web.enable-remote-write-receiver`), and
//! Prometheus' HTTP API gives back the series, labels and values sent.
//!
//! Needs the Debian package `prometheus` (`.ci/run` installs it); where
//! `CI` is set, a missing binary fails the test.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anomalyzer_serve::{
    IdentityLimits, RemoteWriteOptions, RemoteWriter, SeriesKey, ServiceMetrics, Timestamp,
};
use support::prometheus::{labels_of, Prometheus};

const CONFIG: &str = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n";

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn scores_arrive_in_prometheus_as_anomaly_score_series() {
    let Some(prometheus) = Prometheus::start(CONFIG).await else {
        return;
    };
    let metrics = ServiceMetrics::default().remote_write();
    let writer = RemoteWriter::start(
        RemoteWriteOptions {
            max_samples_per_request: 7,
            ..RemoteWriteOptions::new(prometheus.write_url())
        },
        metrics.clone(),
    )
    .unwrap();
    let limits = IdentityLimits::default();
    let cpu = SeriesKey::new(
        "cpu",
        [("host".into(), "a".into()), ("series".into(), "own".into())],
        &limits,
    )
    .unwrap();
    let mem = SeriesKey::new("mem", [("host".into(), "b".into())], &limits).unwrap();
    // Twenty seconds of scores ending now, one per second per series: within
    // Prometheus' lookback, so an instant query sees the last of each.
    let end = now_millis();
    let mut sent: Vec<(&SeriesKey, Timestamp, f64)> = Vec::new();
    for i in 0..20i64 {
        let t = Timestamp::from_millis(end - (19 - i) * 1_000).unwrap();
        sent.push((&cpu, t, i as f64 / 20.0));
        sent.push((&mem, t, 1.0 - i as f64 / 40.0));
    }
    writer.offer(sent.iter().copied());
    let report = writer.shutdown(Duration::from_secs(20)).await;
    assert!(report.flushed, "{report:?}; log:\n{}", prometheus.log());
    assert_eq!(metrics.sent(), 40);
    assert_eq!(metrics.failed_requests(), 0);

    let latest = prometheus.query("anomaly_score").await;
    let mut got: Vec<(Vec<(String, String)>, f64)> = latest
        .iter()
        .map(|r| {
            assert_eq!(r["metric"]["__name__"], "anomaly_score");
            let value: f64 = r["value"][1].as_str().unwrap().parse().unwrap();
            (labels_of(r), value)
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    };
    assert_eq!(
        got,
        vec![
            (
                pairs(&[("exported_series", "own"), ("host", "a"), ("series", "cpu")]),
                19.0 / 20.0
            ),
            (
                pairs(&[("host", "b"), ("series", "mem")]),
                1.0 - 19.0 / 40.0
            ),
        ]
    );

    // Every sample, with its millisecond timestamp, as written.
    let window = prometheus.query(r#"anomaly_score{series="mem"}[1m]"#).await;
    assert_eq!(window.len(), 1);
    let samples: Vec<(i64, f64)> = window[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            let seconds = pair[0].as_f64().unwrap();
            let value: f64 = pair[1].as_str().unwrap().parse().unwrap();
            ((seconds * 1_000.0).round() as i64, value)
        })
        .collect();
    let expected: Vec<(i64, f64)> = sent
        .iter()
        .filter(|(k, _, _)| k.name() == "mem")
        .map(|(_, t, p)| (t.as_millis(), *p))
        .collect();
    assert_eq!(samples, expected);
}
