//! Shared by the load generator's scenario tests: an in-memory TEST DOUBLE
//! of the series store (copied from anomalyzer_serve's router tests; no
//! durability at all, never shipped) behind the real router on a loopback
//! socket, and a runner for the built `anomalyzer-loadgen` binary. Every
//! wait is bounded.

#![allow(dead_code)] // each test binary uses part of this module

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anomalyzer_serve::{
    plan_order, Batch, Error, LastPoint, PointOutcome, Result, SeriesKey, SeriesStatus,
    SeriesStore, ServeConfig, ServeOptions, ServiceMetrics, StoreStats,
};
use anomalyzer_ts::Anomalyzer;
use globset::GlobMatcher;
use prometheus_client::metrics::histogram::Histogram;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

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

/// The router over a fresh [`MemoryStore`] served on 127.0.0.1, port 0,
/// on its own thread and runtime, until the handle is dropped.
pub struct Server {
    pub addr: SocketAddr,
    pub store: Arc<MemoryStore>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(options: ServeOptions) -> Server {
        let metrics = ServiceMetrics::default();
        let store = Arc::new(MemoryStore::new(
            ServeConfig::default(),
            usize::MAX,
            metrics.fsync_seconds(),
        ));
        let router =
            anomalyzer_serve::router(Arc::clone(&store), metrics, options).expect("valid options");
        let (stop, stopped) = oneshot::channel::<()>();
        let (bound, addr) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind loopback");
                bound.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("server ran cleanly");
            });
        });
        let addr = addr
            .recv_timeout(Duration::from_secs(10))
            .expect("server bound in time");
        Server {
            addr,
            store,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a run of the binary left: exit code, stdout, stderr.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn report(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not a JSON report ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

/// Runs `anomalyzer-loadgen ARGS` in `dir`, killed if it outlives `limit`.
pub fn loadgen(dir: &Path, args: &[&str], limit: Duration) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_anomalyzer-loadgen"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start anomalyzer-loadgen");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("anomalyzer-loadgen {args:?} ran over {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    }
}
