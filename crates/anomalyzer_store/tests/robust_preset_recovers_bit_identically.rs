//! A detector with robust tests (issue 11's preset) keeps its histories in
//! the snapshot's detector-state field: stopped at any point (a process
//! crash or a power cut after synced pushes), reopened from snapshot and
//! log, it gives the same probabilities, bit for bit, as one that never
//! stopped, and its whole state equals that detector's. Under salvage, a
//! lost push still counts and the robust state stays usable.

mod common;

use anomalyzer_store::{
    PowerLoss, RecoveryMode, SimStorage, StoreOptions, SyncPolicy, SNAPSHOT_FILE, WAL_FILE,
};
use anomalyzer_ts::{AnomalyzerConf, Preset, RobustParams};
use common::*;

/// The preset's tests with histories small enough to fill within the
/// stream: every split point exercises full and partly full histories.
fn small_robust() -> AnomalyzerConf {
    let p = RobustParams {
        reference: 8,
        shift_span: 3,
        slow_span: 4,
        slow_reference: 8,
        period: 6,
        period_seasons: 2,
        period_slack: 1,
        likelihood_history: 30,
        warmup: 3,
        alert_hold: 5,
        alert_rise: 0.8,
    };
    AnomalyzerConf::preset(Preset::Robust)
        .to_builder()
        .robust(p)
        .build()
        .unwrap()
}

/// The detector-state length announced by the snapshot's only section.
fn state_len(sim: &SimStorage) -> u32 {
    let snap = sim.read(&sim_file(SNAPSHOT_FILE)).unwrap();
    // The state length is bytes 44..48 of the section header.
    let at = SNAP_HEADER + 44;
    u32::from_le_bytes(snap[at..at + 4].try_into().unwrap())
}

/// Pushes `values[..split]`, stops the process (or cuts the power),
/// reopens and pushes the rest; every probability must equal `want`'s.
fn run_split(conf: &AnomalyzerConf, values: &[f64], want: &[u64], split: usize, interval: u64) {
    let sim = SimStorage::new();
    let options = StoreOptions::default()
        .snapshot_interval(interval)
        .sync(SyncPolicy::Always);
    let mut d = open_sim(&sim, Some(conf.clone()), options).unwrap();
    for (i, &x) in values[..split].iter().enumerate() {
        assert_eq!(
            d.push(x).unwrap().to_bits(),
            want[i],
            "split {split}: push {i}"
        );
    }
    drop(d);
    // Every push was synced: a power cut loses nothing either.
    if split.is_multiple_of(2) {
        sim.process_crash();
    } else {
        sim.power_loss(PowerLoss::DropUnsynced);
    }
    let mut d = open_sim(&sim, None, options).unwrap();
    let reference = reference_detector(conf, &values[..split]);
    assert_eq!(
        d.detector().state(),
        reference.state(),
        "split {split}, interval {interval}: recovered state"
    );
    for (i, &x) in values.iter().enumerate().skip(split) {
        assert_eq!(
            d.push(x).unwrap().to_bits(),
            want[i],
            "split {split}: push {i}"
        );
    }
}

#[test]
fn every_split_point_of_a_seeded_stream_continues_bit_identically() {
    let conf = small_robust();
    let values = values(11, 120);
    let want = reference(&conf, &values);
    assert!(
        want.iter().any(|&p| f64::from_bits(p) > 0.0),
        "the stream must get past warm-up to test anything"
    );
    for split in 0..=values.len() {
        // Snapshots after every push, now and then, and never (log only).
        let interval = [1, 7, 1000][split % 3];
        run_split(&conf, &values, &want, split, interval);
    }
}

#[test]
fn the_snapshot_holds_the_histories_not_only_the_window() {
    let conf = small_robust();
    let values = values(5, 60);
    let sim = SimStorage::new();
    let options = StoreOptions::default().snapshot_interval(1000);
    let mut d = open_sim(&sim, Some(conf.clone()), options).unwrap();
    for &x in &values {
        d.push(x).unwrap();
    }
    d.compact().unwrap();
    drop(d);
    // tag, history 14 values, 4 tests each with ≤ 30 statistics, ≤ 5 scores.
    let len = state_len(&sim);
    assert!(len > 1 + 4 + 8 * 14, "{len} bytes of detector state");
    // With no log after it, the snapshot alone restores the detector.
    let d = open_sim(&sim, None, options).unwrap();
    assert_eq!(d.recovery_report().replayed, 0);
    assert_eq!(
        d.detector().state(),
        reference_detector(&conf, &values).state()
    );
}

#[test]
fn the_preset_itself_recovers_at_a_few_split_points() {
    let conf = AnomalyzerConf::preset(Preset::Robust);
    // Past the preset's 2307 values of history, so every ring is full.
    let values = values(3, 2600);
    let want = reference(&conf, &values);
    for (split, interval) in [(1, 500), (777, 500), (2401, 1000)] {
        run_split(&conf, &values, &want, split, interval);
    }
}

#[test]
fn a_go_configuration_writes_no_detector_state() {
    let sim = SimStorage::new();
    let mut d = open_sim(&sim, Some(conf()), StoreOptions::default()).unwrap();
    for x in values(1, 20) {
        d.push(x).unwrap();
    }
    d.compact().unwrap();
    assert_eq!(state_len(&sim), 0);
    // A fresh robust directory's first snapshot already holds the (empty)
    // robust state, so it is never mistaken for a Go one.
    let sim = SimStorage::new();
    let d = open_sim(&sim, Some(small_robust()), StoreOptions::default()).unwrap();
    assert_eq!(d.detector().push_count(), 0);
    assert_eq!(state_len(&sim), 1 + 4 + 4 + 4 * 4 + 4);
}

#[test]
fn salvage_counts_lost_pushes_and_keeps_the_robust_state_usable() {
    let conf = small_robust();
    let values = values(8, 10);
    let sim = SimStorage::new();
    let options = StoreOptions::default().snapshot_interval(1000);
    let mut d = open_sim(&sim, Some(conf.clone()), options).unwrap();
    for &x in &values {
        d.push(x).unwrap();
    }
    drop(d);
    sim.process_crash();
    // Damage the payload of the fifth record (LSN 5).
    let mut wal = sim.read(&sim_file(WAL_FILE)).unwrap();
    wal[WAL_HEADER + 4 * PUSH_RECORD + 24] ^= 0xff;
    sim.write_durable(&sim_file(WAL_FILE), &wal);
    let salvage = options.recovery(RecoveryMode::Salvage);
    let mut d = open_sim(&sim, None, salvage).unwrap();
    assert_eq!(d.recovery_report().lost_pushes, 1);
    // The lost push counts; its value is missing from every history.
    let state = d.detector().state();
    assert_eq!(state.push_count, 10);
    let kept: Vec<f64> = [&values[..4], &values[5..]].concat();
    assert_eq!(state.robust.as_ref().unwrap().history, kept);
    let next = d.push(12.5).unwrap();
    assert!((0.0..=1.0).contains(&next));
    let after = d.detector().state();
    drop(d);
    sim.process_crash();
    // Salvage wrote the repaired state as a snapshot: it reopens as is.
    let d = open_sim(&sim, None, options).unwrap();
    assert_eq!(d.detector().state(), after);
}
