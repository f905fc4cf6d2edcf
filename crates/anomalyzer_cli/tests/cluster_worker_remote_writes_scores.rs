//! `anomalyzer worker --remote-write URL` (issue 13): the worker sends each
//! score it publishes also as remote_write series `anomaly_score`, like
//! `anomalyzer serve --remote-write`. A small remote_write receiver in the
//! test decodes what arrives; every series' samples must equal, in order
//! and bit for bit, a bare detector over that series.

mod cluster_support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anomalyzer_serve::{decode_write_request, IdentityLimits};
use cluster_support::*;

type Received = Arc<Mutex<HashMap<(String, String), Vec<u64>>>>;

/// Accepts HTTP/1.1 POSTs (kept alive), decodes each body as remote_write
/// and answers 204; records `anomaly_score` samples by (series, host).
fn receiver() -> (SocketAddr, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let received: Received = Arc::default();
    let store = Arc::clone(&received);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut writer = conn;
                loop {
                    let mut length = None;
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let header = line.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse::<usize>().ok();
                            }
                        }
                    }
                    let mut body = vec![0; length.expect("a Content-Length")];
                    reader.read_exact(&mut body).unwrap();
                    let batch =
                        decode_write_request(&body, &IdentityLimits::default(), 64 << 20).unwrap();
                    {
                        let mut store = store.lock().unwrap();
                        for p in batch.points() {
                            assert_eq!(p.key.name(), "anomaly_score");
                            let label = |k: &str| {
                                p.key
                                    .labels()
                                    .iter()
                                    .find(|(n, _)| n == k)
                                    .map(|(_, v)| v.clone())
                                    .unwrap()
                            };
                            store
                                .entry((label("series"), label("host")))
                                .or_default()
                                .push(p.value.to_bits());
                        }
                    }
                    writer
                        .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                        .unwrap();
                }
            });
        }
    });
    (addr, received)
}

#[test]
fn worker_remote_writes_every_score_once_in_order() {
    if !nats_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let (_ingest, addr) = ingest(&nats);
    let (sink, received) = receiver();
    let url = format!("http://{sink}/api/v1/write");
    let w = worker_with(&nats, dir.path(), "w1", &["--remote-write", &url]);
    let load = Workload::new(13, 12, 10);
    for r in 0..10 {
        load.send(addr, r);
    }
    assert_scores_match(&nats, &load, Duration::from_secs(30));
    let expected = load.expected();
    // The output batches by time (1 s) as well as by count.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = received.lock().unwrap().clone();
        if got == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "remote-written scores differ from a bare detector's:\n got {got:?}\n want {expected:?}\n{}",
            w.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        w.stderr().contains("remote-write: every score goes to"),
        "{}",
        w.stderr()
    );
    w.signal(libc::SIGTERM);
    assert!(
        w.wait_for("every queued score was sent", Duration::from_secs(15)),
        "{}",
        w.stderr()
    );
}
