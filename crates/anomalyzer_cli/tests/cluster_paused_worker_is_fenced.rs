//! Issue 13, scenario 4: a worker is paused (SIGSTOP) past its lease and
//! then resumed (SIGCONT). Its partitions were taken over meanwhile; none
//! of its late outputs or snapshots is accepted, and the scores equal a
//! bare detector over each series bit for bit.

mod cluster_support;

use std::time::{Duration, SystemTime};

use cluster_support::*;

#[test]
fn resumed_worker_publishes_and_snapshots_nothing_under_its_old_leases() {
    if !nats_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let (_ingest, addr) = ingest(&nats);
    let workers: Vec<Proc> = ["w1", "w2", "w3"]
        .iter()
        .map(|n| worker(&nats, dir.path(), n))
        .collect();
    let load = Workload::new(44, 40, 60);
    for r in 0..20 {
        load.send(addr, r);
    }
    let paused = &workers[0];
    assert!(paused.wait_for("took partition", Duration::from_secs(10)));
    let old_epochs: Vec<u64> = paused.epochs_taken().iter().map(|(_, e)| *e).collect();
    paused.signal(libc::SIGSTOP);
    // Points keep coming while it sleeps past its lease.
    for r in 20..40 {
        load.send(addr, r);
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(2 * LEASE_MS));
    let resumed_at = SystemTime::now();
    paused.signal(libc::SIGCONT);
    for r in 40..60 {
        load.send(addr, r);
    }
    let stored = assert_scores_match(&nats, &load, Duration::from_secs(60));
    assert!(
        paused.wait_for("fenced", Duration::from_secs(5)) || paused.stderr().contains("lease lost"),
        "the resumed worker never noticed it lost its leases:\n{}",
        paused.stderr()
    );
    let late: Vec<&StoredScore> = stored
        .iter()
        .filter(|s| old_epochs.contains(&s.epoch) && s.stored_at > resumed_at)
        .collect();
    assert!(
        late.is_empty(),
        "{} score messages of the old leases were accepted after SIGCONT, e.g. {}",
        late.len(),
        late[0].msg_id
    );
    // No accepted snapshot carries an old epoch of the paused worker.
    let pointers = snapshot_pointers(&nats);
    for (p, epoch) in &pointers {
        assert!(
            !old_epochs.contains(epoch),
            "partition {p}: the accepted snapshot is from fenced epoch {epoch}"
        );
    }
}
