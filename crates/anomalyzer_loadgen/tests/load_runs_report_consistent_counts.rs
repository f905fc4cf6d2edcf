//! The generator against the real router on loopback (over an in-memory
//! test store) for about a second per run: its report must agree with
//! itself (points = requests × batch, every point accepted, no errors)
//! and with what the server actually received.

mod support;

use std::time::Duration;

use anomalyzer_serve::ServeOptions;
use support::{loadgen, Server};

const LIMIT: Duration = Duration::from_secs(60);

fn check_consistent(report: &serde_json::Value, batch: u64) -> u64 {
    assert_eq!(report["errors"], serde_json::json!({}), "{report}");
    assert!(report["first_error"].is_null(), "{report}");
    let requests = report["requests"].as_u64().unwrap();
    let points = report["points"].as_u64().unwrap();
    assert!(requests > 0, "{report}");
    assert_eq!(points, requests * batch, "{report}");
    let elapsed = report["elapsed_seconds"].as_f64().unwrap();
    let rate = report["points_per_second"].as_f64().unwrap();
    assert!(
        (rate - points as f64 / elapsed).abs() < 1e-6 * rate,
        "{report}"
    );
    let l = &report["latency_ms"];
    let (p50, p99, max) = (
        l["p50"].as_f64().unwrap(),
        l["p99"].as_f64().unwrap(),
        l["max"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{report}");
    points
}

#[test]
fn json_push_for_a_second() {
    let server = Server::start(ServeOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let url = server.url();
    let run = loadgen(
        dir.path(),
        &[
            "json",
            "--url",
            &url,
            "--duration",
            "1",
            "--series",
            "2000",
            "--batch",
            "100",
            "--concurrency",
            "4",
            "--json",
        ],
        LIMIT,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report = run.report();
    let points = check_consistent(&report, 100);
    assert_eq!(report["mode"], "json");
    assert_eq!(report["accepted"].as_u64(), Some(points), "{report}");
    assert_eq!(report["latency_from"], "send");
    // What the server holds is what the report says was acknowledged.
    assert_eq!(server.store.points_of("loadgen_value"), points);
    assert_eq!(server.store.series_count() as u64, points.min(2000));
}

#[test]
fn remote_write_for_a_second() {
    let server = Server::start(ServeOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let url = server.url();
    let run = loadgen(
        dir.path(),
        &[
            "remote-write",
            "--url",
            &url,
            "--duration",
            "1",
            "--series",
            "3000",
            "--batch",
            "250",
            "--concurrency",
            "3",
            "--json",
        ],
        LIMIT,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report = run.report();
    let points = check_consistent(&report, 250);
    assert_eq!(report["format"], "remote-write");
    assert!(report["accepted"].is_null());
    assert_eq!(server.store.points_of("loadgen_value"), points);
}

#[test]
fn a_paced_run_sends_exactly_what_its_rate_allows() {
    let server = Server::start(ServeOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let url = server.url();
    // 2 000 points/s in requests of 100 for 1 s: requests are due every
    // 50 ms, the last at 950 ms, so exactly 20 requests.
    let run = loadgen(
        dir.path(),
        &[
            "json",
            "--url",
            &url,
            "--duration",
            "1",
            "--rate",
            "2000",
            "--series",
            "400",
            "--batch",
            "100",
            "--concurrency",
            "2",
            "--json",
        ],
        LIMIT,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report = run.report();
    assert_eq!(check_consistent(&report, 100), 2000);
    assert_eq!(report["requests"], 20);
    assert_eq!(report["latency_from"], "schedule");
    assert_eq!(report["target_rate"], 2000.0);
    // 400 series, 5 rounds of 4 requests: each series 5 points in order.
    assert_eq!(server.store.series_count(), 400);
    assert_eq!(server.store.points_of("loadgen_value"), 2000);
    assert_eq!(report["accepted"], 2000, "no point was out of order");
}

#[test]
fn a_second_run_follows_the_first_without_out_of_order_points() {
    let server = Server::start(ServeOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let url = server.url();
    let args = [
        "json",
        "--url",
        &url,
        "--requests",
        "10",
        "--series",
        "500",
        "--batch",
        "100",
        "--concurrency",
        "2",
        "--json",
    ];
    for total in [1000, 2000] {
        let run = loadgen(dir.path(), &args, LIMIT);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let report = run.report();
        assert_eq!(check_consistent(&report, 100), 1000);
        assert_eq!(report["accepted"], 1000, "{report}");
        assert_eq!(server.store.points_of("loadgen_value"), total);
    }
}
