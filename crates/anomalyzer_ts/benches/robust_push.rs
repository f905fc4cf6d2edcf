//! Per-push cost of the robust preset in steady state: every history full
//! (value history, references, likelihood histories, hold span), with the
//! robust tests' reference windows (`reference` and `slow_reference`) at
//! 300 and at 3000 values; plus each robust test alone at the defaults.
//!
//! Run: `cargo bench -p anomalyzer_ts --bench robust_push`. CI runs it once
//! in test mode. Results and the machine are in BENCHMARKS.md.

use std::hint::black_box;

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Method, Preset, RobustParams};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// Length of the pushed stream; iterations cycle through it.
const STREAM: usize = 8192;

/// A daily-cycle-like series (period 288) with seeded noise and rare
/// spikes: SplitMix64, so the data never change.
fn series(len: usize) -> Vec<f64> {
    let mut s = 0x5eed_u64;
    let mut unit = move || {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..len)
        .map(|i| {
            let phase = (i % 288) as f64 / 288.0 * std::f64::consts::TAU;
            let spike = if unit() < 0.002 { 40.0 } else { 0.0 };
            50.0 + 20.0 * phase.sin() + 5.0 * (unit() - 0.5) + spike
        })
        .collect()
}

/// A detector whose every history is full, and the values to push next.
fn warmed(conf: AnomalyzerConf) -> (Anomalyzer, Vec<f64>) {
    let data = series(20_000 + STREAM);
    let (warm, rest) = data.split_at(20_000);
    (Anomalyzer::new(conf, warm).unwrap(), rest.to_vec())
}

fn bench_push(c: &mut Criterion, group: &str, cases: Vec<(String, AnomalyzerConf)>) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    for (name, conf) in cases {
        let (mut d, xs) = warmed(conf);
        let mut i = 0;
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let p = d.push(xs[i % STREAM]).unwrap();
                i += 1;
                black_box(p)
            });
        });
    }
    g.finish();
}

fn preset_by_reference(c: &mut Criterion) {
    let cases = [300, 3000]
        .into_iter()
        .map(|r| {
            let params = RobustParams {
                reference: r,
                slow_reference: r,
                ..RobustParams::default()
            };
            let conf = AnomalyzerConf::builder()
                .preset(Preset::Robust)
                .robust(params)
                .build()
                .unwrap();
            (format!("reference_{r}"), conf)
        })
        .collect();
    bench_push(c, "robust_preset", cases);
    bench_push(
        c,
        "robust_preset",
        vec![(
            "defaults".to_owned(),
            AnomalyzerConf::preset(Preset::Robust),
        )],
    );
}

fn each_robust_test(c: &mut Criterion) {
    let cases = Method::ROBUST
        .into_iter()
        .map(|m| {
            let conf = AnomalyzerConf::builder()
                .preset(Preset::Robust)
                .methods([m])
                .build()
                .unwrap();
            (m.name().to_owned(), conf)
        })
        .collect();
    bench_push(c, "robust_test_alone", cases);
}

criterion_group!(benches, preset_by_reference, each_robust_test);
criterion_main!(benches);
