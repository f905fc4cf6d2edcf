//! The round trip of issue 12 with a real Prometheus, the router served on
//! a loopback socket over the in-memory test double of the store (the
//! binary's own test, in anomalyzer_cli, does the same with the durable
//! store): Prometheus scrapes `/metrics` and remote-writes its own metrics
//! into `/api/v1/write`, and the `--remote-write` output writes
//! `anomaly_score` back into Prometheus.
//!
//! Needs the Debian package `prometheus` (`.ci/run` installs it); where
//! `CI` is set, a missing binary fails the test.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anomalyzer_serve::{
    RemoteWriteOptions, RemoteWriter, ServeConfig, ServeOptions, ServiceMetrics,
};
use serde_json::Value;
use support::prometheus::{labels_of, round_trip_config, Prometheus};
use support::{line, MemoryStore};

/// How long anything may take to come round.
const WITHIN: Duration = Duration::from_secs(60);

async fn get_json(client: &reqwest::Client, url: String) -> Value {
    let answer = client.get(&url).send().await.unwrap();
    assert_eq!(answer.status(), 200, "{url}");
    serde_json::from_str(&answer.text().await.unwrap()).unwrap()
}

fn value_of(result: &Value) -> f64 {
    result["value"][1].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn scores_and_metrics_go_round_between_prometheus_and_the_service() {
    let Some(prometheus) = Prometheus::start("global:\n  scrape_interval: 1s\n").await else {
        return;
    };

    // The service: router, store double, and the output into Prometheus.
    let metrics = ServiceMetrics::default();
    let writer = Arc::new(
        RemoteWriter::start(
            RemoteWriteOptions::new(prometheus.write_url()),
            metrics.remote_write(),
        )
        .unwrap(),
    );
    let store = Arc::new(MemoryStore::new(
        ServeConfig::default(),
        100_000,
        metrics.fsync_seconds(),
    ));
    let options = ServeOptions {
        score_sink: Some(writer.clone()),
        ..ServeOptions::default()
    };
    let app = anomalyzer_serve::router(Arc::clone(&store), metrics.clone(), options).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    prometheus
        .reload(&round_trip_config(prometheus.addr, service))
        .await;

    // Twenty seconds of a calm series ending in a spike, up to now.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let body: Vec<String> = (0..20)
        .map(|i| {
            let value = if i == 19 { 50.0 } else { 1.0 + (i % 3) as f64 };
            line("cpu", r#"{"host":"a"}"#, now - 19 + i, value)
        })
        .collect();
    let client = reqwest::Client::new();
    let answer = client
        .post(format!("http://{service}/api/v1/push"))
        .body(body.join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let pushed: Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    let probabilities: Vec<f64> = pushed["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["probability"].as_f64().unwrap())
        .collect();
    let last = probabilities[19];

    // 1. The output's `anomaly_score`, every point, in Prometheus.
    let scores = prometheus
        .query_until(r#"anomaly_score{series="cpu"}[5m]"#, WITHIN, |r| {
            r.first()
                .is_some_and(|s| s["values"].as_array().unwrap().len() == 20)
        })
        .await;
    assert_eq!(
        labels_of(&scores[0]),
        [("host".into(), "a".into()), ("series".into(), "cpu".into())]
    );
    let written: Vec<(i64, f64)> = scores[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let value: f64 = v[1].as_str().unwrap().parse().unwrap();
            (v[0].as_f64().unwrap() as i64, value)
        })
        .collect();
    let expected: Vec<(i64, f64)> = probabilities
        .iter()
        .enumerate()
        .map(|(i, p)| (now - 19 + i as i64, *p))
        .collect();
    assert_eq!(written, expected);

    // 2. The scrape of /metrics: the latest score, with the target's labels.
    let scraped = prometheus
        .query_until(r#"anomalyzer_anomaly_score{series="cpu"}"#, WITHIN, |r| {
            !r.is_empty()
        })
        .await;
    assert_eq!(scraped.len(), 1, "{scraped:?}");
    assert_eq!(value_of(&scraped[0]), last);
    let labels = labels_of(&scraped[0]);
    assert!(
        labels.contains(&("job".into(), "anomalyzer".into())),
        "{labels:?}"
    );
    assert!(labels.contains(&("host".into(), "a".into())), "{labels:?}");
    let up = prometheus.query(r#"up{job="anomalyzer"}"#).await;
    assert_eq!(value_of(&up[0]), 1.0, "the scrape succeeds: {up:?}");

    // 3. Prometheus' remote_write into the service: its own metrics (and
    //    `up` of both jobs) are series of the service, scored.
    let deadline = tokio::time::Instant::now() + WITHIN;
    let series = loop {
        let found: Value =
            get_json(&client, format!("http://{service}/api/v1/series?match=up")).await;
        let series = found["series"].as_array().unwrap().clone();
        let jobs: Vec<&str> = series
            .iter()
            .filter_map(|s| s["labels"]["job"].as_str())
            .collect();
        if jobs.contains(&"prometheus") && jobs.contains(&"anomalyzer") {
            break series;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no `up` of both jobs arrived through remote_write: {found}\nprometheus log:\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(series.iter().all(|s| s["points"].as_u64().unwrap() >= 1));
    let own: Value = get_json(
        &client,
        format!("http://{service}/api/v1/series?match=prometheus_*"),
    )
    .await;
    assert!(
        !own["series"].as_array().unwrap().is_empty(),
        "Prometheus' own prometheus_* metrics arrive: {own}"
    );

    // 4. And round again: the scores of Prometheus' own series come back
    //    into Prometheus as anomaly_score.
    prometheus
        .query_until(
            r#"anomaly_score{series="up",job="prometheus"}"#,
            WITHIN,
            |r| !r.is_empty(),
        )
        .await;
    // Nothing was refused on either side.
    assert_eq!(metrics.remote_write().failed_requests(), 0);
    assert_eq!(
        metrics.rejected(anomalyzer_serve::RejectReason::OutOfOrder),
        0,
        "Prometheus sends each sample once"
    );

    let report = writer.shutdown(Duration::from_secs(10)).await;
    assert!(report.flushed, "{report:?}");
}
