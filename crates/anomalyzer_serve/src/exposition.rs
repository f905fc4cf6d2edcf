//! `GET /metrics`: the service's own metrics and every series' latest
//! anomaly score, encoded by prometheus-client in the OpenMetrics text
//! format. A client that does not ask for OpenMetrics in its `Accept`
//! header (curl, `promtool check metrics`, older scrapers) gets the same
//! samples in the Prometheus text format 0.0.4: there a counter's `HELP`
//! and `TYPE` name the `_total` series and there is no `# EOF`.
//!
//! | metric | type | what |
//! | --- | --- | --- |
//! | `anomalyzer_anomaly_score{series="<name>",<labels>}` | gauge | latest probability per series (at least `--metrics-min-score`) |
//! | `anomalyzer_series` | gauge | series held |
//! | `anomalyzer_points_total` | counter | points scored |
//! | `anomalyzer_rejected_points_total{reason}` | counter | points not scored, by reason |
//! | `anomalyzer_fsync_seconds` | histogram | time per fsync of the store |
//! | `anomalyzer_wal_bytes` | gauge | bytes in the write-ahead log |
//! | `anomalyzer_remote_write_samples_total` | counter | `--remote-write` samples the receiver accepted |
//! | `anomalyzer_remote_write_dropped_samples_total{reason}` | counter | samples given up: `queue full`, `rejected`, `shutdown` |
//! | `anomalyzer_remote_write_failed_requests_total` | counter | remote_write requests that failed (each retry counts) |
//! | `anomalyzer_remote_write_queue_samples` | gauge | samples waiting to be sent |

use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::batch::RejectReason;
use crate::store::SeriesStore;

/// The `Content-Type` of the OpenMetrics exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `Content-Type` of the Prometheus text format 0.0.4 exposition.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether an `Accept` header asks for OpenMetrics (Prometheus' scraper
/// lists it first); anything else gets the 0.0.4 text format.
#[must_use]
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("application/openmetrics-text"))
}

/// Rewrites prometheus-client's OpenMetrics text into the Prometheus text
/// format 0.0.4. The two differ, for what this service exports, only in
/// that OpenMetrics names a counter family without its `_total` suffix
/// and ends with `# EOF` (and may carry `# UNIT` lines, which 0.0.4 lacks);
/// sample lines are the same.
#[must_use]
pub fn openmetrics_to_text_004(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                out.push_str(prefix);
                out.push_str(name);
                if counters.contains(name) {
                    out.push_str("_total");
                }
                if !tail.is_empty() {
                    out.push(' ');
                    out.push_str(tail);
                }
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The `reason` label of `anomalyzer_rejected_points_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// Why the `--remote-write` output gave up on samples: the `reason` label
/// of `anomalyzer_remote_write_dropped_samples_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The queue was at its capacity when the samples were scored.
    QueueFull,
    /// The receiver answered a 4xx other than 429: sending again would not help.
    Rejected,
    /// Still queued or in flight when the shutdown deadline passed.
    Shutdown,
}

impl DropReason {
    /// Every reason, in a fixed order (for the exposition).
    pub const ALL: [DropReason; 3] = [
        DropReason::QueueFull,
        DropReason::Rejected,
        DropReason::Shutdown,
    ];

    /// The reason in words, as exported.
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue full",
            DropReason::Rejected => "rejected",
            DropReason::Shutdown => "shutdown",
        }
    }
}

/// The counters of the `--remote-write` output. Exported whether or not
/// the output is on, so dashboards and alerts see zeros, not gaps.
#[derive(Debug, Clone)]
pub struct RemoteWriteMetrics {
    samples: Counter,
    dropped: Family<ReasonLabel, Counter>,
    failed_requests: Counter,
    queue_samples: Gauge,
}

impl Default for RemoteWriteMetrics {
    fn default() -> Self {
        let dropped = Family::<ReasonLabel, Counter>::default();
        for reason in DropReason::ALL {
            let _ = dropped.get_or_create(&ReasonLabel {
                reason: reason.reason(),
            });
        }
        RemoteWriteMetrics {
            samples: Counter::default(),
            dropped,
            failed_requests: Counter::default(),
            queue_samples: Gauge::default(),
        }
    }
}

impl RemoteWriteMetrics {
    /// Counts samples the receiver accepted.
    pub fn count_sent(&self, n: u64) {
        self.samples.inc_by(n);
    }

    /// Counts samples given up, for `reason`.
    pub fn count_dropped(&self, reason: DropReason, n: u64) {
        if n > 0 {
            self.dropped
                .get_or_create(&ReasonLabel {
                    reason: reason.reason(),
                })
                .inc_by(n);
        }
    }

    /// Counts one failed request (an error status or no answer).
    pub fn count_failed_request(&self) {
        self.failed_requests.inc();
    }

    /// Sets the number of samples waiting in the queue.
    pub fn set_queued(&self, n: usize) {
        self.queue_samples.set(saturating_i64(n as u64));
    }

    /// Adds `delta` (negative: removes) to the samples waiting.
    pub fn add_queued(&self, delta: i64) {
        self.queue_samples.inc_by(delta);
    }

    /// Samples the receiver accepted so far.
    #[must_use]
    pub fn sent(&self) -> u64 {
        self.samples.get()
    }

    /// Samples dropped so far for `reason`.
    #[must_use]
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped
            .get_or_create(&ReasonLabel {
                reason: reason.reason(),
            })
            .get()
    }

    /// Requests that failed so far.
    #[must_use]
    pub fn failed_requests(&self) -> u64 {
        self.failed_requests.get()
    }

    /// Samples waiting in the queue now.
    #[must_use]
    pub fn queued(&self) -> u64 {
        u64::try_from(self.queue_samples.get()).unwrap_or(0)
    }

    fn register(&self, registry: &mut Registry) {
        registry.register(
            "anomalyzer_remote_write_samples",
            "Scores the remote-write receiver accepted",
            self.samples.clone(),
        );
        registry.register(
            "anomalyzer_remote_write_dropped_samples",
            "Scores not remote-written, by reason",
            self.dropped.clone(),
        );
        registry.register(
            "anomalyzer_remote_write_failed_requests",
            "Remote-write requests that failed, each retry counted",
            self.failed_requests.clone(),
        );
        registry.register(
            "anomalyzer_remote_write_queue_samples",
            "Scores waiting to be remote-written",
            self.queue_samples.clone(),
        );
    }
}

/// The counters and histogram the service keeps itself. Clones share the
/// same values, so the store can hold [`fsync_seconds`](Self::fsync_seconds)
/// while the router counts points.
#[derive(Debug, Clone)]
pub struct ServiceMetrics {
    points: Counter,
    rejected: Family<ReasonLabel, Counter>,
    fsync_seconds: Histogram,
    remote_write: RemoteWriteMetrics,
}

impl Default for ServiceMetrics {
    fn default() -> Self {
        let rejected = Family::<ReasonLabel, Counter>::default();
        // Every reason is exported from the start, at 0, so a rate over
        // it is defined before the first rejection.
        for reason in RejectReason::ALL {
            let _ = rejected.get_or_create(&ReasonLabel {
                reason: reason.reason(),
            });
        }
        ServiceMetrics {
            points: Counter::default(),
            rejected,
            // 100 µs to about 3.3 s, doubling.
            fsync_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            remote_write: RemoteWriteMetrics::default(),
        }
    }
}

impl ServiceMetrics {
    /// Counts points scored.
    pub fn count_scored(&self, n: u64) {
        self.points.inc_by(n);
    }

    /// Counts points not scored, for `reason`.
    pub fn count_rejected(&self, reason: RejectReason, n: u64) {
        self.rejected
            .get_or_create(&ReasonLabel {
                reason: reason.reason(),
            })
            .inc_by(n);
    }

    /// The fsync-time histogram, for the store to observe each fsync into.
    #[must_use]
    pub fn fsync_seconds(&self) -> Histogram {
        self.fsync_seconds.clone()
    }

    /// The `--remote-write` output's counters, for
    /// [`RemoteWriter::start`](crate::RemoteWriter::start).
    #[must_use]
    pub fn remote_write(&self) -> RemoteWriteMetrics {
        self.remote_write.clone()
    }

    /// Points scored so far.
    #[must_use]
    pub fn scored(&self) -> u64 {
        self.points.get()
    }

    /// Points rejected so far for `reason`.
    #[must_use]
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected
            .get_or_create(&ReasonLabel {
                reason: reason.reason(),
            })
            .get()
    }
}

/// The exposition text: the service's metrics, the store's figures, and the
/// latest score of every series at or above `min_score`.
pub fn render<S: SeriesStore>(
    store: &Arc<S>,
    metrics: &ServiceMetrics,
    min_score: f64,
) -> Result<String, fmt::Error> {
    let mut registry = Registry::default();
    registry.register("anomalyzer_points", "Points scored", metrics.points.clone());
    registry.register(
        "anomalyzer_rejected_points",
        "Points not scored, by reason",
        metrics.rejected.clone(),
    );
    registry.register(
        "anomalyzer_fsync_seconds",
        "Time taken by each fsync of the store",
        metrics.fsync_seconds.clone(),
    );
    metrics.remote_write.register(&mut registry);
    registry.register_collector(Box::new(StoreCollector {
        store: Arc::clone(store),
        min_score,
    }));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry)?;
    Ok(out)
}

/// Reads the store at scrape time, so a million series cost no registry
/// entries between scrapes.
struct StoreCollector<S> {
    store: Arc<S>,
    min_score: f64,
}

impl<S> fmt::Debug for StoreCollector<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreCollector")
            .field("min_score", &self.min_score)
            .finish_non_exhaustive()
    }
}

impl<S: SeriesStore> Collector for StoreCollector<S> {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let stats = self.store.stats();
        let series = ConstGauge::new(saturating_i64(stats.series));
        series.encode(encoder.encode_descriptor(
            "anomalyzer_series",
            "Series held",
            None,
            series.metric_type(),
        )?)?;
        let wal = ConstGauge::new(saturating_i64(stats.wal_bytes));
        wal.encode(encoder.encode_descriptor(
            "anomalyzer_wal_bytes",
            "Bytes in the write-ahead log",
            None,
            wal.metric_type(),
        )?)?;

        let mut scores = encoder.encode_descriptor(
            "anomalyzer_anomaly_score",
            "Latest anomaly probability of each series",
            None,
            MetricType::Gauge,
        )?;
        let mut result = Ok(());
        self.store
            .for_each_score(self.min_score, &mut |key, probability| {
                if result.is_err() {
                    return;
                }
                let labels: Vec<(String, String)> = key
                    .exported_labels()
                    .into_iter()
                    .map(|(k, v)| (k, escape_label_value(&v)))
                    .collect();
                result = scores
                    .encode_family(&labels)
                    .and_then(|mut m| m.encode_gauge(&probability));
            });
        result
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Escapes a label value for the text format: prometheus-client writes
/// values as given, and `\`, `"` and newlines must be escaped.
fn escape_label_value(value: &str) -> String {
    if !value.contains(['\\', '"', '\n']) {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label_value("plain"), "plain");
        assert_eq!(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn text_004_names_counters_with_total_and_drops_eof() {
        let om = "# HELP a_points Points.\n# TYPE a_points counter\na_points_total 3\n# HELP g Gauge.\n# TYPE g gauge\n# UNIT g seconds\ng{x=\"a b\"} 1.5\n# EOF\n";
        assert_eq!(
            openmetrics_to_text_004(om),
            "# HELP a_points_total Points.\n# TYPE a_points_total counter\na_points_total 3\n# HELP g Gauge.\n# TYPE g gauge\ng{x=\"a b\"} 1.5\n"
        );
        assert!(wants_openmetrics(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
        )));
        assert!(!wants_openmetrics(Some("*/*")));
        assert!(!wants_openmetrics(None));
    }

    #[test]
    fn counters_are_shared_between_clones() {
        let m = ServiceMetrics::default();
        let clone = m.clone();
        clone.count_scored(3);
        clone.count_rejected(RejectReason::OutOfOrder, 2);
        m.fsync_seconds().observe(0.001);
        assert_eq!(m.scored(), 3);
        assert_eq!(m.rejected(RejectReason::OutOfOrder), 2);
        assert_eq!(m.rejected(RejectReason::StaleMarker), 0);
        let rw = clone.remote_write();
        rw.count_sent(4);
        rw.count_dropped(DropReason::QueueFull, 2);
        rw.count_failed_request();
        rw.set_queued(7);
        let shared = m.remote_write();
        assert_eq!(shared.sent(), 4);
        assert_eq!(shared.dropped(DropReason::QueueFull), 2);
        assert_eq!(shared.dropped(DropReason::Shutdown), 0);
        assert_eq!(shared.failed_requests(), 1);
        assert_eq!(shared.queued(), 7);
    }

    #[test]
    fn drop_reasons_are_distinct_words() {
        let words: std::collections::HashSet<_> =
            DropReason::ALL.iter().map(|r| r.reason()).collect();
        assert_eq!(words.len(), DropReason::ALL.len());
    }
}
