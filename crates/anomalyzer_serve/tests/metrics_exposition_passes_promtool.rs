//! `GET /metrics`: the families the issue names, `--metrics-min-score`,
//! label escaping, and `promtool check metrics` on the real output.
//!
//! promtool comes with the Debian package `prometheus` (`.ci/run` installs
//! it). Where the environment variable `CI` is set, a missing promtool
//! fails the test; elsewhere the promtool part is skipped with a note.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use anomalyzer_serve::{
    ServeConfig, ServeOptions, METRICS_CONTENT_TYPE, METRICS_TEXT_CONTENT_TYPE,
};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use support::{app, get, line, post, send};

/// Pushes two series: `calm` (a flat series, low score) and `spiky{...}`
/// whose last point is far off (high score), with labels that need
/// escaping and one that clashes with the exported `series` label.
async fn populated(options: ServeOptions) -> axum::Router {
    let (router, _, _) = app(ServeConfig::default(), 100, options);
    let labels = r#"{"path":"C:\\tmp \"x\"\nnext","series":"own"}"#;
    let mut body: Vec<String> = (0..10).map(|t| line("calm", "{}", t, 1.0)).collect();
    body.extend((0..10).map(|t| {
        line(
            "spiky",
            labels,
            t,
            if t == 9 { 1000.0 } else { 1.0 + (t % 2) as f64 },
        )
    }));
    let answer = send(&router, post("/api/v1/push", body.join("\n"))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let results = answer.json()["results"].as_array().unwrap().clone();
    assert!(
        results[9]["probability"].as_f64().unwrap() < 0.5,
        "calm scores low"
    );
    assert!(
        results[19]["probability"].as_f64().unwrap() > 0.5,
        "spiky scores high"
    );
    router
}

fn score_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("anomalyzer_anomaly_score{"))
        .collect()
}

/// What Prometheus' scraper sends.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[tokio::test]
async fn the_exposition_has_every_family_and_escapes_labels() {
    let router = populated(ServeOptions::default()).await;
    let scrape = Request::get("/metrics")
        .header("accept", PROMETHEUS_ACCEPT)
        .body(Body::empty())
        .unwrap();
    let answer = send(&router, scrape).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type.as_deref(), Some(METRICS_CONTENT_TYPE));
    let text = &answer.body;
    for family in [
        "# TYPE anomalyzer_anomaly_score gauge",
        "# TYPE anomalyzer_series gauge",
        "# TYPE anomalyzer_points counter",
        "# TYPE anomalyzer_rejected_points counter",
        "# TYPE anomalyzer_fsync_seconds histogram",
        "# TYPE anomalyzer_wal_bytes gauge",
        "anomalyzer_series 2",
        "anomalyzer_points_total 20",
        "anomalyzer_fsync_seconds_count 1",
        "anomalyzer_rejected_points_total{reason=\"out of order\"} 0",
        "anomalyzer_wal_bytes 0",
        "# TYPE anomalyzer_remote_write_samples counter",
        "anomalyzer_remote_write_samples_total 0",
        "anomalyzer_remote_write_dropped_samples_total{reason=\"queue full\"} 0",
        "anomalyzer_remote_write_dropped_samples_total{reason=\"rejected\"} 0",
        "anomalyzer_remote_write_dropped_samples_total{reason=\"shutdown\"} 0",
        "anomalyzer_remote_write_failed_requests_total 0",
        "# TYPE anomalyzer_remote_write_queue_samples gauge",
        "anomalyzer_remote_write_queue_samples 0",
        "# EOF",
    ] {
        assert!(text.contains(family), "missing {family:?} in\n{text}");
    }
    let scores = score_lines(text);
    assert_eq!(scores.len(), 2, "{text}");
    assert!(
        scores[0].starts_with(r#"anomalyzer_anomaly_score{series="calm"} "#),
        "{}",
        scores[0]
    );
    assert!(
        scores[1].starts_with(
            r#"anomalyzer_anomaly_score{exported_series="own",path="C:\\tmp \"x\"\nnext",series="spiky"} "#
        ),
        "{}",
        scores[1]
    );

    // Without OpenMetrics in Accept: the same samples in text format 0.0.4.
    let plain = send(&router, get("/metrics")).await;
    assert_eq!(
        plain.content_type.as_deref(),
        Some(METRICS_TEXT_CONTENT_TYPE)
    );
    assert!(
        plain
            .body
            .contains("# TYPE anomalyzer_points_total counter"),
        "{}",
        plain.body
    );
    assert!(!plain.body.contains("# EOF"));
    let samples = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(samples(&plain.body), samples(text));
}

#[tokio::test]
async fn metrics_min_score_exports_only_series_at_or_above_it() {
    let options = ServeOptions {
        metrics_min_score: 0.5,
        ..ServeOptions::default()
    };
    let text = send(&populated(options).await, get("/metrics")).await.body;
    let scores = score_lines(&text);
    assert_eq!(scores.len(), 1, "{text}");
    assert!(scores[0].contains(r#"series="spiky""#));
    assert!(
        text.contains("anomalyzer_series 2"),
        "the series count is not filtered"
    );

    let bad = ServeOptions {
        metrics_min_score: 1.5,
        ..ServeOptions::default()
    };
    let metrics = anomalyzer_serve::ServiceMetrics::default();
    let store = std::sync::Arc::new(support::MemoryStore::new(
        ServeConfig::default(),
        1,
        metrics.fsync_seconds(),
    ));
    let err = anomalyzer_serve::router(store, metrics, bad).unwrap_err();
    assert!(err.to_string().contains("--metrics-min-score 1.5"), "{err}");
}

#[tokio::test]
async fn promtool_check_metrics_passes() {
    let text = send(&populated(ServeOptions::default()).await, get("/metrics"))
        .await
        .body;
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("promtool not run ({e}); install the Debian package `prometheus`");
            return;
        }
        Err(e) => {
            panic!("CI is set but promtool cannot be run: {e} (apt-get install -y prometheus)")
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed ({}):\n{}{}\non:\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
