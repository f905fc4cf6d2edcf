//! Defect 5 of the seed: `rename` was not followed by an fsync of the
//! directory, so a new snapshot (and with it the truncation of the log)
//! might not survive a power cut. The simulated disk forgets every directory
//! entry that was not synced; every push acknowledged before the cut must
//! still be there.

mod common;

use anomalyzer_store::{PowerLoss, SimStorage, StoreOptions};
use common::*;

#[test]
fn compactions_and_new_files_survive_power_loss() {
    let conf = conf();
    let values = values(6, 40);
    let sim = SimStorage::new();
    let options = StoreOptions::default().snapshot_interval(7);
    let mut d = open_sim(&sim, Some(conf.clone()), options).unwrap();
    d.push(values[0]).unwrap();
    drop(d);
    // The directory, snapshot and log were just created: all must survive.
    sim.power_loss(PowerLoss::DropUnsynced);
    let mut d = open_sim(&sim, None, options).unwrap();
    assert_eq!(d.lsn(), 1);
    for (i, &x) in values.iter().enumerate().skip(1) {
        d.push(x).unwrap();
        if i % 9 == 0 {
            // Power cut right after several compactions (interval 7).
            drop(d);
            sim.power_loss(PowerLoss::DropUnsynced);
            d = open_sim(&sim, None, options).unwrap();
            assert_eq!(d.lsn(), i as u64 + 1, "after power loss at push {i}");
        }
    }
    drop(d);
    sim.power_loss(PowerLoss::DropUnsynced);
    let mut d = open_sim(&sim, None, options).unwrap();
    assert_same_state(
        &mut d,
        &conf,
        &values,
        "after power losses around compactions",
    );
}
