//! Property tests of the detector over arbitrary valid configurations and
//! finite streams (seeded by proptest; failures are shrunk and persisted).

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Error, Method};
use proptest::prelude::*;

fn conf_strategy() -> impl Strategy<Value = AnomalyzerConf> {
    (
        proptest::sample::subsequence(Method::ALL.to_vec(), 1..=7),
        1usize..=4,
        1usize..=6,
        1usize..=40,
        prop_oneof![Just(0.0), 0.0f64..=1.0],
        any::<bool>(),
        any::<u64>(),
        prop_oneof![Just(None), (-50.0f64..50.0).prop_map(Some)],
        0.5f64..100.0,
    )
        .prop_filter_map(
            "reference window too small",
            |(methods, a, ns, p, sens, delay, seed, lower, width)| {
                let mut b = AnomalyzerConf::builder()
                    .methods(methods)
                    .active_size(a)
                    .n_seasons(ns)
                    .perm_count(p)
                    .sensitivity(sens)
                    .delay(delay)
                    .seed(seed);
                b = match lower {
                    Some(l) => b.lower_bound(l).upper_bound(l + width),
                    None => b.upper_bound(width),
                };
                b.build().ok()
            },
        )
}

fn value_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -100.0f64..100.0,
        2 => (-3i32..=3).prop_map(f64::from),
        1 => Just(0.0),
        1 => prop_oneof![Just(1e300), Just(-1e300), Just(f64::MAX), Just(5e-324)],
    ]
}

fn stream() -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(value_strategy(), 0..60)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn probabilities_are_in_unit_interval_and_match_explanations(conf in conf_strategy(), xs in stream()) {
        let mut d = Anomalyzer::new(conf, &[]).unwrap();
        for &x in &xs {
            let p = d.push(x).unwrap();
            prop_assert!((0.0..=1.0).contains(&p), "{p}");
            let e = d.explain();
            prop_assert_eq!(e.probability.to_bits(), p.to_bits());
            for t in &e.tests {
                if let Some(q) = t.probability {
                    prop_assert!((0.0..=1.0).contains(&q), "{}: {q}", t.method);
                }
                prop_assert!(t.weight == 0.0 || t.weight == 0.5 || t.weight == 5.0);
            }
        }
    }

    #[test]
    fn same_seed_same_output(conf in conf_strategy(), xs in stream()) {
        let mut a = Anomalyzer::new(conf.clone(), &[]).unwrap();
        let mut b = Anomalyzer::new(conf, &[]).unwrap();
        for &x in &xs {
            prop_assert_eq!(a.push(x).unwrap().to_bits(), b.push(x).unwrap().to_bits());
        }
    }

    #[test]
    fn window_is_the_last_a_plus_r_values(conf in conf_strategy(), xs in stream()) {
        let cap = conf.window_capacity();
        let mut d = Anomalyzer::new(conf, &[]).unwrap();
        for (i, &x) in xs.iter().enumerate() {
            d.push(x).unwrap();
            prop_assert!(d.len() <= cap);
            let start = (i + 1).saturating_sub(cap);
            prop_assert_eq!(d.window().collect::<Vec<_>>(), xs[start..=i].to_vec());
            prop_assert_eq!(d.push_count(), i as u64 + 1);
        }
    }

    #[test]
    fn a_rejected_value_changes_nothing(
        conf in conf_strategy(),
        xs in stream(),
        bad in prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)],
        at in 0usize..60,
    ) {
        let mut with_bad = Anomalyzer::new(conf.clone(), &[]).unwrap();
        let mut clean = Anomalyzer::new(conf, &[]).unwrap();
        for (i, &x) in xs.iter().enumerate() {
            if i == at {
                let before = with_bad.clone();
                let is_non_finite = matches!(with_bad.push(bad), Err(Error::NonFiniteValue { .. }));
                prop_assert!(is_non_finite);
                prop_assert!(with_bad.update(&[x, bad]).is_err());
                prop_assert_eq!(&with_bad, &before);
            }
            prop_assert_eq!(with_bad.push(x).unwrap().to_bits(), clean.push(x).unwrap().to_bits());
        }
    }

    #[test]
    fn rebuilding_from_parts_continues_bit_identically(
        conf in conf_strategy(), xs in stream(), split in 0usize..60,
    ) {
        let split = split.min(xs.len());
        let mut original = Anomalyzer::new(conf, &[]).unwrap();
        for &x in &xs[..split] {
            original.push(x).unwrap();
        }
        let window: Vec<f64> = original.window().collect();
        let mut resumed = Anomalyzer::from_parts(
            original.shared_conf().clone(), &window, original.push_count()).unwrap();
        for &x in &xs[split..] {
            prop_assert_eq!(original.push(x).unwrap().to_bits(), resumed.push(x).unwrap().to_bits());
        }
    }

    #[test]
    fn update_then_eval_equals_push(conf in conf_strategy(), xs in stream()) {
        let mut pushed = Anomalyzer::new(conf.clone(), &[]).unwrap();
        let mut updated = Anomalyzer::new(conf, &[]).unwrap();
        for &x in &xs {
            let p = pushed.push(x).unwrap();
            updated.update(&[x]).unwrap();
            prop_assert_eq!(updated.eval().to_bits(), p.to_bits());
        }
    }
}
