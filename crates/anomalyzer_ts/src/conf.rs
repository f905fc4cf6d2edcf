//! Detector configuration: fields, defaults and validation (SPEC.md,
//! "Configuration and its validation").
//!
//! An [`AnomalyzerConf`] can only be obtained through
//! [`AnomalyzerConfBuilder::build`] (or serde, which goes through the same
//! checks), so a value of this type is always valid.

use crate::{Error, Method, Preset, Result, RobustParams};

/// The seed used when none is given: the bytes of `"anomalyz"`.
pub const DEFAULT_SEED: u64 = 0x616e_6f6d_616c_797a;
/// Default `n_seasons`.
pub const DEFAULT_N_SEASONS: usize = 4;
/// Default `perm_count`.
pub const DEFAULT_PERM_COUNT: usize = 500;
/// Default `sensitivity`.
pub const DEFAULT_SENSITIVITY: f64 = 0.1;
/// Default `methods` (the Go code's default; its README says cdf, the code wins).
pub const DEFAULT_METHODS: [Method; 2] = [Method::Magnitude, Method::Ks];

/// A validated detector configuration.
///
/// ```
/// use anomalyzer_ts::{AnomalyzerConf, Method};
///
/// let conf = AnomalyzerConf::builder()
///     .methods([Method::Magnitude, Method::Fence])
///     .active_size(2)
///     .upper_bound(80.0)
///     .build()?;
/// assert_eq!(conf.reference_size(), 8); // n_seasons (4) × active_size (2)
/// assert_eq!(conf.window_capacity(), 10);
/// # Ok::<(), anomalyzer_ts::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "AnomalyzerConfBuilder", into = "AnomalyzerConfBuilder")
)]
pub struct AnomalyzerConf {
    methods: Vec<Method>,
    active_size: usize,
    n_seasons: usize,
    perm_count: usize,
    sensitivity: f64,
    upper_bound: Option<f64>,
    lower_bound: Option<f64>,
    delay: bool,
    seed: u64,
    exact_ranks: bool,
    robust: RobustParams,
}

impl AnomalyzerConf {
    /// Starts a builder with every default set and `active_size` missing.
    pub fn builder() -> AnomalyzerConfBuilder {
        AnomalyzerConfBuilder::default()
    }

    /// The configuration of a [`Preset`], every other field at its default
    /// (`active_size` 1). [`Preset::Anomalyzer`] is the Go-compatible
    /// default; [`Preset::Robust`] the robust tests and stages.
    #[must_use]
    pub fn preset(preset: Preset) -> Self {
        AnomalyzerConf::builder()
            .preset(preset)
            .active_size(1)
            .build()
            // Every preset's defaults pass every rule (tested).
            .expect("a preset's configuration is valid")
    }

    /// The robust tests configured (empty for a Go configuration: a
    /// configuration holds robust tests or Go tests, never both).
    #[must_use]
    pub fn robust_methods(&self) -> &[Method] {
        if self.methods.first().is_some_and(|m| m.is_robust()) {
            &self.methods
        } else {
            &[]
        }
    }

    /// Parameters of the robust tests and stages.
    #[must_use]
    pub fn robust(&self) -> &RobustParams {
        &self.robust
    }

    /// The configured tests, in the order given (duplicates are refused).
    #[must_use]
    pub fn methods(&self) -> &[Method] {
        &self.methods
    }
    /// Whether `method` is configured.
    #[must_use]
    pub fn has(&self, method: Method) -> bool {
        self.methods.contains(&method)
    }
    /// Whether listing the same methods in another order could change a
    /// probability. Only the weighted mean depends on the order (each
    /// test's permutations are seeded by the test, not its position, and
    /// magnitude always runs first); it sums one term per applicable test in
    /// configuration order, and floating-point addition is exactly
    /// commutative for two terms but not associative for three. So the
    /// order matters when three or more tests can contribute at once
    /// (highrank and lowrank count as one: only the larger contributes).
    ///
    /// ```
    /// use anomalyzer_ts::{AnomalyzerConf, Method};
    /// let two = AnomalyzerConf::builder().active_size(1).methods([Method::Ks, Method::Magnitude]).build()?;
    /// assert!(!two.method_order_matters());
    /// let three = two.to_builder().methods([Method::Ks, Method::Magnitude, Method::Cdf]).build()?;
    /// assert!(three.method_order_matters());
    /// # Ok::<(), anomalyzer_ts::Error>(())
    /// ```
    #[must_use]
    pub fn method_order_matters(&self) -> bool {
        crate::combine::contributing_terms(&self.methods) > 2
    }
    /// `A`, the active window size.
    #[must_use]
    pub fn active_size(&self) -> usize {
        self.active_size
    }
    /// Number of seasons in the reference window.
    #[must_use]
    pub fn n_seasons(&self) -> usize {
        self.n_seasons
    }
    /// `R = n_seasons × A`, the reference window size.
    #[must_use]
    pub fn reference_size(&self) -> usize {
        self.n_seasons * self.active_size
    }
    /// `A + R`: how many values the detector keeps.
    #[must_use]
    pub fn window_capacity(&self) -> usize {
        self.active_size + self.reference_size()
    }
    /// `P`, permutations per randomised test.
    #[must_use]
    pub fn perm_count(&self) -> usize {
        self.perm_count
    }
    /// Magnitude gate: a magnitude below this forces the result to 0 (0 disables it).
    #[must_use]
    pub fn sensitivity(&self) -> f64 {
        self.sensitivity
    }
    /// Fence upper bound.
    #[must_use]
    pub fn upper_bound(&self) -> Option<f64> {
        self.upper_bound
    }
    /// Fence lower bound (optional even with fence).
    #[must_use]
    pub fn lower_bound(&self) -> Option<f64> {
        self.lower_bound
    }
    /// Return 0 until the window is full.
    #[must_use]
    pub fn delay(&self) -> bool {
        self.delay
    }
    /// Seed of the permutation generator.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// highrank/lowrank computed exactly instead of by permutations.
    #[must_use]
    pub fn exact_ranks(&self) -> bool {
        self.exact_ranks
    }

    /// A builder holding this configuration, to derive a changed copy.
    pub fn to_builder(&self) -> AnomalyzerConfBuilder {
        AnomalyzerConfBuilder {
            methods: Some(self.methods.iter().map(|m| m.name().to_owned()).collect()),
            active_size: Some(self.active_size),
            n_seasons: self.n_seasons,
            perm_count: self.perm_count,
            sensitivity: self.sensitivity,
            upper_bound: self.upper_bound,
            lower_bound: self.lower_bound,
            delay: self.delay,
            seed: self.seed,
            exact_ranks: self.exact_ranks,
            preset: None,
            robust: self.robust,
        }
    }
}

/// Builds an [`AnomalyzerConf`]; every rule is checked in
/// [`build`](Self::build). It is also the serde form of the configuration
/// (with the `serde` feature): the field names below are the TOML/JSON keys,
/// every key but `active_size` is optional, and unknown keys are refused.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
#[must_use]
pub struct AnomalyzerConfBuilder {
    /// Test names: magnitude, diff, highrank, lowrank, cdf, fence, ks.
    /// Default magnitude, ks. Must not be empty or repeat a name.
    pub methods: Option<Vec<String>>,
    /// `A` ≥ 1. Required.
    pub active_size: Option<usize>,
    /// Default 4; `n_seasons × active_size` must be ≥ 4.
    pub n_seasons: usize,
    /// Default 500; ≥ 1.
    pub perm_count: usize,
    /// Default 0.1; in [0, 1]; 0 disables the magnitude gate.
    pub sensitivity: f64,
    /// Required by fence; finite; `> 0` without a lower bound, else `> lower_bound`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub upper_bound: Option<f64>,
    /// Optional; finite; below `upper_bound`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub lower_bound: Option<f64>,
    /// Default false: when true the result is 0 until `A + R` values are held.
    pub delay: bool,
    /// Seed of the permutation generator; default [`DEFAULT_SEED`].
    pub seed: u64,
    /// Default false. When true, highrank and lowrank count the exact null
    /// distribution of the active rank sum instead of drawing `perm_count`
    /// permutations: no Monte-Carlo noise, no dependence on the seed. Costs
    /// about `A² · n²` additions per push and test (`n = A + R`), so it
    /// needs `A · n ≤` [`EXACT_RANKS_MAX_WORK`]. Left out of the serde form
    /// when false, so configurations stored before it existed read the same.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_false"))]
    pub exact_ranks: bool,
    /// A named starting point: `anomalyzer` (the Go defaults) or `robust`.
    /// It chooses the tests when `methods` is not given (`robust`: the four
    /// robust tests) and makes `active_size` default to 1. Not stored: the
    /// built configuration records the tests it chose.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub preset: Option<Preset>,
    /// Parameters of the robust tests and stages (the `[robust]` table);
    /// left out of the serde form when at their defaults.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_default_robust"))]
    pub robust: RobustParams,
}

#[cfg(feature = "serde")]
fn is_default_robust(p: &RobustParams) -> bool {
    *p == RobustParams::default()
}

#[cfg(feature = "serde")]
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(b: &bool) -> bool {
    !*b
}

impl Default for AnomalyzerConfBuilder {
    fn default() -> Self {
        AnomalyzerConfBuilder {
            methods: None,
            active_size: None,
            n_seasons: DEFAULT_N_SEASONS,
            perm_count: DEFAULT_PERM_COUNT,
            sensitivity: DEFAULT_SENSITIVITY,
            upper_bound: None,
            lower_bound: None,
            delay: false,
            seed: DEFAULT_SEED,
            exact_ranks: false,
            preset: None,
            robust: RobustParams::default(),
        }
    }
}

impl AnomalyzerConfBuilder {
    /// Sets the tests to run.
    pub fn methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods = Some(methods.into_iter().map(|m| m.name().to_owned()).collect());
        self
    }
    /// Sets the tests to run by their Go names (checked in `build`).
    pub fn method_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.methods = Some(names.into_iter().map(Into::into).collect());
        self
    }
    /// Sets `A`.
    pub fn active_size(mut self, active_size: usize) -> Self {
        self.active_size = Some(active_size);
        self
    }
    /// Sets the number of seasons.
    pub fn n_seasons(mut self, n_seasons: usize) -> Self {
        self.n_seasons = n_seasons;
        self
    }
    /// Sets the permutation count.
    pub fn perm_count(mut self, perm_count: usize) -> Self {
        self.perm_count = perm_count;
        self
    }
    /// Sets the magnitude gate.
    pub fn sensitivity(mut self, sensitivity: f64) -> Self {
        self.sensitivity = sensitivity;
        self
    }
    /// Sets the fence's upper bound.
    pub fn upper_bound(mut self, upper: f64) -> Self {
        self.upper_bound = Some(upper);
        self
    }
    /// Sets the fence's lower bound.
    pub fn lower_bound(mut self, lower: f64) -> Self {
        self.lower_bound = Some(lower);
        self
    }
    /// Sets delay.
    pub fn delay(mut self, delay: bool) -> Self {
        self.delay = delay;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets exact highrank/lowrank.
    pub fn exact_ranks(mut self, exact: bool) -> Self {
        self.exact_ranks = exact;
        self
    }
    /// Starts from a preset (see the field).
    pub fn preset(mut self, preset: Preset) -> Self {
        self.preset = Some(preset);
        self
    }
    /// Sets the robust tests' and stages' parameters.
    pub fn robust(mut self, params: RobustParams) -> Self {
        self.robust = params;
        self
    }

    /// Checks every rule and returns the configuration.
    ///
    /// # Errors
    /// [`Error::InvalidConf`] naming the first field that breaks its rule, or
    /// [`Error::UnknownMethod`].
    pub fn build(self) -> Result<AnomalyzerConf> {
        let methods = match (&self.methods, self.preset) {
            (Some(names), _) => parse_methods(names)?,
            (None, Some(Preset::Robust)) => Method::ROBUST.to_vec(),
            (None, _) => DEFAULT_METHODS.to_vec(),
        };
        let robust = methods.iter().filter(|m| m.is_robust()).count();
        if robust > 0 && robust < methods.len() {
            return Err(Error::conf(
                "methods",
                "mixes robust tests (robust_z, level_shift, slow_shift, seasonal) with the Go \
                 tests; they are combined differently (likelihood stage vs weighted mean), so \
                 configure one kind",
            ));
        }
        if robust > 0 {
            self.robust.check()?;
        }
        let active_size = match (self.active_size, self.preset) {
            (Some(a), _) => a,
            (None, Some(_)) => 1,
            (None, None) => return Err(Error::conf("active_size", "is required")),
        };
        if active_size == 0 {
            return Err(Error::conf("active_size", "must be at least 1, got 0"));
        }
        if self.n_seasons == 0 {
            return Err(Error::conf("n_seasons", "must be at least 1, got 0"));
        }
        match active_size.checked_mul(self.n_seasons) {
            Some(r) if r >= 4 && r.checked_add(active_size).is_some_and(|c| c <= MAX_WINDOW) => {}
            Some(r) if r < 4 => {
                return Err(Error::conf(
                    "n_seasons",
                    format!(
                        "times active_size ({active_size} × {}) gives a reference window of {r}, \
                         too small for analysis (at least 4)",
                        self.n_seasons
                    ),
                ))
            }
            _ => {
                return Err(Error::conf(
                    "n_seasons",
                    format!(
                        "times active_size ({active_size} × {}) gives a window larger than {MAX_WINDOW} values",
                        self.n_seasons
                    ),
                ))
            }
        }
        if self.perm_count == 0 {
            return Err(Error::conf("perm_count", "must be at least 1, got 0"));
        }
        if self.perm_count > MAX_PERM_COUNT {
            return Err(Error::conf(
                "perm_count",
                format!("must be at most {MAX_PERM_COUNT}, got {}", self.perm_count),
            ));
        }
        if !(0.0..=1.0).contains(&self.sensitivity) {
            return Err(Error::conf(
                "sensitivity",
                format!("must be in [0, 1], got {}", self.sensitivity),
            ));
        }
        check_bounds(
            self.upper_bound,
            self.lower_bound,
            methods.contains(&Method::Fence),
        )?;
        let window = active_size * (self.n_seasons + 1);
        if self.exact_ranks && active_size * window > EXACT_RANKS_MAX_WORK {
            return Err(Error::conf(
                "exact_ranks",
                format!(
                    "needs active_size × window ≤ {EXACT_RANKS_MAX_WORK}, got {active_size} × {window}; \
                     use permutations (perm_count) for windows this large"
                ),
            ));
        }
        Ok(AnomalyzerConf {
            methods,
            active_size,
            n_seasons: self.n_seasons,
            perm_count: self.perm_count,
            sensitivity: self.sensitivity,
            upper_bound: self.upper_bound,
            lower_bound: self.lower_bound,
            delay: self.delay,
            seed: self.seed,
            exact_ranks: self.exact_ranks,
            robust: self.robust,
        })
    }
}

/// Largest window (`A + R`) accepted: ranks and counts are kept in `u32`.
pub const MAX_WINDOW: usize = 1 << 24;
/// Largest permutation count accepted (counts stay exact in `f64`).
pub const MAX_PERM_COUNT: usize = 1 << 24;
/// Largest `active_size × window` for `exact_ranks`: bounds its cost per
/// push (about `(A·n)²` additions, ≤ 16.8 M) and keeps its counts, at most
/// `C(n, A)`, below 2¹²⁸.
pub const EXACT_RANKS_MAX_WORK: usize = 4096;

fn parse_methods(names: &[String]) -> Result<Vec<Method>> {
    if names.is_empty() {
        return Err(Error::conf(
            "methods",
            format!(
                "is empty; name at least one of {}",
                Method::NAMES.join(", ")
            ),
        ));
    }
    let mut methods = Vec::with_capacity(names.len());
    for name in names {
        let method: Method = name.trim().parse()?;
        if methods.contains(&method) {
            return Err(Error::conf("methods", format!("names {method} twice")));
        }
        methods.push(method);
    }
    Ok(methods)
}

fn check_bounds(upper: Option<f64>, lower: Option<f64>, fence: bool) -> Result<()> {
    for (field, value) in [("upper_bound", upper), ("lower_bound", lower)] {
        if let Some(v) = value {
            if !v.is_finite() {
                return Err(Error::conf(field, format!("must be finite, got {v}")));
            }
        }
    }
    match (upper, lower) {
        (None, Some(_)) if fence => Err(Error::conf(
            "upper_bound",
            "is required by the fence test (lower_bound alone is not enough)",
        )),
        (None, _) if fence => Err(Error::conf("upper_bound", "is required by the fence test")),
        (Some(u), None) if u <= 0.0 => Err(Error::conf(
            "upper_bound",
            format!("must be greater than 0 when there is no lower_bound, got {u}"),
        )),
        (Some(u), Some(l)) if u <= l => Err(Error::conf(
            "upper_bound",
            format!("({u}) must be greater than lower_bound ({l})"),
        )),
        _ => Ok(()),
    }
}

impl TryFrom<AnomalyzerConfBuilder> for AnomalyzerConf {
    type Error = Error;
    fn try_from(builder: AnomalyzerConfBuilder) -> Result<Self> {
        builder.build()
    }
}

impl From<AnomalyzerConf> for AnomalyzerConfBuilder {
    fn from(conf: AnomalyzerConf) -> Self {
        conf.to_builder()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> AnomalyzerConfBuilder {
        AnomalyzerConf::builder().active_size(1)
    }

    #[test]
    fn defaults_match_the_go_code() {
        let c = base().build().unwrap();
        assert_eq!(c.methods(), &[Method::Magnitude, Method::Ks]);
        assert_eq!(c.n_seasons(), 4);
        assert_eq!(c.reference_size(), 4);
        assert_eq!(c.perm_count(), 500);
        assert_eq!(c.sensitivity(), 0.1);
        assert_eq!(c.upper_bound(), None);
        assert_eq!(c.lower_bound(), None);
        assert!(!c.delay());
        assert_eq!(c.seed(), DEFAULT_SEED);
    }

    #[test]
    fn each_rule_names_its_field() {
        let cases: &[(&str, AnomalyzerConfBuilder, &str)] = &[
            (
                "missing active size",
                AnomalyzerConf::builder(),
                "active_size",
            ),
            ("active size 0", base().active_size(0), "active_size"),
            (
                "reference too small A1 NS2",
                base().n_seasons(2),
                "n_seasons",
            ),
            ("zero seasons", base().n_seasons(0), "n_seasons"),
            (
                "window too large",
                base().active_size(1 << 20).n_seasons(1 << 20),
                "n_seasons",
            ),
            ("zero permutations", base().perm_count(0), "perm_count"),
            (
                "sensitivity above 1",
                base().sensitivity(1.5),
                "sensitivity",
            ),
            (
                "sensitivity negative",
                base().sensitivity(-0.1),
                "sensitivity",
            ),
            (
                "sensitivity NaN",
                base().sensitivity(f64::NAN),
                "sensitivity",
            ),
            ("empty methods", base().methods([]), "methods"),
            (
                "duplicate methods",
                base().methods([Method::Cdf, Method::Cdf]),
                "methods",
            ),
            (
                "fence without upper",
                base().methods([Method::Fence]),
                "upper_bound",
            ),
            (
                "fence with only lower",
                base().methods([Method::Fence]).lower_bound(1.0),
                "upper_bound",
            ),
            (
                "upper equal lower",
                base().upper_bound(0.0).lower_bound(0.0),
                "upper_bound",
            ),
            (
                "upper below lower",
                base().upper_bound(1.0).lower_bound(5.0),
                "upper_bound",
            ),
            (
                "negative upper, no lower",
                base().upper_bound(-5.0),
                "upper_bound",
            ),
            (
                "infinite upper",
                base().upper_bound(f64::INFINITY),
                "upper_bound",
            ),
            (
                "NaN lower",
                base().upper_bound(1.0).lower_bound(f64::NAN),
                "lower_bound",
            ),
        ];
        for (name, builder, field) in cases {
            match builder.clone().build() {
                Err(Error::InvalidConf { field: f, reason }) => {
                    assert_eq!(f, *field, "{name}: {reason}")
                }
                other => panic!("{name}: expected an error on {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_method_is_its_own_error() {
        let err = base()
            .method_names(["magnitude", "bogus"])
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            Error::UnknownMethod {
                name: "bogus".into()
            }
        );
    }

    #[test]
    fn valid_edge_cases_build() {
        base()
            .active_size(2)
            .n_seasons(2)
            .methods([Method::Cdf])
            .build()
            .unwrap();
        base().sensitivity(0.0).build().unwrap();
        base()
            .methods([Method::Fence])
            .upper_bound(5.0)
            .build()
            .unwrap();
        base()
            .methods([Method::Fence])
            .upper_bound(-1.0)
            .lower_bound(-10.0)
            .build()
            .unwrap();
    }

    #[test]
    fn to_builder_round_trips() {
        let c = base()
            .methods([Method::Fence, Method::Diff])
            .upper_bound(3.0)
            .lower_bound(-1.0)
            .seed(7)
            .delay(true)
            .build()
            .unwrap();
        assert_eq!(c.to_builder().build().unwrap(), c);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_uses_the_documented_field_names_and_validates() {
        let c: AnomalyzerConf = serde_json::from_str(
            r#"{"methods":["magnitude","fence"],"active_size":2,"n_seasons":3,
                "perm_count":100,"sensitivity":0.2,"upper_bound":9.5,"delay":true,"seed":42}"#,
        )
        .unwrap();
        assert_eq!(c.methods(), &[Method::Magnitude, Method::Fence]);
        assert_eq!(
            (c.active_size(), c.n_seasons(), c.perm_count()),
            (2, 3, 100)
        );
        assert_eq!(c.upper_bound(), Some(9.5));
        let back: AnomalyzerConf =
            serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(
            !serde_json::to_string(&c).unwrap().contains("exact_ranks"),
            "omitted when off"
        );
        let exact = c.to_builder().exact_ranks(true).build().unwrap();
        let text = serde_json::to_string(&exact).unwrap();
        assert!(text.contains(r#""exact_ranks":true"#), "{text}");
        assert_eq!(
            serde_json::from_str::<AnomalyzerConf>(&text).unwrap(),
            exact
        );
        let err = serde_json::from_str::<AnomalyzerConf>(r#"{"active_size":0}"#).unwrap_err();
        assert!(err.to_string().contains("active_size"), "{err}");
        let err = serde_json::from_str::<AnomalyzerConf>(r#"{"active_size":1,"sensitivty":0.2}"#)
            .unwrap_err();
        assert!(err.to_string().contains("sensitivty"), "{err}");
    }

    #[test]
    fn presets_choose_the_tests_and_explicit_fields_win() {
        let robust = AnomalyzerConf::preset(Preset::Robust);
        assert_eq!(robust.methods(), &Method::ROBUST);
        assert_eq!(robust.robust_methods(), &Method::ROBUST);
        assert_eq!(robust.active_size(), 1);
        assert_eq!(*robust.robust(), RobustParams::default());
        let go = AnomalyzerConf::preset(Preset::Anomalyzer);
        assert_eq!(go, base().build().unwrap(), "the Go defaults, unchanged");
        assert!(go.robust_methods().is_empty());
        let two = AnomalyzerConf::builder()
            .preset(Preset::Robust)
            .methods([Method::Seasonal, Method::RobustZ])
            .build()
            .unwrap();
        assert_eq!(two.methods(), &[Method::Seasonal, Method::RobustZ]);
        let err = AnomalyzerConf::builder()
            .method_names(["magnitude", "seasonal"])
            .active_size(1)
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidConf {
                    field: "methods",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("mixes robust tests"), "{err}");
        let bad = RobustParams {
            period: 0,
            ..RobustParams::default()
        };
        let err = AnomalyzerConf::builder()
            .preset(Preset::Robust)
            .robust(bad)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("robust.period"), "{err}");
        // Go tests ignore the robust parameters (not checked, not used).
        assert!(base().robust(bad).build().is_ok());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn preset_and_robust_table_in_serde_form() {
        let c: AnomalyzerConf = serde_json::from_str(r#"{"preset":"robust"}"#).unwrap();
        assert_eq!(c, AnomalyzerConf::preset(Preset::Robust));
        let text = serde_json::to_string(&c).unwrap();
        assert!(
            text.contains("seasonal") && !text.contains("preset"),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<AnomalyzerConf>(&text).unwrap(), c);
        let tuned: AnomalyzerConf =
            serde_json::from_str(r#"{"preset":"robust","robust":{"alert_hold":20}}"#).unwrap();
        assert_eq!(tuned.robust().alert_hold, 20);
        let text = serde_json::to_string(&tuned).unwrap();
        assert!(text.contains(r#""alert_hold":20"#), "{text}");
        let err =
            serde_json::from_str::<AnomalyzerConf>(r#"{"preset":"robust","robust":{"hold":20}}"#)
                .unwrap_err();
        assert!(err.to_string().contains("hold"), "{err}");
        let err = serde_json::from_str::<AnomalyzerConf>(r#"{"preset":"fast"}"#).unwrap_err();
        assert!(err.to_string().contains("fast"), "{err}");
        // A Go configuration's serde form has no robust table.
        let go = serde_json::to_string(&base().build().unwrap()).unwrap();
        assert!(!go.contains("robust"), "{go}");
    }
}
