//! Per-push cost of the detector in steady state (full window), for the
//! four configurations of issue 5, each test alone, and the realistic gated
//! case.
//!
//! Run: `cargo bench -p anomalyzer_ts --bench push`. CI runs every benchmark
//! once in test mode (`cargo bench --workspace --all-features --bench '*' -- --test`)
//! so they never rot. Results and the machine are in BENCHMARKS.md.
//!
//! The data are seeded. Unless a group says otherwise the magnitude gate is
//! off (sensitivity 0), so every configured test runs on every push: these
//! figures measure the real work, not the short-circuit.

use std::hint::black_box;

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Method};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// Length of the pushed stream; iterations cycle through it.
const STREAM: usize = 4096;

/// SplitMix64: a tiny seeded generator so the data never change.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal (Irwin–Hall of 12 uniforms), mean 0, sd 1.
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }
}

/// A noisy level around 50 (standard deviation `sd`), with a spike of +60
/// on 1 % of points.
fn series(seed: u64, len: usize, sd: f64) -> Vec<f64> {
    let mut g = SplitMix(seed);
    (0..len)
        .map(|_| {
            let spike = if g.unit() < 0.01 { 60.0 } else { 0.0 };
            50.0 + sd * g.normal() + spike
        })
        .collect()
}

/// Noise for the ungated groups (sensitivity 0, so the level does not matter).
const SD_UNGATED: f64 = 10.0;
/// Noise for the gated group: a steady series, where magnitude (the relative
/// change of the active mean) stays below the default sensitivity except
/// around the spikes.
const SD_GATED: f64 = 2.0;

/// The configurations of issue 5: (name, methods, A, NS).
fn configurations() -> Vec<(&'static str, Vec<Method>, usize, usize)> {
    use Method::*;
    vec![
        ("default_A1_NS4", vec![Magnitude, Ks], 1, 4),
        (
            "readme_A1_NS4",
            vec![Diff, Fence, HighRank, LowRank, Magnitude],
            1,
            4,
        ),
        ("all7_A2_NS59", Method::ALL.to_vec(), 2, 59),
        ("all7_A10_NS2", Method::ALL.to_vec(), 10, 2),
    ]
}

fn conf(methods: &[Method], a: usize, ns: usize, sensitivity: f64) -> AnomalyzerConf {
    AnomalyzerConf::builder()
        .methods(methods.iter().copied())
        .active_size(a)
        .n_seasons(ns)
        .upper_bound(80.0)
        .sensitivity(sensitivity)
        .build()
        .expect("benchmark configurations are valid")
}

/// Benchmarks pushing the seeded stream into a detector whose window is
/// already full.
fn bench_push(c: &mut Criterion, group: &str, id: BenchmarkId, conf: AnomalyzerConf, sd: f64) {
    let capacity = conf.window_capacity();
    let warm = series(1, capacity, sd);
    let stream = series(2, STREAM, sd);
    let mut detector = Anomalyzer::new(conf, &warm).expect("finite data");
    let mut i = 0usize;
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    g.bench_function(id, |b| {
        b.iter(|| {
            let x = stream[i % STREAM];
            i += 1;
            black_box(detector.push(black_box(x)).expect("finite"))
        })
    });
    g.finish();
}

/// The four configurations with the gate off: every test runs.
fn push_ungated(c: &mut Criterion) {
    for (name, methods, a, ns) in configurations() {
        let id = BenchmarkId::from_parameter(name);
        bench_push(c, "push", id, conf(&methods, a, ns, 0.0), SD_UNGATED);
    }
}

/// The four configurations with the default sensitivity (0.1): on this
/// data most pushes stop after magnitude, which is what a user sees.
fn push_gated(c: &mut Criterion) {
    for (name, methods, a, ns) in configurations() {
        let id = BenchmarkId::from_parameter(name);
        let sensitivity = anomalyzer_ts::DEFAULT_SENSITIVITY;
        let conf = conf(&methods, a, ns, sensitivity);
        bench_push(c, "push_gated", id, conf, SD_GATED);
    }
}

/// Each test alone, at the window sizes of the four configurations.
fn single_test(c: &mut Criterion) {
    for m in Method::ALL {
        for (a, ns) in [(1, 4), (2, 59), (10, 2)] {
            let id = BenchmarkId::new(m.name(), format!("A{a}_NS{ns}"));
            bench_push(c, "test", id, conf(&[m], a, ns, 0.0), SD_UNGATED);
        }
    }
}

/// highrank and lowrank with `exact_ranks` (no permutations), at the window
/// sizes of the four configurations: the cost of the exact mode.
fn exact_ranks(c: &mut Criterion) {
    for (a, ns) in [(1, 4), (2, 59), (10, 2)] {
        let id = BenchmarkId::new("highrank+lowrank", format!("A{a}_NS{ns}"));
        let conf = conf(&[Method::HighRank, Method::LowRank], a, ns, 0.0)
            .to_builder()
            .exact_ranks(true)
            .build()
            .expect("small enough for exact ranks");
        bench_push(c, "exact_ranks", id, conf, SD_UNGATED);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(50);
    targets = push_ungated, push_gated, single_test, exact_ranks
}
criterion_main!(benches);
