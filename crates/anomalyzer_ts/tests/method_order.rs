//! When does the order of `methods` change a probability? Only through the
//! weighted mean's floating-point sum, so never with at most two
//! contributing tests, and sometimes with three or more:
//! `AnomalyzerConf::method_order_matters` says which.

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Method};
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A noisy series with level shifts and spikes, so that every test is
/// applicable and scores vary.
fn series(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let level = if (i / 37) % 2 == 0 { 10.0 } else { 13.0 };
            let spike = if rng.next_u64() % 19 == 0 { 9.0 } else { 0.0 };
            level + 3.0 * u + spike
        })
        .collect()
}

fn scores(methods: &[Method], values: &[f64]) -> Vec<u64> {
    let conf = AnomalyzerConf::builder()
        .methods(methods.iter().copied())
        .active_size(2)
        .n_seasons(3)
        .perm_count(50)
        .sensitivity(0.0)
        .upper_bound(14.0)
        .seed(3)
        .build()
        .unwrap();
    let mut d = Anomalyzer::new(conf, &[]).unwrap();
    values
        .iter()
        .map(|&v| d.push(v).unwrap().to_bits())
        .collect()
}

fn conf_of(methods: &[Method]) -> AnomalyzerConf {
    AnomalyzerConf::builder()
        .methods(methods.iter().copied())
        .active_size(1)
        .upper_bound(1.0)
        .build()
        .unwrap()
}

#[test]
fn two_contributing_tests_score_the_same_in_either_order() {
    let values = series(1, 600);
    let sets: &[&[Method]] = &[
        &[Method::Magnitude, Method::Ks],
        &[Method::Diff, Method::Fence],
        &[Method::Cdf, Method::HighRank],
        &[Method::HighRank, Method::LowRank, Method::Magnitude],
        &[Method::LowRank, Method::Cdf, Method::HighRank],
    ];
    for set in sets {
        assert!(!conf_of(set).method_order_matters(), "{set:?}");
        let forward = scores(set, &values);
        let mut reversed = set.to_vec();
        reversed.reverse();
        assert_eq!(forward, scores(&reversed, &values), "{set:?}");
        let mut rotated = set.to_vec();
        rotated.rotate_left(1);
        assert_eq!(forward, scores(&rotated, &values), "{set:?}");
    }
}

#[test]
fn three_contributing_tests_can_score_differently_in_another_order() {
    let all = Method::ALL;
    assert!(conf_of(&all).method_order_matters());
    assert!(conf_of(&[Method::Magnitude, Method::Ks, Method::Cdf]).method_order_matters());
    let values = series(2, 3000);
    let forward = scores(&all, &values);
    let mut reversed = all.to_vec();
    reversed.reverse();
    let backward = scores(&reversed, &values);
    let differ = forward
        .iter()
        .zip(&backward)
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        differ > 0,
        "the order changed no score: the rule would be too strict"
    );
    // Only in the last bits: the same numbers summed in another order.
    for (a, b) in forward.iter().zip(&backward) {
        let (a, b) = (f64::from_bits(*a), f64::from_bits(*b));
        assert!((a - b).abs() <= 4.0 * f64::EPSILON, "{a} vs {b}");
    }
}
