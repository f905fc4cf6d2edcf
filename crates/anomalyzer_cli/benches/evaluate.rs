//! End-to-end cost of `anomalyzer evaluate` on the bundled nab-dev corpus
//! (27 of NAB's series, 177 402 points): reading the corpus, the default
//! detector over every file (files in parallel, `--jobs 2`), and NAB scoring
//! under the three profiles. The real binary runs as a child process, so the
//! figure is what a user waits for. Issue 10's target: under 5 s on 2 cores.
//!
//! Run: `cargo bench -p anomalyzer_cli --bench evaluate`. Results in
//! BENCHMARKS.md.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

fn evaluate(args: &[&str]) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/nab-dev");
    let status = Command::new(env!("CARGO_BIN_EXE_anomalyzer"))
        .arg("evaluate")
        .arg(&corpus)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run anomalyzer");
    assert!(status.success(), "anomalyzer evaluate failed: {status}");
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("evaluate_nab_dev");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("default_detector_jobs_2", |b| {
        b.iter(|| evaluate(&["--jobs", "2"]))
    });
    g.bench_function("go_readme_config_jobs_2", |b| {
        b.iter(|| {
            evaluate(&[
                "--jobs",
                "2",
                "--methods",
                "diff,fence,highrank,lowrank,magnitude",
                "--upper-bound",
                "5",
            ])
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
