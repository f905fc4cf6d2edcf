//! Opening a series set whose files were damaged (a flipped bit anywhere,
//! a cut at any length, seeded random garbage) never panics: it recovers
//! (a torn tail is cut) or refuses with an error naming the file, and
//! never replays a record that fails its checksum.

mod common;

use std::path::Path;
use std::sync::Arc;

use anomalyzer_store::{IncomingPoint, SeriesIdentity, SeriesSet, SeriesSetOptions, SimStorage};
use anomalyzer_ts::{AnomalyzerConf, Preset};
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

const SNAP: &str = "/state/anomalyzer.snap";
const WAL: &str = "/state/anomalyzer.wal";

fn options() -> SeriesSetOptions {
    let plain = Arc::new(common::conf());
    let robust = Arc::new(AnomalyzerConf::preset(Preset::Robust));
    SeriesSetOptions::new(Arc::new(move |id: &SeriesIdentity| {
        if id.name() == "robust" {
            Arc::clone(&robust)
        } else {
            Arc::clone(&plain)
        }
    }))
}

fn open(sim: &SimStorage) -> anomalyzer_store::Result<SeriesSet> {
    SeriesSet::open_in(Arc::new(sim.clone()), Path::new("/state"), options()).map(|(s, _)| s)
}

fn point(name: &str, t: i64) -> IncomingPoint {
    IncomingPoint {
        series: SeriesIdentity::new(name, &[("k".into(), "v".into())]).unwrap(),
        timestamp_ns: t,
        value: (t % 5) as f64,
    }
}

/// A directory with a snapshot of three series and a log with more
/// records (creations and pushes) after it.
fn sample() -> SimStorage {
    let sim = SimStorage::new();
    let set = open(&sim).unwrap();
    for t in 1..6 {
        set.apply_blocking(vec![point("a", t), point("robust", t), point("b", t)])
            .unwrap();
    }
    set.snapshot_now().unwrap();
    for t in 6..9 {
        set.apply_blocking(vec![point("a", t), point("c", t)])
            .unwrap();
    }
    // Leave without the shutdown snapshot: a process crash keeps the log.
    sim.crash_after_ops(0);
    drop(set);
    sim.process_crash();
    sim
}

/// A fresh simulated disk holding `base`'s two files, `path` replaced by
/// `bytes`.
fn with_file(base: &SimStorage, path: &str, bytes: &[u8]) -> SimStorage {
    let sim = SimStorage::new();
    for file in [SNAP, WAL] {
        let content = if file == path {
            bytes.to_vec()
        } else {
            base.read(Path::new(file)).unwrap()
        };
        sim.write_durable(Path::new(file), &content);
    }
    sim
}

fn try_open(sim: &SimStorage) {
    if let Ok(set) = open(sim) {
        // Whatever was recovered takes new points.
        let _ = set.apply_blocking(vec![point("a", 1_000)]);
        sim.crash_after_ops(0);
        drop(set);
        sim.process_crash();
    }
}

#[test]
fn every_bit_flip_and_cut_of_either_file_is_survived() {
    let base = sample();
    let intact = base.read(Path::new(WAL)).unwrap();
    let (_, recovery) = SeriesSet::open_in(
        Arc::new(with_file(&base, WAL, &intact)),
        Path::new("/state"),
        options(),
    )
    .unwrap();
    assert_eq!((recovery.series, recovery.sections), (4, 3), "{recovery}");
    assert!(recovery.records_replayed >= 7, "{recovery}");
    for path in [SNAP, WAL] {
        let bytes = base.read(Path::new(path)).unwrap();
        assert!(bytes.len() > 100, "{path}: {} bytes", bytes.len());
        for cut in 0..bytes.len() {
            try_open(&with_file(&base, path, &bytes[..cut]));
        }
        for bit in (0..bytes.len() * 8).step_by(7) {
            let mut bad = bytes.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            match open(&with_file(&base, path, &bad)) {
                Ok(set) => {
                    // A flip inside the last record may be taken for a torn
                    // tail; anything recovered must still be consistent.
                    let _ = set.apply_blocking(vec![point("a", 2_000)]);
                }
                Err(e) => assert!(
                    e.to_string().contains("anomalyzer."),
                    "{path} bit {bit}: {e}"
                ),
            }
        }
    }
}

#[test]
fn seeded_garbage_in_either_file_is_refused_or_cut() {
    let base = sample();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    for round in 0..300 {
        let path = if round % 2 == 0 { SNAP } else { WAL };
        let good = base.read(Path::new(path)).unwrap();
        let keep = (rng.next_u64() % good.len() as u64) as usize;
        let mut bytes = good[..keep].to_vec();
        for _ in 0..rng.next_u64() % 200 {
            bytes.push(rng.next_u64() as u8);
        }
        try_open(&with_file(&base, path, &bytes));
    }
}
