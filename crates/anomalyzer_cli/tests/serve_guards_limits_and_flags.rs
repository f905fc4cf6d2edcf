//! What `anomalyzer serve` refuses: requests without the bearer token
//! (`--auth-token-file`; `/healthz` stays open), a new series past
//! `--max-series` (429, nothing of the request applied), a client that
//! stalls in its body (408 after `--client-timeout`), and bad flags, files
//! and addresses at start-up, each with a clear message and exit code.

mod serve_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use serve_support::*;

fn serve(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_anomalyzer"))
        .arg("serve")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_token_guards_every_route_but_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "  s3cret-token\n").unwrap();
    let server = Server::start(
        &dir.path().join("state"),
        &["--auth-token-file", token_file.to_str().unwrap()],
    );
    server.wait_ready(Some("s3cret-token"));
    let body = line("cpu", "{}", 1_700_000_000, 1.0);
    let good = "Authorization: Bearer s3cret-token";
    let wrong = "Authorization: Bearer s3cret-tokem";
    assert_eq!(server.get("/healthz").status, 200);
    for (method, path) in [
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/api/v1/series"),
        ("GET", "/api/v1/series/cpu/explain"),
        ("POST", "/api/v1/push"),
        ("POST", "/api/v1/write"),
    ] {
        for headers in [&[][..], &[wrong][..]] {
            let answer = server.request(method, path, headers, body.as_bytes());
            assert_eq!(
                answer.status, 401,
                "{method} {path} {headers:?}: {}",
                answer.body
            );
            assert!(
                answer
                    .head
                    .to_ascii_lowercase()
                    .contains("www-authenticate: bearer"),
                "{}",
                answer.head
            );
        }
    }
    let listed = server.request("GET", "/api/v1/series", &[good], b"");
    assert_eq!(
        listed.json()["series"].as_array().unwrap().len(),
        0,
        "nothing applied"
    );
    let pushed = server.request("POST", "/api/v1/push", &[good], body.as_bytes());
    assert_eq!(pushed.status, 200, "{}", pushed.body);
    let listed = server.request("GET", "/api/v1/series", &[good], b"");
    assert_eq!(listed.json()["series"][0]["points"], 1);
}

#[test]
fn a_series_past_the_limit_is_refused_with_429_and_nothing_applied() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("state"), &["--max-series", "2"]);
    server.wait_ready(None);
    let two = format!(
        "{}\n{}",
        line("a", "{}", 1_700_000_000, 1.0),
        line("b", "{}", 1_700_000_000, 1.0)
    );
    assert_eq!(server.push(&two).status, 200);
    // An existing series, then a third one: all refused.
    let third = format!(
        "{}\n{}",
        line("a", "{}", 1_700_000_001, 2.0),
        line("c", "{}", 1_700_000_001, 2.0)
    );
    let answer = server.push(&third);
    assert_eq!(answer.status, 429, "{}", answer.body);
    let error = answer.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("series limit") && error.contains('c'),
        "{error}"
    );
    let listed = server.get("/api/v1/series").json();
    let points: Vec<u64> = listed["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["points"].as_u64().unwrap())
        .collect();
    assert_eq!(points, vec![1, 1], "{listed}");
    let metrics = server.get("/metrics").body;
    assert!(
        metrics.contains(r#"anomalyzer_rejected_points_total{reason="too many series"} 2"#),
        "{metrics}"
    );
    // Existing series still take points.
    assert_eq!(
        server.push(&line("b", "{}", 1_700_000_002, 3.0)).status,
        200
    );
}

#[test]
fn a_client_stalling_in_its_body_gets_408() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("state"), &["--client-timeout", "0.3"]);
    server.wait_ready(None);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream
        .write_all(
            b"POST /api/v1/push HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"ser",
        )
        .unwrap();
    let answer = read_answer(&mut stream).unwrap();
    assert_eq!(answer.status, 408, "{}", answer.body);
    assert!(
        answer.body.contains("not received within 0.3 s"),
        "{}",
        answer.body
    );

    // One that never finishes its headers is cut off.
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: loc")
        .unwrap();
    let mut rest = Vec::new();
    // Closed (or reset) by the server well before the read timeout.
    let closed = stream.read_to_end(&mut rest);
    assert!(
        closed.is_ok()
            || closed
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "{closed:?}"
    );
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));
    assert_eq!(
        server.push(&line("a", "{}", 1, 1.0)).status,
        200,
        "still serving"
    );
}

#[test]
fn bad_flags_and_files_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let missing = dir.path().join("missing.toml");
    let empty = dir.path().join("empty-token");
    std::fs::write(&empty, " \n").unwrap();
    let bad_config = dir.path().join("bad.toml");
    std::fs::write(&bad_config, "[default]\nsensitivity = 7\n").unwrap();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec![], 2, "--state"),
        (
            vec!["--state", state, "--listen", "localhost"],
            2,
            "--listen",
        ),
        (
            vec!["--state", state, "--metrics-min-score", "1.5"],
            2,
            "[0, 1]",
        ),
        (
            vec!["--state", state, "--max-series", "0"],
            2,
            "--max-series",
        ),
        (vec!["--state", state, "--sync", "sometimes"], 2, "--sync"),
        (
            vec!["--state", state, "--remote-write", "ftp://x/w"],
            2,
            "not http or https",
        ),
        (
            vec!["--state", state, "--client-timeout", "0"],
            2,
            "--client-timeout",
        ),
        (
            vec!["--state", state, "--config", missing.to_str().unwrap()],
            2,
            "missing.toml",
        ),
        (
            vec!["--state", state, "--config", bad_config.to_str().unwrap()],
            2,
            "bad.toml",
        ),
        (
            vec![
                "--state",
                state,
                "--auth-token-file",
                empty.to_str().unwrap(),
            ],
            2,
            "empty-token",
        ),
    ];
    for (args, code, says) in cases {
        let (got, stderr) = serve(&args);
        assert_eq!(got, code, "{args:?}: {stderr}");
        assert!(
            stderr.contains(says),
            "{args:?} should say {says:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(
        !std::path::Path::new(state).exists(),
        "no state directory made for bad flags"
    );

    // An address already taken: a runtime failure naming it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (got, stderr) = serve(&["--state", state, "--listen", &addr]);
    assert_eq!(got, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}
