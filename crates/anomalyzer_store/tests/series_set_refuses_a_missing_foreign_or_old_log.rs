//! A series set refuses to open on a log that cannot be the one its
//! snapshot expects (missing, from another directory, two generations
//! old) instead of silently starting over, and a second writer is locked
//! out.

mod common;

use std::path::Path;
use std::sync::Arc;

use anomalyzer_store::{
    Error, IncomingPoint, SeriesIdentity, SeriesSet, SeriesSetOptions, SimStorage,
};

const WAL: &str = "/state/anomalyzer.wal";

fn open(sim: &SimStorage) -> anomalyzer_store::Result<SeriesSet> {
    let options = SeriesSetOptions::with_conf(common::conf());
    SeriesSet::open_in(Arc::new(sim.clone()), Path::new("/state"), options).map(|(s, _)| s)
}

fn push(set: &SeriesSet, t: i64) {
    set.apply_blocking(vec![IncomingPoint {
        series: SeriesIdentity::new("cpu", &[]).unwrap(),
        timestamp_ns: t,
        value: t as f64,
    }])
    .unwrap();
}

/// A directory with a snapshot and a few records after it.
fn written() -> SimStorage {
    let sim = SimStorage::new();
    let set = open(&sim).unwrap();
    push(&set, 1);
    set.snapshot_now().unwrap();
    push(&set, 2);
    set.shutdown().unwrap();
    sim
}

#[test]
fn a_missing_log_is_refused() {
    let sim = written();
    sim.remove_durable(Path::new(WAL));
    let err = open(&sim).unwrap_err();
    assert!(matches!(err, Error::LogMismatch { .. }), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn another_directorys_log_is_refused() {
    let a = written();
    // A second directory on the same disk draws another id.
    let options = SeriesSetOptions::with_conf(common::conf());
    let (b, _) = SeriesSet::open_in(Arc::new(a.clone()), Path::new("/other"), options).unwrap();
    push(&b, 1);
    b.shutdown().unwrap();
    a.write_durable(
        Path::new(WAL),
        &a.read(Path::new("/other/anomalyzer.wal")).unwrap(),
    );
    let err = open(&a).unwrap_err();
    assert!(matches!(err, Error::ForeignFile { .. }), "{err}");
}

#[test]
fn a_log_two_generations_old_is_refused() {
    let sim = written();
    let old = sim.read(Path::new(WAL)).unwrap();
    let set = open(&sim).unwrap();
    push(&set, 3);
    set.snapshot_now().unwrap();
    set.shutdown().unwrap();
    drop(set);
    sim.write_durable(Path::new(WAL), &old);
    let err = open(&sim).unwrap_err();
    assert!(matches!(err, Error::LogMismatch { .. }), "{err}");
    assert!(err.to_string().contains("generation"), "{err}");
}

#[test]
fn a_second_writer_is_locked_out() {
    let sim = SimStorage::new();
    let first = open(&sim).unwrap();
    let err = open(&sim).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    first.shutdown().unwrap();
    drop(first);
    assert!(open(&sim).is_ok());
}
