//! Fault injection through the storage seam for a series set: a workload
//! of requests over several series (creations, incremental snapshots in
//! slices of two series, an explicit snapshot, a shutdown and reopen) is
//! crashed after every single file operation, then recovered after a
//! process crash, a power cut, and a power cut that tears un-synced
//! writes. Every acknowledged point must be there exactly once; of the
//! request in flight at the crash, at most a prefix of its points may be
//! there; and every series' next score must be the one a detector that
//! never crashed gives.

mod common;

use std::path::Path;
use std::sync::Arc;

use anomalyzer_store::{
    IncomingPoint, PointFate, PowerLoss, SeriesIdentity, SeriesSet, SeriesSetOptions, SimStorage,
};
use anomalyzer_ts::Anomalyzer;
use common::{conf, values};

const SERIES: usize = 5;
const REQUESTS: usize = 14;

fn identity(s: usize) -> SeriesIdentity {
    SeriesIdentity::new("disk", &[("dev".into(), format!("sd{s}"))]).unwrap()
}

fn options() -> SeriesSetOptions {
    let mut o = SeriesSetOptions::with_conf(conf());
    o.snapshot_after_records = 6;
    o.snapshot_slice = 2;
    o
}

fn open(sim: &SimStorage) -> anomalyzer_store::Result<SeriesSet> {
    SeriesSet::open_in(Arc::new(sim.clone()), Path::new("/state"), options()).map(|(s, _)| s)
}

/// Request `r`: three points over series `2r, 2r+1, 2r+2` (mod SERIES),
/// timestamps increasing.
fn request(r: usize, stream: &[f64]) -> Vec<(usize, i64, f64)> {
    (0..3)
        .map(|j| {
            let s = (2 * r + j) % SERIES;
            (
                s,
                (r * 10 + j) as i64 + 1,
                stream[(r * 3 + j) % stream.len()],
            )
        })
        .collect()
}

fn to_points(req: &[(usize, i64, f64)]) -> Vec<IncomingPoint> {
    req.iter()
        .map(|&(s, t, value)| IncomingPoint {
            series: identity(s),
            timestamp_ns: t,
            value,
        })
        .collect()
}

/// What the workload saw acknowledged per series, and the request that
/// failed (if one did).
struct Outcome {
    acked: Vec<Vec<f64>>,
    in_flight: Vec<Vec<f64>>,
}

fn workload(sim: &SimStorage, stream: &[f64]) -> Outcome {
    let mut out = Outcome {
        acked: vec![Vec::new(); SERIES],
        in_flight: vec![Vec::new(); SERIES],
    };
    let Ok(mut set) = open(sim) else {
        return out;
    };
    for r in 0..REQUESTS {
        if r == 5 && set.snapshot_now().is_err() {
            return out;
        }
        if r == 9 {
            if set.shutdown().is_err() {
                return out;
            }
            drop(set);
            match open(sim) {
                Ok(reopened) => set = reopened,
                Err(_) => return out,
            }
        }
        let req = request(r, stream);
        match set.apply_blocking(to_points(&req)) {
            Ok(fates) => {
                for (&(s, _, v), fate) in req.iter().zip(fates) {
                    assert!(matches!(fate, PointFate::Scored(_)), "{fate:?}");
                    out.acked[s].push(v);
                }
            }
            Err(_) => {
                for &(s, _, v) in &req {
                    out.in_flight[s].push(v);
                }
                return out;
            }
        }
    }
    out
}

#[test]
fn a_crash_after_every_operation_loses_and_duplicates_nothing() {
    let stream = values(21, 40);
    let dry = SimStorage::new();
    let full = workload(&dry, &stream);
    assert_eq!(full.acked.iter().map(Vec::len).sum::<usize>(), 3 * REQUESTS);
    // Incremental snapshots, the explicit one and the shutdown's each
    // started a log generation.
    let log = dry.read(Path::new("/state/anomalyzer.wal")).unwrap();
    let generation = u64::from_le_bytes(log[32..40].try_into().unwrap());
    assert!(generation >= 5, "generation {generation}");
    let total_ops = dry.op_count();
    assert!(total_ops > 80, "{total_ops}");

    let mut cases = 0;
    let mut crashed = 0;
    for k in 0..=total_ops + 2 {
        for mode in 0..3 {
            let sim = SimStorage::new();
            sim.crash_after_ops(k);
            let seen = workload(&sim, &stream);
            crashed += usize::from(sim.has_crashed());
            match mode {
                0 => sim.process_crash(),
                1 => sim.power_loss(PowerLoss::DropUnsynced),
                _ => sim.power_loss(PowerLoss::TornUnsynced { seed: k }),
            }
            let what = format!("crash after op {k}, recovery mode {mode}");
            let (set, _) =
                SeriesSet::open_in(Arc::new(sim.clone()), Path::new("/state"), options())
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
            let mut next = Vec::new();
            let mut bare = Vec::new();
            for s in 0..SERIES {
                let n = set.with_series(&identity(s), |v| v.points()).unwrap_or(0) as usize;
                let acked = &seen.acked[s];
                let extra = n.checked_sub(acked.len()).unwrap_or_else(|| {
                    panic!(
                        "{what}: series {s} has {n} points, {} acknowledged",
                        acked.len()
                    )
                });
                assert!(
                    extra <= seen.in_flight[s].len(),
                    "{what}: series {s} has {extra} points beyond the acknowledged ones"
                );
                let mut expected = acked.clone();
                expected.extend_from_slice(&seen.in_flight[s][..extra]);
                let mut d = Anomalyzer::new(conf(), &[]).unwrap();
                let mut last = None;
                for &x in &expected {
                    last = Some(d.push(x).unwrap());
                }
                let got_last = set.with_series(&identity(s), |v| v.last().map(|l| l.1));
                assert_eq!(
                    got_last.flatten().map(f64::to_bits),
                    last.map(f64::to_bits),
                    "{what}: series {s} last score"
                );
                next.push(IncomingPoint {
                    series: identity(s),
                    timestamp_ns: 1_000_000,
                    value: 77.0 + s as f64,
                });
                bare.push(d.push(77.0 + s as f64).unwrap());
            }
            let fates = set
                .apply_blocking(next)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            for (s, (fate, want)) in fates.iter().zip(&bare).enumerate() {
                assert_eq!(
                    *fate,
                    PointFate::Scored(*want),
                    "{what}: series {s} next score"
                );
            }
            set.shutdown()
                .unwrap_or_else(|e| panic!("{what}: shutdown: {e}"));
            cases += 1;
        }
    }
    assert!(crashed > 3 * total_ops as usize / 2, "{crashed} crashes");
    println!(
        "crash points: {} operations x 3 recoveries = {cases} cases",
        total_ops + 3
    );
}
