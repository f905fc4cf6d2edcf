//! Cost of NAB scoring alone: preparing a corpus of the size of nab-dev
//! (27 files, 177 402 rows, 57 windows) from seeded scores, and scoring it
//! under the three profiles at the optimal threshold (the sweep over every
//! distinct score, then each file at that threshold).
//!
//! Run: `cargo bench -p anomalyzer_nab --bench score`. Results in
//! BENCHMARKS.md.

use std::hint::black_box;

use anomalyzer_nab::{Corpus, LabelledFile, Profile, ThresholdChoice, Window};
use criterion::{criterion_group, criterion_main, Criterion};

/// SplitMix64, so the data never change.
struct SplitMix(u64);

impl SplitMix {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// 27 files of 6 570 rows (177 390 in all), two or three windows each.
fn files() -> Vec<LabelledFile> {
    let mut rng = SplitMix(10);
    (0..27)
        .map(|f| {
            let rows = 6570;
            let scores: Vec<f64> = (0..rows).map(|_| rng.unit()).collect();
            let windows = (0..2 + f % 2)
                .map(|w| Window {
                    start: 1500 + w * 2000,
                    end: 1500 + w * 2000 + 300,
                })
                .collect();
            LabelledFile::new(scores, windows).expect("valid")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let files = files();
    let mut g = c.benchmark_group("nab_score_177k_rows");
    g.sample_size(20);
    g.bench_function("prepare", |b| {
        b.iter(|| Corpus::new(black_box(files.clone())))
    });
    let corpus = Corpus::new(files.clone());
    g.bench_function("three_profiles_optimal", |b| {
        b.iter(|| {
            for p in Profile::nab() {
                black_box(
                    corpus
                        .evaluate(&p, ThresholdChoice::Optimal)
                        .expect("windows"),
                );
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
