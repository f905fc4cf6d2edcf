//! Combining test probabilities into one (SPEC.md, "Combining").

use crate::{AnomalyzerConf, Method};

/// Per-method clamped probabilities of one evaluation, indexed by
/// [`Method::index`]; `None` = not configured, not run, or not applicable.
pub(crate) type Scores = [Option<f64>; 7];

/// Clamp to [0, 1]; a NaN statistic counts as probability 0.
pub(crate) fn clamp_probability(raw: f64) -> f64 {
    if raw.is_nan() {
        0.0
    } else {
        raw.clamp(0.0, 1.0)
    }
}

/// The magnitude gate: true when magnitude ran, was applicable, and scored
/// below `sensitivity` (0 disables the gate).
pub(crate) fn magnitude_gate(conf: &AnomalyzerConf, scores: &Scores) -> bool {
    scores[Method::Magnitude.index()].is_some_and(|p| p < conf.sensitivity())
}

/// The reference's weight for an entry.
pub(crate) fn weight(method: Method, p: f64) -> f64 {
    match method {
        Method::Magnitude | Method::Fence if p > 0.8 => 5.0,
        _ => 0.5,
    }
}

/// Which of highrank/lowrank carries the `rank` entry: the larger, highrank
/// on a tie; `None` when neither is applicable.
pub(crate) fn rank_winner(scores: &Scores) -> Option<Method> {
    let high = scores[Method::HighRank.index()];
    let low = scores[Method::LowRank.index()];
    match (high, low) {
        (Some(h), Some(l)) if l > h => Some(Method::LowRank),
        (Some(_), _) => Some(Method::HighRank),
        (None, Some(_)) => Some(Method::LowRank),
        (None, None) => None,
    }
}

/// The weight `method`'s score carries in the weighted mean (0 when it is
/// not applicable or is the losing half of the rank pair).
pub(crate) fn effective_weight(method: Method, scores: &Scores, winner: Option<Method>) -> f64 {
    match scores[method.index()] {
        None => 0.0,
        Some(_)
            if matches!(method, Method::HighRank | Method::LowRank) && winner != Some(method) =>
        {
            0.0
        }
        Some(p) => weight(method, p),
    }
}

/// The most terms the weighted mean over `methods` can sum at once: one
/// per method, highrank and lowrank together counting once.
pub(crate) fn contributing_terms(methods: &[Method]) -> usize {
    let both_ranks = methods.contains(&Method::HighRank) && methods.contains(&Method::LowRank);
    methods.len() - usize::from(both_ranks)
}

/// Weighted mean over the configured methods, in configuration order; 0
/// when nothing is applicable. Gates are the caller's business.
pub(crate) fn weighted_mean(conf: &AnomalyzerConf, scores: &Scores) -> f64 {
    let winner = rank_winner(scores);
    let (mut num, mut den) = (0.0, 0.0);
    for &m in conf.methods() {
        let w = effective_weight(m, scores, winner);
        if w > 0.0 {
            let p = scores[m.index()].unwrap_or(0.0);
            num += p * w;
            den += w;
        }
    }
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(methods: &[Method]) -> AnomalyzerConf {
        AnomalyzerConf::builder()
            .active_size(1)
            .methods(methods.iter().copied())
            .upper_bound(1.0)
            .build()
            .unwrap()
    }

    fn scores(pairs: &[(Method, f64)]) -> Scores {
        let mut s = [None; 7];
        for &(m, p) in pairs {
            s[m.index()] = Some(p);
        }
        s
    }

    #[test]
    fn table() {
        use Method::*;
        let cases: &[(&str, &[Method], &[(Method, f64)], f64)] = &[
            ("nothing applicable", &[Ks], &[], 0.0),
            ("single entry", &[Cdf], &[(Cdf, 0.3)], 0.3),
            ("equal weights", &[Cdf, Ks], &[(Cdf, 0.2), (Ks, 0.6)], 0.4),
            (
                "magnitude above 0.8 weighs 5",
                &[Magnitude, Ks],
                &[(Magnitude, 0.9), (Ks, 0.0)],
                0.9 * 5.0 / 5.5,
            ),
            (
                "fence at 0.8 weighs 0.5",
                &[Fence, Ks],
                &[(Fence, 0.8), (Ks, 0.0)],
                0.4,
            ),
            (
                "rank is the larger of high and low",
                &[HighRank, LowRank, Cdf],
                &[(HighRank, 0.1), (LowRank, 0.7), (Cdf, 0.3)],
                0.5,
            ),
            ("lowrank alone", &[LowRank], &[(LowRank, 0.25)], 0.25),
        ];
        for (name, methods, pairs, want) in cases {
            let got = weighted_mean(&conf(methods), &scores(pairs));
            assert!((got - want).abs() < 1e-15, "{name}: {got} vs {want}");
        }
    }

    #[test]
    fn clamp_table() {
        let cases: &[(&str, f64, f64)] = &[
            ("inside", 0.4, 0.4),
            ("above", 3.0, 1.0),
            ("below", -1.0, 0.0),
            ("nan is zero", f64::NAN, 0.0),
            ("infinity", f64::INFINITY, 1.0),
        ];
        for (name, raw, want) in cases {
            assert_eq!(clamp_probability(*raw), *want, "{name}");
        }
    }

    #[test]
    fn gate_needs_an_applicable_magnitude_below_sensitivity() {
        let c = conf(&[Method::Magnitude, Method::Cdf]);
        assert!(magnitude_gate(&c, &scores(&[(Method::Magnitude, 0.05)])));
        assert!(!magnitude_gate(&c, &scores(&[(Method::Magnitude, 0.1)])));
        assert!(!magnitude_gate(&c, &scores(&[])));
        let off = c.to_builder().sensitivity(0.0).build().unwrap();
        assert!(!magnitude_gate(&off, &scores(&[(Method::Magnitude, 0.0)])));
    }
}
