//! Many series fed concurrently through one series set (group commit,
//! incremental snapshots in small slices, restarts) score exactly like one
//! bare detector per series fed that series' accepted values in order.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use anomalyzer_store::{IncomingPoint, PointFate, SeriesIdentity, SeriesSet, SeriesSetOptions};
use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Preset};
use common::{conf, values};

const SERIES: usize = 24;
const THREADS: usize = 4;

fn identity(i: usize) -> SeriesIdentity {
    let labels = vec![
        ("host".to_string(), format!("h{}", i % 5)),
        ("job".to_string(), format!("j{i}")),
    ];
    SeriesIdentity::new("load", &labels).unwrap()
}

/// Series 0, 3, 6 ... get the robust preset, the others `conf()`.
fn options() -> SeriesSetOptions {
    let plain = Arc::new(conf());
    let robust = Arc::new(AnomalyzerConf::preset(Preset::Robust));
    let mut o = SeriesSetOptions::new(Arc::new(move |id: &SeriesIdentity| {
        let job: usize = id.labels().nth(1).unwrap().1[1..].parse().unwrap();
        if job.is_multiple_of(3) {
            Arc::clone(&robust)
        } else {
            Arc::clone(&plain)
        }
    }));
    o.snapshot_after_records = 60;
    o.snapshot_slice = 5;
    o
}

fn conf_of(i: usize) -> AnomalyzerConf {
    if i.is_multiple_of(3) {
        AnomalyzerConf::preset(Preset::Robust)
    } else {
        conf()
    }
}

/// Each thread owns the series `t, t + THREADS, ...` and sends batches of
/// a few points over several of them; returns the probabilities (bits)
/// per series in order.
fn feed(set: &SeriesSet, round: usize, per_series: usize) -> HashMap<usize, Vec<u64>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    let mine: Vec<usize> = (t..SERIES).step_by(THREADS).collect();
                    let streams: Vec<Vec<f64>> = mine
                        .iter()
                        .map(|&i| values((round * 1000 + i) as u64, per_series))
                        .collect();
                    let mut out: HashMap<usize, Vec<u64>> = HashMap::new();
                    for step in 0..per_series {
                        let batch: Vec<IncomingPoint> = mine
                            .iter()
                            .zip(&streams)
                            .map(|(&i, v)| IncomingPoint {
                                series: identity(i),
                                timestamp_ns: ((round * per_series + step) as i64 + 1) * 1000,
                                value: v[step],
                            })
                            .collect();
                        let fates = set.apply_blocking(batch).unwrap();
                        for (&i, fate) in mine.iter().zip(fates) {
                            let PointFate::Scored(p) = fate else {
                                panic!("series {i} step {step}: {fate:?}");
                            };
                            out.entry(i).or_default().push(p.to_bits());
                        }
                    }
                    out
                })
            })
            .collect();
        let mut all = HashMap::new();
        for h in handles {
            all.extend(h.join().unwrap());
        }
        all
    })
}

#[test]
fn interleaved_series_score_like_bare_detectors_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let per_round = 30;
    let mut bare: Vec<Anomalyzer> = (0..SERIES)
        .map(|i| Anomalyzer::new(conf_of(i), &[]).unwrap())
        .collect();
    for round in 0..3 {
        let (set, recovery) = SeriesSet::open(dir.path(), options()).unwrap();
        assert_eq!(recovery.series, if round == 0 { 0 } else { SERIES as u64 });
        let got = feed(&set, round, per_round);
        for (i, detector) in bare.iter_mut().enumerate() {
            let want: Vec<u64> = values((round * 1000 + i) as u64, per_round)
                .iter()
                .map(|&x| detector.push(x).unwrap().to_bits())
                .collect();
            assert_eq!(got[&i], want, "round {round}, series {i}");
            let (points, last, explained) = set
                .with_series(&identity(i), |s| (s.points(), s.last(), s.explain()))
                .unwrap();
            assert_eq!(points, ((round + 1) * per_round) as u64);
            assert_eq!(last.unwrap().1.to_bits(), *want.last().unwrap());
            assert_eq!(explained.unwrap(), detector.explain());
        }
        let stats = set.stats();
        assert!(stats.snapshots > 0, "{stats:?}");
        assert_eq!(stats.durable_lsn, stats.last_lsn);
        if round == 1 {
            set.snapshot_now().unwrap();
        }
        set.shutdown().unwrap();
    }
}

#[test]
fn out_of_order_points_are_rejected_alone_and_the_limit_refuses_whole_requests() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = SeriesSetOptions::with_conf(conf());
    options.max_series = 2;
    let (set, _) = SeriesSet::open(dir.path(), options.clone()).unwrap();
    let p = |i: usize, t: i64| IncomingPoint {
        series: identity(i),
        timestamp_ns: t,
        value: 1.0 + t as f64,
    };
    let fates = set
        .apply_blocking(vec![p(0, 10), p(0, 10), p(0, 9), p(1, 5), p(0, 11)])
        .unwrap();
    assert!(matches!(
        fates[..],
        [
            PointFate::Scored(_),
            PointFate::OutOfOrder,
            PointFate::OutOfOrder,
            PointFate::Scored(_),
            PointFate::Scored(_)
        ]
    ));
    // A third series is refused, and the whole request with it.
    let err = set.apply_blocking(vec![p(0, 12), p(2, 1)]).unwrap_err();
    assert!(
        matches!(&err, anomalyzer_store::Error::TooManySeries { limit: 2, series } if series.contains("j2")),
        "{err}"
    );
    assert_eq!(set.with_series(&identity(0), |s| s.points()), Some(2));
    // The store's own last timestamp counts across requests.
    let fates = set.apply_blocking(vec![p(0, 11), p(0, 12)]).unwrap();
    assert!(matches!(
        fates[..],
        [PointFate::OutOfOrder, PointFate::Scored(_)]
    ));
    let bad = set.apply_blocking(vec![IncomingPoint {
        value: f64::NAN,
        ..p(0, 20)
    }]);
    assert!(matches!(bad, Err(anomalyzer_store::Error::InvalidValue(_))));
    set.shutdown().unwrap();
    assert!(set.shutdown().is_ok(), "shutdown is idempotent");
    assert!(matches!(
        set.apply_blocking(vec![p(0, 30)]),
        Err(anomalyzer_store::Error::ShutDown)
    ));
    drop(set);
    let (set, recovery) = SeriesSet::open(dir.path(), options).unwrap();
    assert_eq!(recovery.series, 2);
    assert_eq!(set.with_series(&identity(0), |s| s.points()), Some(3));
    assert_eq!(
        set.with_series(&identity(0), |s| s.last().map(|l| l.0)),
        Some(Some(12))
    );
}
