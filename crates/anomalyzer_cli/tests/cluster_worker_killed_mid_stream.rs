//! Issue 13, scenario 1: one of three workers is killed with SIGKILL
//! mid-stream; its partitions move to the others within the lease time,
//! and the scores read back from `anomalyzer.scores.*`, deduplicated by
//! message id, equal a bare detector over each series bit for bit.

mod cluster_support;

use std::time::{Duration, Instant};

use cluster_support::*;

#[test]
fn killed_worker_loses_no_point_and_applies_none_twice() {
    if !nats_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let (_ingest, addr) = ingest(&nats);
    let mut workers: Vec<Proc> = ["w1", "w2", "w3"]
        .iter()
        .map(|n| worker(&nats, dir.path(), n))
        .collect();
    let load = Workload::new(11, 40, 60);
    for r in 0..30 {
        load.send(addr, r);
    }
    assert!(
        workers[0].wait_for("took partition", Duration::from_secs(10)),
        "{}",
        workers[0].stderr()
    );
    workers[0].kill9();
    let killed = Instant::now();
    for r in 30..60 {
        load.send(addr, r);
    }
    assert_scores_match(&nats, &load, Duration::from_secs(60));
    // Everything was scored: the survivors took over every partition.
    let survivors_took = workers[1..]
        .iter()
        .map(|w| w.epochs_taken().len())
        .sum::<usize>();
    assert!(survivors_took >= PARTITIONS as usize, "{survivors_took}");
    eprintln!("all scores present {:?} after the kill", killed.elapsed());
}
