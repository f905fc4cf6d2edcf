//! The router over the real durable store: scores equal a bare detector's,
//! out-of-order points are rejected alone, the series limit answers 429,
//! and after a shutdown and a restart with a changed configuration file
//! every series continues with the configuration it was created with.

mod support;

use std::sync::Arc;

use anomalyzer_serve::{
    DurableOptions, DurableStore, IdentityLimits, SeriesKey, SeriesStore, ServeConfig,
    ServeOptions, ServiceMetrics,
};
use axum::http::StatusCode;
use serde_json::json;
use support::{get, line, post, reference_scores, send};

const CONFIG: &str = r#"
[default]
n_seasons = 6
seed = 11

[[series]]
match = "latency_*"
methods = ["magnitude", "diff", "highrank", "lowrank"]
n_seasons = 4
"#;

/// The same file with another default seed: applies to new series only.
const CHANGED: &str = r#"
[default]
n_seasons = 6
seed = 12

[[series]]
match = "latency_*"
methods = ["magnitude", "diff", "highrank", "lowrank"]
n_seasons = 4
"#;

fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
    SeriesKey::new(
        name,
        labels.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        &IdentityLimits::default(),
    )
    .unwrap()
}

fn open(
    dir: &std::path::Path,
    config: &str,
    max_series: u64,
) -> (axum::Router, Arc<DurableStore>, String) {
    let metrics = ServiceMetrics::default();
    let options = DurableOptions {
        max_series,
        config: Arc::new(ServeConfig::parse(config, "test").unwrap()),
        metrics: metrics.clone(),
        ..DurableOptions::default()
    };
    let (store, summary) = DurableStore::open(dir, options).unwrap();
    let store = Arc::new(store);
    let router =
        anomalyzer_serve::router(Arc::clone(&store), metrics, ServeOptions::default()).unwrap();
    (router, store, summary.to_string())
}

#[tokio::test]
async fn series_continue_bit_identically_after_a_restart_with_a_changed_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServeConfig::parse(CONFIG, "test").unwrap();
    let series = [
        ("cpu", r#"{"host":"a"}"#, key("cpu", &[("host", "a")])),
        ("cpu", r#"{"host":"b"}"#, key("cpu", &[("host", "b")])),
        ("latency_ms", "{}", key("latency_ms", &[])),
    ];
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); series.len()];
    let mut got: Vec<Vec<f64>> = vec![Vec::new(); series.len()];
    let mut t = 1_700_000_000;
    for run in 0..2 {
        let (router, store, summary) =
            open(dir.path(), if run == 0 { CONFIG } else { CHANGED }, 100);
        if run == 1 {
            assert!(summary.contains("recovered 3 series"), "{summary}");
            // Every series keeps seed 11 (blocks build on [default]).
            assert!(
                summary.contains("3 series keep a configuration"),
                "{summary}"
            );
        }
        for request in 0..3 {
            let mut body = String::new();
            let mut order = Vec::new();
            for step in 0..15usize {
                let s = (request * 7 + step * 5 + run) % 3;
                let value = ((request * 31 + step * 17 + run * 3) % 50) as f64 / 5.0;
                t += 1;
                body.push_str(&line(series[s].0, series[s].1, t, value));
                body.push('\n');
                values[s].push(value);
                order.push(s);
            }
            // One repeated timestamp: rejected alone.
            body.push_str(&line(series[0].0, series[0].1, t - 15, 99.0));
            let answer = send(&router, post("/api/v1/push", body)).await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            let json = answer.json();
            assert_eq!(json["accepted"], json!(15));
            let results = json["results"].as_array().unwrap();
            assert_eq!(results[15]["rejected"], json!("out of order"));
            for (result, &s) in results.iter().zip(&order) {
                got[s].push(result["probability"].as_f64().unwrap());
            }
        }
        let listed = send(&router, get("/api/v1/series?match=cpu")).await.json();
        assert_eq!(listed["series"].as_array().unwrap().len(), 2, "{listed}");
        let explained = send(&router, get("/api/v1/series/latency_ms/explain")).await;
        assert_eq!(explained.status, StatusCode::OK, "{}", explained.body);
        let explained = explained.json();
        assert_eq!(
            explained["probability"].as_f64().unwrap().to_bits(),
            got[2].last().unwrap().to_bits()
        );
        assert_eq!(store.stats().series, 3);
        store.shutdown().unwrap();
        store.shutdown().unwrap();
        let refused = send(
            &router,
            post("/api/v1/push", line("cpu", "{}", t + 100, 1.0)),
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            refused.body
        );
    }
    for (s, (_, _, k)) in series.iter().enumerate() {
        let expected = reference_scores(&config, k, &values[s]);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got[s]), bits(&expected), "series {k}");
    }
}

#[tokio::test]
async fn a_new_series_past_the_limit_is_refused_with_429() {
    let dir = tempfile::tempdir().unwrap();
    let (router, store, _) = open(dir.path(), CONFIG, 2);
    let body = [line("a", "{}", 1, 1.0), line("b", "{}", 1, 1.0)].join("\n");
    assert_eq!(
        send(&router, post("/api/v1/push", body)).await.status,
        StatusCode::OK
    );
    let body = [line("a", "{}", 2, 1.0), line("c", "{}", 1, 1.0)].join("\n");
    let refused = send(&router, post("/api/v1/push", body)).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert!(refused.body.contains('c'), "{}", refused.body);
    // Nothing of the refused request was applied.
    let listed = send(&router, get("/api/v1/series?match=a")).await.json();
    assert_eq!(listed["series"][0]["points"], json!(1));
    assert_eq!(store.stats().series, 2);
}
