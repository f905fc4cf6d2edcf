//! Alert shaping (docs/spec.md, "Alert shaping"): one incident, one alert.
//!
//! A score counts only when it beats every score of the previous
//! `alert_hold` points, and clearly: its tail probability `1 − p` must be
//! below `alert_rise` times the smallest one held; otherwise it is 0. (The
//! margin stops a recurring value from passing again only because its tail
//! probability shrinks as the likelihood history fills up.) Whatever threshold the user
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
    /// `rise` in (0, 1]: how much less likely (tail probability `1 − p`)
    /// than the most extreme held score a score must be to pass.
    pub(crate) fn passes(&self, score: f64, rise: f64) -> bool {
        self.recent
            .max()
            .is_none_or(|m| score > m && 1.0 - score < (1.0 - m) * rise)
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
            assert_eq!(s.passes(x, 1.0), w, "score {i} ({x})");
            s.record(x);
        }
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn a_rise_must_be_clear() {
        let mut s = AlertShaping::new(10);
        s.record(0.999); // tail 1e-3
                         // tail 0.9e-3 is a rise, but not below 0.8 × 1e-3.
        assert!(s.passes(0.9991, 1.0));
        assert!(!s.passes(0.9991, 0.8));
        assert!(s.passes(0.9993, 0.8), "tail 0.7e-3 < 0.8e-3");
        assert!(!s.passes(0.5, 1.0));
        s.record(1.0);
        assert!(!s.passes(1.0, 0.8), "nothing beats certainty");
    }
}
