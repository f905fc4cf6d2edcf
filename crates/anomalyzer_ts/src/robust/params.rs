//! The robust tests' and stages' parameters (docs/spec.md, "The robust
//! preset"), checked once when the configuration is built.

use crate::{Error, Result};

/// Parameters of the robust tests, the likelihood stage and alert shaping.
/// Ignored unless a robust test ([`Method::ROBUST`](crate::Method::ROBUST))
/// is configured. The defaults are [`Preset::Robust`](crate::Preset::Robust)'s.
///
/// With the `serde` feature this is the `[robust]` table of a configuration
/// file; every key is optional and unknown keys are refused.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct RobustParams {
    /// Values before the judged span that form the reference of
    /// `robust_z` and `level_shift`. Default 1000; ≥ 4.
    pub reference: usize,
    /// Values averaged by `level_shift`. Default 10; ≥ 1.
    pub shift_span: usize,
    /// Values averaged by `slow_shift`. Default 60; ≥ 1.
    pub slow_span: usize,
    /// Reference of `slow_shift`. Default 1000; ≥ 4.
    pub slow_reference: usize,
    /// Season length of `seasonal`, in points. Default 288 (a day of
    /// 5-minute points); ≥ 2 and > 2 × `period_slack`.
    pub period: usize,
    /// Past periods in the seasonal reference. Default 8; ≥ 2.
    pub period_seasons: usize,
    /// Neighbours on each side of the same phase taken into the seasonal
    /// reference. Default 2.
    pub period_slack: usize,
    /// Past statistics of each test that the likelihood stage ranks the
    /// current one against. Default 4000; ≥ `warmup`.
    pub likelihood_history: usize,
    /// Past statistics a test needs before it scores at all: no alert
    /// before that. Default 50; ≥ 1.
    pub warmup: usize,
    /// Alert shaping: a score counts only when it beats every score of the
    /// previous `alert_hold` points; 0 turns shaping off. Default 150.
    pub alert_hold: usize,
    /// Alert shaping: a score beats the held ones only when its tail
    /// probability `1 − p` is below `alert_rise` × the smallest held one.
    /// Default 0.8; in (0, 1].
    pub alert_rise: f64,
}

impl Default for RobustParams {
    fn default() -> Self {
        RobustParams {
            reference: 1000,
            shift_span: 10,
            slow_span: 60,
            slow_reference: 1000,
            period: 288,
            period_seasons: 8,
            period_slack: 2,
            likelihood_history: 4000,
            warmup: 50,
            alert_hold: 150,
            alert_rise: 0.8,
        }
    }
}

/// Largest value of any window-like parameter: keeps the state per series
/// bounded and every index inside `usize` on 32-bit targets.
pub const MAX_ROBUST_SPAN: usize = 1 << 20;

impl RobustParams {
    /// Values of history the robust tests need: the longest look-back of
    /// any of them, plus the current value.
    #[must_use]
    pub fn history_len(&self) -> usize {
        let shift = self.shift_span + self.reference;
        let slow = self.slow_span + self.slow_reference;
        let seasonal = self.period * self.period_seasons + self.period_slack;
        shift.max(slow).max(seasonal) + 1
    }

    /// Upper bound of the heap bytes a detector's robust state holds with
    /// `tests` robust tests, reached once the histories are full: the value
    /// history, per test its sorted reference and its likelihood history
    /// (ring and sorted copy), and the hold span. It never grows after that.
    /// With the defaults and four tests: 308 040 bytes (about 301 KiB).
    #[must_use]
    pub fn state_bytes(&self, tests: usize) -> usize {
        let f = std::mem::size_of::<f64>();
        let references = self.reference.max(self.slow_reference) + 1;
        let likelihood = 2 * self.likelihood_history + 1;
        let seasonal = self.period_seasons * (2 * self.period_slack + 1);
        f * (self.history_len() + tests * (references + likelihood) + seasonal + self.alert_hold)
    }

    /// Checks every rule, naming the first field that breaks one.
    pub(crate) fn check(&self) -> Result<()> {
        let at_least = |field: &'static str, v: usize, min: usize| {
            if v < min {
                Err(Error::conf(
                    field,
                    format!("must be at least {min}, got {v}"),
                ))
            } else if v > MAX_ROBUST_SPAN {
                Err(Error::conf(
                    field,
                    format!("must be at most {MAX_ROBUST_SPAN}, got {v}"),
                ))
            } else {
                Ok(())
            }
        };
        at_least("robust.reference", self.reference, 4)?;
        at_least("robust.shift_span", self.shift_span, 1)?;
        at_least("robust.slow_span", self.slow_span, 1)?;
        at_least("robust.slow_reference", self.slow_reference, 4)?;
        at_least("robust.period", self.period, 2)?;
        at_least("robust.period_seasons", self.period_seasons, 2)?;
        at_least("robust.period_slack", self.period_slack, 0)?;
        at_least("robust.warmup", self.warmup, 1)?;
        at_least(
            "robust.likelihood_history",
            self.likelihood_history,
            self.warmup,
        )?;
        at_least("robust.alert_hold", self.alert_hold, 0)?;
        if !(self.alert_rise > 0.0 && self.alert_rise <= 1.0) {
            return Err(Error::conf(
                "robust.alert_rise",
                format!("must be in (0, 1], got {}", self.alert_rise),
            ));
        }
        if 2 * self.period_slack >= self.period {
            return Err(Error::conf(
                "robust.period_slack",
                format!(
                    "({}) must be less than half the period ({})",
                    self.period_slack, self.period
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_need_2307_values_of_history() {
        let p = RobustParams::default();
        p.check().unwrap();
        // seasonal: 288 × 8 + 2 look-back, plus the current value.
        assert_eq!(p.history_len(), 2307);
    }

    #[test]
    fn each_rule_names_its_field() {
        let cases: &[(&str, RobustParams)] = &[
            (
                "robust.reference",
                RobustParams {
                    reference: 3,
                    ..Default::default()
                },
            ),
            (
                "robust.shift_span",
                RobustParams {
                    shift_span: 0,
                    ..Default::default()
                },
            ),
            (
                "robust.period",
                RobustParams {
                    period: 1,
                    ..Default::default()
                },
            ),
            (
                "robust.period_seasons",
                RobustParams {
                    period_seasons: 1,
                    ..Default::default()
                },
            ),
            (
                "robust.period_slack",
                RobustParams {
                    period: 4,
                    period_slack: 2,
                    ..Default::default()
                },
            ),
            (
                "robust.warmup",
                RobustParams {
                    warmup: 0,
                    ..Default::default()
                },
            ),
            (
                "robust.likelihood_history",
                RobustParams {
                    likelihood_history: 10,
                    ..Default::default()
                },
            ),
            (
                "robust.slow_reference",
                RobustParams {
                    slow_reference: MAX_ROBUST_SPAN + 1,
                    ..Default::default()
                },
            ),
        ];
        for (field, p) in cases {
            match p.check() {
                Err(Error::InvalidConf { field: f, .. }) => assert_eq!(f, *field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
