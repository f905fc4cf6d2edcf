//! Fault injection through the storage seam: a workload of creation,
//! pushes, automatic and explicit compactions and a reopen is crashed after
//! every single file operation (so at every step of every compaction: after
//! the staging write, its fsync, the rename, the directory fsync, the log
//! truncation and its fsync), then recovered after a process crash, a power
//! cut, and a power cut that tears un-synced writes. Every acknowledged push
//! must be there exactly once, and the detector must continue exactly.

mod common;

use anomalyzer_store::{Error, PowerLoss, SimStorage, StoreOptions};
use common::*;

const N: usize = 15;

/// Runs the workload until the first error; returns the values whose push
/// was acknowledged and whether the crash hit.
fn workload(sim: &SimStorage, values: &[f64]) -> Vec<f64> {
    let options = StoreOptions::default().snapshot_interval(4);
    let mut acked = Vec::new();
    let Ok(mut d) = open_sim(sim, Some(conf()), options) else {
        return acked;
    };
    for (i, &x) in values.iter().enumerate() {
        if i == 9 && d.compact().is_err() {
            return acked;
        }
        if i == 12 {
            drop(d);
            match open_sim(sim, None, options) {
                Ok(reopened) => d = reopened,
                Err(_) => return acked,
            }
        }
        match d.push(x) {
            Ok(_) => acked.push(x),
            Err(_) => return acked,
        }
    }
    acked
}

#[test]
fn crash_after_every_operation_loses_and_duplicates_nothing() {
    let conf = conf();
    let values = values(13, N);
    let dry = SimStorage::new();
    assert_eq!(workload(&dry, &values).len(), N);
    let total_ops = dry.op_count();
    assert!(total_ops > 60, "{total_ops}");

    let mut cases = 0;
    for k in 0..=total_ops {
        for mode in 0..3 {
            let sim = SimStorage::new();
            sim.crash_after_ops(k);
            let acked = workload(&sim, &values);
            assert!(
                k == total_ops || sim.has_crashed(),
                "op {k}: crash did not happen"
            );
            match mode {
                0 => sim.process_crash(),
                1 => sim.power_loss(PowerLoss::DropUnsynced),
                _ => sim.power_loss(PowerLoss::TornUnsynced { seed: k }),
            }
            let what = format!("crash after op {k}, recovery mode {mode}");
            // A reader sees what the writer will recover (also in the
            // window between a snapshot's rename and the next log's).
            let seen = anomalyzer_store::inspect_in(&sim, &sim_dir());
            let mut d = open_sim(&sim, Some(conf.clone()), StoreOptions::default())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let n = d.lsn() as usize;
            match seen {
                Ok(status) => assert_eq!(status.report.last_lsn, n as u64, "{what}: inspect"),
                Err(e) => assert!(
                    n == 0 && matches!(e, Error::NoState { .. } | Error::MissingDirectory { .. }),
                    "{what}: inspect: {e}"
                ),
            }
            // The writer always ends up on the log its snapshot expects.
            let generations = anomalyzer_store::inspect_in(&sim, &sim_dir()).unwrap();
            assert_eq!(
                generations.report.wal_generation,
                d.manager().wal_generation(),
                "{what}"
            );
            // Everything acknowledged is there; at most the one push in
            // flight when the crash hit may be there too.
            assert!(
                n == acked.len() || n == acked.len() + 1,
                "{what}: {n} recovered, {} acknowledged",
                acked.len()
            );
            assert_same_state(&mut d, &conf, &values[..n], &what);
            cases += 1;
        }
    }
    println!(
        "crash points: {} operations x 3 recoveries = {cases} cases",
        total_ops + 1
    );
}
