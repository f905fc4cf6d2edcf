//! What one connection counted, merged over all connections at the end:
//! answers by status, points acknowledged, and latencies in an HDR
//! histogram (microseconds, 3 significant digits).

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Longest latency the histogram tells apart: an hour (longer ones are
/// recorded as an hour).
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Counts of one connection, or of the whole run once merged.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Requests answered with the success status.
    pub requests: u64,
    /// Points carried by those requests.
    pub points: u64,
    /// Points the server said it scored (`"accepted"` of push answers).
    pub accepted: u64,
    /// Failed requests by status code or failure kind.
    pub errors: BTreeMap<String, u64>,
    /// The first failure's description (status and body, or the error).
    pub first_error: Option<String>,
    /// Latency of successful requests, in microseconds.
    pub latency_us: Histogram<u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            requests: 0,
            points: 0,
            accepted: 0,
            errors: BTreeMap::new(),
            first_error: None,
            // Bounds are constants that hdrhistogram accepts (low ≥ 1,
            // high ≥ 2 × low, 3 significant figures).
            latency_us: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .expect("valid histogram bounds"),
        }
    }
}

impl Tally {
    /// A successful request of `points` points, `accepted` of them scored.
    pub fn success(&mut self, points: u64, accepted: u64, latency: Duration) {
        self.requests += 1;
        self.points += points;
        self.accepted += accepted;
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us
            .saturating_record(us.clamp(1, MAX_LATENCY_US));
    }

    /// A failed request, counted under `key` (a status code or a failure
    /// kind); the first one's `detail` is kept.
    pub fn failure(&mut self, key: &str, detail: impl FnOnce() -> String) {
        *self.errors.entry(key.to_owned()).or_default() += 1;
        if self.first_error.is_none() {
            self.first_error = Some(detail());
        }
    }

    /// Adds `other` into this tally.
    pub fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        self.points += other.points;
        self.accepted += other.accepted;
        for (key, n) in other.errors {
            *self.errors.entry(key).or_default() += n;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency_us.add(&other.latency_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_counts_and_latencies() {
        let mut a = Tally::default();
        for ms in 1..=100 {
            a.success(10, 9, Duration::from_millis(ms));
        }
        let mut b = Tally::default();
        b.success(10, 10, Duration::from_secs(2));
        b.failure("503", || "503: disk full".into());
        b.failure("503", || unreachable!("only the first detail is made"));
        b.failure("connect", || "refused".into());
        a.merge(b);
        assert_eq!((a.requests, a.points, a.accepted), (101, 1010, 910));
        assert_eq!(a.errors["503"], 2);
        assert_eq!(a.errors.values().sum::<u64>(), 3);
        assert_eq!(a.first_error.as_deref(), Some("503: disk full"));
        let p50 = a.latency_us.value_at_quantile(0.5);
        assert!((50_000..=51_100).contains(&p50), "{p50}");
        assert!(a.latency_us.max() >= 1_999_000, "{}", a.latency_us.max());
    }
}
