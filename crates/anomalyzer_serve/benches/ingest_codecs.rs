//! Cost of the ingest codecs alone, per point, for the batches issue 12
//! sizes its targets with: 1 000 points over 1 000 series with two labels,
//! as a JSON lines push body and as a remote_write body (one sample per
//! series, as Prometheus sends a scrape). The `/metrics` text for many
//! series is not measured here: it depends on the store.
//!
//! Run: `cargo bench -p anomalyzer_serve --bench ingest_codecs`. CI runs it
//! once in test mode (`-- --test`) so it never rots. Figures in
//! docs/serve.md.

use std::hint::black_box;
use std::time::Duration;

use anomalyzer_serve::{
    decode_write_request, encode_write_request, parse_push, IdentityLimits, Label, Sample,
    TimeSeries, WriteRequest,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const POINTS: usize = 1000;

fn json_body() -> Vec<u8> {
    let mut body = String::new();
    for i in 0..POINTS {
        body.push_str(&format!(
            r#"{{"series":"http_request_duration_seconds","labels":{{"instance":"host-{}:9100","job":"api"}},"timestamp":{},"value":{}}}"#,
            i,
            1_700_000_000 + i,
            0.25 + (i % 17) as f64 * 0.125
        ));
        body.push('\n');
    }
    body.into_bytes()
}

fn remote_write_body() -> Vec<u8> {
    let timeseries = (0..POINTS)
        .map(|i| TimeSeries {
            labels: vec![
                Label {
                    name: "__name__".into(),
                    value: "http_request_duration_seconds".into(),
                },
                Label {
                    name: "instance".into(),
                    value: format!("host-{i}:9100"),
                },
                Label {
                    name: "job".into(),
                    value: "api".into(),
                },
            ],
            samples: vec![Sample {
                value: 0.25 + (i % 17) as f64 * 0.125,
                timestamp: 1_700_000_000_000 + i as i64,
            }],
            histograms: Vec::new(),
        })
        .collect();
    encode_write_request(&WriteRequest { timeseries })
}

fn codecs(c: &mut Criterion) {
    let limits = IdentityLimits::default();
    let mut group = c.benchmark_group("decode_1000_points");
    group.throughput(Throughput::Elements(POINTS as u64));
    group.measurement_time(Duration::from_secs(3));

    let json = json_body();
    group.bench_function("json_lines_push", |b| {
        b.iter(|| black_box(parse_push(black_box(&json), &limits).expect("valid body")))
    });

    let rw = remote_write_body();
    group.bench_function("remote_write", |b| {
        b.iter(|| {
            black_box(decode_write_request(black_box(&rw), &limits, 64 << 20).expect("valid body"))
        })
    });
    group.finish();
}

criterion_group!(benches, codecs);
criterion_main!(benches);
