//! The search space of `anomalyzer tune`: for each detector setting, a list
//! of choices or a `{ min, max }` range. The default space is below; a
//! `--space FILE` (TOML, same keys) replaces the settings it names and keeps
//! the others, so it can narrow or widen the search.
//!
//! Each draw first picks a `preset`: `anomalyzer` draws the Go settings
//! below (and no robust parameter), `robust` draws the robust tests and
//! parameters of the `[robust]` table ([`RobustSpace`]) and no Go setting,
//! so no draw mixes the two kinds.
//!
//! Default space (fence is left out: its bounds are absolute values, and no
//! one bound suits series of different scales; give `upper_bound` in a
//! space file to search it):
//!
//! | key | default |
//! | --- | --- |
//! | `preset` | `[anomalyzer, robust]` |
//! | `methods` | `[magnitude, ks]`, `[magnitude, diff]`, `[magnitude, cdf]`, `[magnitude, highrank, lowrank]`, `[diff, highrank, lowrank, magnitude]`, `[ks]`, `[cdf]`, `[diff]`, `[magnitude, diff, ks]`, `[magnitude, diff, highrank, lowrank, cdf, ks]` |
//! | `active_size` | `[1, 2, 3]` |
//! | `n_seasons` | `{ min = 4, max = 32 }` |
//! | `sensitivity` | `{ min = 0.0, max = 0.3 }` |
//! | `perm_count` | `[100, 250]` |
//! | `[robust]` | see [`RobustSpace`] |

use std::path::Path;

use anomalyzer_ts::{AnomalyzerConf, AnomalyzerConfBuilder, Method, Preset};
use anyhow::{Context, Result};
use rand_xoshiro::rand_core::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Deserialize;

use crate::exit::BadInput;
pub use crate::tune_robust_space::RobustSpace;

/// Integer choices.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum IntChoice {
    /// One of these values.
    List(Vec<usize>),
    /// Any value in `min..=max`, uniformly.
    Range {
        /// Smallest value.
        min: usize,
        /// Largest value.
        max: usize,
    },
}

/// Real-number choices.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum FloatChoice {
    /// One of these values.
    List(Vec<f64>),
    /// Any value in `[min, max]`, uniformly, rounded to 3 decimals.
    Range {
        /// Smallest value.
        min: f64,
        /// Largest value.
        max: f64,
    },
}

/// The search space: `None` leaves a setting at the base configuration's
/// value (the detector flags given to `tune`, or the defaults).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Space {
    /// Presets to choose from: which part of the space a draw takes.
    pub preset: Option<Vec<Preset>>,
    /// Go method sets to choose from (preset `anomalyzer`).
    pub methods: Option<Vec<Vec<String>>>,
    /// `active_size` choices.
    pub active_size: Option<IntChoice>,
    /// `n_seasons` choices.
    pub n_seasons: Option<IntChoice>,
    /// `perm_count` choices.
    pub perm_count: Option<IntChoice>,
    /// `sensitivity` choices.
    pub sensitivity: Option<FloatChoice>,
    /// `upper_bound` choices (needed by fence).
    pub upper_bound: Option<FloatChoice>,
    /// `lower_bound` choices.
    pub lower_bound: Option<FloatChoice>,
    /// `delay` choices.
    pub delay: Option<Vec<bool>>,
    /// `exact_ranks` choices.
    pub exact_ranks: Option<Vec<bool>>,
    /// The robust tests and parameters (preset `robust`): the `[robust]` table.
    #[serde(default)]
    pub robust: RobustSpace,
}

impl Space {
    /// The documented default space.
    pub fn default_space() -> Space {
        let sets: &[&[&str]] = &[
            &["magnitude", "ks"],
            &["magnitude", "diff"],
            &["magnitude", "cdf"],
            &["magnitude", "highrank", "lowrank"],
            &["diff", "highrank", "lowrank", "magnitude"],
            &["ks"],
            &["cdf"],
            &["diff"],
            &["magnitude", "diff", "ks"],
            &["magnitude", "diff", "highrank", "lowrank", "cdf", "ks"],
        ];
        Space {
            preset: Some(Preset::ALL.to_vec()),
            methods: Some(
                sets.iter()
                    .map(|s| s.iter().map(|m| (*m).to_owned()).collect())
                    .collect(),
            ),
            active_size: Some(IntChoice::List(vec![1, 2, 3])),
            n_seasons: Some(IntChoice::Range { min: 4, max: 32 }),
            perm_count: Some(IntChoice::List(vec![100, 250])),
            sensitivity: Some(FloatChoice::Range { min: 0.0, max: 0.3 }),
            robust: RobustSpace::default_space(),
            ..Space::default()
        }
    }

    /// The default space with the settings of `path` (TOML) replacing
    /// those it names.
    pub fn from_file(path: &Path) -> Result<Space> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read space file {}", path.display()))?;
        let given: Space = toml::from_str(&text)
            .map_err(|e| BadInput(format!("invalid space file {}: {e}", path.display())))?;
        given
            .check()
            .map_err(|e| BadInput(format!("invalid space file {}: {e}", path.display())))?;
        let d = Space::default_space();
        Ok(Space {
            preset: given.preset.or(d.preset),
            methods: given.methods.or(d.methods),
            active_size: given.active_size.or(d.active_size),
            n_seasons: given.n_seasons.or(d.n_seasons),
            perm_count: given.perm_count.or(d.perm_count),
            sensitivity: given.sensitivity.or(d.sensitivity),
            upper_bound: given.upper_bound.or(d.upper_bound),
            lower_bound: given.lower_bound.or(d.lower_bound),
            delay: given.delay.or(d.delay),
            exact_ranks: given.exact_ranks.or(d.exact_ranks),
            robust: given.robust.over(d.robust),
        })
    }

    /// Refuses empty lists, inverted ranges, and tests of one kind in the
    /// other kind's `methods`.
    fn check(&self) -> std::result::Result<(), String> {
        let empty = |name: &str, len: Option<usize>| match len {
            Some(0) => Err(format!("`{name}` has no choice")),
            _ => Ok(()),
        };
        empty("preset", self.preset.as_ref().map(Vec::len))?;
        empty("methods", self.methods.as_ref().map(Vec::len))?;
        empty("delay", self.delay.as_ref().map(Vec::len))?;
        empty("exact_ranks", self.exact_ranks.as_ref().map(Vec::len))?;
        for name in self.methods.iter().flatten().flatten() {
            if name.trim().parse::<Method>().is_ok_and(Method::is_robust) {
                return Err(format!(
                    "`methods`: {name:?} is a robust test; robust tests go in `[robust]` `methods`"
                ));
            }
        }
        check_int("active_size", &self.active_size)?;
        check_int("n_seasons", &self.n_seasons)?;
        check_int("perm_count", &self.perm_count)?;
        check_float("sensitivity", &self.sensitivity)?;
        check_float("upper_bound", &self.upper_bound)?;
        check_float("lower_bound", &self.lower_bound)?;
        self.robust.check()
    }

    /// Draws one valid configuration on top of `base`, or says why none
    /// could be drawn.
    pub fn sample(
        &self,
        base: &AnomalyzerConfBuilder,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<AnomalyzerConf> {
        let mut last_error = None;
        // Some combinations break a rule (e.g. n_seasons × active_size < 4);
        // draw again rather than bend the space.
        for _ in 0..1000 {
            let b = self.draw(base.clone(), rng);
            match b.build() {
                Ok(conf) => return Ok(conf),
                Err(e) => last_error = Some(e),
            }
        }
        let why = last_error.map(|e| e.to_string()).unwrap_or_default();
        Err(BadInput(format!(
            "the search space gives no valid configuration (last: {why})"
        ))
        .into())
    }

    fn draw(
        &self,
        b: AnomalyzerConfBuilder,
        rng: &mut Xoshiro256PlusPlus,
    ) -> AnomalyzerConfBuilder {
        let base_is_robust = b.preset == Some(Preset::Robust)
            || b.methods.as_ref().is_some_and(|names| {
                names
                    .iter()
                    .any(|n| n.trim().parse::<Method>().is_ok_and(Method::is_robust))
            });
        let preset = match &self.preset {
            Some(p) => p[index(rng, p.len())],
            None if base_is_robust => Preset::Robust,
            None => Preset::Anomalyzer,
        };
        let mut b = AnomalyzerConfBuilder {
            preset: Some(preset),
            ..b
        };
        if preset == Preset::Robust {
            let (methods, params) = self.robust.draw(b.robust, rng);
            match methods {
                Some(m) => b.methods = Some(m),
                // The preset's four tests, unless the base names robust ones.
                None if !base_is_robust => b.methods = None,
                None => {}
            }
            b.robust = params;
            return b;
        }
        if base_is_robust {
            // The Go defaults, unless the space chooses Go tests below.
            b.methods = None;
        }
        self.draw_go(b, rng)
    }

    /// Draws the Go settings (preset `anomalyzer`).
    fn draw_go(
        &self,
        mut b: AnomalyzerConfBuilder,
        rng: &mut Xoshiro256PlusPlus,
    ) -> AnomalyzerConfBuilder {
        if let Some(sets) = &self.methods {
            b.methods = Some(sets[index(rng, sets.len())].clone());
        }
        if let Some(c) = &self.active_size {
            b.active_size = Some(int(c, rng));
        }
        if let Some(c) = &self.n_seasons {
            b.n_seasons = int(c, rng);
        }
        if let Some(c) = &self.perm_count {
            b.perm_count = int(c, rng);
        }
        if let Some(c) = &self.sensitivity {
            b.sensitivity = float(c, rng);
        }
        if let Some(c) = &self.upper_bound {
            b.upper_bound = Some(float(c, rng));
        }
        if let Some(c) = &self.lower_bound {
            b.lower_bound = Some(float(c, rng));
        }
        if let Some(c) = &self.delay {
            b.delay = c[index(rng, c.len())];
        }
        if let Some(c) = &self.exact_ranks {
            b.exact_ranks = c[index(rng, c.len())];
        }
        b
    }
}

/// A uniform index below `n` (n ≥ 1; the modulo bias is below 2^-50).
pub fn index(rng: &mut Xoshiro256PlusPlus, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// Refuses an empty list or an inverted range.
pub fn check_int(name: &str, c: &Option<IntChoice>) -> std::result::Result<(), String> {
    match c {
        Some(IntChoice::List(v)) if v.is_empty() => Err(format!("`{name}` has no choice")),
        Some(IntChoice::Range { min, max }) if min > max => {
            Err(format!("`{name}`: min {min} > max {max}"))
        }
        _ => Ok(()),
    }
}

/// Refuses an empty list or an inverted or unbounded range.
pub fn check_float(name: &str, c: &Option<FloatChoice>) -> std::result::Result<(), String> {
    match c {
        Some(FloatChoice::List(v)) if v.is_empty() => Err(format!("`{name}` has no choice")),
        Some(FloatChoice::Range { min, max })
            if min > max || !min.is_finite() || !max.is_finite() =>
        {
            Err(format!(
                "`{name}`: need finite min <= max, got {min}..{max}"
            ))
        }
        _ => Ok(()),
    }
}

/// One of the integer choices, uniformly.
pub fn int(c: &IntChoice, rng: &mut Xoshiro256PlusPlus) -> usize {
    match c {
        IntChoice::List(v) => v[index(rng, v.len())],
        IntChoice::Range { min, max } => min + index(rng, max - min + 1),
    }
}

/// One of the real-number choices, uniformly (a range rounded to 3 decimals).
pub fn float(c: &FloatChoice, rng: &mut Xoshiro256PlusPlus) -> f64 {
    match c {
        FloatChoice::List(v) => v[index(rng, v.len())],
        FloatChoice::Range { min, max } => {
            let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let x = min + unit * (max - min);
            ((x * 1000.0).round() / 1000.0).clamp(*min, *max)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomalyzer_ts::RobustParams;
    use rand_xoshiro::rand_core::SeedableRng;

    #[test]
    fn samples_are_valid_and_reproducible() {
        let space = Space::default_space();
        let base = AnomalyzerConfBuilder::default();
        let draw = |seed| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            (0..50)
                .map(|_| space.sample(&base, &mut rng).unwrap())
                .collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7));
        assert_ne!(a, draw(8));
        let robust = a.iter().filter(|c| !c.robust_methods().is_empty()).count();
        assert!(robust > 10 && robust < 40, "{robust} robust draws of 50");
        for conf in &a {
            if conf.robust_methods().is_empty() {
                // A Go draw: Go settings from the space, robust ones untouched.
                assert!(conf.methods().iter().all(|m| !m.is_robust()));
                assert!((1..=3).contains(&conf.active_size()));
                assert!((4..=32).contains(&conf.n_seasons()));
                assert!((0.0..=0.3).contains(&conf.sensitivity()));
                assert!([100, 250].contains(&conf.perm_count()));
                assert_eq!(*conf.robust(), RobustParams::default());
            } else {
                // A robust draw: robust tests only, Go settings untouched.
                assert!(conf.methods().iter().all(|m| m.is_robust()));
                assert_eq!(conf.methods().len(), conf.robust_methods().len());
                let go = AnomalyzerConf::preset(Preset::Anomalyzer);
                assert_eq!(
                    (conf.active_size(), conf.n_seasons(), conf.perm_count()),
                    (go.active_size(), go.n_seasons(), go.perm_count())
                );
                assert_eq!(conf.sensitivity(), go.sensitivity());
                let r = conf.robust();
                assert!([300, 500, 1000, 2000].contains(&r.reference));
                assert!([0, 50, 100, 150, 300].contains(&r.alert_hold));
                assert!([0.6, 0.8, 1.0].contains(&r.alert_rise));
            }
        }
    }

    #[test]
    fn a_robust_base_still_draws_go_configurations_and_vice_versa() {
        // A base of robust tests (tune --config robust.toml) with a Go draw
        // must not keep the robust tests, and a Go base with a robust draw
        // must not keep the Go tests.
        let robust_base = AnomalyzerConfBuilder::default().preset(Preset::Robust);
        let go_base = AnomalyzerConfBuilder::default()
            .active_size(1)
            .method_names(["magnitude", "cdf"]);
        for (base, preset) in [(robust_base, Preset::Anomalyzer), (go_base, Preset::Robust)] {
            let space = Space {
                preset: Some(vec![preset]),
                ..Space::default()
            };
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
            let conf = space.sample(&base, &mut rng).unwrap();
            assert_eq!(
                conf.robust_methods().is_empty(),
                preset == Preset::Anomalyzer
            );
        }
    }

    #[test]
    fn a_space_file_narrows_the_robust_table_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("space.toml");
        std::fs::write(
            &path,
            "preset = [\"robust\"]\n[robust]\nalert_hold = [7]\nmethods = [[\"robust_z\"]]\n",
        )
        .unwrap();
        let space = Space::from_file(&path).unwrap();
        assert_eq!(
            space.robust.reference,
            RobustSpace::default_space().reference
        );
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        for _ in 0..10 {
            let conf = space
                .sample(&AnomalyzerConfBuilder::default(), &mut rng)
                .unwrap();
            assert_eq!(conf.methods(), &[Method::RobustZ]);
            assert_eq!(conf.robust().alert_hold, 7);
        }
    }

    #[test]
    fn a_space_file_replaces_only_what_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("space.toml");
        std::fs::write(&path, "preset = [\"anomalyzer\"]\nn_seasons = [8]\nmethods = [[\"fence\", \"magnitude\"]]\nupper_bound = { min = 1.0, max = 2.0 }\n").unwrap();
        let space = Space::from_file(&path).unwrap();
        assert_eq!(space.n_seasons, Some(IntChoice::List(vec![8])));
        assert_eq!(space.active_size, Space::default_space().active_size);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let conf = space
            .sample(&AnomalyzerConfBuilder::default(), &mut rng)
            .unwrap();
        assert_eq!(conf.n_seasons(), 8);
        assert!((1.0..=2.0).contains(&conf.upper_bound().unwrap()));
    }

    #[test]
    fn bad_space_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for bad in [
            "n_seasons = []",
            "sensitivity = { min = 0.5, max = 0.1 }",
            "colour = [1]",
            "active_size = \"big\"",
            "preset = []",
            "preset = [\"go\"]",
            "methods = [[\"magnitude\", \"seasonal\"]]",
            "[robust]\nmethods = [[\"ks\"]]",
            "[robust]\nperiod = []",
            "[robust]\ncolour = [1]",
        ] {
            let path = dir.path().join("s.toml");
            std::fs::write(&path, bad).unwrap();
            assert!(Space::from_file(&path).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_space_without_valid_configurations_says_so() {
        let space = Space {
            methods: Some(vec![vec!["fence".to_owned()]]),
            ..Space::default()
        };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let base = AnomalyzerConfBuilder {
            active_size: Some(1),
            ..AnomalyzerConfBuilder::default()
        };
        let err = space.sample(&base, &mut rng).unwrap_err();
        assert!(
            format!("{err:#}").contains("no valid configuration"),
            "{err:#}"
        );
    }
}
