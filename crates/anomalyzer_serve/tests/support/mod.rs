//! Shared by the router scenario tests: an in-memory TEST DOUBLE of the
//! series store (no durability at all; the real store is the durable one
//! in anomalyzer_store), and helpers that send requests through the router
//! without a socket.

#![allow(dead_code)] // each test binary uses part of this module

pub mod prometheus;
pub mod receiver;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anomalyzer_serve::{
    plan_order, Batch, Error, LastPoint, PointOutcome, Result, SeriesKey, SeriesStatus,
    SeriesStore, ServeConfig, ServeOptions, ServiceMetrics, StoreStats, Timestamp,
};
use anomalyzer_ts::Anomalyzer;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use globset::GlobMatcher;
use prometheus_client::metrics::histogram::Histogram;
use tower::ServiceExt;

struct Series {
    detector: Anomalyzer,
    points: u64,
    last: Option<LastPoint>,
}

/// Test double of [`SeriesStore`]: series in a map behind a mutex, the
/// trait's all-or-nothing contract kept, nothing written anywhere.
pub struct MemoryStore {
    config: ServeConfig,
    max_series: usize,
    series: Mutex<BTreeMap<SeriesKey, Series>>,
    ready: AtomicBool,
    /// When set, every apply fails with this error (a full disk, say).
    pub fail_with: Mutex<Option<Error>>,
    fsync_seconds: Histogram,
}

impl MemoryStore {
    pub fn new(config: ServeConfig, max_series: usize, fsync_seconds: Histogram) -> Self {
        MemoryStore {
            config,
            max_series,
            series: Mutex::new(BTreeMap::new()),
            ready: AtomicBool::new(true),
            fail_with: Mutex::new(None),
            fsync_seconds,
        }
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    pub fn series_count(&self) -> usize {
        self.series.lock().unwrap().len()
    }

    pub fn points_of(&self, name: &str) -> u64 {
        self.series
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.name() == name)
            .map(|(_, s)| s.points)
            .sum()
    }
}

impl SeriesStore for MemoryStore {
    async fn apply(&self, batch: &Batch) -> Result<Vec<PointOutcome>> {
        if let Some(e) = self.fail_with.lock().unwrap().clone() {
            return Err(e);
        }
        let mut map = self.series.lock().unwrap();
        let plan = plan_order(batch.points(), |k| {
            map.get(k)
                .and_then(|s| s.last.as_ref())
                .map(|l| l.timestamp)
        });
        // All or nothing: refuse before changing anything.
        let mut new: Vec<&SeriesKey> = Vec::new();
        for (p, fate) in batch.points().iter().zip(&plan) {
            if fate.is_none() && !map.contains_key(&p.key) && !new.contains(&&p.key) {
                new.push(&p.key);
            }
        }
        if map.len() + new.len() > self.max_series {
            return Err(Error::TooManySeries {
                limit: self.max_series as u64,
                series: new[0].to_string(),
            });
        }
        let mut outcomes = Vec::with_capacity(batch.len());
        for (p, fate) in batch.points().iter().zip(plan) {
            if let Some(reason) = fate {
                outcomes.push(PointOutcome::Rejected(reason));
                continue;
            }
            let series = map.entry(p.key.clone()).or_insert_with(|| Series {
                detector: Anomalyzer::with_shared_conf(self.config.resolve(&p.key).conf, &[])
                    .expect("an empty window is valid"),
                points: 0,
                last: None,
            });
            let explanation = series.detector.push_explained(p.value)?;
            series.points += 1;
            outcomes.push(PointOutcome::Scored(explanation.probability));
            series.last = Some(LastPoint {
                timestamp: p.timestamp,
                value: p.value,
                explanation,
            });
        }
        // A stand-in observation so the histogram has data; a real store
        // times its fsyncs.
        self.fsync_seconds.observe(0.0005);
        Ok(outcomes)
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn find(&self, pattern: &GlobMatcher) -> Vec<SeriesStatus> {
        self.series
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| pattern.is_match(k.name()))
            .map(|(k, s)| SeriesStatus {
                key: k.clone(),
                points: s.points,
                last: s
                    .last
                    .as_ref()
                    .map(|l| (l.timestamp, l.explanation.probability)),
            })
            .collect()
    }

    fn explain(&self, key: &SeriesKey) -> Option<LastPoint> {
        self.series.lock().unwrap().get(key)?.last.clone()
    }

    fn for_each_score(&self, min_score: f64, visit: &mut dyn FnMut(&SeriesKey, f64)) {
        for (k, s) in self.series.lock().unwrap().iter() {
            if let Some(last) = &s.last {
                if last.explanation.probability >= min_score {
                    visit(k, last.explanation.probability);
                }
            }
        }
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            series: self.series.lock().unwrap().len() as u64,
            wal_bytes: 0,
        }
    }
}

/// A router over a fresh [`MemoryStore`], with both returned.
pub fn app(
    config: ServeConfig,
    max_series: usize,
    options: ServeOptions,
) -> (Router, Arc<MemoryStore>, ServiceMetrics) {
    let metrics = ServiceMetrics::default();
    let store = Arc::new(MemoryStore::new(
        config,
        max_series,
        metrics.fsync_seconds(),
    ));
    let router = anomalyzer_serve::router(Arc::clone(&store), metrics.clone(), options)
        .expect("valid options");
    (router, store, metrics)
}

/// An answer: status, content type and body text.
pub struct Answer {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Sends one request through the router (no socket).
pub async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
        .await
        .expect("body");
    Answer {
        status,
        content_type,
        body: String::from_utf8(bytes.to_vec()).expect("UTF-8 body"),
    }
}

pub fn post(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri).body(body.into()).unwrap()
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// A JSON line for `POST /api/v1/push`.
pub fn line(series: &str, labels: &str, timestamp: i64, value: f64) -> String {
    format!(r#"{{"series":"{series}","labels":{labels},"timestamp":{timestamp},"value":{value}}}"#)
}

/// Scores of a bare detector of `config`'s resolution for `key` on `values`.
pub fn reference_scores(config: &ServeConfig, key: &SeriesKey, values: &[f64]) -> Vec<f64> {
    let mut d = Anomalyzer::with_shared_conf(config.resolve(key).conf, &[]).unwrap();
    values.iter().map(|&v| d.push(v).unwrap()).collect()
}

pub fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(seconds).unwrap()
}
