//! Issue 12's test with a real Prometheus and the real binary:
//! `anomalyzer serve --remote-write http://<prometheus>/api/v1/write`;
//! Prometheus scrapes the service's `/metrics` every second and
//! remote-writes what it scrapes (its own metrics too) into the service's
//! `/api/v1/write`. JSON is pushed to the service; then Prometheus' HTTP
//! API has `anomaly_score` (from the output, bit for bit the bare
//! detector's scores) and `anomalyzer_anomaly_score` (from the scrape),
//! and the service's `/api/v1/series` has `up` and `prometheus_*` series
//! that came from Prometheus' remote_write. SIGTERM then flushes the output.
//!
//! Needs the Debian package `prometheus` (`.ci/run` installs it); where
//! `CI` is set, a missing binary fails the test.

#[path = "../../anomalyzer_serve/tests/support/prometheus.rs"]
mod prometheus;
mod serve_support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::{labels_of, round_trip_config, Prometheus};
use serde_json::Value;
use serve_support::{line, probabilities, reference, values, Server};

/// How long anything may take to come round.
const WITHIN: Duration = Duration::from_secs(60);

fn value_bits(text: &Value) -> u64 {
    text.as_str().unwrap().parse::<f64>().unwrap().to_bits()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_and_the_service_scrape_and_remote_write_each_other() {
    let Some(prometheus) = Prometheus::start("global:\n  scrape_interval: 1s\n").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let write_url = prometheus.write_url();
    let server = Server::start(&dir.path().join("state"), &["--remote-write", &write_url]);
    server.wait_ready(None);
    server.wait_for_line("remote-write: every score goes to");
    prometheus
        .reload(&round_trip_config(prometheus.addr, server.addr))
        .await;

    // Thirty seconds of one series, up to now (within Prometheus' lookback).
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let cpu = values(7, 30);
    let first = now - cpu.len() as i64 + 1;
    let body: Vec<String> = cpu
        .iter()
        .enumerate()
        .map(|(i, &v)| line("cpu", r#"{"host":"a"}"#, first + i as i64, v))
        .collect();
    let answer = server.push(&body.join("\n"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let expected = reference(&cpu);
    assert_eq!(probabilities(&answer), expected);

    // 1. The output's anomaly_score: every point, bit for bit, in Prometheus.
    let written = prometheus
        .query_until(r#"anomaly_score{series="cpu"}[5m]"#, WITHIN, |r| {
            r.first()
                .is_some_and(|s| s["values"].as_array().unwrap().len() == cpu.len())
        })
        .await;
    assert_eq!(
        labels_of(&written[0]),
        [("host".into(), "a".into()), ("series".into(), "cpu".into())]
    );
    let samples: Vec<(i64, u64)> = written[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v[0].as_f64().unwrap() as i64, value_bits(&v[1])))
        .collect();
    let sent: Vec<(i64, u64)> = expected
        .iter()
        .enumerate()
        .map(|(i, &bits)| (first + i as i64, bits))
        .collect();
    assert_eq!(samples, sent);

    // 2. The scrape: the latest score with the scrape target's labels.
    let scraped = prometheus
        .query_until(r#"anomalyzer_anomaly_score{series="cpu"}"#, WITHIN, |r| {
            !r.is_empty()
        })
        .await;
    assert_eq!(scraped.len(), 1, "{scraped:?}");
    assert_eq!(
        value_bits(&scraped[0]["value"][1]),
        *expected.last().unwrap()
    );
    let labels = labels_of(&scraped[0]);
    assert!(
        labels.contains(&("job".into(), "anomalyzer".into())),
        "{labels:?}"
    );
    assert!(labels.contains(&("host".into(), "a".into())), "{labels:?}");
    // The service's own counters are scraped too: at least the 30 pushed
    // points (and whatever came by remote_write) were scored.
    prometheus
        .query_until(
            r#"anomalyzer_points_total{job="anomalyzer"}"#,
            WITHIN,
            |r| {
                r.first().is_some_and(|s| {
                    s["value"][1].as_str().unwrap().parse::<f64>().unwrap() >= 30.0
                })
            },
        )
        .await;

    // 3. Prometheus' remote_write into the service: `up` of both jobs and
    //    Prometheus' own metrics are series of the service.
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let found = server.get("/api/v1/series?match=up").json();
        let jobs: Vec<String> = found["series"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["labels"]["job"].as_str().map(str::to_owned))
            .collect();
        if jobs.iter().any(|j| j == "prometheus") && jobs.iter().any(|j| j == "anomalyzer") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no `up` of both jobs came by remote_write: {found}\nservice:\n{}\nprometheus:\n{}",
            server.stderr(),
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let own = server.get("/api/v1/series?match=prometheus_*").json();
    assert!(
        !own["series"].as_array().unwrap().is_empty(),
        "Prometheus' own metrics arrive: {own}"
    );
    // ... and their scores come back into Prometheus.
    prometheus
        .query_until(
            r#"anomaly_score{series="up",job="prometheus"}"#,
            WITHIN,
            |r| !r.is_empty(),
        )
        .await;
    let metrics = server.get("/metrics").body;
    assert!(
        metrics.contains("anomalyzer_remote_write_failed_requests_total 0"),
        "{metrics}"
    );

    // SIGTERM: the output is flushed as the service stops.
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains("remote-write: every queued score was sent"),
        "{stderr}"
    );
}
