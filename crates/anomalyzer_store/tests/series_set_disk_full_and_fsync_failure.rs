//! A full disk fails a series set's requests with `Unavailable`, cuts the
//! log back and applies nothing; requests succeed again once space
//! returns. A failed fsync poisons the set: every later request fails
//! until a restart, which recovers everything acknowledged.

mod common;

use std::path::Path;
use std::sync::Arc;

use anomalyzer_store::{
    Error, FaultKind, IncomingPoint, PointFate, SeriesIdentity, SeriesSet, SeriesSetOptions,
    SimStorage,
};
use anomalyzer_ts::Anomalyzer;
use common::conf;

const WAL: &str = "/state/anomalyzer.wal";

fn open(sim: &SimStorage) -> SeriesSet {
    let mut options = SeriesSetOptions::with_conf(conf());
    options.snapshot_after_records = u64::MAX;
    SeriesSet::open_in(Arc::new(sim.clone()), Path::new("/state"), options)
        .unwrap()
        .0
}

fn batch(t: i64) -> Vec<IncomingPoint> {
    (0..3)
        .map(|s| IncomingPoint {
            series: SeriesIdentity::new(&format!("s{s}"), &[]).unwrap(),
            timestamp_ns: t,
            value: (t % 7) as f64 + s as f64,
        })
        .collect()
}

fn points(set: &SeriesSet, s: usize) -> u64 {
    set.with_series(&SeriesIdentity::new(&format!("s{s}"), &[]).unwrap(), |v| {
        v.points()
    })
    .unwrap_or(0)
}

#[test]
fn a_full_disk_fails_requests_whole_until_space_returns() {
    let sim = SimStorage::new();
    let set = open(&sim);
    let mut bare: Vec<Anomalyzer> = (0..3)
        .map(|_| Anomalyzer::new(conf(), &[]).unwrap())
        .collect();
    let mut t = 0;
    let check = |set: &SeriesSet, t: i64, bare: &mut [Anomalyzer]| {
        let fates = set.apply_blocking(batch(t)).unwrap();
        for (s, fate) in fates.into_iter().enumerate() {
            let want = bare[s].push((t % 7) as f64 + s as f64).unwrap();
            assert_eq!(fate, PointFate::Scored(want), "t {t}, series {s}");
        }
    };
    for _ in 0..4 {
        t += 1;
        check(&set, t, &mut bare);
    }
    let log_len = sim.read(Path::new(WAL)).unwrap().len();
    // Room for part of a request: the write is torn by ENOSPC and cut back.
    sim.set_capacity(Some(sim.used_bytes() + 50));
    for _ in 0..2 {
        t += 1;
        let err = set.apply_blocking(batch(t)).unwrap_err();
        assert!(matches!(err, Error::Unavailable { .. }), "{err}");
        assert!(err.to_string().contains("anomalyzer.wal"), "{err}");
        assert_eq!(sim.read(Path::new(WAL)).unwrap().len(), log_len);
        assert_eq!(points(&set, 0), 4, "nothing of a failed request is applied");
    }
    assert!(set.poisoned().is_none());
    sim.set_capacity(None);
    for _ in 0..3 {
        t += 1;
        check(&set, t, &mut bare);
    }
    set.shutdown().unwrap();
    drop(set);
    let set = open(&sim);
    assert_eq!(points(&set, 2), 7);
    t += 1;
    check(&set, t, &mut bare);
}

#[test]
fn a_failed_fsync_poisons_the_set_until_a_restart() {
    let sim = SimStorage::new();
    let set = open(&sim);
    set.apply_blocking(batch(1)).unwrap();
    // The next group's write succeeds, its fsync fails.
    sim.fail_nth_op(2, FaultKind::Io);
    let err = set.apply_blocking(batch(2)).unwrap_err();
    assert!(matches!(err, Error::Poisoned { .. }), "{err}");
    assert_eq!(points(&set, 0), 1, "nothing unsynced is applied");
    let later = set.apply_blocking(batch(3)).unwrap_err();
    assert!(matches!(later, Error::Poisoned { .. }), "{later}");
    assert!(set.poisoned().unwrap().contains("fsync"));
    assert!(set.shutdown().is_err());
    drop(set);
    sim.process_crash();
    let set = open(&sim);
    // The acknowledged point is there; the unacknowledged one may be.
    let n = points(&set, 0);
    assert!(n == 1 || n == 2, "{n}");
    assert!(set.apply_blocking(batch(10)).is_ok());
}

#[test]
fn a_failed_write_is_refused_without_poisoning() {
    let sim = SimStorage::new();
    let set = open(&sim);
    set.apply_blocking(batch(1)).unwrap();
    sim.fail_nth_op(1, FaultKind::Io);
    let err = set.apply_blocking(batch(2)).unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert!(set.poisoned().is_none());
    let fates = set.apply_blocking(batch(2)).unwrap();
    assert!(fates.iter().all(|f| matches!(f, PointFate::Scored(_))));
    assert_eq!(points(&set, 1), 2);
}
