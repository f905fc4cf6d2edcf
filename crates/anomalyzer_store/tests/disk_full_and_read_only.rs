//! A disk that fills up at every possible point of a workload (appends
//! write what fits, then fail with ENOSPC), and a read-only file system:
//! clear errors, the detector unchanged by a failed push, and nothing
//! acknowledged lost once space is back.

mod common;

use anomalyzer_store::{Error, FaultKind, PowerLoss, SimStorage, StoreOptions};
use common::*;

fn raw_os_error(e: &Error) -> Option<i32> {
    match e {
        Error::Io { source, .. } => source.raw_os_error(),
        _ => None,
    }
}

#[test]
fn disk_full_at_every_byte_budget_loses_nothing_acknowledged() {
    let conf = conf();
    let values = values(16, 30);
    let options = StoreOptions::default().snapshot_interval(5);
    let base = {
        let sim = SimStorage::new();
        drop(open_sim(&sim, Some(conf.clone()), options).unwrap());
        sim.used_bytes()
    };
    let mut cases = 0;
    let mut full_errors = 0;
    for budget in (base..base + 1_200).step_by(5) {
        let sim = SimStorage::new();
        sim.set_capacity(Some(budget));
        let mut d = open_sim(&sim, Some(conf.clone()), options).unwrap();
        let mut acked = Vec::new();
        for &x in &values {
            let before = d.detector().clone();
            match d.push(x) {
                Ok(_) => acked.push(x),
                Err(e) => {
                    assert_eq!(raw_os_error(&e), Some(28), "budget {budget}: {e}");
                    assert!(e.to_string().contains("append to"), "{e}");
                    assert_eq!(
                        d.detector(),
                        &before,
                        "budget {budget}: failed push applied"
                    );
                    full_errors += 1;
                }
            }
        }
        drop(d);
        sim.power_loss(PowerLoss::DropUnsynced);
        sim.set_capacity(None);
        let mut d =
            open_sim(&sim, None, options).unwrap_or_else(|e| panic!("budget {budget}: {e}"));
        assert_same_state(&mut d, &conf, &acked, &format!("budget {budget}"));
        cases += 1;
    }
    assert!(full_errors > 0);
    println!("disk-full budgets: {cases}, pushes refused with ENOSPC: {full_errors}");
}

#[test]
fn read_only_file_system_gives_clear_errors_and_keeps_state() {
    let conf = conf();
    let values = values(17, 8);
    let sim = SimStorage::new();
    let mut d = open_sim(&sim, Some(conf.clone()), StoreOptions::default()).unwrap();
    for &x in &values[..5] {
        d.push(x).unwrap();
    }
    sim.set_read_only(true);
    let before = d.detector().clone();
    let err = d.push(values[5]).unwrap_err();
    assert_eq!(raw_os_error(&err), Some(30), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("read-only"),
        "{err}"
    );
    assert_eq!(d.detector(), &before);
    assert!(d.compact().is_err());
    // Reading still works, and a second writer is refused clearly.
    let status = anomalyzer_store::inspect_in(&sim, &sim_dir()).unwrap();
    assert_eq!(status.report.last_lsn, 5);
    drop(d);
    let err = open_sim(&sim, None, StoreOptions::default()).unwrap_err();
    assert_eq!(raw_os_error(&err), Some(30), "{err}");
    sim.set_read_only(false);
    let mut d = open_sim(&sim, None, StoreOptions::default()).unwrap();
    for &x in &values[5..] {
        d.push(x).unwrap();
    }
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);
    let mut d = open_sim(&sim, None, StoreOptions::default()).unwrap();
    assert_same_state(&mut d, &conf, &values, "after read-only period");
}

#[test]
fn permission_denied_at_open_is_a_clear_error() {
    let sim = SimStorage::new();
    sim.fail_nth_op(1, FaultKind::PermissionDenied);
    let err = open_sim(&sim, Some(conf()), StoreOptions::default()).unwrap_err();
    assert_eq!(raw_os_error(&err), Some(13), "{err}");
    assert!(
        err.to_string().contains("/state"),
        "names the directory: {err}"
    );
}
