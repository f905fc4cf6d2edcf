//! The robust preset's part of `anomalyzer tune`'s search space: the
//! `[robust]` table of a space file, one key per [`RobustParams`] field plus
//! `methods` (sets of robust tests). A configuration drawn with preset
//! `robust` takes its tests and parameters from here and nothing from the
//! Go part of the space, so no draw mixes the two kinds.
//!
//! Default (around the preset's defaults, docs/quality.md):
//!
//! | key | default |
//! | --- | --- |
//! | `methods` | `[robust_z, level_shift, slow_shift, seasonal]`, `[robust_z, level_shift, slow_shift]` (no seasonal test) |
//! | `reference` | `[300, 500, 1000, 2000]` |
//! | `shift_span` | `[5, 10, 20]` |
//! | `slow_span` | `[30, 60, 120]` |
//! | `slow_reference` | `[500, 1000, 2000]` |
//! | `period` | `[144, 288]` |
//! | `period_seasons` | `[4, 8]` |
//! | `period_slack` | `[1, 2, 3]` |
//! | `likelihood_history` | `[1000, 2000, 4000]` |
//! | `warmup` | `[25, 50, 100]` |
//! | `alert_hold` | `[0, 50, 100, 150, 300]` |
//! | `alert_rise` | `[0.6, 0.8, 1.0]` |

use anomalyzer_ts::{Method, RobustParams};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Deserialize;

use crate::tune_space::{float, index, int, FloatChoice, IntChoice};

/// The robust dimensions: `None` leaves a parameter at the base
/// configuration's value.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobustSpace {
    /// Sets of robust tests to choose from.
    pub methods: Option<Vec<Vec<String>>>,
    /// `reference` choices.
    pub reference: Option<IntChoice>,
    /// `shift_span` choices.
    pub shift_span: Option<IntChoice>,
    /// `slow_span` choices.
    pub slow_span: Option<IntChoice>,
    /// `slow_reference` choices.
    pub slow_reference: Option<IntChoice>,
    /// `period` choices.
    pub period: Option<IntChoice>,
    /// `period_seasons` choices.
    pub period_seasons: Option<IntChoice>,
    /// `period_slack` choices.
    pub period_slack: Option<IntChoice>,
    /// `likelihood_history` choices.
    pub likelihood_history: Option<IntChoice>,
    /// `warmup` choices.
    pub warmup: Option<IntChoice>,
    /// `alert_hold` choices.
    pub alert_hold: Option<IntChoice>,
    /// `alert_rise` choices.
    pub alert_rise: Option<FloatChoice>,
}

impl RobustSpace {
    /// The documented default robust space.
    pub fn default_space() -> RobustSpace {
        let all: Vec<String> = Method::ROBUST_NAMES
            .iter()
            .map(|m| (*m).to_owned())
            .collect();
        let no_seasonal: Vec<String> = all
            .iter()
            .filter(|m| *m != Method::Seasonal.name())
            .cloned()
            .collect();
        let list = |v: &[usize]| Some(IntChoice::List(v.to_vec()));
        RobustSpace {
            methods: Some(vec![all, no_seasonal]),
            reference: list(&[300, 500, 1000, 2000]),
            shift_span: list(&[5, 10, 20]),
            slow_span: list(&[30, 60, 120]),
            slow_reference: list(&[500, 1000, 2000]),
            period: list(&[144, 288]),
            period_seasons: list(&[4, 8]),
            period_slack: list(&[1, 2, 3]),
            likelihood_history: list(&[1000, 2000, 4000]),
            warmup: list(&[25, 50, 100]),
            alert_hold: list(&[0, 50, 100, 150, 300]),
            alert_rise: Some(FloatChoice::List(vec![0.6, 0.8, 1.0])),
        }
    }

    /// `self`'s keys where it sets them, else `defaults`'.
    #[must_use]
    pub fn over(self, defaults: RobustSpace) -> RobustSpace {
        RobustSpace {
            methods: self.methods.or(defaults.methods),
            reference: self.reference.or(defaults.reference),
            shift_span: self.shift_span.or(defaults.shift_span),
            slow_span: self.slow_span.or(defaults.slow_span),
            slow_reference: self.slow_reference.or(defaults.slow_reference),
            period: self.period.or(defaults.period),
            period_seasons: self.period_seasons.or(defaults.period_seasons),
            period_slack: self.period_slack.or(defaults.period_slack),
            likelihood_history: self.likelihood_history.or(defaults.likelihood_history),
            warmup: self.warmup.or(defaults.warmup),
            alert_hold: self.alert_hold.or(defaults.alert_hold),
            alert_rise: self.alert_rise.or(defaults.alert_rise),
        }
    }

    /// The integer dimensions with their keys, in draw order.
    fn ints(&self) -> [(&'static str, &Option<IntChoice>); 10] {
        [
            ("reference", &self.reference),
            ("shift_span", &self.shift_span),
            ("slow_span", &self.slow_span),
            ("slow_reference", &self.slow_reference),
            ("period", &self.period),
            ("period_seasons", &self.period_seasons),
            ("period_slack", &self.period_slack),
            ("likelihood_history", &self.likelihood_history),
            ("warmup", &self.warmup),
            ("alert_hold", &self.alert_hold),
        ]
    }

    /// Refuses empty lists, inverted ranges and method sets that are
    /// empty or name anything but robust tests.
    pub fn check(&self) -> Result<(), String> {
        if let Some(sets) = &self.methods {
            if sets.is_empty() {
                return Err("`robust.methods` has no choice".to_owned());
            }
            for set in sets {
                if set.is_empty() {
                    return Err("`robust.methods` has an empty set".to_owned());
                }
                for name in set {
                    let robust = name.trim().parse::<Method>().is_ok_and(|m| m.is_robust());
                    if !robust {
                        return Err(format!(
                            "`robust.methods`: {name:?} is not a robust test ({}); \
                             Go tests go in the top-level `methods`",
                            Method::ROBUST_NAMES.join(", ")
                        ));
                    }
                }
            }
        }
        for (name, c) in self.ints() {
            crate::tune_space::check_int(&format!("robust.{name}"), c)?;
        }
        crate::tune_space::check_float("robust.alert_rise", &self.alert_rise)
    }

    /// Draws the robust tests (`None`: the space does not choose them) and
    /// parameters on top of `base`.
    pub fn draw(
        &self,
        base: RobustParams,
        rng: &mut Xoshiro256PlusPlus,
    ) -> (Option<Vec<String>>, RobustParams) {
        let methods = self
            .methods
            .as_ref()
            .map(|sets| sets[index(rng, sets.len())].clone());
        let mut p = base;
        let fields: [&mut usize; 10] = [
            &mut p.reference,
            &mut p.shift_span,
            &mut p.slow_span,
            &mut p.slow_reference,
            &mut p.period,
            &mut p.period_seasons,
            &mut p.period_slack,
            &mut p.likelihood_history,
            &mut p.warmup,
            &mut p.alert_hold,
        ];
        for ((_, choice), field) in self.ints().into_iter().zip(fields) {
            if let Some(c) = choice {
                *field = int(c, rng);
            }
        }
        if let Some(c) = &self.alert_rise {
            p.alert_rise = float(c, rng);
        }
        (methods, p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_xoshiro::rand_core::SeedableRng;

    #[test]
    fn the_default_space_holds_the_presets_values() {
        let space = RobustSpace::default_space();
        space.check().unwrap();
        let d = RobustParams::default();
        let has = |c: &Option<IntChoice>, v: usize| match c {
            Some(IntChoice::List(l)) => l.contains(&v),
            _ => false,
        };
        for ((name, c), v) in space.ints().into_iter().zip([
            d.reference,
            d.shift_span,
            d.slow_span,
            d.slow_reference,
            d.period,
            d.period_seasons,
            d.period_slack,
            d.likelihood_history,
            d.warmup,
            d.alert_hold,
        ]) {
            assert!(has(c, v), "{name} lacks the preset's {v}");
        }
        assert_eq!(
            space.alert_rise,
            Some(FloatChoice::List(vec![0.6, 0.8, 1.0]))
        );
    }

    #[test]
    fn draws_stay_in_the_space_and_keep_unsearched_keys() {
        let space = RobustSpace {
            alert_hold: Some(IntChoice::Range { min: 10, max: 20 }),
            ..RobustSpace::default()
        };
        let base = RobustParams {
            reference: 777,
            ..RobustParams::default()
        };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        for _ in 0..50 {
            let (methods, p) = space.draw(base, &mut rng);
            assert_eq!(methods, None);
            assert!((10..=20).contains(&p.alert_hold));
            assert_eq!(p.reference, 777);
        }
    }

    #[test]
    fn go_tests_and_empty_choices_are_refused() {
        let bad = [
            RobustSpace {
                methods: Some(vec![vec!["robust_z".into(), "magnitude".into()]]),
                ..RobustSpace::default()
            },
            RobustSpace {
                methods: Some(vec![vec![]]),
                ..RobustSpace::default()
            },
            RobustSpace {
                reference: Some(IntChoice::List(vec![])),
                ..RobustSpace::default()
            },
            RobustSpace {
                alert_rise: Some(FloatChoice::Range { min: 1.0, max: 0.5 }),
                ..RobustSpace::default()
            },
        ];
        for space in bad {
            assert!(space.check().is_err(), "{space:?}");
        }
    }
}
