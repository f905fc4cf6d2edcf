//! Throughput of the `--remote-write` output end to end on loopback:
//! queueing scores (`RemoteWriter::offer`), batching, encoding, and HTTP
//! requests to a local receiver that reads each body and answers 204.
//! Each iteration offers 20 000 scores over 1 000 two-label series and
//! waits until the receiver has accepted all of them.
//!
//! Run: `cargo bench -p anomalyzer_serve --bench remote_write_output`. CI
//! runs it once in test mode (`-- --test`). Figures in docs/serve.md.

use std::time::{Duration, Instant};

use anomalyzer_serve::{
    IdentityLimits, RemoteWriteMetrics, RemoteWriteOptions, RemoteWriter, SeriesKey, Timestamp,
};
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const SERIES: usize = 1_000;
const SCORES: usize = 20_000;

fn keys() -> Vec<SeriesKey> {
    (0..SERIES)
        .map(|i| {
            SeriesKey::new(
                "http_request_duration_seconds",
                [
                    ("instance".into(), format!("host-{i}:9100")),
                    ("job".into(), "api".into()),
                ],
                &IdentityLimits::default(),
            )
            .expect("valid key")
        })
        .collect()
}

async fn receiver() -> String {
    let app = axum::Router::new().route(
        "/api/v1/write",
        post(|body: Bytes| async move {
            std::hint::black_box(body.len());
            StatusCode::NO_CONTENT
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!(
        "http://{}/api/v1/write",
        listener.local_addr().expect("bound")
    );
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serving") });
    url
}

fn output(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let keys = keys();
    let mut group = c.benchmark_group("remote_write_output_20000_scores");
    group.throughput(Throughput::Elements(SCORES as u64));
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(10);
    for shards in [1, 4] {
        let url = runtime.block_on(receiver());
        let metrics = RemoteWriteMetrics::default();
        let options = RemoteWriteOptions {
            shards,
            queue_capacity: 4 * SCORES,
            // Partial batches per shard go out at once.
            batch_deadline: Duration::from_millis(1),
            ..RemoteWriteOptions::new(url)
        };
        let writer = runtime
            .block_on(async { RemoteWriter::start(options, metrics.clone()) })
            .expect("valid options");
        let mut t = 0i64;
        group.bench_function(format!("{shards}_shards"), |b| {
            b.iter_custom(|iterations| {
                runtime.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iterations {
                        let target = metrics.sent() + SCORES as u64;
                        for round in 0..SCORES / SERIES {
                            t += 1;
                            let time = Timestamp::from_millis(t).expect("in range");
                            writer.offer(keys.iter().map(|k| (k, time, round as f64 / 20.0)));
                        }
                        while metrics.sent() < target {
                            tokio::time::sleep(Duration::from_micros(200)).await;
                        }
                    }
                    start.elapsed()
                })
            })
        });
        runtime.block_on(writer.shutdown(Duration::from_secs(5)));
    }
    group.finish();
}

criterion_group!(benches, output);
criterion_main!(benches);
