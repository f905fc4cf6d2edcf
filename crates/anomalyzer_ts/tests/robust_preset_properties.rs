//! Property tests of the robust pipeline: probabilities in [0, 1], the same
//! stream gives the same scores, the state is bounded, and a stream split
//! anywhere, exported and imported, continues bit for bit.

use std::sync::Arc;

use anomalyzer_ts::{
    Anomalyzer, AnomalyzerConf, DetectorState, Gate, Method, Preset, RobustParams,
};
use proptest::prelude::*;

/// Small windows so that every stage (warm-up, full histories, hold) is
/// reached within a few hundred values.
fn small_params() -> impl Strategy<Value = RobustParams> {
    (
        4usize..=30,
        1usize..=6,
        1usize..=12,
        4usize..=30,
        4usize..=12,
        2usize..=4,
        0usize..=1,
        1usize..=10,
        10usize..=60,
        0usize..=20,
        0.1f64..=1.0,
    )
        .prop_map(
            |(
                reference,
                shift_span,
                slow_span,
                slow_reference,
                period,
                period_seasons,
                period_slack,
                warmup,
                extra,
                alert_hold,
                alert_rise,
            )| {
                RobustParams {
                    reference,
                    shift_span,
                    slow_span,
                    slow_reference,
                    period,
                    period_seasons,
                    period_slack,
                    likelihood_history: warmup + extra,
                    warmup,
                    alert_hold,
                    alert_rise,
                }
            },
        )
}

fn conf_strategy() -> impl Strategy<Value = Arc<AnomalyzerConf>> {
    (
        small_params(),
        proptest::sample::subsequence(Method::ROBUST.to_vec(), 1..=4),
    )
        .prop_map(|(params, methods)| {
            Arc::new(
                AnomalyzerConf::builder()
                    .preset(Preset::Robust)
                    .methods(methods)
                    .robust(params)
                    .build()
                    .expect("small params are valid"),
            )
        })
}

fn values() -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(
        prop_oneof![
            8 => -10.0f64..10.0,
            1 => Just(0.0),
            1 => -1e6f64..1e6,
        ],
        0..400,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn probability_is_in_unit_interval_and_matches_its_explanation(conf in conf_strategy(), xs in values()) {
        let mut d = Anomalyzer::with_shared_conf(conf, &[]).unwrap();
        for &x in &xs {
            let p = d.push(x).unwrap();
            prop_assert!((0.0..=1.0).contains(&p), "{p}");
            let e = d.explain();
            prop_assert_eq!(e.probability.to_bits(), p.to_bits());
            let carried: Vec<_> = e.tests.iter().filter(|t| t.weight > 0.0).collect();
            match e.gate {
                None => {
                    prop_assert_eq!(carried.len(), 1);
                    prop_assert_eq!(carried[0].probability, Some(p));
                }
                Some(Gate::Hold) => prop_assert_eq!(p, 0.0),
                Some(Gate::Warmup) => {
                    prop_assert_eq!(p, 0.0);
                    prop_assert!(e.tests.iter().all(|t| t.probability.is_none()));
                }
                Some(other) => prop_assert!(false, "unexpected gate {other:?}"),
            }
            for t in &e.tests {
                if let Some(q) = t.probability {
                    prop_assert!((0.0..=1.0).contains(&q));
                }
            }
        }
    }

    #[test]
    fn same_stream_same_scores(conf in conf_strategy(), xs in values()) {
        let mut a = Anomalyzer::with_shared_conf(conf.clone(), &[]).unwrap();
        let mut b = Anomalyzer::with_shared_conf(conf, &[]).unwrap();
        for &x in &xs {
            prop_assert_eq!(a.push(x).unwrap().to_bits(), b.push(x).unwrap().to_bits());
        }
    }

    #[test]
    fn split_anywhere_export_import_continues_bit_for_bit(conf in conf_strategy(), xs in values(), cut in 0usize..400) {
        let cut = cut.min(xs.len());
        let mut whole = Anomalyzer::with_shared_conf(conf.clone(), &[]).unwrap();
        let want: Vec<u64> = xs.iter().map(|&x| whole.push(x).unwrap().to_bits()).collect();

        let mut first = Anomalyzer::with_shared_conf(conf.clone(), &[]).unwrap();
        for &x in &xs[..cut] {
            first.push(x).unwrap();
        }
        let state = first.state();
        // Through JSON too: what a store would write.
        let text = serde_json::to_string(&state).unwrap();
        let back: DetectorState = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &state);
        let mut resumed = Anomalyzer::from_state(conf, back).unwrap();
        if cut > 0 {
            prop_assert_eq!(resumed.eval().to_bits(), want[cut - 1]);
        }
        for (i, &x) in xs[cut..].iter().enumerate() {
            prop_assert_eq!(resumed.push(x).unwrap().to_bits(), want[cut + i], "push {}", cut + i);
        }
    }

    #[test]
    fn state_is_bounded_by_the_parameters(conf in conf_strategy(), xs in values()) {
        let mut d = Anomalyzer::with_shared_conf(conf.clone(), &[]).unwrap();
        d.update(&xs).unwrap();
        d.update(&xs).unwrap();
        let p = conf.robust();
        let s = d.state().robust.unwrap();
        prop_assert!(s.history.len() <= p.history_len());
        prop_assert_eq!(s.statistics.len(), conf.methods().len());
        prop_assert!(s.statistics.iter().all(|h| h.len() <= p.likelihood_history));
        prop_assert!(s.recent_scores.len() <= p.alert_hold);
    }
}

/// Values added by `update` (or as initial values) go through the whole
/// pipeline, as pushes do.
#[test]
fn update_and_initial_values_equal_pushes() {
    let conf = Arc::new(AnomalyzerConf::preset(Preset::Robust));
    let xs: Vec<f64> = (0..3000)
        .map(|i| f64::from(i % 288) + f64::from(i % 7))
        .collect();
    let mut pushed = Anomalyzer::with_shared_conf(conf.clone(), &[]).unwrap();
    for &x in &xs {
        pushed.push(x).unwrap();
    }
    let mut updated = Anomalyzer::with_shared_conf(conf.clone(), &[]).unwrap();
    updated.update(&xs).unwrap();
    let initial = Anomalyzer::with_shared_conf(conf, &xs).unwrap();
    assert_eq!(pushed, updated);
    assert_eq!(pushed, initial);
}

/// The preset's state stops growing once its histories are full, at the
/// size `RobustParams::state_bytes` states.
#[test]
fn preset_state_stops_growing_at_its_stated_bound() {
    let conf = Arc::new(AnomalyzerConf::preset(Preset::Robust));
    let p = *conf.robust();
    let mut d = Anomalyzer::with_shared_conf(conf, &[]).unwrap();
    let mut x = 1.0f64;
    for i in 0..12_000u32 {
        // A seeded-by-formula wobble (a logistic map): no randomness needed.
        x = 3.9 * x * (1.0 - x) + f64::from(i % 2) * 1e-9;
        x = x.clamp(1e-6, 1.0 - 1e-6);
        d.push(x * 100.0).unwrap();
    }
    let s = d.state().robust.unwrap();
    assert_eq!(s.history.len(), p.history_len());
    assert!(s.statistics.iter().all(|h| h.len() == p.likelihood_history));
    assert_eq!(s.recent_scores.len(), p.alert_hold);
    let held = 8
        * (s.history.len()
            + s.statistics.iter().map(Vec::len).sum::<usize>()
            + s.recent_scores.len());
    assert!(held <= p.state_bytes(4), "{held} > {}", p.state_bytes(4));
    assert_eq!(p.state_bytes(4), 308_040);
}

/// A calm series with one spike: the spike is the highest score, and the
/// alert it raises is not repeated by the hold.
#[test]
fn preset_flags_a_spike_once() {
    let mut d = Anomalyzer::new(AnomalyzerConf::preset(Preset::Robust), &[]).unwrap();
    let mut scores = Vec::new();
    for i in 0..3000u32 {
        let calm = 50.0 + f64::from(i * 7919 % 13) / 13.0;
        let x = if i == 2500 { 90.0 } else { calm };
        scores.push(d.push(x).unwrap());
    }
    let (top, &max) = scores
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    assert_eq!(top, 2500);
    assert!(max > 0.999, "{max}");
    let after = scores[2501..2650].iter().copied().fold(0.0, f64::max);
    assert!(after < 0.999, "held after the alert: {after}");
    // The first statistic needs 20 reference values (index 20), the first
    // score 50 past statistics (index 70): nothing can alert before.
    assert!(scores[..70].iter().all(|&p| p == 0.0), "warm-up");
    assert!(scores[70..200].iter().any(|&p| p > 0.0));
}

#[test]
fn robust_state_is_refused_where_it_does_not_fit() {
    let robust = Arc::new(AnomalyzerConf::preset(Preset::Robust));
    let go = Arc::new(AnomalyzerConf::preset(Preset::Anomalyzer));
    let mut d = Anomalyzer::with_shared_conf(robust.clone(), &[]).unwrap();
    d.update(&[1.0, 2.0, 3.0]).unwrap();
    let state = d.state();
    assert!(Anomalyzer::from_state(go.clone(), state.clone()).is_err());
    assert!(Anomalyzer::from_parts(robust.clone(), &state.window, 3).is_err());
    // More values held than pushed is refused; fewer is what a salvaged
    // log that lost pushes leaves (they count, their values are missing).
    let mut wrong = state.clone();
    wrong.push_count = 2;
    assert!(Anomalyzer::from_state(robust.clone(), wrong).is_err());
    let mut lost = state.clone();
    lost.push_count = 10;
    assert_eq!(
        Anomalyzer::from_state(robust.clone(), lost)
            .unwrap()
            .push_count(),
        10
    );
    let mut wrong = state.clone();
    wrong.robust.as_mut().unwrap().statistics.pop();
    assert!(Anomalyzer::from_state(robust.clone(), wrong).is_err());
    let mut wrong = state.clone();
    wrong.robust.as_mut().unwrap().recent_scores = vec![2.0];
    assert!(Anomalyzer::from_state(robust.clone(), wrong).is_err());
    let mut wrong = state;
    wrong.robust = None;
    let err = Anomalyzer::from_state(robust, wrong).unwrap_err();
    assert!(err.to_string().contains("robust"), "{err}");
    // A Go detector's state round-trips as before.
    let mut g = Anomalyzer::with_shared_conf(go.clone(), &[]).unwrap();
    g.update(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
    let back = Anomalyzer::from_state(go, g.state()).unwrap();
    assert_eq!(back, g);
}
