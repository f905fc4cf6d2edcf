//! SIGTERM (and SIGINT) stop `anomalyzer serve` cleanly: new connections
//! are refused at once, the request in flight is finished and answered,
//! the state is synced and snapshotted, and the exit code is 0; the next
//! start has every point. The request is known to be in flight without
//! sleeping: it asks `Expect: 100-continue`, and the server sends `100
//! Continue` only once the handler starts reading its body.

mod serve_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use serve_support::*;

/// Sends the head of a push and waits for `100 Continue`.
fn start_push(server: &Server, body: &str) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    let head = format!(
        "POST /api/v1/push HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "closed before 100 Continue"
        );
        seen.push(byte[0]);
    }
    let seen = String::from_utf8(seen).unwrap();
    assert!(seen.starts_with("HTTP/1.1 100 Continue"), "{seen}");
    stream
}

fn refused_soon(server: &Server) {
    let deadline = Instant::now() + LIMIT;
    while TcpStream::connect(server.addr).is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting after the signal"
        );
        std::thread::yield_now();
    }
}

fn finishes_in_flight_on(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let values = values(31, 30);
    let lines: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| line("cpu", "{}", 1_700_000_000 + i as i64, v))
        .collect();
    let mut server = Server::start(&state, &[]);
    server.wait_ready(None);
    let first = probabilities(&server.push(&lines[..10].join("\n")));

    let rest = lines[10..].join("\n");
    let mut in_flight = start_push(&server, &rest);
    server.signal(signal);
    server.wait_for_line("shutting down");
    refused_soon(&server);
    in_flight.write_all(rest.as_bytes()).unwrap();
    let answer = read_answer(&mut in_flight).unwrap();
    let second = probabilities(&answer);
    let status = server.wait();
    let stderr = server.all_stderr();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("shut down: state synced and snapshotted"),
        "{stderr}"
    );

    let mut all = first;
    all.extend(second);
    assert_eq!(all, reference(&values));
    let server = Server::start(&state, &[]);
    server.wait_ready(None);
    // The shutdown's snapshot holds everything: nothing is replayed.
    let summary = server.wait_for_line("recovered");
    assert!(
        summary.contains("recovered 1 series (1 from the snapshot), replayed 0 log records"),
        "{summary}"
    );
    let listed = server.get("/api/v1/series").json();
    assert_eq!(listed["series"][0]["points"], 30, "{listed}");
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    finishes_in_flight_on("TERM");
}

#[test]
fn sigint_does_the_same() {
    finishes_in_flight_on("INT");
}

#[test]
fn a_second_signal_during_shutdown_exits_at_once_with_143() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("state"), &[]);
    server.wait_ready(None);
    // A request held in flight keeps the shutdown from finishing.
    let _held = start_push(&server, &line("cpu", "{}", 1, 1.0));
    server.signal("TERM");
    server.wait_for_line("shutting down");
    server.signal("TERM");
    let status = server.wait();
    let stderr = server.all_stderr();
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("second signal"), "{stderr}");
}
