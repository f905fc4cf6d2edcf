//! The out-of-order rule, as Prometheus applies it: a sample whose
//! timestamp is not after its series' last accepted timestamp is rejected
//! on its own (reason `out of order`), never scored twice; the rest of the
//! request goes on.
//!
//! A store decides the fate of a whole batch with [`plan_order`] before it
//! writes anything, so that only admitted points reach its log.

use std::collections::HashMap;

use crate::batch::{Point, RejectReason};
use crate::series_key::SeriesKey;
use crate::timestamp::Timestamp;

/// Whether a point at `timestamp` may follow a series whose last accepted
/// point is at `last` (`None`: the series has no point yet).
#[must_use]
pub fn admits(last: Option<Timestamp>, timestamp: Timestamp) -> bool {
    last.is_none_or(|last| timestamp > last)
}

/// For each point of a batch, in order: `None` when it is admitted, or the
/// reason it is rejected. `last_of` gives a series' last accepted timestamp
/// before this batch; points earlier in the batch count too, so a batch
/// that repeats a timestamp keeps only its first point.
pub fn plan_order<F>(points: &[Point], mut last_of: F) -> Vec<Option<RejectReason>>
where
    F: FnMut(&SeriesKey) -> Option<Timestamp>,
{
    // Latest admitted timestamp per series seen in this batch.
    let mut latest: HashMap<&SeriesKey, Option<Timestamp>> = HashMap::new();
    points
        .iter()
        .map(|p| {
            let last = latest.entry(&p.key).or_insert_with(|| last_of(&p.key));
            if admits(*last, p.timestamp) {
                *last = Some(p.timestamp);
                None
            } else {
                Some(RejectReason::OutOfOrder)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdentityLimits;

    fn key(name: &str) -> SeriesKey {
        SeriesKey::new(name, [], &IdentityLimits::default()).unwrap()
    }

    fn point(name: &str, t: i64) -> Point {
        Point {
            key: key(name),
            timestamp: Timestamp::from_nanos(t),
            value: 1.0,
        }
    }

    #[test]
    fn equal_and_older_timestamps_are_refused() {
        let t = Timestamp::from_nanos;
        assert!(admits(None, t(-5)));
        assert!(admits(Some(t(1)), t(2)));
        assert!(!admits(Some(t(2)), t(2)));
        assert!(!admits(Some(t(2)), t(1)));
    }

    #[test]
    fn a_batch_is_judged_against_the_store_and_itself() {
        let points = [
            point("a", 10), // a's last is 10: equal, refused
            point("a", 11),
            point("b", 1),  // b is new
            point("a", 11), // repeats the batch's own 11
            point("b", 0),
            point("a", 12),
        ];
        let plan = plan_order(&points, |k| {
            (k.name() == "a").then(|| Timestamp::from_nanos(10))
        });
        let oo = Some(RejectReason::OutOfOrder);
        assert_eq!(plan, vec![oo, None, None, oo, oo, None]);
    }

    #[test]
    fn each_series_is_looked_up_once() {
        let points: Vec<Point> = (0..100).map(|i| point("a", i)).collect();
        let mut lookups = 0;
        let plan = plan_order(&points, |_| {
            lookups += 1;
            None
        });
        assert_eq!(lookups, 1);
        assert!(plan.iter().all(Option::is_none));
    }
}
