//! The `--remote-write` output against a local receiver: batching by count
//! and by time, labels and headers, retry after 503 and after no answer,
//! no retry after 400, drops when the queue is full, flush on shutdown,
//! and the router handing it only durable scores.

mod support;

use std::sync::Arc;
use std::time::Duration;

use anomalyzer_serve::{
    DropReason, IdentityLimits, Point, RemoteWriteMetrics, RemoteWriteOptions, RemoteWriter,
    SeriesKey, ServeConfig, ServeOptions, ServiceMetrics, Timestamp, REMOTE_WRITE_USER_AGENT,
};
use axum::http::StatusCode;
use support::receiver::Receiver;
use support::{line, post, send};

fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
    SeriesKey::new(
        name,
        labels.iter().map(|(k, v)| ((*k).into(), (*v).into())),
        &IdentityLimits::default(),
    )
    .unwrap()
}

fn ms(t: i64) -> Timestamp {
    Timestamp::from_millis(t).unwrap()
}

/// Options for tests: one shard (so requests come in a known order),
/// small batches, short waits.
fn options(url: &str, batch: usize) -> RemoteWriteOptions {
    RemoteWriteOptions {
        shards: 1,
        max_samples_per_request: batch,
        batch_deadline: Duration::from_millis(200),
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        request_timeout: Duration::from_secs(5),
        ..RemoteWriteOptions::new(url)
    }
}

/// `(series label, millis, value)` of a request's samples.
fn shown(points: &[Point]) -> Vec<(String, i64, f64)> {
    points
        .iter()
        .map(|p| {
            assert_eq!(p.key.name(), "anomaly_score");
            let series = p
                .key
                .labels()
                .iter()
                .find(|(k, _)| k == "series")
                .map(|(_, v)| v.clone())
                .expect("a series label");
            (series, p.timestamp.as_millis(), p.value)
        })
        .collect()
}

#[tokio::test]
async fn scores_are_batched_by_count_then_by_time_with_their_labels() {
    let receiver = Receiver::start(&[]).await;
    let metrics = RemoteWriteMetrics::default();
    let writer = RemoteWriter::start(options(&receiver.url, 3), metrics.clone()).unwrap();
    let cpu = key("cpu", &[("host", "a"), ("series", "own")]);
    let mem = key("mem", &[]);
    let scores: Vec<(&SeriesKey, Timestamp, f64)> = (0..7)
        .map(|i| {
            let k = if i % 2 == 0 { &cpu } else { &mem };
            (k, ms(1_000 * i), i as f64 / 10.0)
        })
        .collect();
    let started = tokio::time::Instant::now();
    writer.offer(scores.iter().copied());

    let requests = receiver.wait_for(3).await;
    // Two full batches at once, the last sample after the batch deadline.
    assert!(started.elapsed() >= Duration::from_millis(200));
    let sizes: Vec<usize> = requests.iter().map(|r| r.points.len()).collect();
    assert_eq!(sizes, [3, 3, 1]);
    let mut all: Vec<(String, i64, f64)> = requests.iter().flat_map(|r| shown(&r.points)).collect();
    all.sort_by_key(|s| s.1);
    let expected: Vec<(String, i64, f64)> = scores
        .iter()
        .map(|(k, t, p)| (k.name().to_owned(), t.as_millis(), *p))
        .collect();
    assert_eq!(all, expected);

    // The series' own labels, the metric name in `series`, a clash renamed.
    let first = &requests[0].points[0].key;
    assert_eq!(
        first.to_string(),
        r#"anomaly_score{exported_series="own",host="a",series="cpu"}"#
    );
    let headers = &requests[0].headers;
    for (name, value) in [
        ("content-encoding", "snappy"),
        ("content-type", "application/x-protobuf"),
        ("x-prometheus-remote-write-version", "0.1.0"),
        ("user-agent", REMOTE_WRITE_USER_AGENT),
    ] {
        assert_eq!(headers.get(name).unwrap(), value, "header {name}");
    }
    assert_eq!(metrics.sent(), 7);
    assert_eq!(metrics.failed_requests(), 0);
    assert_eq!(metrics.queued(), 0);
    let report = writer.shutdown(Duration::from_secs(5)).await;
    assert!(report.flushed && report.dropped == 0, "{report:?}");
}

#[tokio::test]
async fn shards_send_concurrently_and_keep_each_series_in_order() {
    let receiver = Receiver::start(&[503, 503, 503]).await;
    let metrics = RemoteWriteMetrics::default();
    let opts = RemoteWriteOptions {
        shards: 4,
        ..options(&receiver.url, 50)
    };
    let writer = RemoteWriter::start(opts, metrics.clone()).unwrap();
    let keys: Vec<SeriesKey> = (0..40)
        .map(|i| key("load", &[("host", &format!("h{i}"))]))
        .collect();
    // Offered in several calls, as requests would.
    for t in 0..25 {
        writer.offer(keys.iter().map(|k| (k, ms(t), t as f64 / 25.0)));
    }
    let report = writer.shutdown(Duration::from_secs(10)).await;
    assert!(report.flushed, "{report:?}");
    assert_eq!(metrics.sent(), 1_000);
    assert_eq!(metrics.failed_requests(), 3);
    let requests = receiver.requests();
    let mut seen: std::collections::HashMap<String, Vec<i64>> = Default::default();
    for r in &requests {
        assert!(r.points.len() <= 50);
        for p in &r.points {
            seen.entry(p.key.to_string())
                .or_default()
                .push(p.timestamp.as_millis());
        }
    }
    assert_eq!(seen.len(), 40);
    // A retried batch arrives again as it was; in order of first arrival,
    // every series' samples arrive in time order, all of them.
    for (series, times) in &seen {
        let mut firsts: Vec<i64> = Vec::new();
        for t in times {
            if !firsts.contains(t) {
                firsts.push(*t);
            }
        }
        assert_eq!(firsts, (0..25).collect::<Vec<i64>>(), "{series}: {times:?}");
    }
    // What was accepted holds every sample exactly once.
    let accepted: Vec<(String, i64)> = requests
        .iter()
        .filter(|r| r.status == 204)
        .flat_map(|r| {
            r.points
                .iter()
                .map(|p| (p.key.to_string(), p.timestamp.as_millis()))
        })
        .collect();
    let distinct: std::collections::HashSet<&(String, i64)> = accepted.iter().collect();
    assert_eq!((accepted.len(), distinct.len()), (1_000, 1_000));
    assert_eq!(requests.iter().filter(|r| r.status == 503).count(), 3);
}

#[tokio::test]
async fn a_503_is_retried_until_accepted() {
    let receiver = Receiver::start(&[503, 503]).await;
    let metrics = RemoteWriteMetrics::default();
    let writer = RemoteWriter::start(options(&receiver.url, 2), metrics.clone()).unwrap();
    let cpu = key("cpu", &[]);
    writer.offer([(&cpu, ms(1), 0.5), (&cpu, ms(2), 0.25)]);
    let requests = receiver.wait_for(3).await;
    for r in &requests {
        assert_eq!(
            shown(&r.points),
            [("cpu".into(), 1, 0.5), ("cpu".into(), 2, 0.25)]
        );
    }
    let report = writer.shutdown(Duration::from_secs(5)).await;
    assert!(report.flushed, "{report:?}");
    assert_eq!(receiver.requests().len(), 3, "no retry after the 204");
    assert_eq!(metrics.sent(), 2);
    assert_eq!(metrics.failed_requests(), 2);
    assert_eq!(metrics.dropped(DropReason::Rejected), 0);
}

#[tokio::test]
async fn a_429_is_retried_and_a_400_is_not() {
    let receiver = Receiver::start(&[429, 400]).await;
    let metrics = RemoteWriteMetrics::default();
    let writer = RemoteWriter::start(options(&receiver.url, 1), metrics.clone()).unwrap();
    let cpu = key("cpu", &[]);
    writer.offer([(&cpu, ms(1), 0.5)]);
    receiver.wait_for(2).await;
    writer.offer([(&cpu, ms(2), 0.75)]);
    // The 429'd sample was sent again and refused with 400: dropped, not
    // retried; the next sample goes through.
    let requests = receiver.wait_for(3).await;
    assert_eq!(shown(&requests[1].points), [("cpu".into(), 1, 0.5)]);
    assert_eq!(shown(&requests[2].points), [("cpu".into(), 2, 0.75)]);
    let report = writer.shutdown(Duration::from_secs(5)).await;
    assert!(report.flushed, "{report:?}");
    assert_eq!(receiver.requests().len(), 3);
    assert_eq!(metrics.sent(), 1);
    assert_eq!(metrics.failed_requests(), 2);
    assert_eq!(metrics.dropped(DropReason::Rejected), 1);
}

#[tokio::test]
async fn a_full_queue_drops_new_scores_and_counts_them() {
    let receiver = Receiver::gated().await;
    let metrics = RemoteWriteMetrics::default();
    let opts = RemoteWriteOptions {
        queue_capacity: 5,
        ..options(&receiver.url, 2)
    };
    let writer = RemoteWriter::start(opts, metrics.clone()).unwrap();
    let cpu = key("cpu", &[]);
    writer.offer([(&cpu, ms(0), 0.0), (&cpu, ms(1), 0.1)]);
    // The first batch is held by the receiver: the queue is empty again.
    receiver.wait_for(1).await;
    let more: Vec<(&SeriesKey, Timestamp, f64)> =
        (2..10).map(|t| (&cpu, ms(t), t as f64 / 10.0)).collect();
    writer.offer(more);
    assert_eq!(metrics.queued(), 5);
    assert_eq!(metrics.dropped(DropReason::QueueFull), 3);

    receiver.release(100);
    let report = writer.shutdown(Duration::from_secs(5)).await;
    assert!(report.flushed && report.dropped == 0, "{report:?}");
    let sent: Vec<i64> = receiver
        .requests()
        .iter()
        .flat_map(|r| shown(&r.points))
        .map(|s| s.1)
        .collect();
    // The oldest scores were kept, the newest dropped.
    assert_eq!(sent, [0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(metrics.sent(), 7);
    assert_eq!(metrics.queued(), 0);
}

#[tokio::test]
async fn shutdown_sends_what_is_queued_without_waiting_for_the_batch_deadline() {
    let receiver = Receiver::start(&[]).await;
    let metrics = RemoteWriteMetrics::default();
    let opts = RemoteWriteOptions {
        batch_deadline: Duration::from_secs(600),
        ..options(&receiver.url, 1_000)
    };
    let writer = RemoteWriter::start(opts, metrics.clone()).unwrap();
    let cpu = key("cpu", &[]);
    let scores: Vec<(&SeriesKey, Timestamp, f64)> = (0..5).map(|t| (&cpu, ms(t), 0.5)).collect();
    writer.offer(scores);
    let started = tokio::time::Instant::now();
    let report = writer.shutdown(Duration::from_secs(5)).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(report.flushed && report.dropped == 0, "{report:?}");
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].points.len(), 5);
    assert_eq!(metrics.sent(), 5);

    // After shutdown, scores are not taken: counted as dropped.
    writer.offer([(&cpu, ms(9), 0.5)]);
    assert_eq!(metrics.dropped(DropReason::Shutdown), 1);
    let again = writer.shutdown(Duration::from_secs(1)).await;
    assert!(again.flushed);
}

#[tokio::test]
async fn shutdown_gives_up_at_its_deadline_when_nothing_answers() {
    // A port that was free a moment ago: connections are refused.
    let url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/api/v1/write", listener.local_addr().unwrap())
    };
    let metrics = RemoteWriteMetrics::default();
    let writer = RemoteWriter::start(options(&url, 2), metrics.clone()).unwrap();
    let cpu = key("cpu", &[]);
    let scores: Vec<(&SeriesKey, Timestamp, f64)> = (0..5).map(|t| (&cpu, ms(t), 0.5)).collect();
    writer.offer(scores);
    let started = tokio::time::Instant::now();
    let report = writer.shutdown(Duration::from_millis(300)).await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3));
    assert!(!report.flushed);
    assert_eq!(report.dropped, 5, "queued and in flight");
    assert_eq!(metrics.dropped(DropReason::Shutdown), 5);
    assert!(
        metrics.failed_requests() >= 2,
        "connection errors are retried"
    );
    assert_eq!(metrics.sent(), 0);
}

#[tokio::test]
async fn the_router_hands_on_only_durable_scores() {
    let receiver = Receiver::start(&[]).await;
    let metrics = ServiceMetrics::default();
    let writer = Arc::new(
        RemoteWriter::start(options(&receiver.url, 1_000), metrics.remote_write()).unwrap(),
    );
    let options = ServeOptions {
        score_sink: Some(writer.clone()),
        ..ServeOptions::default()
    };
    let store = Arc::new(support::MemoryStore::new(
        ServeConfig::default(),
        100,
        metrics.fsync_seconds(),
    ));
    let router = anomalyzer_serve::router(Arc::clone(&store), metrics, options).unwrap();
    // The third point repeats a timestamp: rejected, so not written out.
    let body = [
        line("cpu", r#"{"host":"a"}"#, 1_700_000_000, 1.0),
        line("cpu", r#"{"host":"a"}"#, 1_700_000_001, 2.0),
        line("cpu", r#"{"host":"a"}"#, 1_700_000_001, 3.0),
    ]
    .join("\n");
    let answer = send(&router, post("/api/v1/push", body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let results = answer.json()["results"].as_array().unwrap().clone();

    // A store that cannot make points durable: nothing goes out.
    *store.fail_with.lock().unwrap() =
        Some(anomalyzer_serve::Error::Unavailable("disk full".into()));
    let refused = send(
        &router,
        post(
            "/api/v1/push",
            line("cpu", r#"{"host":"a"}"#, 1_700_000_002, 4.0),
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);

    let report = writer.shutdown(Duration::from_secs(5)).await;
    assert!(report.flushed, "{report:?}");
    let sent: Vec<(String, i64, f64)> = receiver
        .requests()
        .iter()
        .flat_map(|r| shown(&r.points))
        .collect();
    let expected: Vec<(String, i64, f64)> = results[..2]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                "cpu".to_owned(),
                (1_700_000_000 + i as i64) * 1_000,
                r["probability"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(sent, expected);
    assert_eq!(
        receiver.requests()[0].points[0].key.to_string(),
        r#"anomaly_score{host="a",series="cpu"}"#
    );

    // The exposition shows the output's counters.
    let text = send(&router, support::get("/metrics")).await.body;
    for expected in [
        "anomalyzer_remote_write_samples_total 2",
        "anomalyzer_remote_write_dropped_samples_total{reason=\"queue full\"} 0",
        "anomalyzer_remote_write_failed_requests_total 0",
        "anomalyzer_remote_write_queue_samples 0",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}
