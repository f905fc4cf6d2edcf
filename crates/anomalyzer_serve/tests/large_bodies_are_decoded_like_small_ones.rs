//! A push body over 1 MiB is decoded on tokio's blocking pool rather than
//! on the request's worker; its answer must be the one a small body gets:
//! every point scored as a bare detector scores it, and a bad point named
//! by its line with nothing applied.

mod support;

use anomalyzer_serve::{IdentityLimits, SeriesKey, ServeConfig, ServeOptions};
use axum::http::StatusCode;
use support::{app, line, post, reference_scores, send};

const POINTS: usize = 20_000;

fn large_body() -> Vec<String> {
    (0..POINTS)
        .map(|i| {
            let labels = format!(
                r#"{{"host":"host-{:04}","padding":"{}"}}"#,
                i % 10,
                "x".repeat(20)
            );
            line(
                "cpu",
                &labels,
                1_700_000_000 + (i / 10) as i64,
                (i % 17) as f64,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_push_is_scored_exactly_as_a_small_one() {
    let config = ServeConfig::default();
    let (router, store, _) = app(config.clone(), 100, ServeOptions::default());
    let lines = large_body();
    let body = lines.join("\n");
    assert!(
        body.len() > 1 << 20,
        "over the blocking threshold: {}",
        body.len()
    );
    let answer = send(&router, post("/api/v1/push", body)).await;
    assert_eq!(answer.status, StatusCode::OK);
    let json = answer.json();
    assert_eq!(json["accepted"], POINTS);
    let results = json["results"].as_array().unwrap();
    let key = SeriesKey::new(
        "cpu",
        [
            ("host".to_owned(), "host-0003".to_owned()),
            ("padding".to_owned(), "x".repeat(20)),
        ],
        &IdentityLimits::default(),
    )
    .unwrap();
    let values: Vec<f64> = (0..POINTS)
        .filter(|i| i % 10 == 3)
        .map(|i| (i % 17) as f64)
        .collect();
    let expected = reference_scores(&config, &key, &values);
    let got: Vec<f64> = results
        .iter()
        .skip(3)
        .step_by(10)
        .map(|r| r["probability"].as_f64().unwrap())
        .collect();
    assert_eq!(
        got.iter().map(|p| p.to_bits()).collect::<Vec<_>>(),
        expected.iter().map(|p| p.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(store.points_of("cpu"), POINTS as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_point_at_the_end_of_a_large_push_refuses_all_of_it() {
    let (router, store, _) = app(ServeConfig::default(), 100, ServeOptions::default());
    let mut lines = large_body();
    lines.push(r#"{"series":"cpu","timestamp":1,"value":"high"}"#.to_owned());
    let answer = send(&router, post("/api/v1/push", lines.join("\n"))).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(answer.json()["line"], POINTS + 1);
    assert_eq!(store.points_of("cpu"), 0);
}
