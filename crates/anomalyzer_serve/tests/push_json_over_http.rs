//! `POST /api/v1/push` through the router against the in-memory test
//! double: scores equal a bare detector's, the out-of-order rule, whole
//! requests refused with the line of the bad point, and the limits.

mod support;

use anomalyzer_serve::{Error, IdentityLimits, RejectReason, SeriesKey, ServeConfig, ServeOptions};
use axum::http::StatusCode;
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde_json::json;
use support::{app, get, line, post, reference_scores, send};

const CONFIG: &str = r#"
[default]
n_seasons = 6
seed = 11

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

#[tokio::test]
async fn scores_equal_a_bare_detector_per_series_and_configuration() {
    let config = ServeConfig::parse(CONFIG, "test").unwrap();
    let (router, store, metrics) = app(config.clone(), 100, ServeOptions::default());
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let series = [
        ("cpu", r#"{"host":"a"}"#, key("cpu", &[("host", "a")])),
        ("cpu", r#"{"host":"b"}"#, key("cpu", &[("host", "b")])),
        ("latency_ms", "{}", key("latency_ms", &[])),
    ];
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); series.len()];
    let mut got: Vec<Vec<f64>> = vec![Vec::new(); series.len()];
    // Three requests of interleaved points, as a client would batch them.
    for request in 0..3 {
        let mut body = String::new();
        let mut order = Vec::new();
        for step in 0..20 {
            let s = (rng.next_u64() % 3) as usize;
            let value = (rng.next_u64() % 1000) as f64 / 10.0;
            let t = 1_700_000_000 + request * 100 + step;
            body.push_str(&line(series[s].0, series[s].1, t, value));
            body.push('\n');
            values[s].push(value);
            order.push(s);
        }
        let answer = send(&router, post("/api/v1/push", body)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.content_type.as_deref(), Some("application/json"));
        let json = answer.json();
        assert_eq!(json["accepted"], json!(20));
        for (result, &s) in json["results"].as_array().unwrap().iter().zip(&order) {
            assert_eq!(result["series"], json!(series[s].0));
            got[s].push(result["probability"].as_f64().unwrap());
        }
    }
    for (s, (_, _, k)) in series.iter().enumerate() {
        let expected = reference_scores(&config, k, &values[s]);
        // Bit for bit, as the CLI would score these values in order.
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got[s]), bits(&expected), "series {k}");
    }
    assert_eq!(store.series_count(), 3);
    assert_eq!(metrics.scored(), 60);
}

#[tokio::test]
async fn out_of_order_points_are_rejected_alone_and_counted() {
    let (router, store, metrics) = app(ServeConfig::default(), 100, ServeOptions::default());
    let body = [
        line("cpu", "{}", 10, 1.0),
        line("cpu", "{}", 20, 2.0),
        line("cpu", "{}", 20, 3.0), // equal: rejected
        line("cpu", "{}", 15, 4.0), // older: rejected
        line("mem", "{}", 5, 1.0),  // another series is independent
        line("cpu", "{}", 21, 5.0),
    ]
    .join("\n");
    let json = send(&router, post("/api/v1/push", body)).await.json();
    assert_eq!(json["accepted"], json!(4));
    let rejected: Vec<bool> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rejected"] == json!("out of order"))
        .collect();
    assert_eq!(rejected, [false, false, true, true, false, false]);
    assert!(json["results"][2]["probability"].is_null());
    assert_eq!(store.points_of("cpu"), 3);
    // A later request is judged against what was accepted before.
    let again = send(&router, post("/api/v1/push", line("cpu", "{}", 21, 9.0)))
        .await
        .json();
    assert_eq!(again["accepted"], json!(0));
    assert_eq!(metrics.rejected(RejectReason::OutOfOrder), 3);
    let exposition = send(&router, get("/metrics")).await.body;
    assert!(
        exposition.contains(r#"anomalyzer_rejected_points_total{reason="out of order"} 3"#),
        "{exposition}"
    );
}

#[tokio::test]
async fn a_bad_point_refuses_the_whole_request_with_its_line() {
    let (router, store, _) = app(ServeConfig::default(), 100, ServeOptions::default());
    let body = format!(
        "{}\n{}\n\n{}\n",
        line("cpu", "{}", 1, 1.0),
        line("cpu", "{}", 2, 2.0),
        r#"{"series":"cpu","timestamp":3,"value":"high"}"#
    );
    let answer = send(&router, post("/api/v1/push", body)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let json = answer.json();
    assert_eq!(json["line"], json!(4));
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("`value` is a string"),
        "{json}"
    );
    assert_eq!(
        store.series_count(),
        0,
        "nothing of the request was applied"
    );

    // Arrays report the line the bad element starts on.
    let array = "[\n  {\"series\":\"cpu\",\"timestamp\":1,\"value\":1},\n  {\"series\":\"cpu\",\"labels\":{\"__x\":\"y\"},\"timestamp\":2,\"value\":2}\n]";
    let json = send(&router, post("/api/v1/push", array)).await.json();
    assert_eq!(json["line"], json!(3));
    assert!(
        json["error"].as_str().unwrap().contains("reserved"),
        "{json}"
    );
    assert_eq!(store.series_count(), 0);

    // The same points without the bad one go through.
    let fixed = "[{\"series\":\"cpu\",\"timestamp\":\"2024-03-04T04:10:00Z\",\"value\":1}]";
    let json = send(&router, post("/api/v1/push", fixed)).await.json();
    assert_eq!(json["accepted"], json!(1));
    assert_eq!(
        json["results"][0]["timestamp"],
        json!("2024-03-04T04:10:00Z")
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_applies_nothing() {
    let options = ServeOptions {
        body_limit: 1000,
        ..ServeOptions::default()
    };
    let (router, store, _) = app(ServeConfig::default(), 100, options);
    let body: String = (0..100).map(|t| line("cpu", "{}", t, 1.0) + "\n").collect();
    assert!(body.len() > 1000);
    let answer = send(&router, post("/api/v1/push", body)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        answer.json()["error"]
            .as_str()
            .unwrap()
            .contains("limit of 1000 bytes"),
        "{}",
        answer.body
    );
    assert_eq!(store.series_count(), 0);
    let small = send(&router, post("/api/v1/push", line("cpu", "{}", 1, 1.0))).await;
    assert_eq!(small.status, StatusCode::OK);
}

#[tokio::test]
async fn a_new_series_past_the_limit_is_429_for_the_whole_request() {
    let (router, store, metrics) = app(ServeConfig::default(), 2, ServeOptions::default());
    let first = [line("a", "{}", 1, 1.0), line("b", "{}", 1, 1.0)].join("\n");
    assert_eq!(
        send(&router, post("/api/v1/push", first)).await.status,
        StatusCode::OK
    );
    let over = [line("a", "{}", 2, 1.0), line("c", "{}", 1, 1.0)].join("\n");
    let answer = send(&router, post("/api/v1/push", over)).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    let error = answer.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("2 series exist") && error.contains("new series c is refused"),
        "{error}"
    );
    assert_eq!(
        store.points_of("a"),
        1,
        "the point of an existing series was not applied either"
    );
    assert_eq!(metrics.rejected(RejectReason::TooManySeries), 2);
}

#[tokio::test]
async fn an_unavailable_store_is_503_and_recovering_is_not_ready() {
    let (router, store, _) = app(ServeConfig::default(), 10, ServeOptions::default());
    *store.fail_with.lock().unwrap() = Some(Error::Unavailable("no space left on device".into()));
    let answer = send(&router, post("/api/v1/push", line("cpu", "{}", 1, 1.0))).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        answer.body.contains("no space left on device"),
        "{}",
        answer.body
    );
    *store.fail_with.lock().unwrap() = None;

    store.set_ready(false);
    assert_eq!(
        send(&router, get("/readyz")).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(send(&router, get("/healthz")).await.status, StatusCode::OK);
    let answer = send(&router, post("/api/v1/push", line("cpu", "{}", 1, 1.0))).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    store.set_ready(true);
    assert_eq!(send(&router, get("/readyz")).await.status, StatusCode::OK);
    assert_eq!(store.series_count(), 0);
}

#[tokio::test]
async fn series_are_listed_by_glob_and_explained() {
    let (router, _, _) = app(ServeConfig::default(), 10, ServeOptions::default());
    let body: Vec<String> = (0..8)
        .map(|t| {
            line(
                "http_requests",
                r#"{"code":"200"}"#,
                t,
                if t == 7 { 50.0 } else { 1.0 + t as f64 % 2.0 },
            )
        })
        .chain([line("disk_bytes", "{}", 1, 3.0)])
        .collect();
    let pushed = send(&router, post("/api/v1/push", body.join("\n")))
        .await
        .json();
    let last_probability = pushed["results"][7]["probability"].clone();

    let listed = send(&router, get("/api/v1/series?match=http_*"))
        .await
        .json();
    let series = listed["series"].as_array().unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0]["series"], json!("http_requests"));
    assert_eq!(series[0]["labels"], json!({"code": "200"}));
    assert_eq!(series[0]["points"], json!(8));
    assert_eq!(series[0]["probability"], last_probability);
    assert_eq!(series[0]["timestamp"], json!("1970-01-01T00:00:07Z"));
    let all = send(&router, get("/api/v1/series")).await.json();
    assert_eq!(all["series"].as_array().unwrap().len(), 2);
    let bad = send(&router, get("/api/v1/series?match=a%5B")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let explained = send(
        &router,
        get("/api/v1/series/http_requests/explain?code=200"),
    )
    .await;
    assert_eq!(explained.status, StatusCode::OK, "{}", explained.body);
    let e = explained.json();
    assert_eq!(e["probability"], last_probability);
    assert_eq!(e["value"], json!(50.0));
    let methods: Vec<&str> = e["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["magnitude", "ks"]);

    let missing = send(&router, get("/api/v1/series/http_requests/explain")).await;
    assert_eq!(
        missing.status,
        StatusCode::NOT_FOUND,
        "labels are part of the identity"
    );
    assert!(missing.json()["error"]
        .as_str()
        .unwrap()
        .contains("http_requests"));
    let invalid = send(&router, get("/api/v1/series/9x/explain")).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
}
