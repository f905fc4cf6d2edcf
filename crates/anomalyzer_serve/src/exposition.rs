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

use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
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

/// The counters and histogram the service keeps itself. Clones share the
/// same values, so the store can hold [`fsync_seconds`](Self::fsync_seconds)
/// while the router counts points.
#[derive(Debug, Clone)]
pub struct ServiceMetrics {
    points: Counter,
    rejected: Family<ReasonLabel, Counter>,
    fsync_seconds: Histogram,
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
    }
}
