//! The robust pipeline (docs/spec.md, "The robust preset"): the robust
//! tests' statistics, each through the likelihood stage, the most surprised
//! test carrying the score, then alert shaping.
//!
//! Unlike the Go tests, which are pure functions of the window, this
//! pipeline has state beyond the last values: each test's history of
//! statistics and the recent scores of alert shaping. It is kept so that
//! the state after a push is a function of what was pushed alone, and can
//! be exported ([`RobustParts`]) and imported to continue bit-identically.
//!
//! Order of a push of `x`: the statistics of the previous value (computed
//! when it arrived) are scored and committed to the histories, then `x`
//! enters the value history and its statistics are computed. Scoring the
//! latest value ([`RobustState::outcome`]) so reads the state without
//! changing it, as `eval` and `explain` must.

mod alert_shaping;
mod likelihood;
mod params;

pub use params::{RobustParams, MAX_ROBUST_SPAN};

use alert_shaping::AlertShaping;
use likelihood::Likelihood;

use crate::methods::{seasonal, ShiftTest};
use crate::window::Window;
use crate::{Error, Gate, Method, Result};

/// The robust pipeline's state beyond the configuration, as plain data:
/// what a store saves and [`Anomalyzer::from_state`](crate::Anomalyzer::from_state)
/// takes back.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RobustParts {
    /// The last values (at most [`RobustParams::history_len`]), oldest first.
    pub history: Vec<f64>,
    /// Per configured robust test, in configuration order: its last
    /// statistics (at most `likelihood_history`), oldest first.
    pub statistics: Vec<Vec<f64>>,
    /// The last scores before alert shaping (at most `alert_hold`), oldest first.
    pub recent_scores: Vec<f64>,
}

/// What the pipeline says about the latest value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    /// Final probability (after alert shaping).
    pub(crate) probability: f64,
    /// Before alert shaping: the largest test probability; `None` in warm-up.
    pub(crate) likelihood: Option<f64>,
    /// Why the probability was forced to 0, if it was.
    pub(crate) gate: Option<Gate>,
    /// Per test, configuration order: its probability (`1 − q`).
    pub(crate) tests: Vec<(Method, Option<f64>)>,
    /// The test whose probability is the score (the first of equals).
    pub(crate) winner: Option<Method>,
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Shift(ShiftTest),
    Seasonal,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RobustState {
    params: RobustParams,
    methods: Vec<Method>,
    tests: Vec<Test>,
    history: Window,
    likelihood: Vec<Likelihood>,
    shaping: Option<AlertShaping>,
    /// Statistics of the latest value, not yet committed to `likelihood`.
    pending: Vec<Option<f64>>,
    buf: Vec<f64>,
}

impl RobustState {
    /// An empty pipeline for `methods` (all robust, at least one).
    pub(crate) fn new(params: RobustParams, methods: &[Method]) -> Self {
        let tests = methods
            .iter()
            .map(|m| match m {
                Method::LevelShift => {
                    Test::Shift(ShiftTest::new(params.shift_span, params.reference))
                }
                Method::SlowShift => {
                    Test::Shift(ShiftTest::new(params.slow_span, params.slow_reference))
                }
                Method::Seasonal => Test::Seasonal,
                // RobustZ, and (never configured here) the Go tests.
                _ => Test::Shift(ShiftTest::new(1, params.reference)),
            })
            .collect();
        RobustState {
            params,
            methods: methods.to_vec(),
            tests,
            history: Window::with_capacity(params.history_len()),
            likelihood: methods
                .iter()
                .map(|_| Likelihood::new(params.likelihood_history))
                .collect(),
            shaping: (params.alert_hold > 0).then(|| AlertShaping::new(params.alert_hold)),
            pending: Vec::new(),
            buf: Vec::with_capacity(params.period_seasons * (2 * params.period_slack + 1)),
        }
    }

    /// Adds a value (finite: checked by the caller).
    pub(crate) fn push(&mut self, x: f64) {
        if !self.pending.is_empty() {
            let outcome = self.outcome();
            for (l, s) in self.likelihood.iter_mut().zip(&self.pending) {
                if let Some(s) = *s {
                    l.record(s);
                }
            }
            if let Some(shaping) = &mut self.shaping {
                shaping.record(outcome.likelihood.unwrap_or(0.0));
            }
        }
        self.history.push(x);
        for t in &mut self.tests {
            if let Test::Shift(s) = t {
                s.slide(&self.history);
            }
        }
        self.compute_pending();
    }

    fn compute_pending(&mut self) {
        let p = self.params;
        let mut pending = std::mem::take(&mut self.pending);
        pending.clear();
        for t in &self.tests {
            pending.push(match t {
                Test::Shift(s) => s.statistic(&self.history),
                Test::Seasonal => seasonal(
                    &self.history,
                    p.period,
                    p.period_seasons,
                    p.period_slack,
                    &mut self.buf,
                ),
            });
        }
        self.pending = pending;
    }

    /// The latest value's probabilities; all 0 before the first value.
    pub(crate) fn outcome(&self) -> Outcome {
        let mut tests = Vec::with_capacity(self.methods.len());
        let mut best: Option<(Method, f64)> = None;
        for (i, &m) in self.methods.iter().enumerate() {
            let p = self
                .pending
                .get(i)
                .copied()
                .flatten()
                .and_then(|s| self.likelihood[i].tail(s, self.params.warmup))
                .map(|q| (1.0 - q).clamp(0.0, 1.0));
            if let Some(p) = p {
                if best.is_none_or(|(_, b)| p > b) {
                    best = Some((m, p));
                }
            }
            tests.push((m, p));
        }
        let likelihood = best.map(|(_, p)| p);
        let (probability, gate) = match likelihood {
            None => (0.0, Some(Gate::Warmup)),
            Some(p)
                if self
                    .shaping
                    .as_ref()
                    .is_some_and(|s| !s.passes(p, self.params.alert_rise)) =>
            {
                (0.0, Some(Gate::Hold))
            }
            Some(p) => (p, None),
        };
        Outcome {
            probability,
            likelihood,
            gate,
            tests,
            winner: best.map(|(m, _)| m),
        }
    }

    /// The state as plain data.
    pub(crate) fn parts(&self) -> RobustParts {
        RobustParts {
            history: self.history.iter().collect(),
            statistics: self
                .likelihood
                .iter()
                .map(|l| l.values().collect())
                .collect(),
            recent_scores: self
                .shaping
                .as_ref()
                .map(|s| s.values().collect())
                .unwrap_or_default(),
        }
    }

    /// Rebuilds the state from [`parts`](Self::parts), after `push_count`
    /// values in all.
    pub(crate) fn from_parts(
        params: RobustParams,
        methods: &[Method],
        parts: &RobustParts,
        push_count: u64,
    ) -> Result<Self> {
        let bad = |reason: String| Err(Error::InconsistentState { reason });
        let mut s = Self::new(params, methods);
        let held = usize::try_from(push_count)
            .map_or(s.history.capacity(), |n| n.min(s.history.capacity()));
        // Fewer is allowed: values a salvaged log lost are missing from the
        // history as from the window, while the push count still counts them.
        if parts.history.len() > held {
            return bad(format!(
                "robust history holds {} values, more than the {held} kept after {push_count} pushes",
                parts.history.len()
            ));
        }
        if parts.statistics.len() != methods.len() {
            return bad(format!(
                "robust state has statistics for {} tests, the configuration has {}",
                parts.statistics.len(),
                methods.len()
            ));
        }
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if !finite(&parts.history) {
            return bad("robust history holds a value that is not finite".into());
        }
        for (m, stats) in methods.iter().zip(&parts.statistics) {
            if stats.len() > params.likelihood_history || stats.len() as u64 > push_count {
                return bad(format!(
                    "{} statistics for {m}, more than held or pushed",
                    stats.len()
                ));
            }
            if !stats.iter().all(|x| x.is_finite() && *x >= 0.0) {
                return bad(format!("a statistic of {m} is negative or not finite"));
            }
        }
        if parts.recent_scores.len() > params.alert_hold
            || !parts.recent_scores.iter().all(|p| (0.0..=1.0).contains(p))
        {
            return bad(format!(
                "{} recent scores (at most {} in [0, 1] expected)",
                parts.recent_scores.len(),
                params.alert_hold
            ));
        }
        for &x in &parts.history {
            s.history.push(x);
        }
        for t in &mut s.tests {
            if let Test::Shift(shift) = t {
                shift.rebuild(&s.history);
            }
        }
        for (l, stats) in s.likelihood.iter_mut().zip(&parts.statistics) {
            for &x in stats {
                l.record(x);
            }
        }
        if let Some(shaping) = &mut s.shaping {
            for &p in &parts.recent_scores {
                shaping.record(p);
            }
        }
        if s.history.len() > 0 {
            s.compute_pending();
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> RobustParams {
        RobustParams {
            reference: 4,
            warmup: 1,
            likelihood_history: 10,
            alert_hold: 2,
            ..RobustParams::default()
        }
    }

    /// `robust_z` alone over four reference values, computed by hand.
    #[test]
    fn hand_computed_pipeline() {
        let mut s = RobustState::new(tiny(), &[Method::RobustZ]);
        for x in [1.0, 2.0, 3.0, 4.0] {
            s.push(x);
            assert_eq!(s.outcome().gate, Some(Gate::Warmup), "no statistic yet");
        }
        // Reference {1, 2, 3, 4}: median 2.5, IQR 1.5 → z = 7.5 · 1.349 / 1.5.
        s.push(10.0);
        let z0 = s.pending[0].unwrap();
        assert!((z0 - 7.5 * 1.349 / 1.5).abs() < 1e-12, "{z0}");
        assert_eq!(s.outcome().gate, Some(Gate::Warmup), "no past statistic");
        // Reference {2, 3, 4, 10}: median 3.5, q1 2.75, q3 5.5 → z = 6.5 · 1.349 / 2.75,
        // below the one past statistic: q = 1/2.
        s.push(10.0);
        let o = s.outcome();
        let z = s.pending[0].unwrap();
        assert!((z - 6.5 * 1.349 / 2.75).abs() < 1e-12, "{z}");
        assert_eq!(o.likelihood, Some(0.5));
        assert_eq!(
            (o.probability, o.gate),
            (0.5, None),
            "nothing held yet but a warm-up 0"
        );
        assert_eq!(o.winner, Some(Method::RobustZ));
        // Reference {3, 4, 10, 10}: median 7, q1 3.75, q3 10 → z = 3·1.349/6.25;
        // both past statistics are larger: q = 2/3, p = 1/3, held by 0.5.
        s.push(10.0);
        let o = s.outcome();
        assert!((o.likelihood.unwrap() - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!((o.probability, o.gate), (0.0, Some(Gate::Hold)));
    }

    #[test]
    fn parts_round_trip_and_bad_parts_are_refused() {
        let mut s = RobustState::new(tiny(), &Method::ROBUST);
        for i in 0..300u32 {
            s.push(f64::from(i % 17));
        }
        let parts = s.parts();
        let mut back = RobustState::from_parts(tiny(), &Method::ROBUST, &parts, 300).unwrap();
        // Same contents (the rings may start at another slot).
        assert_eq!(back.parts(), parts);
        assert_eq!(back.pending, s.pending);
        for i in 0..50u32 {
            let x = f64::from(i * 5 % 23);
            s.push(x);
            back.push(x);
            assert_eq!(back.outcome(), s.outcome(), "push {i}");
        }
        let cases: Vec<(&str, RobustParts, u64)> = vec![
            ("push count", parts.clone(), 3),
            (
                "non-finite",
                RobustParts {
                    history: {
                        let mut h = parts.history.clone();
                        h[0] = f64::NAN;
                        h
                    },
                    ..parts.clone()
                },
                300,
            ),
            (
                "negative statistic",
                RobustParts {
                    statistics: {
                        let mut st = parts.statistics.clone();
                        st[0][0] = -1.0;
                        st
                    },
                    ..parts.clone()
                },
                300,
            ),
            (
                "too many scores",
                RobustParts {
                    recent_scores: vec![0.5; 3],
                    ..parts.clone()
                },
                300,
            ),
        ];
        for (name, p, n) in cases {
            assert!(
                RobustState::from_parts(tiny(), &Method::ROBUST, &p, n).is_err(),
                "{name}"
            );
        }
    }
}
