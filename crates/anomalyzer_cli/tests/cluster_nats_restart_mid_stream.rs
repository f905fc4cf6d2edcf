//! Issue 13, scenario 3: the NATS server is killed and restarted
//! mid-stream. While it is down ingest answers 503 (nothing acknowledged
//! is lost); afterwards everything resumes and the scores equal a bare
//! detector over each series bit for bit.

mod cluster_support;

use std::time::Duration;

use cluster_support::*;

#[test]
fn ingest_fails_cleanly_while_nats_is_down_and_resumes() {
    if !nats_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut nats = Nats::start(dir.path());
    let (_ingest, addr) = ingest(&nats);
    let _workers: Vec<Proc> = ["w1", "w2", "w3"]
        .iter()
        .map(|n| worker(&nats, dir.path(), n))
        .collect();
    let load = Workload::new(33, 40, 60);
    for r in 0..25 {
        load.send(addr, r);
    }
    nats.kill();
    let (status, body) = post(addr, "/api/v1/push", &load.body(25));
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    std::thread::sleep(Duration::from_millis(500));
    nats.restart();
    // The refused round is retried (as a client would) until acknowledged.
    for r in 25..60 {
        load.send(addr, r);
    }
    assert_scores_match(&nats, &load, Duration::from_secs(90));
}
