//! Group commit throughput of a series set: 16 requests of 1 000 points
//! each (over 100 000 series) in flight at once, as concurrent HTTP
//! handlers would queue them, under `Always` (one fsync per group) and
//! `Never`; and one request at a time under `Always` (no grouping: one
//! fsync per request), for comparison.
//!
//! Run: `cargo bench -p anomalyzer_store --bench group_commit -- --warm-up-time 1 --measurement-time 3`.
//! CI runs it once in test mode (`-- --test`).
//!
//! The detector is the service's default (the detector's defaults with
//! `active_size` 1), so the figures include scoring, as in the service.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use anomalyzer_store::{IncomingPoint, SeriesIdentity, SeriesSet, SeriesSetOptions, SyncPolicy};
use anomalyzer_ts::AnomalyzerConf;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const SERIES: u64 = 100_000;
const BATCH: u64 = 1_000;
const IN_FLIGHT: u64 = 16;

fn identity(i: u64) -> SeriesIdentity {
    SeriesIdentity::new("node_load1", &[("instance".into(), format!("host-{i}"))])
        .expect("valid identity")
}

/// A set with every series created, and the identities.
fn prepared(dir: &std::path::Path, sync: SyncPolicy) -> (SeriesSet, Vec<SeriesIdentity>) {
    let conf = AnomalyzerConf::builder()
        .active_size(1)
        .build()
        .expect("valid configuration");
    let mut options = SeriesSetOptions::with_conf(conf);
    options.sync = sync;
    let (set, _) = SeriesSet::open(dir, options).expect("open");
    let ids: Vec<SeriesIdentity> = (0..SERIES).map(identity).collect();
    for chunk in ids.chunks(BATCH as usize) {
        let points = chunk
            .iter()
            .map(|series| IncomingPoint {
                series: series.clone(),
                timestamp_ns: 0,
                value: 1.0,
            })
            .collect();
        set.apply_blocking(points).expect("create");
    }
    (set, ids)
}

/// Request `r` of round `t`: 1 000 series starting at a rotating offset,
/// all at timestamp `t` (each series appears once per round).
fn request(ids: &[SeriesIdentity], round: u64, r: u64) -> Vec<IncomingPoint> {
    let start = (r * BATCH + round * 7_919) % SERIES;
    (0..BATCH)
        .map(|k| {
            let i = ((start + k) % SERIES) as usize;
            IncomingPoint {
                series: ids[i].clone(),
                timestamp_ns: round as i64 + 1,
                value: ((round + k) % 23) as f64,
            }
        })
        .collect()
}

fn group_commit(c: &mut Criterion) {
    let mut g = c.benchmark_group("series_set");
    g.throughput(Throughput::Elements(IN_FLIGHT * BATCH));
    for (name, sync) in [("always", SyncPolicy::Always), ("never", SyncPolicy::Never)] {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
        let (set, ids) = prepared(dir.path(), sync);
        let mut round = 0u64;
        g.bench_function(BenchmarkId::new("16_requests_in_flight", name), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    // Requests of one round cover distinct series, so none is
                    // rejected as out of order.
                    let requests: Vec<_> =
                        (0..IN_FLIGHT).map(|r| request(&ids, round, r)).collect();
                    let (tx, rx) = mpsc::channel();
                    let started = Instant::now();
                    for points in requests {
                        let tx = tx.clone();
                        set.submit(points, Box::new(move |r| tx.send(r).expect("receiver")));
                    }
                    for _ in 0..IN_FLIGHT {
                        rx.recv().expect("completion").expect("applied");
                    }
                    total += started.elapsed();
                }
                total
            });
        });
        set.shutdown().expect("shutdown");
    }
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let (set, ids) = prepared(dir.path(), SyncPolicy::Always);
    let mut round = 0u64;
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function(BenchmarkId::new("one_request_at_a_time", "always"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let points = request(&ids, round, 0);
                let started = Instant::now();
                set.apply_blocking(points).expect("applied");
                total += started.elapsed();
            }
            total
        });
    });
    g.finish();
}

criterion_group!(benches, group_commit);
criterion_main!(benches);
