//! `--remote-write URL`: every scored point's probability also goes out
//! as a Prometheus remote_write 1.0 sample of `anomaly_score{<series
//! labels>}` (see [`score_write_request`]), timestamped with the point's
//! time in milliseconds.
//!
//! Ingest never waits for the receiver. Scores go into a bounded queue
//! (counted in samples); when it is full, new scores are dropped and
//! counted (`queue full`). One sender task takes batches off the queue, at
//! most [`max_samples_per_request`](RemoteWriteOptions::max_samples_per_request)
//! at a time, sending a partial batch once its first sample has waited
//! [`batch_deadline`](RemoteWriteOptions::batch_deadline). A batch that
//! meets a 5xx, a 429 or no answer at all is sent again, after an
//! exponential backoff with jitter (and at least a `Retry-After` given in
//! seconds), until it is accepted; the queue fills meanwhile, so a long
//! outage costs the newest scores, not memory. Any other 4xx means the
//! receiver will never take the batch: it is dropped and counted
//! (`rejected`). Each kind of failure is logged to stderr once.
//!
//! [`RemoteWriter::shutdown`] stops taking scores and sends what is queued
//! until a deadline; what is left then is counted (`shutdown`).

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Client, StatusCode, Url};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::batch::{Point, PointOutcome};
use crate::error::{Error, Result};
use crate::exposition::{DropReason, RemoteWriteMetrics};
use crate::remote_write::{encode_write_request, score_write_request};
use crate::score_sink::{scores, ScoreSink};
use crate::series_key::SeriesKey;
use crate::timestamp::Timestamp;

/// The `User-Agent` of the output's requests.
pub const USER_AGENT: &str = concat!("anomalyzer/", env!("CARGO_PKG_VERSION"));

/// How the `--remote-write` output batches, queues and retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteWriteOptions {
    /// The receiver, e.g. `http://127.0.0.1:9090/api/v1/write` (http or https).
    pub url: String,
    /// Most samples waiting to be sent; past it new scores are dropped.
    pub queue_capacity: usize,
    /// Most samples in one request.
    pub max_samples_per_request: usize,
    /// Longest a sample waits for its batch to fill before it is sent.
    pub batch_deadline: Duration,
    /// Wait before the first retry; doubled after each failure.
    pub min_backoff: Duration,
    /// The longest wait between retries.
    pub max_backoff: Duration,
    /// A request without an answer by then has failed (and is retried).
    pub request_timeout: Duration,
}

impl RemoteWriteOptions {
    /// The defaults for `url`: a queue of 100 000 samples, 2 000 samples
    /// or 1 s per request, backoff from 30 ms to 5 s, 30 s per request.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        RemoteWriteOptions {
            url: url.into(),
            queue_capacity: 100_000,
            max_samples_per_request: 2_000,
            batch_deadline: Duration::from_secs(1),
            min_backoff: Duration::from_millis(30),
            max_backoff: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }

    /// The receiver's URL, checked: http or https with a host.
    pub fn parsed_url(&self) -> Result<Url> {
        let url = Url::parse(&self.url).map_err(|e| invalid(format!("{:?}: {e}", self.url)))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(invalid(format!(
                "{:?}: not an http:// or https:// URL with a host",
                self.url
            )));
        }
        Ok(url)
    }

    /// Checks every field: a valid URL, sizes and durations above zero, and
    /// `min_backoff` at most `max_backoff`.
    pub fn check(&self) -> Result<()> {
        self.parsed_url()?;
        if self.queue_capacity == 0 || self.max_samples_per_request == 0 {
            return Err(invalid(
                "the queue capacity and the samples per request must be at least 1".into(),
            ));
        }
        if self.batch_deadline.is_zero()
            || self.min_backoff.is_zero()
            || self.request_timeout.is_zero()
        {
            return Err(invalid(
                "the batch deadline, backoff and request timeout must be above zero".into(),
            ));
        }
        if self.min_backoff > self.max_backoff {
            return Err(invalid(format!(
                "min backoff {:?} is above max backoff {:?}",
                self.min_backoff, self.max_backoff
            )));
        }
        Ok(())
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidConfig {
        origin: "--remote-write".into(),
        reason,
    }
}

/// What [`RemoteWriter::shutdown`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushReport {
    /// True when the queue was emptied (sent, or rejected by the receiver)
    /// before the deadline.
    pub flushed: bool,
    /// Samples still queued or in flight at the deadline, now dropped.
    pub dropped: u64,
}

/// One score waiting to be sent.
struct Queued {
    key: SeriesKey,
    timestamp: Timestamp,
    probability: f64,
}

/// What the handlers and the sender task share.
struct Shared {
    queue: Mutex<VecDeque<Queued>>,
    /// Wakes the sender: the queue became non-empty, filled a batch, or
    /// shutdown began.
    wake: Notify,
    closing: AtomicBool,
    /// Samples of the batch being sent, for the count at a shutdown abort.
    in_flight: AtomicU64,
    capacity: usize,
    batch: usize,
    metrics: RemoteWriteMetrics,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, VecDeque<Queued>> {
        // A panic while holding the lock leaves a well-formed VecDeque.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `--remote-write` output: a bounded queue and the task that sends it.
/// Register it as the router's [`ScoreSink`] (in
/// [`ServeOptions::score_sink`](crate::ServeOptions::score_sink)) and call
/// [`shutdown`](Self::shutdown) when the service stops. Dropping it
/// without a shutdown stops the sender and loses what is queued.
#[derive(Debug)]
pub struct RemoteWriter {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("capacity", &self.capacity)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl RemoteWriter {
    /// Checks `options`, builds the HTTP client and starts the sender on
    /// the current tokio runtime (an error outside of one). `metrics` are
    /// the exported counters ([`ServiceMetrics::remote_write`](crate::ServiceMetrics::remote_write)).
    pub fn start(options: RemoteWriteOptions, metrics: RemoteWriteMetrics) -> Result<Self> {
        options.check()?;
        let url = options.parsed_url()?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| invalid(format!("needs a tokio runtime to run on: {e}")))?;
        let client = Client::builder()
            .user_agent(USER_AGENT)
            .timeout(options.request_timeout)
            .connect_timeout(options.request_timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| invalid(format!("HTTP client: {e}")))?;
        metrics.set_queued(0);
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            closing: AtomicBool::new(false),
            in_flight: AtomicU64::new(0),
            capacity: options.queue_capacity,
            batch: options.max_samples_per_request,
            metrics,
        });
        let sender = Sender {
            shared: Arc::clone(&shared),
            client,
            url,
            options,
            logged: HashSet::new(),
            jitter_state: jitter_seed(),
        };
        let task = runtime.spawn(sender.run());
        Ok(RemoteWriter {
            shared,
            task: Mutex::new(Some(task)),
        })
    }

    /// Queues scores to be sent, dropping (and counting) those that do not
    /// fit. Never waits.
    pub fn offer<'a>(&self, scores: impl IntoIterator<Item = (&'a SeriesKey, Timestamp, f64)>) {
        let shared = &self.shared;
        if shared.closing.load(Ordering::Acquire) {
            let n = scores.into_iter().count() as u64;
            shared.metrics.count_dropped(DropReason::Shutdown, n);
            return;
        }
        let mut dropped = 0u64;
        let (was_empty, len) = {
            let mut queue = shared.queue();
            let was_empty = queue.is_empty();
            for (key, timestamp, probability) in scores {
                if queue.len() < shared.capacity {
                    queue.push_back(Queued {
                        key: key.clone(),
                        timestamp,
                        probability,
                    });
                } else {
                    dropped += 1;
                }
            }
            shared.metrics.set_queued(queue.len());
            (was_empty, queue.len())
        };
        shared.metrics.count_dropped(DropReason::QueueFull, dropped);
        // The sender waits for a first sample, then for a full batch.
        if (was_empty && len > 0) || len >= shared.batch {
            shared.wake.notify_one();
        }
    }

    /// Stops taking scores and sends what is queued, for at most
    /// `deadline`; then gives up on the rest (counted as `shutdown`).
    /// Calling it again does nothing more.
    pub async fn shutdown(&self, deadline: Duration) -> FlushReport {
        let shared = &self.shared;
        shared.closing.store(true, Ordering::Release);
        shared.wake.notify_one();
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(mut task) = task else {
            return FlushReport {
                flushed: true,
                dropped: 0,
            };
        };
        let flushed = match tokio::time::timeout(deadline, &mut task).await {
            Ok(_) => true,
            Err(_) => {
                task.abort();
                let _ = task.await;
                false
            }
        };
        let left = {
            let mut queue = shared.queue();
            let n = queue.len() as u64;
            queue.clear();
            n
        } + shared.in_flight.swap(0, Ordering::AcqRel);
        shared.metrics.set_queued(0);
        shared.metrics.count_dropped(DropReason::Shutdown, left);
        FlushReport {
            flushed: flushed && left == 0,
            dropped: left,
        }
    }
}

impl Drop for RemoteWriter {
    fn drop(&mut self) {
        let task = self.task.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(task) = task.take() {
            task.abort();
        }
    }
}

impl ScoreSink for RemoteWriter {
    fn scored(&self, points: &[Point], outcomes: &[PointOutcome]) {
        self.offer(scores(points, outcomes));
    }
}

/// What became of one attempt to send a batch.
enum Attempt {
    Accepted,
    /// Worth sending again: 5xx, 429 or no answer; with the receiver's
    /// `Retry-After`, when it gave one in seconds.
    Retry {
        kind: String,
        detail: String,
        retry_after: Option<Duration>,
    },
    /// Never worth sending again: another 4xx (or a 1xx/3xx answer).
    Refused {
        kind: String,
        detail: String,
    },
}

/// The sender task's state.
struct Sender {
    shared: Arc<Shared>,
    client: Client,
    url: Url,
    options: RemoteWriteOptions,
    /// Kinds of failure already logged, so each is logged once.
    logged: HashSet<String>,
    jitter_state: u64,
}

impl Sender {
    async fn run(mut self) {
        while let Some(batch) = self.next_batch().await {
            self.send(batch).await;
        }
    }

    /// Waits for a first sample, then for a full batch or the batch
    /// deadline (not waiting once shutdown began); `None` when shutting
    /// down with nothing left.
    async fn next_batch(&self) -> Option<Vec<Queued>> {
        let shared = &self.shared;
        loop {
            if !shared.queue().is_empty() {
                break;
            }
            if shared.closing.load(Ordering::Acquire) {
                return None;
            }
            // notify_one keeps a permit when nobody waits, so a sample
            // queued between the check and here is not missed.
            shared.wake.notified().await;
        }
        let until = Instant::now() + self.options.batch_deadline;
        while shared.queue().len() < shared.batch && !shared.closing.load(Ordering::Acquire) {
            if tokio::time::timeout_at(until, shared.wake.notified())
                .await
                .is_err()
            {
                break;
            }
        }
        let mut queue = shared.queue();
        let n = queue.len().min(shared.batch);
        let batch: Vec<Queued> = queue.drain(..n).collect();
        shared.in_flight.store(n as u64, Ordering::Release);
        shared.metrics.set_queued(queue.len());
        Some(batch)
    }

    /// Sends one batch until it is accepted or refused.
    async fn send(&mut self, batch: Vec<Queued>) {
        let n = batch.len() as u64;
        let body = encode_write_request(&score_write_request(
            batch.iter().map(|q| (&q.key, q.timestamp, q.probability)),
        ));
        let mut backoff = self.options.min_backoff;
        loop {
            match self.attempt(&body).await {
                Attempt::Accepted => {
                    self.shared.metrics.count_sent(n);
                    break;
                }
                Attempt::Refused { kind, detail } => {
                    self.shared.metrics.count_failed_request();
                    self.shared.metrics.count_dropped(DropReason::Rejected, n);
                    self.log_once(kind, &format!("{detail}; dropped {n} samples, not retried"));
                    break;
                }
                Attempt::Retry {
                    kind,
                    detail,
                    retry_after,
                } => {
                    self.shared.metrics.count_failed_request();
                    self.log_once(kind, &format!("{detail}; retrying with backoff"));
                    let wait = self.jittered(backoff).max(
                        retry_after
                            .unwrap_or_default()
                            .min(self.options.max_backoff),
                    );
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(self.options.max_backoff);
                }
            }
        }
        self.shared.in_flight.store(0, Ordering::Release);
    }

    async fn attempt(&self, body: &[u8]) -> Attempt {
        let response = self
            .client
            .post(self.url.clone())
            .headers(remote_write_headers())
            .body(body.to_vec())
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(e) => {
                return Attempt::Retry {
                    kind: "no answer".into(),
                    detail: format!("no answer from {}: {e}", self.url),
                    retry_after: None,
                }
            }
        };
        let status = response.status();
        if status.is_success() {
            return Attempt::Accepted;
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.unwrap_or_default();
        let detail = format!("{} answered {status}: {}", self.url, excerpt(&text));
        let kind = format!("status {}", status.as_u16());
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Attempt::Retry {
                kind,
                detail,
                retry_after,
            }
        } else {
            Attempt::Refused { kind, detail }
        }
    }

    fn log_once(&mut self, kind: String, message: &str) {
        if self.logged.insert(kind) {
            eprintln!(
                "remote-write: {message} (logged once; see anomalyzer_remote_write_* in /metrics)"
            );
        }
    }

    /// "Equal jitter": half of `backoff` plus a random part of the other
    /// half, so that many writers do not retry in step.
    fn jittered(&mut self, backoff: Duration) -> Duration {
        let half = backoff / 2;
        self.jitter_state = xxhash_rust::xxh3::xxh3_64(&self.jitter_state.to_le_bytes());
        let fraction = (self.jitter_state >> 11) as f64 / (1u64 << 53) as f64;
        half + half.mul_f64(fraction)
    }
}

/// The headers Prometheus sends with remote_write 1.0.
fn remote_write_headers() -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(3);
    headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-protobuf"),
    );
    headers.insert(
        "x-prometheus-remote-write-version",
        HeaderValue::from_static("0.1.0"),
    );
    headers
}

/// The start of a receiver's error text, on one line, for the log.
fn excerpt(text: &str) -> String {
    let line: String = text.trim().chars().take(200).collect();
    line.replace(['\n', '\r'], " ")
}

/// A seed for the jitter that differs between processes and starts; the
/// jitter only spreads retries, it needs no quality beyond that.
fn jitter_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        let ok = RemoteWriteOptions::new("http://127.0.0.1:9090/api/v1/write");
        assert!(ok.check().is_ok());
        assert!(RemoteWriteOptions::new("https://mimir.example/api/v1/push")
            .check()
            .is_ok());
        let message = |o: RemoteWriteOptions| o.check().unwrap_err().to_string();
        assert!(message(RemoteWriteOptions::new("localhost:9090")).contains("--remote-write"));
        assert!(message(RemoteWriteOptions::new("ftp://h/x")).contains("not an http://"));
        assert!(message(RemoteWriteOptions {
            queue_capacity: 0,
            ..ok.clone()
        })
        .contains("at least 1"));
        assert!(message(RemoteWriteOptions {
            batch_deadline: Duration::ZERO,
            ..ok.clone()
        })
        .contains("above zero"));
        assert!(message(RemoteWriteOptions {
            min_backoff: Duration::from_secs(9),
            ..ok
        })
        .contains("above max backoff"));
    }

    #[test]
    fn starting_outside_a_runtime_is_an_error() {
        let err = RemoteWriter::start(
            RemoteWriteOptions::new("http://127.0.0.1:1/api/v1/write"),
            RemoteWriteMetrics::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("tokio runtime"), "{err}");
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_backoff() {
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            closing: AtomicBool::new(false),
            in_flight: AtomicU64::new(0),
            capacity: 1,
            batch: 1,
            metrics: RemoteWriteMetrics::default(),
        });
        let mut sender = Sender {
            shared,
            client: Client::new(),
            url: Url::parse("http://127.0.0.1:1/").unwrap(),
            options: RemoteWriteOptions::new("http://127.0.0.1:1/"),
            logged: HashSet::new(),
            jitter_state: 42,
        };
        let backoff = Duration::from_millis(100);
        let waits: Vec<Duration> = (0..200).map(|_| sender.jittered(backoff)).collect();
        assert!(waits.iter().all(|w| *w >= backoff / 2 && *w <= backoff));
        let distinct: HashSet<Duration> = waits.iter().copied().collect();
        assert!(distinct.len() > 150, "jitter varies: {}", distinct.len());
    }

    #[test]
    fn error_text_is_cut_to_one_line() {
        assert_eq!(excerpt("  bad\nthing \r\n"), "bad thing");
        assert_eq!(excerpt(&"x".repeat(500)).len(), 200);
    }
}
