//! The ingest node of issue 13: a request is validated whole before
//! anything is published (400 with the line, the points stream unchanged);
//! a retried request is a duplicate JetStream drops; and a node given
//! settings that disagree with the cluster's is refused.

mod cluster_support;

use std::process::Command;

use anomalyzer_cluster::POINTS_STREAM;
use cluster_support::*;

#[test]
fn bad_requests_publish_nothing_and_retries_are_dropped() {
    if !nats_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let (_ingest, addr) = ingest(&nats);

    let bad = b"{\"series\":\"cpu\",\"timestamp\":1,\"value\":1}\n{\"series\":\"cpu\",\"timestamp\":2,\"value\":\"x\"}\n";
    let (status, body) = post(addr, "/api/v1/push", bad);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"line\":2"), "{body}");
    assert_eq!(stream_messages(&nats, POINTS_STREAM), 0);

    let load = Workload::new(5, 30, 1);
    let (status, first) = post(addr, "/api/v1/push", &load.body(0));
    assert_eq!(status, 200, "{first}");
    let answer: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(answer["accepted"], 30);
    let stored = stream_messages(&nats, POINTS_STREAM);
    assert!(stored > 1 && stored <= u64::from(PARTITIONS), "{stored}");
    // Each result names the score message that will carry its score.
    let r0 = &answer["results"][0];
    assert!(r0["partition"].as_u64().unwrap() < u64::from(PARTITIONS));
    assert!(r0["sequence"].as_u64().unwrap() >= 1);
    assert!(r0["probability"].is_null());

    // The same request again (a client retrying after a timeout): every
    // message is a duplicate, the stream does not grow, and the answer
    // names the same sequences.
    let (status, again) = post(addr, "/api/v1/push", &load.body(0));
    assert_eq!(status, 200, "{again}");
    assert_eq!(stream_messages(&nats, POINTS_STREAM), stored);
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["results"], answer["results"]);
}

#[test]
fn a_node_with_other_partitions_is_refused() {
    if !nats_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let (_ingest, _addr) = ingest(&nats);
    let out = Command::new(env!("CARGO_BIN_EXE_anomalyzer"))
        .args([
            "worker",
            "--cluster",
            &nats.url(),
            "--partitions",
            "16",
            "--state",
        ])
        .arg(dir.path().join("w"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the cluster has 8 partitions") && stderr.contains("--partitions 16"),
        "{stderr}"
    );
}

#[test]
fn serve_with_cluster_is_the_ingest_node() {
    if !nats_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_anomalyzer"))
        .args(["serve", "--cluster", &nats.url(), "--listen", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0);
        if let Some(a) = line.trim().strip_prefix("listening on ") {
            break a.parse().unwrap();
        }
    };
    let (status, body) = post(addr, "/api/v1/push", &Workload::new(1, 5, 1).body(0));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200, "{body}");
    assert!(stream_messages(&nats, POINTS_STREAM) >= 1);

    // --cluster replaces the state directory: both at once is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_anomalyzer"))
        .args(["serve", "--cluster", &nats.url(), "--state"])
        .arg(dir.path().join("s"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
