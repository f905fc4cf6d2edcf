//! Failed requests are counted by status or failure kind, with the first
//! one's answer, and make the exit status 1; `wait-ready` waits for
//! `/readyz` and gives up with a clear error.

mod support;

use std::time::Duration;

use anomalyzer_serve::{AuthToken, ServeOptions};
use support::{loadgen, Server};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn a_missing_token_is_counted_as_401_and_a_right_one_passes() {
    let options = ServeOptions {
        auth: Some(AuthToken::new("s3cret").unwrap()),
        ..ServeOptions::default()
    };
    let server = Server::start(options);
    let dir = tempfile::tempdir().unwrap();
    let url = server.url();
    let base = [
        "json",
        "--url",
        &url,
        "--requests",
        "4",
        "--series",
        "400",
        "--batch",
        "100",
        "--concurrency",
        "2",
        "--json",
    ];
    let run = loadgen(dir.path(), &base, LIMIT);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let report = run.report();
    assert_eq!(report["errors"], serde_json::json!({"401": 4}));
    assert_eq!(report["points"], 0);
    let first = report["first_error"].as_str().unwrap();
    assert!(first.starts_with("401: "), "{first}");
    assert!(first.contains("bearer token"), "{first}");
    assert_eq!(server.store.points_of("loadgen_value"), 0);

    std::fs::write(dir.path().join("token"), "s3cret\n").unwrap();
    let mut with_token = base.to_vec();
    with_token.extend(["--token-file", "token"]);
    let run = loadgen(dir.path(), &with_token, LIMIT);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.report()["points"], 400);
    assert_eq!(server.store.points_of("loadgen_value"), 400);
}

#[test]
fn a_refused_connection_is_counted_not_fatal() {
    // A port that was just free: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let run = loadgen(
        dir.path(),
        &[
            "remote-write",
            "--url",
            &url,
            "--requests",
            "3",
            "--series",
            "30",
            "--batch",
            "10",
            "--concurrency",
            "1",
            "--json",
        ],
        LIMIT,
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let report = run.report();
    assert_eq!(report["errors"]["connect"], 3, "{report}");
    assert_eq!(report["requests"], 0);
}

#[test]
fn wait_ready_returns_once_ready_and_gives_up_otherwise() {
    let server = Server::start(ServeOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let url = server.url();
    let run = loadgen(dir.path(), &["wait-ready", "--url", &url, "--json"], LIMIT);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let ready: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert!(ready["ready_after_seconds"].as_f64().unwrap() < 10.0);
    assert_eq!(ready["polls"], 1);

    server.store.set_ready(false);
    let run = loadgen(
        dir.path(),
        &["wait-ready", "--url", &url, "--within", "0.3"],
        LIMIT,
    );
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("/readyz was not 200"), "{}", run.stderr);
    assert!(run.stderr.contains("503 recovering"), "{}", run.stderr);
}

#[test]
fn bad_flags_stop_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let run = loadgen(
        dir.path(),
        &["json", "--url", "https://127.0.0.1:1", "--requests", "1"],
        LIMIT,
    );
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("only http://"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}
