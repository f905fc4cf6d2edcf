//! fence: distance of the active mean from fixed bounds, exponentially weighted.

use crate::stats::mean;

/// `(10^c − 1) / 9` with `c = clamp(d, 0, 1)`, where `d` is the active mean
/// over `upper` (no lower bound), or its distance from the middle of
/// `[lower, upper]` in half-widths.
pub(crate) fn fence(x: &[f64], active_size: usize, upper: f64, lower: Option<f64>) -> Option<f64> {
    let a = active_size.min(x.len());
    if a == 0 {
        return None;
    }
    let m = mean(&x[x.len() - a..]);
    let d = match lower {
        None => m / upper,
        Some(lower) => {
            let half = (upper - lower) / 2.0;
            (m - (lower + half)).abs() / half
        }
    };
    let c = d.clamp(0.0, 1.0);
    // libm's pow, not the platform's: the same bits on every machine.
    Some((libm::pow(10.0, c) - 1.0) / 9.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, &[f64], usize, f64, Option<f64>, Option<f64>)] = &[
            ("empty", &[], 1, 5.0, None, None),
            ("at the upper bound", &[1.0, 5.0], 1, 5.0, None, Some(1.0)),
            (
                "above the upper bound",
                &[1.0, 50.0],
                1,
                5.0,
                None,
                Some(1.0),
            ),
            ("zero", &[0.0], 1, 5.0, None, Some(0.0)),
            ("negative clamps to 0", &[-3.0], 1, 5.0, None, Some(0.0)),
            (
                "middle of the band",
                &[0.0],
                1,
                10.0,
                Some(-10.0),
                Some(0.0),
            ),
            (
                "at the lower bound",
                &[-10.0],
                1,
                10.0,
                Some(-10.0),
                Some(1.0),
            ),
            (
                "mean of the active window",
                &[9.0, 1.0, 9.0],
                2,
                10.0,
                Some(0.0),
                Some(0.0),
            ),
        ];
        for (name, x, a, u, l, want) in cases {
            assert_eq!(fence(x, *a, *u, *l), *want, "{name}");
        }
        let half = fence(&[2.5], 1, 5.0, None).unwrap();
        assert!((half - (10f64.sqrt() - 1.0) / 9.0).abs() < 1e-15, "{half}");
    }
}
