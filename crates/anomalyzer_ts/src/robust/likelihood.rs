//! The likelihood stage (docs/spec.md, "Likelihood"): each test's statistic
//! becomes the probability that it is unusual *for this series*, from its
//! rank among the test's own last `likelihood_history` statistics.
//!
//! Numenta's anomaly likelihood fits a Gaussian to the history of raw
//! scores; the statistics here are heavy-tailed (a robust z of a bursty
//! series), so the empirical tail is used instead: exact, and calibrated
//! on every series alike (about one point in `1/q` reaches tail
//! probability `q`, whatever the series' scale or noise).

use crate::stats::SortedValues;
use crate::window::Window;

/// Added to both sides of the record ratio, so a zero maximum stays finite.
const RECORD_EPS: f64 = 1e-9;

/// One test's history of statistics, in arrival order and sorted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Likelihood {
    recent: Window,
    sorted: SortedValues,
}

impl Likelihood {
    pub(crate) fn new(history: usize) -> Self {
        Likelihood {
            recent: Window::with_capacity(history),
            sorted: SortedValues::with_capacity(history + 1),
        }
    }

    /// The tail probability `q` of `statistic`: the share of past
    /// statistics at least as large, `c / (m + 1)`; for a new record
    /// (`c = 0`) `1/(m + 1)` shrunk by how far it passes the previous
    /// maximum, `(max + ε) / (statistic + ε)`. `None` with fewer than
    /// `warmup` past statistics.
    pub(crate) fn tail(&self, statistic: f64, warmup: usize) -> Option<f64> {
        let m = self.sorted.len();
        if m < warmup || m == 0 {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let (c, m1) = (self.sorted.count_at_least(statistic) as f64, (m + 1) as f64);
        if c > 0.0 {
            Some(c / m1)
        } else {
            let max = self.sorted.max()?;
            Some((max + RECORD_EPS) / (statistic + RECORD_EPS) / m1)
        }
    }

    /// Adds a statistic to the history (after it was scored: causal).
    pub(crate) fn record(&mut self, statistic: f64) {
        if let Some(gone) = self.recent.push_evicting(statistic) {
            let removed = self.sorted.remove(gone);
            debug_assert!(removed, "every held statistic is in the sorted set");
        }
        self.sorted.insert(statistic);
    }

    /// The history, oldest first (for saved state).
    pub(crate) fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.recent.iter()
    }

    /// How many statistics are held (at most `likelihood_history`).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.recent.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_table() {
        let mut l = Likelihood::new(4);
        for s in [1.0, 2.0, 3.0, 4.0] {
            l.record(s);
        }
        let cases: &[(&str, f64, f64)] = &[
            ("below everything: all 4 are ≥", 0.5, 4.0 / 5.0),
            ("ties count as at least as large", 3.0, 2.0 / 5.0),
            ("equal to the max", 4.0, 1.0 / 5.0),
            (
                "a record twice the max",
                8.0,
                (4.0 + 1e-9) / (8.0 + 1e-9) / 5.0,
            ),
        ];
        for (name, s, want) in cases {
            let got = l.tail(*s, 1).unwrap();
            assert!((got - want).abs() < 1e-15, "{name}: {got} vs {want}");
        }
        assert_eq!(l.tail(1.0, 5), None, "warm-up of 5 needs 5 past values");
    }

    #[test]
    fn history_is_bounded_and_forgets_the_oldest() {
        let mut l = Likelihood::new(3);
        for s in [100.0, 1.0, 2.0, 3.0] {
            l.record(s);
        }
        assert_eq!(l.len(), 3);
        assert_eq!(l.values().collect::<Vec<_>>(), [1.0, 2.0, 3.0]);
        // 100 has left: 50 is a record again.
        assert!(l.tail(50.0, 1).unwrap() < 0.25);
    }
}
