//! Cost of durability: durable pushes per second under each sync policy,
//! against the bare cost on the same disk (append 32 bytes + fdatasync) and
//! the detector alone; recovery time against the log's length; and the
//! robust preset, whose histories go into every snapshot.
//!
//! Run: `cargo bench -p anomalyzer_store --bench durable_push`. CI runs it
//! once in test mode (`-- --test`) so it never rots. Figures and the
//! machine are in docs/durability.md.
//!
//! The detector is the cheapest configuration (magnitude alone, window 5)
//! so the figures show the store's cost, not the statistics'. Files live in
//! Cargo's target tmp directory, on the same disk as the bare baseline.

use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anomalyzer_store::{DurableAnomalyzer, StoreOptions, SyncPolicy};
use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Method, Preset};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn conf() -> AnomalyzerConf {
    AnomalyzerConf::builder()
        .methods([Method::Magnitude])
        .active_size(1)
        .build()
        .expect("valid configuration")
}

fn value(i: u64) -> f64 {
    10.0 + (i % 17) as f64 * 0.25
}

fn scratch_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir in target/")
}

fn pushes(c: &mut Criterion) {
    let mut group = c.benchmark_group("push");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(4));

    group.bench_function("in_memory_detector", |b| {
        let mut d = Anomalyzer::new(conf(), &[]).expect("detector");
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            black_box(d.push(value(i)).expect("finite"))
        });
    });

    group.bench_function("bare_append_fdatasync", |b| {
        let dir = scratch_dir();
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("bare.log"))
            .expect("open");
        let record = [0x5au8; 32];
        b.iter(|| {
            f.write_all(&record).expect("write");
            f.sync_data().expect("fdatasync");
        });
    });

    for policy in [
        SyncPolicy::Always,
        SyncPolicy::EveryN(64),
        SyncPolicy::Interval(Duration::from_millis(100)),
        SyncPolicy::Never,
    ] {
        group.bench_function(BenchmarkId::new("durable", policy), |b| {
            let dir = scratch_dir();
            let options = StoreOptions::default().sync(policy);
            let mut d = DurableAnomalyzer::open_with(dir.path(), Some(conf()), options)
                .expect("open store");
            let mut i = 0u64;
            b.iter(|| {
                i += 1;
                black_box(d.push(value(i)).expect("push"))
            });
        });
    }
    group.finish();
}

/// Durable `Always` against bare append + fdatasync with the two operations
/// interleaved in one loop, each timed on its own: the virtual disk's fsync
/// latency drifts by 2× between runs, and interleaving exposes both sides to
/// the same drift, so their ratio is what this group is for.
fn interleaved(c: &mut Criterion) {
    let mut group = c.benchmark_group("interleaved");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(6));
    for timed in ["bare_append_fdatasync", "durable_always"] {
        group.bench_function(timed, |b| {
            let dir = scratch_dir();
            let mut bare = OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.path().join("bare.log"))
                .expect("open");
            let record = [0x5au8; 32];
            let store = dir.path().join("store");
            let mut d = DurableAnomalyzer::open_with(&store, Some(conf()), StoreOptions::default())
                .expect("open store");
            let mut i = 0u64;
            b.iter_custom(|iters| {
                let (mut t_bare, mut t_durable) = (Duration::ZERO, Duration::ZERO);
                for _ in 0..iters {
                    i += 1;
                    let t = Instant::now();
                    bare.write_all(&record).expect("write");
                    bare.sync_data().expect("fdatasync");
                    t_bare += t.elapsed();
                    let t = Instant::now();
                    black_box(d.push(value(i)).expect("push"));
                    t_durable += t.elapsed();
                }
                if timed == "durable_always" {
                    t_durable
                } else {
                    t_bare
                }
            });
        });
    }
    group.finish();
}

fn fill(dir: &Path, records: u64) {
    let options = StoreOptions::default()
        .sync(SyncPolicy::Never)
        .snapshot_interval(u64::MAX);
    let mut d = DurableAnomalyzer::open_with(dir, Some(conf()), options).expect("open store");
    for i in 0..records {
        d.push(value(i)).expect("push");
    }
    d.sync().expect("sync");
}

fn recovery(c: &mut Criterion) {
    let mut group = c.benchmark_group("recovery");
    group.measurement_time(Duration::from_secs(4));
    group.sample_size(20);
    for records in [1_000u64, 10_000, 100_000] {
        let dir = scratch_dir();
        fill(dir.path(), records);
        group.throughput(Throughput::Elements(records));
        group.bench_with_input(BenchmarkId::new("open", records), &records, |b, &n| {
            b.iter(|| {
                let d = DurableAnomalyzer::open_with(dir.path(), None, StoreOptions::default())
                    .expect("recover");
                assert_eq!(d.lsn(), n);
                black_box(d)
            });
        });
    }
    group.finish();
}

/// The robust preset with full histories (3000 values pushed first): the
/// detector alone, a durable push without fsync (the pipeline, the log
/// record and a snapshot of up to 147 685 bytes of state every
/// `DEFAULT_SNAPSHOT_INTERVAL` pushes), and opening a directory whose
/// snapshot holds that state (nothing to replay).
fn robust_preset(c: &mut Criterion) {
    let conf = AnomalyzerConf::preset(Preset::Robust);
    let warm = 3000u64;
    let mut group = c.benchmark_group("robust_preset");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("in_memory_detector", |b| {
        let mut d = Anomalyzer::new(conf.clone(), &[]).expect("detector");
        d.update(&(0..warm).map(value).collect::<Vec<_>>())
            .expect("finite");
        let mut i = warm;
        b.iter(|| {
            i += 1;
            black_box(d.push(value(i)).expect("finite"))
        });
    });
    group.bench_function("durable_never", |b| {
        let dir = scratch_dir();
        let options = StoreOptions::default().sync(SyncPolicy::Never);
        let mut d = DurableAnomalyzer::open_with(dir.path(), Some(conf.clone()), options)
            .expect("open store");
        for i in 0..warm {
            d.push(value(i)).expect("push");
        }
        let mut i = warm;
        b.iter(|| {
            i += 1;
            black_box(d.push(value(i)).expect("push"))
        });
    });
    let dir = scratch_dir();
    let options = StoreOptions::default().sync(SyncPolicy::Never);
    let mut d = DurableAnomalyzer::open_with(dir.path(), Some(conf), options).expect("open store");
    for i in 0..warm {
        d.push(value(i)).expect("push");
    }
    d.compact().expect("snapshot");
    drop(d);
    group.throughput(Throughput::Elements(1));
    group.bench_function("open_after_snapshot", |b| {
        b.iter(|| {
            let d = DurableAnomalyzer::open_with(dir.path(), None, StoreOptions::default())
                .expect("recover");
            assert_eq!(d.lsn(), warm);
            black_box(d)
        });
    });
    group.finish();
}

criterion_group!(benches, pushes, interleaved, recovery, robust_preset);
criterion_main!(benches);
