//! Issue 13, scenario 2: a third worker joins a running cluster of two;
//! partitions rebalance onto it, and the scores still equal a bare
//! detector over each series bit for bit.

mod cluster_support;

use std::time::Duration;

use cluster_support::*;

#[test]
fn joining_worker_takes_a_share_and_scores_stay_exact() {
    if !nats_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let (_ingest, addr) = ingest(&nats);
    let w1 = worker(&nats, dir.path(), "w1");
    let w2 = worker(&nats, dir.path(), "w2");
    let load = Workload::new(22, 40, 60);
    for r in 0..30 {
        load.send(addr, r);
    }
    let w3 = worker(&nats, dir.path(), "w3");
    for r in 30..45 {
        load.send(addr, r);
    }
    assert!(
        w3.wait_for("took partition", Duration::from_secs(15)),
        "the new worker got no partition:\n{}",
        w3.stderr()
    );
    for r in 45..60 {
        load.send(addr, r);
    }
    assert_scores_match(&nats, &load, Duration::from_secs(60));
    // The others gave partitions up for it (with a final snapshot).
    let released = format!("{}{}", w1.stderr(), w2.stderr());
    assert!(released.contains("released partition"), "{released}");
}
