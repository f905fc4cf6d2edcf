//! Issue 9, point 8: a file that cannot be written is named together with
//! the operation that failed. We run as root in CI, where a read-only
//! `chmod` stops nothing, so permission errors are injected through the
//! storage seam at each operation of opening an existing directory and of
//! a push and a compaction.

mod common;

use anomalyzer_store::{FaultKind, SimStorage, StoreOptions};
use common::*;

fn message_for_failure_at(setup: impl Fn(&SimStorage), k: u64) -> Option<String> {
    let sim = SimStorage::new();
    setup(&sim);
    sim.fail_nth_op(k, FaultKind::PermissionDenied);
    let options = StoreOptions::default().snapshot_interval(2);
    let mut d = match open_sim(&sim, None, options) {
        Ok(d) => d,
        Err(e) => return Some(e.to_string()),
    };
    for x in [1.0, 2.0] {
        if let Err(e) = d.push(x) {
            return Some(e.to_string());
        }
        if let Some(e) = d.manager().last_compaction_error() {
            return Some(e.to_owned());
        }
    }
    None
}

#[test]
fn every_failed_operation_names_itself_and_the_file_once() {
    let setup = |sim: &SimStorage| {
        let mut d = open_sim(sim, Some(conf()), StoreOptions::default()).unwrap();
        d.push(0.5).unwrap();
        drop(d);
        // A torn tail, so opening also truncates and fsyncs.
        let mut wal = sim.read(&sim_file(anomalyzer_store::WAL_FILE)).unwrap();
        wal.extend_from_slice(&[1, 2, 3]);
        sim.write_durable(&sim_file(anomalyzer_store::WAL_FILE), &wal);
    };
    let mut seen = Vec::new();
    for k in 1..=16 {
        let Some(msg) = message_for_failure_at(setup, k) else {
            continue;
        };
        assert!(msg.starts_with("cannot "), "op {k}: {msg}");
        assert!(msg.contains("/state"), "op {k}: names the file: {msg}");
        assert_eq!(
            msg.matches("Permission denied").count(),
            1,
            "op {k}: the OS error once: {msg}"
        );
        let op = msg["cannot ".len()..]
            .split(" /state")
            .next()
            .unwrap()
            .to_owned();
        seen.push(op);
    }
    for op in [
        "open for appending",
        "truncate the torn tail of",
        "fsync",
        "append to",
        "create",
        "rename snapshot into",
        "rename the next log into",
        "fsync directory",
    ] {
        assert!(seen.iter().any(|s| s == op), "{op:?} not among {seen:?}");
    }
}
