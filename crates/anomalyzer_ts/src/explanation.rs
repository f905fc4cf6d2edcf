//! What an evaluation returns when asked to explain itself.

use crate::Method;

/// One test's part in an evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TestScore {
    /// Which test.
    pub method: Method,
    /// Its probability, clamped to [0, 1]; `None` when not applicable (too
    /// little data, or an undefined statistic), and then it is left out.
    pub probability: Option<f64>,
    /// The weight its probability carried in the weighted mean: 0.5, or 5.0
    /// for magnitude and fence above 0.8; 0 when not applicable, and 0 for
    /// the lesser of highrank/lowrank (they form one entry, the larger).
    /// With no gate, `probability = Σ weight·p / Σ weight`.
    ///
    /// For the robust tests the probability is the likelihood stage's
    /// `1 − q`, and the most surprised test carries the whole score: weight
    /// 1 (share 100 %) for it, 0 for the others; with no gate the
    /// probability is its probability.
    pub weight: f64,
}

/// Why an evaluation was forced to 0 regardless of the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Gate {
    /// `delay` is set and the window is not yet full.
    Delay,
    /// The magnitude test scored below `sensitivity`.
    Magnitude,
    /// Robust tests: no test has `warmup` past statistics yet.
    Warmup,
    /// Robust tests: alert shaping held the score, which does not beat the
    /// scores of the previous `alert_hold` points (one incident, one alert).
    Hold,
}

/// The probability together with every configured test's probability and
/// weight, all from the same draw: the score and its explanation always
/// agree (the Go library draws again for its explanation).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Explanation {
    /// The combined probability, exactly what `push`/`eval` return.
    pub probability: f64,
    /// Set when a gate forced the probability to 0.
    pub gate: Option<Gate>,
    /// One entry per configured method, in configuration order. Empty when
    /// the delay gate applies (nothing is evaluated).
    pub tests: Vec<TestScore>,
}

impl Explanation {
    /// The entry for `method`, if it is configured (and evaluated).
    #[must_use]
    pub fn get(&self, method: Method) -> Option<&TestScore> {
        self.tests.iter().find(|t| t.method == method)
    }
}
