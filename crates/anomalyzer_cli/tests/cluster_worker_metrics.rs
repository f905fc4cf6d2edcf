//! A worker's `GET /metrics` (issue 13): the latest score of each of its
//! series, the partitions it owns and their lag, in an exposition
//! `promtool check metrics` accepts.

mod cluster_support;

use std::process::{Command, Stdio};
use std::time::Duration;

use cluster_support::*;

#[test]
fn worker_exports_its_series_scores_partitions_and_lag() {
    if !nats_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let (_ingest, addr) = ingest(&nats);
    let w = worker_with(&nats, dir.path(), "w1", &["--listen", "127.0.0.1:0"]);
    let metrics_addr = w.listen_addr();
    let load = Workload::new(9, 12, 10);
    for r in 0..10 {
        load.send(addr, r);
    }
    let stored = assert_scores_match(&nats, &load, Duration::from_secs(30));
    let last = scores_by_series(&stored);
    // The scrape shows what was applied once the worker has caught up.
    let mut text = String::new();
    for _ in 0..100 {
        let (status, body) = get(metrics_addr, "/metrics");
        assert_eq!(status, 200);
        text = body;
        // The list of owned partitions is refreshed every quarter lease.
        if text.contains("anomalyzer_points_total 120")
            && text.contains("anomalyzer_series 12")
            && text.contains(&format!("anomalyzer_partitions_owned {PARTITIONS}"))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(text.contains("anomalyzer_points_total 120"), "{text}");
    assert!(text.contains("anomalyzer_series 12"), "{text}");
    assert!(
        text.contains(&format!("anomalyzer_partitions_owned {PARTITIONS}")),
        "{text}"
    );
    assert!(
        text.contains("anomalyzer_partition_lag{partition=\"0\"} 0"),
        "{text}"
    );
    for ((name, host), bits) in &last {
        let p = f64::from_bits(*bits.last().unwrap());
        let line = text
            .lines()
            .find(|l| {
                l.starts_with("anomalyzer_anomaly_score{")
                    && l.contains(&format!("series=\"{name}\""))
                    && l.contains(&format!("host=\"{host}\""))
            })
            .unwrap_or_else(|| panic!("no score line for {name}/{host}:\n{text}"));
        let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert_eq!(value, p, "{line}");
    }
    match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(mut child) => {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "promtool: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("promtool not run ({e}); the exposition was checked by hand only");
        }
        Err(e) => panic!("CI is set but promtool cannot be run: {e}"),
    }
}
