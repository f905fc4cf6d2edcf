//! The detector: a bounded window, a push counter, and evaluation.

use std::sync::Arc;

use crate::combine::{
    clamp_probability, effective_weight, magnitude_gate, rank_winner, weighted_mean, Scores,
};
use crate::methods;
use crate::robust::RobustState;
use crate::scratch::with_scratch;
use crate::window::Window;
use crate::{AnomalyzerConf, Error, Explanation, Gate, Method, Result, RobustParts, TestScore};

/// A streaming anomaly detector over one time series.
///
/// It keeps the last `A + R` values (a ring buffer allocated once) and a
/// count of every value ever added. Evaluating after the `k`-th value draws
/// its permutations from generators seeded by `(seed, k, test)`, so a stream
/// always gets the same probabilities.
///
/// ```
/// use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Method};
///
/// let conf = AnomalyzerConf::builder()
///     .methods([Method::Magnitude, Method::Cdf, Method::HighRank])
///     .active_size(1)
///     .build()?;
/// let mut detector = Anomalyzer::new(conf, &[10.0, 10.2, 9.9, 10.1])?;
/// let quiet = detector.push(10.05)?;
/// let spike = detector.push(25.0)?;
/// assert!(spike > quiet);
/// assert!((0.0..=1.0).contains(&spike));
///
/// // The explanation comes from the same draw as the score.
/// let why = detector.explain();
/// assert_eq!(why.probability, detector.eval());
/// # Ok::<(), anomalyzer_ts::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Anomalyzer {
    conf: Arc<AnomalyzerConf>,
    window: Window,
    push_count: u64,
    /// The robust pipeline, when the configuration has robust tests.
    robust: Option<Box<RobustState>>,
}

/// Everything a detector holds beyond its configuration, as plain data
/// (serde with the `serde` feature): save it, and
/// [`Anomalyzer::from_state`] continues bit-identically.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DetectorState {
    /// The window, oldest first (at most `A + R` values).
    pub window: Vec<f64>,
    /// Values ever added.
    pub push_count: u64,
    /// The robust pipeline's state; `None` for a Go configuration.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub robust: Option<RobustParts>,
}

impl Anomalyzer {
    /// A detector holding the last `A + R` of `initial` (oldest first).
    /// `initial` counts as that many pushes.
    ///
    /// # Errors
    /// [`Error::NonFiniteValue`] if any initial value is NaN or infinite.
    pub fn new(conf: AnomalyzerConf, initial: &[f64]) -> Result<Self> {
        Self::with_shared_conf(Arc::new(conf), initial)
    }

    /// Like [`new`](Self::new), sharing one configuration between many
    /// detectors (an idle detector then costs little more than its window).
    ///
    /// # Errors
    /// [`Error::NonFiniteValue`] if any initial value is NaN or infinite.
    pub fn with_shared_conf(conf: Arc<AnomalyzerConf>, initial: &[f64]) -> Result<Self> {
        check_values(initial)?;
        let mut d = Self::from_parts(conf, &[], 0)?;
        for &x in initial {
            d.append(x);
        }
        Ok(d)
    }

    /// Rebuilds a detector from saved state: the window (oldest first; only
    /// the last `A + R` values are kept) and the number of values ever pushed.
    /// A detector rebuilt from [`window`](Self::window) and
    /// [`push_count`](Self::push_count) continues bit-identically.
    ///
    /// # Errors
    /// [`Error::NonFiniteValue`] for a NaN or infinite value;
    /// [`Error::InconsistentState`] if `push_count` is smaller than the
    /// number of values kept, or if the configuration has robust tests and
    /// `push_count` is not 0 (their state is more than the window: use
    /// [`from_state`](Self::from_state)).
    pub fn from_parts(conf: Arc<AnomalyzerConf>, window: &[f64], push_count: u64) -> Result<Self> {
        if !conf.robust_methods().is_empty() && push_count > 0 {
            return Err(Error::InconsistentState {
                reason: "a configuration with robust tests needs its robust state \
                         (Anomalyzer::from_state), not only the window"
                    .into(),
            });
        }
        Self::from_window(conf, window, push_count, None)
    }

    /// Rebuilds a detector from a [`DetectorState`] (what
    /// [`state`](Self::state) returned): it continues bit-identically.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Preset};
    ///
    /// let conf = Arc::new(AnomalyzerConf::preset(Preset::Robust));
    /// let mut a = Anomalyzer::with_shared_conf(conf.clone(), &[])?;
    /// for i in 0..500 { a.push(f64::from(i % 7))?; }
    /// let mut b = Anomalyzer::from_state(conf, a.state())?;
    /// assert_eq!(a.push(40.0)?.to_bits(), b.push(40.0)?.to_bits());
    /// # Ok::<(), anomalyzer_ts::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NonFiniteValue`] for a NaN or infinite value;
    /// [`Error::InconsistentState`] when the parts do not fit the
    /// configuration or each other.
    pub fn from_state(conf: Arc<AnomalyzerConf>, state: DetectorState) -> Result<Self> {
        let robust = match (conf.robust_methods(), &state.robust) {
            ([], None) => None,
            ([], Some(_)) => {
                return Err(Error::InconsistentState {
                    reason: "robust state given for a configuration without robust tests".into(),
                })
            }
            (methods, Some(parts)) => Some(Box::new(RobustState::from_parts(
                *conf.robust(),
                methods,
                parts,
                state.push_count,
            )?)),
            (methods, None) => {
                if state.push_count > 0 {
                    return Err(Error::InconsistentState {
                        reason: "the configuration has robust tests but the state has none".into(),
                    });
                }
                Some(Box::new(RobustState::new(*conf.robust(), methods)))
            }
        };
        Self::from_window(conf, &state.window, state.push_count, robust)
    }

    /// Everything the detector holds beyond its configuration.
    #[must_use]
    pub fn state(&self) -> DetectorState {
        DetectorState {
            window: self.window.iter().collect(),
            push_count: self.push_count,
            robust: self.robust.as_ref().map(|r| r.parts()),
        }
    }

    fn from_window(
        conf: Arc<AnomalyzerConf>,
        window: &[f64],
        push_count: u64,
        robust: Option<Box<RobustState>>,
    ) -> Result<Self> {
        check_values(window)?;
        let mut w = Window::with_capacity(conf.window_capacity());
        let keep = &window[window.len().saturating_sub(w.capacity())..];
        if (keep.len() as u64) > push_count {
            return Err(Error::InconsistentState {
                reason: format!(
                    "{} values in the window but only {push_count} ever pushed",
                    keep.len()
                ),
            });
        }
        for &x in keep {
            w.push(x);
        }
        let robust = robust.or_else(|| {
            let methods = conf.robust_methods();
            (!methods.is_empty()).then(|| Box::new(RobustState::new(*conf.robust(), methods)))
        });
        Ok(Anomalyzer {
            conf,
            window: w,
            push_count,
            robust,
        })
    }

    /// Adds `value` and returns the probability that the series' latest
    /// behaviour is anomalous.
    ///
    /// # Errors
    /// [`Error::NonFiniteValue`] for NaN or ±∞; the detector is unchanged.
    pub fn push(&mut self, value: f64) -> Result<f64> {
        Self::check_value(value)?;
        self.append(value);
        Ok(self.eval())
    }

    /// [`push`](Self::push), returning the full [`Explanation`].
    ///
    /// # Errors
    /// [`Error::NonFiniteValue`] for NaN or ±∞; the detector is unchanged.
    pub fn push_explained(&mut self, value: f64) -> Result<Explanation> {
        Self::check_value(value)?;
        self.append(value);
        Ok(self.explain())
    }

    /// Adds several values without evaluating. All or nothing: if any value
    /// is rejected, none is added.
    ///
    /// # Errors
    /// [`Error::NonFiniteValue`] naming the first bad value and its position.
    pub fn update(&mut self, values: &[f64]) -> Result<()> {
        check_values(values)?;
        for &x in values {
            self.append(x);
        }
        Ok(())
    }

    /// Checks a value as [`push`](Self::push) would, without adding it (for
    /// callers that must log a value before applying it).
    ///
    /// # Errors
    /// [`Error::NonFiniteValue`] for NaN or ±∞.
    pub fn check_value(value: f64) -> Result<()> {
        if value.is_finite() {
            Ok(())
        } else {
            Err(Error::NonFiniteValue { value, position: 0 })
        }
    }

    fn append(&mut self, value: f64) {
        self.window.push(value);
        self.push_count += 1;
        if let Some(r) = &mut self.robust {
            r.push(value);
        }
    }

    /// The probability for the current window (the value the last `push`
    /// returned, or would have).
    #[must_use]
    pub fn eval(&self) -> f64 {
        if let Some(r) = &self.robust {
            if !self.delayed() {
                return r.outcome().probability;
            }
        }
        self.evaluate(false).0
    }

    fn delayed(&self) -> bool {
        self.conf.delay() && self.window.len() < self.window.capacity()
    }

    fn explain_robust(r: &RobustState) -> Explanation {
        let o = r.outcome();
        Explanation {
            probability: o.probability,
            gate: o.gate,
            tests: o
                .tests
                .iter()
                .map(|&(method, probability)| TestScore {
                    method,
                    probability,
                    weight: if o.winner == Some(method) { 1.0 } else { 0.0 },
                })
                .collect(),
        }
    }

    /// The probability with every test's probability and weight, from the
    /// same draw as [`eval`](Self::eval).
    #[must_use]
    pub fn explain(&self) -> Explanation {
        if let Some(r) = &self.robust {
            if !self.delayed() {
                return Self::explain_robust(r);
            }
        }
        let (probability, gate, scores) = self.evaluate(true);
        if gate == Some(Gate::Delay) {
            return Explanation {
                probability,
                gate,
                tests: Vec::new(),
            };
        }
        let winner = rank_winner(&scores);
        let tests = self
            .conf
            .methods()
            .iter()
            .map(|&method| TestScore {
                method,
                probability: scores[method.index()],
                weight: effective_weight(method, &scores, winner),
            })
            .collect();
        Explanation {
            probability,
            gate,
            tests,
        }
    }

    /// Runs the tests. Unless `all` is set, stops as soon as a gate decides
    /// the result (the tests that would follow draw from their own streams,
    /// so skipping them changes nothing else).
    fn evaluate(&self, all: bool) -> (f64, Option<Gate>, Scores) {
        let mut scores: Scores = [None; 7];
        let conf = &*self.conf;
        if conf.delay() && self.window.len() < self.window.capacity() {
            return (0.0, Some(Gate::Delay), scores);
        }
        with_scratch(|scratch| {
            let mut x = std::mem::take(&mut scratch.window);
            self.window.copy_into(&mut x);
            let mut run = |m: Method, scores: &mut Scores| {
                scores[m.index()] =
                    methods::run(m, &x, conf, self.push_count, scratch).map(clamp_probability);
            };
            // Magnitude first: when it gates, nothing else needs to run.
            if conf.has(Method::Magnitude) {
                run(Method::Magnitude, &mut scores);
            }
            let gated = magnitude_gate(conf, &scores);
            if !gated || all {
                for &m in conf.methods() {
                    if m != Method::Magnitude {
                        run(m, &mut scores);
                    }
                }
            }
            scratch.window = x;
            if gated {
                (0.0, Some(Gate::Magnitude), scores)
            } else {
                (weighted_mean(conf, &scores), None, scores)
            }
        })
    }

    /// The configuration.
    #[must_use]
    pub fn conf(&self) -> &AnomalyzerConf {
        &self.conf
    }

    /// The shared handle to the configuration.
    #[must_use]
    pub fn shared_conf(&self) -> &Arc<AnomalyzerConf> {
        &self.conf
    }

    /// Number of values held (at most `A + R`).
    #[must_use]
    pub fn len(&self) -> usize {
        self.window.len()
    }

    /// True before the first value.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.window.len() == 0
    }

    /// Number of values ever added (initial values, pushes and updates).
    #[must_use]
    pub fn push_count(&self) -> u64 {
        self.push_count
    }

    /// The values held, oldest first.
    pub fn window(&self) -> impl Iterator<Item = f64> + '_ {
        self.window.iter()
    }
}

fn check_values(values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(position) => Err(Error::NonFiniteValue {
            value: values[position],
            position,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf() -> AnomalyzerConf {
        AnomalyzerConf::builder()
            .methods(Method::ALL)
            .active_size(2)
            .n_seasons(3)
            .upper_bound(20.0)
            .perm_count(200)
            .build()
            .unwrap()
    }

    #[test]
    fn window_is_bounded_and_counter_counts_everything() {
        let mut d = Anomalyzer::new(conf(), &[1.0, 2.0]).unwrap();
        for i in 0..50 {
            d.push(f64::from(i)).unwrap();
            assert!(d.len() <= 8);
        }
        assert_eq!(d.len(), 8);
        assert_eq!(d.push_count(), 52);
        assert_eq!(
            d.window().collect::<Vec<_>>(),
            (42..50).map(f64::from).collect::<Vec<_>>()
        );
    }

    #[test]
    fn rejected_values_change_nothing() {
        let mut d = Anomalyzer::new(conf(), &[1.0, 2.0, 3.0]).unwrap();
        let before = d.clone();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let err = d.push(bad).unwrap_err();
            assert!(
                matches!(err, Error::NonFiniteValue { position: 0, .. }),
                "{err}"
            );
            assert!(d.push_explained(bad).is_err());
        }
        let err = d.update(&[4.0, f64::NAN, 5.0]).unwrap_err();
        assert!(
            matches!(err, Error::NonFiniteValue { position: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("NaN"), "{err}");
        assert_eq!(d, before);
        assert!(Anomalyzer::new(conf(), &[f64::NAN]).is_err());
    }

    #[test]
    fn explanation_agrees_with_score_and_weights() {
        let mut d = Anomalyzer::new(conf(), &[]).unwrap();
        for i in 0..30 {
            let x = if i == 25 {
                90.0
            } else {
                10.0 + f64::from(i % 3)
            };
            let p = d.push(x).unwrap();
            let e = d.explain();
            assert_eq!(e.probability.to_bits(), p.to_bits(), "push {i}");
            assert_eq!(e.tests.len(), 7);
            if e.gate.is_none() {
                let (num, den) = e.tests.iter().fold((0.0, 0.0), |(n, w), t| {
                    (n + t.probability.unwrap_or(0.0) * t.weight, w + t.weight)
                });
                let mean = if den > 0.0 { num / den } else { 0.0 };
                assert!((mean - p).abs() < 1e-12, "push {i}: {mean} vs {p}");
            } else {
                assert_eq!(p, 0.0);
            }
        }
    }

    #[test]
    fn from_parts_continues_identically() {
        let mut a = Anomalyzer::new(conf(), &[]).unwrap();
        for i in 0..20 {
            a.push(f64::from(i * 7 % 11)).unwrap();
        }
        let window: Vec<f64> = a.window().collect();
        let mut b =
            Anomalyzer::from_parts(a.shared_conf().clone(), &window, a.push_count()).unwrap();
        for i in 0..20 {
            let x = f64::from(i * 5 % 13);
            assert_eq!(a.push(x).unwrap().to_bits(), b.push(x).unwrap().to_bits());
        }
        let err = Anomalyzer::from_parts(a.shared_conf().clone(), &window, 3).unwrap_err();
        assert!(matches!(err, Error::InconsistentState { .. }), "{err}");
    }

    /// Issue 5: an idle detector costs at most 64 bytes plus 8 per window
    /// value when the configuration is shared (scratch space is per thread,
    /// not per detector).
    #[test]
    fn idle_detector_is_64_bytes_plus_8_per_value() {
        let shared = Arc::new(conf());
        let capacity = shared.window_capacity();
        let mut d = Anomalyzer::with_shared_conf(Arc::clone(&shared), &[1.0; 3]).unwrap();
        for i in 0..100 {
            d.push(f64::from(i)).unwrap();
        }
        let inline = std::mem::size_of::<Anomalyzer>();
        assert_eq!(d.window.heap_bytes(), 8 * capacity);
        assert!(inline <= 64, "{inline} bytes inline");
        assert!(inline + d.window.heap_bytes() <= 64 + 8 * capacity);
        assert!(
            Arc::ptr_eq(d.shared_conf(), &shared),
            "the conf is not copied"
        );
    }

    #[test]
    fn delay_returns_zero_until_full() {
        let c = conf().to_builder().delay(true).build().unwrap();
        let mut d = Anomalyzer::new(c, &[]).unwrap();
        for i in 0..7 {
            assert_eq!(d.push(f64::from(i) * 100.0).unwrap(), 0.0);
            assert_eq!(d.explain().gate, Some(Gate::Delay));
        }
        d.push(1e6).unwrap();
        assert_eq!(d.explain().gate, None);
    }
}
