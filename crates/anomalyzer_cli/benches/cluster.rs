//! The cluster end to end (issue 13): real `nats-server`, the real
//! `anomalyzer ingest` and `anomalyzer worker` processes on this machine.
//!
//! - `cluster_end_to_end/workers/N`: points per second from the first HTTP
//!   push until every score message of the pushed points is stored in
//!   `ANOMALYZER_SCORES`; 1 000 series, two clients each pushing its own 500
//!   series, one point per series per push, 8 partitions, with 1 and 2 workers.
//! - `cluster_end_to_end/single_process_serve`: the same pushes into one
//!   `anomalyzer serve --sync always` (the answer comes once the points are
//!   scored and durable), for the cost per point against the cluster.
//! - `cluster_takeover`: from `kill -9` of a worker owning half the
//!   partitions until the scores of a push made right after the kill are
//!   all stored (lease time 2 s).
//!
//! Run: `cargo bench -p anomalyzer_cli --bench cluster -- --warm-up-time 1
//! --measurement-time 3`. Results in BENCHMARKS.md.

#[path = "../tests/cluster_support/mod.rs"]
mod cluster_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anomalyzer_cluster::SCORES_STREAM;
use cluster_support::{ingest, nats_available, post, stream_messages, worker_with, Nats, Proc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const SERIES: usize = 1000;
/// Rounds per iteration; each round is one push of 500 points per client.
const ROUNDS_PER_ITER: u64 = 10;
const DEFAULT_SNAPSHOTS: &[&str] = &[];

/// The push body of round `r` of `client` (0 or 1): one point for each of
/// that client's half of the series, so no point is out of order.
fn body(r: u64, client: usize) -> Vec<u8> {
    let half = SERIES / 2;
    let mut out = String::with_capacity(half * 80);
    for s in client * half..(client + 1) * half {
        let v = ((r.wrapping_mul(2_654_435_761) ^ (s as u64 * 40_503)) % 1000) as f64 / 10.0;
        out.push_str(&format!(
            "{{\"series\":\"bench\",\"labels\":{{\"host\":\"h{s}\"}},\"timestamp\":{},\"value\":{v:?}}}\n",
            1_700_000_000 + r
        ));
    }
    out.into_bytes()
}

fn push(addr: SocketAddr, r: u64, client: usize) {
    let (status, answer) = post(addr, "/api/v1/push", &body(r, client));
    assert_eq!(status, 200, "{answer}");
}

/// Partitions the pushes of one round of both clients touch (so score
/// messages per round).
fn partitions_per_round() -> u64 {
    use anomalyzer_serve::{IdentityLimits, SeriesKey};
    let half = SERIES / 2;
    let mut seen = std::collections::HashSet::new();
    for s in 0..SERIES {
        let client = s / half;
        let key = SeriesKey::new(
            "bench",
            [("host".to_owned(), format!("h{s}"))],
            &IdentityLimits::default(),
        )
        .unwrap();
        seen.insert((client, key.partition(cluster_support::PARTITIONS).unwrap()));
    }
    seen.len() as u64
}

fn wait_scores(nats: &Nats, target: u64, within: Duration) {
    let deadline = Instant::now() + within;
    while stream_messages(nats, SCORES_STREAM) < target {
        assert!(Instant::now() < deadline, "scores did not arrive");
        std::thread::sleep(Duration::from_millis(5));
    }
}

struct Setup {
    nats: Nats,
    addr: SocketAddr,
    _ingest: Proc,
    workers: Vec<Proc>,
    _dir: tempfile::TempDir,
    round: u64,
}

fn setup(workers: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let nats = Nats::start(dir.path());
    let (ingest, addr) = ingest(&nats);
    let workers = (0..workers)
        .map(|i| worker_with(&nats, dir.path(), &format!("w{i}"), DEFAULT_SNAPSHOTS))
        .collect();
    Setup {
        nats,
        addr,
        _ingest: ingest,
        workers,
        _dir: dir,
        round: 0,
    }
}

fn throughput(c: &mut Criterion) {
    if !nats_available() {
        return;
    }
    let per_round = partitions_per_round();
    let mut g = c.benchmark_group("cluster_end_to_end");
    g.sample_size(10);
    g.throughput(Throughput::Elements(SERIES as u64 * ROUNDS_PER_ITER));
    for n in [1usize, 2] {
        let mut s = setup(n);
        // Every worker owns its share before timing starts.
        push(s.addr, s.round, 0);
        push(s.addr, s.round, 1);
        s.round += 1;
        wait_scores(&s.nats, per_round, Duration::from_secs(30));
        std::thread::sleep(Duration::from_secs(2));
        g.bench_function(format!("workers/{n}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let before = stream_messages(&s.nats, SCORES_STREAM);
                    let start = Instant::now();
                    let first = s.round;
                    let addr = s.addr;
                    std::thread::scope(|scope| {
                        for client in 0..2 {
                            scope.spawn(move || {
                                for r in first..first + ROUNDS_PER_ITER {
                                    push(addr, r, client);
                                }
                            });
                        }
                    });
                    s.round += ROUNDS_PER_ITER;
                    let target = before + per_round * ROUNDS_PER_ITER;
                    wait_scores(&s.nats, target, Duration::from_secs(120));
                    total += start.elapsed();
                }
                total
            });
        });
        drop(s.workers);
    }
    single_process(&mut g);
    g.finish();
}

/// The same rounds into the single-process service.
fn single_process(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_anomalyzer"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--sync",
            "always",
            "--state",
        ])
        .arg(dir.path().join("state"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start anomalyzer serve");
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr: SocketAddr = loop {
        line.clear();
        let n = std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        assert!(n > 0, "serve exited before listening");
        if let Some(a) = line.trim().strip_prefix("listening on ") {
            break a.parse().unwrap();
        }
    };
    // Wait for recovery (readyz), then warm the series up.
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster_support::get(addr, "/readyz").0 != 200 {
        assert!(Instant::now() < deadline, "serve never became ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    push(addr, 0, 0);
    push(addr, 0, 1);
    let mut round = 1u64;
    g.bench_function("single_process_serve", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let first = round;
                std::thread::scope(|scope| {
                    for client in 0..2 {
                        scope.spawn(move || {
                            for r in first..first + ROUNDS_PER_ITER {
                                push(addr, r, client);
                            }
                        });
                    }
                });
                round += ROUNDS_PER_ITER;
                total += start.elapsed();
            }
            total
        });
    });
    let _ = child.kill();
    let _ = child.wait();
}

fn takeover(c: &mut Criterion) {
    if !nats_available() {
        return;
    }
    let per_round = partitions_per_round();
    let mut s = setup(1);
    let mut g = c.benchmark_group("cluster_takeover");
    g.sample_size(10);
    g.bench_function("kill_9_lease_2s", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let mut joining = worker_with(&s.nats, s._dir.path(), &format!("t{i}"), &[]);
                assert!(joining.wait_for("took partition", Duration::from_secs(30)));
                // Let the balance settle, then kill it owning its share.
                std::thread::sleep(Duration::from_secs(2));
                let before = stream_messages(&s.nats, SCORES_STREAM);
                joining.kill9();
                let start = Instant::now();
                push(s.addr, s.round, 0);
                push(s.addr, s.round, 1);
                s.round += 1;
                wait_scores(&s.nats, before + per_round, Duration::from_secs(60));
                total += start.elapsed();
            }
            total
        });
    });
    g.finish();
    drop(s.workers);
}

criterion_group!(benches, throughput, takeover);
criterion_main!(benches);
