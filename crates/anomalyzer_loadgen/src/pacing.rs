//! When each request is due, and when to stop.
//!
//! With `--rate`, the load is open-loop (as wrk2 does it): request `g` of
//! the whole run is due at `start + g × batch / rate`, whether or not the
//! answers to earlier ones have come back, and its latency is measured
//! from when it was due, not from when it could be sent. A server that
//! falls behind therefore shows its queueing in the latency instead of
//! slowing the client down to its pace (coordinated omission). Without
//! `--rate`, each connection sends as fast as answers come back and
//! latency is measured from the send.

use std::time::Duration;

use tokio::time::Instant;

/// When the run stops issuing requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// No request is due at or after `start + duration`.
    After(Duration),
    /// This many requests in all (over every connection).
    Requests(u64),
    /// Each connection sends its chunks once: one point per series.
    OneRound,
}

/// The schedule shared by all connections.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// When the run started.
    pub start: Instant,
    /// Nanoseconds between consecutive requests of the run, when paced
    /// (whole nanoseconds, so due times are exact multiples).
    pub interval_ns: Option<u64>,
    /// When to stop.
    pub stop: Stop,
}

impl Schedule {
    /// A schedule from `start`. `rate` is in points per second and `batch`
    /// the points of a request.
    #[must_use]
    pub fn new(start: Instant, rate: Option<f64>, batch: u64, stop: Stop) -> Schedule {
        Schedule {
            start,
            interval_ns: rate.map(|r| (batch as f64 * 1e9 / r).round() as u64),
            stop,
        }
    }

    /// When request `g` of the run is due; `None` when unpaced.
    #[must_use]
    pub fn due(&self, g: u64) -> Option<Instant> {
        self.interval_ns
            .map(|i| self.start + Duration::from_nanos(g.saturating_mul(i)))
    }

    /// Whether request `g` (the `k`-th of a connection sending `per_round`
    /// requests a round) is still part of the run, given the time `now`
    /// (its due time when paced).
    #[must_use]
    pub fn includes(&self, g: u64, k: u64, per_round: u64, now: Instant) -> bool {
        match self.stop {
            Stop::After(duration) => now < self.start + duration,
            Stop::Requests(n) => g < n,
            Stop::OneRound => k < per_round,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paced_requests_are_due_at_fixed_steps() {
        let start = Instant::now();
        // 1 000-point requests at 10 000 points/s: one every 100 ms.
        let s = Schedule::new(start, Some(10_000.0), 1000, Stop::Requests(5));
        assert_eq!(s.due(0), Some(start));
        assert_eq!(s.due(3), Some(start + Duration::from_millis(300)));
        // Exact multiples: request 20 of 50 ms steps is due at 1 s sharp.
        let t = Schedule::new(start, Some(2000.0), 100, Stop::OneRound);
        assert_eq!(t.due(20), Some(start + Duration::from_secs(1)));
        assert!(Schedule::new(start, None, 1000, Stop::OneRound)
            .due(3)
            .is_none());
    }

    #[test]
    fn each_stop_rule_ends_the_run() {
        let start = Instant::now();
        let by_count = Schedule::new(start, None, 10, Stop::Requests(4));
        assert!(by_count.includes(3, 0, 1, start));
        assert!(!by_count.includes(4, 0, 1, start));

        let by_time = Schedule::new(start, None, 10, Stop::After(Duration::from_secs(1)));
        assert!(by_time.includes(99, 99, 1, start + Duration::from_millis(999)));
        assert!(!by_time.includes(0, 0, 1, start + Duration::from_secs(1)));

        let once = Schedule::new(start, None, 10, Stop::OneRound);
        assert!(once.includes(0, 2, 3, start));
        assert!(!once.includes(0, 3, 3, start));
    }
}
