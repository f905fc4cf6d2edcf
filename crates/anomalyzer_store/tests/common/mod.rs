//! Shared by the scenario tests: a small configuration, a seeded value
//! stream, and a reference detector that never crashes.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anomalyzer_store::{DurableAnomalyzer, SimStorage, Storage, StoreOptions};
use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Method};
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// All seven tests, a window of 6, few permutations: fast but exercises
/// every code path that depends on the push count.
pub fn conf() -> AnomalyzerConf {
    AnomalyzerConf::builder()
        .methods(Method::ALL)
        .active_size(2)
        .n_seasons(2)
        .upper_bound(50.0)
        .perm_count(20)
        .sensitivity(0.0)
        .build()
        .unwrap()
}

/// A second configuration that differs from [`conf`] in `active_size`.
pub fn other_conf() -> AnomalyzerConf {
    conf().to_builder().active_size(3).build().unwrap()
}

/// `n` seeded values, mostly around 10 with occasional spikes.
pub fn values(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let r = rng.next_u64();
            let base = 10.0 + (r % 1000) as f64 / 250.0;
            if r % 17 == 0 {
                base * 4.0
            } else {
                base
            }
        })
        .collect()
}

/// Probabilities (as bits) an uninterrupted in-memory detector returns.
pub fn reference(conf: &AnomalyzerConf, values: &[f64]) -> Vec<u64> {
    let mut d = Anomalyzer::new(conf.clone(), &[]).unwrap();
    values
        .iter()
        .map(|&x| d.push(x).unwrap().to_bits())
        .collect()
}

/// The state an in-memory detector has after `values`.
pub fn reference_detector(conf: &AnomalyzerConf, values: &[f64]) -> Anomalyzer {
    let mut d = Anomalyzer::new(conf.clone(), &[]).unwrap();
    d.update(values).unwrap();
    d
}

/// Bytes of a version-2 log header (see `docs/format.md`).
pub const WAL_HEADER: usize = 56;
/// Bytes of a push record.
pub const PUSH_RECORD: usize = 32;
/// Bytes of a version-2 snapshot header.
pub const SNAP_HEADER: usize = 64;

/// The directory used inside a [`SimStorage`].
pub fn sim_dir() -> PathBuf {
    PathBuf::from("/state")
}

/// Opens the simulated directory.
pub fn open_sim(
    sim: &SimStorage,
    conf: Option<AnomalyzerConf>,
    options: StoreOptions,
) -> anomalyzer_store::Result<DurableAnomalyzer> {
    let storage: Arc<dyn Storage> = Arc::new(sim.clone());
    DurableAnomalyzer::open_in(storage, &sim_dir(), conf, options)
}

/// Asserts the durable detector is in exactly the state of an in-memory one
/// fed `values`: same push count, same window, and the same probabilities
/// for the next pushes.
pub fn assert_same_state(
    durable: &mut DurableAnomalyzer,
    conf: &AnomalyzerConf,
    values: &[f64],
    what: &str,
) {
    let mut reference = reference_detector(conf, values);
    assert_eq!(
        durable.detector().push_count(),
        values.len() as u64,
        "{what}: push count"
    );
    assert_eq!(durable.lsn(), values.len() as u64, "{what}: lsn");
    assert_eq!(
        durable
            .detector()
            .window()
            .map(f64::to_bits)
            .collect::<Vec<_>>(),
        reference.window().map(f64::to_bits).collect::<Vec<_>>(),
        "{what}: window"
    );
    for x in [11.0, 55.0, 9.5] {
        let got = durable.push(x).unwrap();
        let want = reference.push(x).unwrap();
        assert_eq!(
            got.to_bits(),
            want.to_bits(),
            "{what}: probability after recovery"
        );
    }
}

/// Path of a file of the simulated directory.
pub fn sim_file(name: &str) -> PathBuf {
    sim_dir().join(name)
}

/// Path of a file in a real directory.
pub fn file(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}
