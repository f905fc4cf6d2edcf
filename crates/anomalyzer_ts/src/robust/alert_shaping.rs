//! Alert shaping (docs/spec.md, "Alert shaping"): one incident, one alert.
//!
//! A score counts only when it beats every score of the previous
//! `alert_hold` points; otherwise it is 0. Whatever threshold the user
//! alerts at, a run of high scores then raises one alert at its start and
//! again only if it keeps rising, and a point scored 0 by the hold is not
//! a new false alarm. It needs no threshold, so it works for any.

use crate::window::Window;

/// The last `alert_hold` scores before shaping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AlertShaping {
    recent: Window,
}

impl AlertShaping {
    /// `hold` ≥ 1 (hold 0 means no shaping and no instance).
    pub(crate) fn new(hold: usize) -> Self {
        AlertShaping {
            recent: Window::with_capacity(hold),
        }
    }

    /// Whether `score` passes: above every held score (or nothing held).
    pub(crate) fn passes(&self, score: f64) -> bool {
        self.recent.max().is_none_or(|m| score > m)
    }

    /// Adds the latest score before shaping.
    pub(crate) fn record(&mut self, score: f64) {
        self.recent.push(score);
    }

    /// The held scores, oldest first (for saved state).
    pub(crate) fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.recent.iter()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.recent.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_rise_above_the_hold_span_passes() {
        let mut s = AlertShaping::new(3);
        let scores = [0.9, 0.95, 0.5, 0.94, 0.2, 0.1, 0.93, 0.96];
        // 0.9 passes (nothing held), 0.95 rises above it; 0.5 and 0.94 are
        // held by 0.95; 0.2, 0.1 and 0.93 by 0.94 (still in the last three);
        // 0.96 beats the last three (0.2, 0.1, 0.93).
        let want = [true, true, false, false, false, false, false, true];
        for (i, (&x, &w)) in scores.iter().zip(&want).enumerate() {
            assert_eq!(s.passes(x), w, "score {i} ({x})");
            s.record(x);
        }
        assert_eq!(s.len(), 3);
    }
}
