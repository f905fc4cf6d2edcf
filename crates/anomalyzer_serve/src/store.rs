//! The seam between the HTTP layer and the series store: what the handlers
//! ask of it. The durable, group-committing store implements this trait;
//! the router never knows which store it drives.

use std::future::Future;

use anomalyzer_ts::Explanation;
use globset::GlobMatcher;
use serde_json::{json, Value};

use crate::batch::{Batch, PointOutcome};
use crate::error::Result;
use crate::series_key::SeriesKey;
use crate::timestamp::Timestamp;

/// A store of many series, each with its detector.
///
/// Contract of [`apply`](Self::apply), which the HTTP answers rely on:
/// - all or nothing: it returns one outcome per point of the batch, in
///   order, or an error and then nothing of the batch was applied;
/// - a point is scored only if the out-of-order rule admits it
///   ([`plan_order`](crate::plan_order)), else it is
///   [`Rejected`](PointOutcome::Rejected) and changes nothing;
/// - a new series gets the configuration
///   [`ServeConfig::resolve`](crate::ServeConfig::resolve) gives it when it
///   is created, and keeps it;
/// - the future resolves only once the applied points are durable under
///   the store's sync policy;
/// - a batch that would create a series past the store's limit is refused
///   whole with [`Error::TooManySeries`](crate::Error::TooManySeries); a
///   store that cannot make it durable answers
///   [`Error::Unavailable`](crate::Error::Unavailable).
pub trait SeriesStore: Send + Sync + 'static {
    /// Applies a validated batch (see the trait's contract).
    fn apply(&self, batch: &Batch) -> impl Future<Output = Result<Vec<PointOutcome>>> + Send;

    /// True once recovery has finished and the store takes writes.
    fn is_ready(&self) -> bool;

    /// Every series whose metric name matches `pattern`, in key order.
    fn find(&self, pattern: &GlobMatcher) -> Vec<SeriesStatus>;

    /// The explanation of the last point scored for `key`; `None` when the
    /// series does not exist or has no point yet.
    fn explain(&self, key: &SeriesKey) -> Option<LastPoint>;

    /// Calls `visit` with each series' latest probability that is at least
    /// `min_score` (for the `/metrics` exposition).
    fn for_each_score(&self, min_score: f64, visit: &mut dyn FnMut(&SeriesKey, f64));

    /// Figures for the exposition.
    fn stats(&self) -> StoreStats;
}

/// One series as `GET /api/v1/series` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesStatus {
    /// The series.
    pub key: SeriesKey,
    /// Points accepted so far.
    pub points: u64,
    /// Its last point's timestamp and probability, if it has one.
    pub last: Option<(Timestamp, f64)>,
}

impl SeriesStatus {
    /// `{"series", "labels", "points", "timestamp", "probability"}`; the
    /// last two are null for a series without points, and the timestamp is
    /// RFC 3339.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "series": self.key.name(),
            "labels": labels_json(&self.key),
            "points": self.points,
            "timestamp": self.last.map(|(t, _)| t.to_string()),
            "probability": self.last.map(|(_, p)| p),
        })
    }
}

/// The last point of a series with its per-test explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct LastPoint {
    /// When.
    pub timestamp: Timestamp,
    /// Its value.
    pub value: f64,
    /// The detector's explanation (its probability is the point's).
    pub explanation: Explanation,
}

impl LastPoint {
    /// `{"series", "labels", "timestamp", "value", "probability", "gate",
    /// "tests": [{"method", "probability", "weight"}]}`.
    #[must_use]
    pub fn to_json(&self, key: &SeriesKey) -> Value {
        json!({
            "series": key.name(),
            "labels": labels_json(key),
            "timestamp": self.timestamp.to_string(),
            "value": self.value,
            "probability": self.explanation.probability,
            "gate": self.explanation.gate,
            "tests": self.explanation.tests,
        })
    }
}

/// Store-wide figures for the exposition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Series held (`anomalyzer_series`).
    pub series: u64,
    /// Bytes in the write-ahead log (`anomalyzer_wal_bytes`).
    pub wal_bytes: u64,
}

/// A key's labels as a JSON object.
pub(crate) fn labels_json(key: &SeriesKey) -> Value {
    Value::Object(
        key.labels()
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdentityLimits;
    use anomalyzer_ts::{Anomalyzer, AnomalyzerConf};

    #[test]
    fn json_shapes_are_the_documented_ones() {
        let key = SeriesKey::new(
            "cpu",
            [("host".into(), "a".into())],
            &IdentityLimits::default(),
        )
        .unwrap();
        let t = Timestamp::parse_rfc3339("2024-03-04T04:10:00Z").unwrap();
        let status = SeriesStatus {
            key: key.clone(),
            points: 3,
            last: Some((t, 0.5)),
        };
        assert_eq!(
            status.to_json(),
            json!({"series": "cpu", "labels": {"host": "a"}, "points": 3,
                   "timestamp": "2024-03-04T04:10:00Z", "probability": 0.5})
        );
        let empty = SeriesStatus {
            last: None,
            ..status
        };
        assert_eq!(empty.to_json()["probability"], Value::Null);

        let conf = AnomalyzerConf::builder().active_size(1).build().unwrap();
        let mut d = Anomalyzer::new(conf, &[1.0, 2.0, 1.0, 2.0]).unwrap();
        let explanation = d.push_explained(9.0).unwrap();
        let last = LastPoint {
            timestamp: t,
            value: 9.0,
            explanation: explanation.clone(),
        };
        let j = last.to_json(&key);
        assert_eq!(j["probability"], json!(explanation.probability));
        assert_eq!(j["tests"][0]["method"], json!("magnitude"));
        assert_eq!(j["tests"].as_array().unwrap().len(), 2);
        assert_eq!(j["value"], json!(9.0));
    }
}
