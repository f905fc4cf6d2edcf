//! `--remote-write URL`: every scored point's probability also goes out
//! as a Prometheus remote_write 1.0 sample of `anomaly_score{<series
//! labels>}` (see [`score_write_request`]), timestamped with the point's
//! time in milliseconds.
//!
//! Ingest never waits for the receiver. Scores go into bounded queues
//! (counted in samples); when one is full, new scores are dropped and
//! counted (`queue full`). There are
//! [`shards`](RemoteWriteOptions::shards) queues, each with its own sender
//! task and so one request in flight: a series always goes to the same
//! shard (its [`partition`](SeriesKey::partition)), so its samples reach
//! the receiver in order, which receivers require. A sender takes batches
//! of at most [`max_samples_per_request`](RemoteWriteOptions::max_samples_per_request),
//! sending a partial batch once its first sample has waited
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
use crate::error::Result;
use crate::exposition::{DropReason, RemoteWriteMetrics};
use crate::remote_write::{encode_write_request, score_write_request};
use crate::remote_write_options::{invalid, RemoteWriteOptions};
use crate::score_sink::{scores, ScoreSink};
use crate::series_key::SeriesKey;
use crate::timestamp::Timestamp;

/// The `User-Agent` of the output's requests.
pub const USER_AGENT: &str = concat!("anomalyzer/", env!("CARGO_PKG_VERSION"));

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

/// One shard: what the handlers and its sender task share.
struct Shard {
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

impl Shard {
    fn new(capacity: usize, batch: usize, metrics: RemoteWriteMetrics) -> Self {
        Shard {
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            closing: AtomicBool::new(false),
            in_flight: AtomicU64::new(0),
            capacity,
            batch,
            metrics,
        }
    }

    fn queue(&self) -> MutexGuard<'_, VecDeque<Queued>> {
        // A panic while holding the lock leaves a well-formed VecDeque.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues what fits, then wakes the sender if it waits for this.
    /// Returns how many did not fit.
    fn push(&self, scores: Vec<Queued>) -> u64 {
        let total = scores.len();
        let (was_empty, len, taken) = {
            let mut queue = self.queue();
            let was_empty = queue.is_empty();
            let room = self.capacity.saturating_sub(queue.len());
            let taken = total.min(room);
            queue.extend(scores.into_iter().take(taken));
            // Under the lock, so the gauge never sees a batch taken before
            // it was counted in.
            self.metrics.add_queued(taken as i64);
            (was_empty, queue.len(), taken)
        };
        // The sender waits for a first sample, then for a full batch.
        if (was_empty && len > 0) || len >= self.batch {
            self.wake.notify_one();
        }
        (total - taken) as u64
    }
}

/// The `--remote-write` output: bounded queues and the tasks that send them.
/// Register it as the router's [`ScoreSink`] (in
/// [`ServeOptions::score_sink`](crate::ServeOptions::score_sink)) and call
/// [`shutdown`](Self::shutdown) when the service stops. Dropping it
/// without a shutdown stops the sender and loses what is queued.
#[derive(Debug)]
pub struct RemoteWriter {
    shards: Vec<Arc<Shard>>,
    closing: AtomicBool,
    metrics: RemoteWriteMetrics,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
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
        let logged = Arc::new(Mutex::new(HashSet::new()));
        let client = Client::builder()
            .user_agent(USER_AGENT)
            .timeout(options.request_timeout)
            .connect_timeout(options.request_timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| invalid(format!("HTTP client: {e}")))?;
        metrics.set_queued(0);
        let per_shard = options.queue_capacity.div_ceil(options.shards);
        let seed = jitter_seed();
        let mut shards = Vec::with_capacity(options.shards);
        let mut tasks = Vec::with_capacity(options.shards);
        for i in 0..options.shards {
            let shard = Arc::new(Shard::new(
                per_shard,
                options.max_samples_per_request,
                metrics.clone(),
            ));
            let sender = Sender {
                shard: Arc::clone(&shard),
                // The client is a handle to one shared connection pool.
                client: client.clone(),
                url: url.clone(),
                options: options.clone(),
                logged: Arc::clone(&logged),
                jitter_state: seed ^ i as u64,
            };
            tasks.push(runtime.spawn(sender.run()));
            shards.push(shard);
        }
        Ok(RemoteWriter {
            shards,
            closing: AtomicBool::new(false),
            metrics,
            tasks: Mutex::new(tasks),
        })
    }

    /// Queues scores to be sent, dropping (and counting) those that do not
    /// fit. Never waits.
    pub fn offer<'a>(&self, scores: impl IntoIterator<Item = (&'a SeriesKey, Timestamp, f64)>) {
        if self.closing.load(Ordering::Acquire) {
            let n = scores.into_iter().count() as u64;
            self.metrics.count_dropped(DropReason::Shutdown, n);
            return;
        }
        let count = self.shards.len() as u32;
        let mut split: Vec<Vec<Queued>> = (0..count).map(|_| Vec::new()).collect();
        for (key, timestamp, probability) in scores {
            // `count` is at least 1, checked at start.
            let shard = key.partition(count).unwrap_or(0) as usize;
            split[shard].push(Queued {
                key: key.clone(),
                timestamp,
                probability,
            });
        }
        let mut dropped = 0;
        for (shard, scores) in self.shards.iter().zip(split) {
            if !scores.is_empty() {
                dropped += shard.push(scores);
            }
        }
        self.metrics.count_dropped(DropReason::QueueFull, dropped);
    }

    /// Stops taking scores and sends what is queued, for at most
    /// `deadline`; then gives up on the rest (counted as `shutdown`).
    /// Calling it again does nothing more.
    pub async fn shutdown(&self, deadline: Duration) -> FlushReport {
        self.closing.store(true, Ordering::Release);
        for shard in &self.shards {
            shard.closing.store(true, Ordering::Release);
            shard.wake.notify_one();
        }
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        let until = Instant::now() + deadline;
        let mut flushed = true;
        for mut task in tasks {
            if tokio::time::timeout_at(until, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
                flushed = false;
            }
        }
        let mut left = 0;
        for shard in &self.shards {
            let mut queue = shard.queue();
            left += queue.len() as u64 + shard.in_flight.swap(0, Ordering::AcqRel);
            queue.clear();
        }
        self.metrics.set_queued(0);
        self.metrics.count_dropped(DropReason::Shutdown, left);
        FlushReport {
            flushed: flushed && left == 0,
            dropped: left,
        }
    }
}

impl Drop for RemoteWriter {
    fn drop(&mut self) {
        let tasks = self.tasks.get_mut().unwrap_or_else(PoisonError::into_inner);
        for task in tasks.drain(..) {
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

/// A shard's sender task's state.
struct Sender {
    shard: Arc<Shard>,
    client: Client,
    url: Url,
    options: RemoteWriteOptions,
    /// Kinds of failure already logged (by any shard), so each is logged once.
    logged: Arc<Mutex<HashSet<String>>>,
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
        let shared = &*self.shard;
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
        shared.metrics.add_queued(-(n as i64));
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
                    self.shard.metrics.count_sent(n);
                    break;
                }
                Attempt::Refused { kind, detail } => {
                    self.shard.metrics.count_failed_request();
                    self.shard.metrics.count_dropped(DropReason::Rejected, n);
                    self.log_once(kind, &format!("{detail}; dropped {n} samples, not retried"));
                    break;
                }
                Attempt::Retry {
                    kind,
                    detail,
                    retry_after,
                } => {
                    self.shard.metrics.count_failed_request();
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
        self.shard.in_flight.store(0, Ordering::Release);
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

    fn log_once(&self, kind: String, message: &str) {
        let first = self
            .logged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(kind);
        if first {
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
        let mut sender = Sender {
            shard: Arc::new(Shard::new(1, 1, RemoteWriteMetrics::default())),
            client: Client::new(),
            url: Url::parse("http://127.0.0.1:1/").unwrap(),
            options: RemoteWriteOptions::new("http://127.0.0.1:1/"),
            logged: Arc::default(),
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
