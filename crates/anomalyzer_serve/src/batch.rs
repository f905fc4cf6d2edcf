//! A validated batch of points, and what became of each point.

use crate::series_key::SeriesKey;
use crate::timestamp::Timestamp;

/// One point of one series: checked (identity, timestamp, finite value)
/// before it is put in a [`Batch`].
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The series.
    pub key: SeriesKey,
    /// When.
    pub timestamp: Timestamp,
    /// The value, always finite.
    pub value: f64,
}

/// Every point of one request, validated as a whole before anything is
/// applied: a store either applies a batch (each point scored or rejected
/// by the out-of-order rule) or refuses all of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    points: Vec<Point>,
    skipped: Vec<(RejectReason, u64)>,
}

impl Batch {
    /// A batch of checked points. Values must be finite: this is checked
    /// (an error names the first bad point's position) so that no store
    /// ever sees a value the detector refuses.
    pub fn new(points: Vec<Point>) -> crate::Result<Self> {
        for (position, p) in points.iter().enumerate() {
            anomalyzer_ts::Anomalyzer::check_value(p.value).map_err(|_| {
                crate::Error::Detector(anomalyzer_ts::Error::NonFiniteValue {
                    value: p.value,
                    position,
                })
            })?;
        }
        Ok(Batch {
            points,
            skipped: Vec::new(),
        })
    }

    /// Notes samples the decoder dropped before validation (staleness
    /// markers, non-finite remote_write values), so they are counted.
    pub(crate) fn note_skipped(&mut self, reason: RejectReason, count: u64) {
        if count == 0 {
            return;
        }
        match self.skipped.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += count,
            None => self.skipped.push((reason, count)),
        }
    }

    /// The points, in request order.
    #[must_use]
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// The points, by value.
    #[must_use]
    pub fn into_points(self) -> Vec<Point> {
        self.points
    }

    /// Samples dropped while decoding, by reason (never applied, counted in
    /// `anomalyzer_rejected_points_total`).
    #[must_use]
    pub fn skipped(&self) -> &[(RejectReason, u64)] {
        &self.skipped
    }

    /// Number of points.
    #[must_use]
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True when the batch holds no point.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// Why a single point was not scored. The text of [`reason`](Self::reason)
/// is the `reason` label of `anomalyzer_rejected_points_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// Its timestamp is not after its series' last accepted one.
    OutOfOrder,
    /// A remote_write staleness marker (Prometheus' special NaN).
    StaleMarker,
    /// A remote_write value that is NaN or infinite.
    NotFinite,
    /// A remote_write native histogram sample: only float samples are scored.
    NativeHistogram,
    /// Part of a request refused because it would exceed `--max-series`.
    TooManySeries,
}

impl RejectReason {
    /// Every reason, in a fixed order (for the exposition).
    pub const ALL: [RejectReason; 5] = [
        RejectReason::OutOfOrder,
        RejectReason::StaleMarker,
        RejectReason::NotFinite,
        RejectReason::NativeHistogram,
        RejectReason::TooManySeries,
    ];

    /// The reason in words, as exported and as answered.
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            RejectReason::OutOfOrder => "out of order",
            RejectReason::StaleMarker => "stale marker",
            RejectReason::NotFinite => "not finite",
            RejectReason::NativeHistogram => "native histogram",
            RejectReason::TooManySeries => "too many series",
        }
    }
}

/// What a store did with one point of a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PointOutcome {
    /// Applied and durable: the detector's probability for it.
    Scored(f64),
    /// Not applied, for this reason.
    Rejected(RejectReason),
}

impl PointOutcome {
    /// The probability, when the point was scored.
    #[must_use]
    pub fn probability(self) -> Option<f64> {
        match self {
            PointOutcome::Scored(p) => Some(p),
            PointOutcome::Rejected(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdentityLimits;

    fn point(value: f64) -> Point {
        Point {
            key: SeriesKey::new("cpu", [], &IdentityLimits::default()).unwrap(),
            timestamp: Timestamp::from_nanos(1),
            value,
        }
    }

    #[test]
    fn a_batch_refuses_non_finite_values_by_position() {
        assert!(Batch::new(vec![point(1.0), point(2.0)]).is_ok());
        let err = Batch::new(vec![point(1.0), point(f64::NAN)]).unwrap_err();
        assert!(err.to_string().contains("position 1"), "{err}");
    }

    #[test]
    fn skipped_samples_are_summed_by_reason() {
        let mut b = Batch::new(vec![]).unwrap();
        b.note_skipped(RejectReason::StaleMarker, 2);
        b.note_skipped(RejectReason::NotFinite, 0);
        b.note_skipped(RejectReason::StaleMarker, 3);
        assert_eq!(b.skipped(), &[(RejectReason::StaleMarker, 5)]);
        assert!(b.is_empty());
    }

    #[test]
    fn reasons_are_distinct_words() {
        let words: std::collections::HashSet<_> =
            RejectReason::ALL.iter().map(|r| r.reason()).collect();
        assert_eq!(words.len(), RejectReason::ALL.len());
        assert_eq!(RejectReason::OutOfOrder.reason(), "out of order");
        assert_eq!(PointOutcome::Scored(0.5).probability(), Some(0.5));
        assert_eq!(
            PointOutcome::Rejected(RejectReason::OutOfOrder).probability(),
            None
        );
    }
}
