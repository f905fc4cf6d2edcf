//! The seam through which the router hands on every scored point once it
//! is durable: the `--remote-write` output is one such sink
//! ([`RemoteWriter`](crate::RemoteWriter)).

use std::fmt;

use crate::batch::{Point, PointOutcome};
use crate::series_key::SeriesKey;
use crate::timestamp::Timestamp;

/// Receives the scores of every applied batch.
///
/// The router calls [`scored`](Self::scored) only after the store's
/// [`apply`](crate::SeriesStore::apply) succeeded, that is once the points
/// are durable under the sync policy, and never for a refused request. It
/// runs on the request's task before the answer is sent, so it must not
/// block: queue and return.
pub trait ScoreSink: Send + Sync + fmt::Debug + 'static {
    /// `points` and `outcomes` have the same length and order (the batch's
    /// points and what became of each); only
    /// [`Scored`](PointOutcome::Scored) points have a score.
    fn scored(&self, points: &[Point], outcomes: &[PointOutcome]);
}

/// The scored points of a batch with their probabilities, in batch order.
pub(crate) fn scores<'a>(
    points: &'a [Point],
    outcomes: &'a [PointOutcome],
) -> impl Iterator<Item = (&'a SeriesKey, Timestamp, f64)> + 'a {
    points
        .iter()
        .zip(outcomes)
        .filter_map(|(p, o)| o.probability().map(|prob| (&p.key, p.timestamp, prob)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::RejectReason;
    use crate::IdentityLimits;

    #[test]
    fn only_scored_points_have_scores() {
        let key = SeriesKey::new("cpu", [], &IdentityLimits::default()).unwrap();
        let points: Vec<Point> = (1..=3)
            .map(|t| Point {
                key: key.clone(),
                timestamp: Timestamp::from_millis(t).unwrap(),
                value: 1.0,
            })
            .collect();
        let outcomes = [
            PointOutcome::Scored(0.25),
            PointOutcome::Rejected(RejectReason::OutOfOrder),
            PointOutcome::Scored(0.75),
        ];
        let got: Vec<(i64, f64)> = scores(&points, &outcomes)
            .map(|(k, t, p)| {
                assert_eq!(k, &key);
                (t.as_millis(), p)
            })
            .collect();
        assert_eq!(got, [(1, 0.25), (3, 0.75)]);
    }
}
