//! cdf: the empirical CDF of the reference differences, evaluated at the
//! change of mean difference.

use crate::split::split_windows;
use crate::stats::{abs_diff, ecdf_at, mean};

/// `2·|0.5 − ecdf(reference)(mean(active) − mean(reference))` over the
/// absolute differences (SPEC.md: the reference algorithm, kept as is).
pub(crate) fn cdf(
    x: &[f64],
    ref_size: usize,
    active_size: usize,
    diffs: &mut Vec<f64>,
) -> Option<f64> {
    abs_diff(x, diffs);
    let s = split_windows(
        diffs.len(),
        ref_size.saturating_sub(1),
        active_size,
        active_size,
    )?;
    let reference = &diffs[s.reference];
    let delta = mean(&diffs[s.active]) - mean(reference);
    let p = ecdf_at(reference, delta);
    Some((0.5 - p).abs() * 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, &[f64], usize, usize, Option<f64>)] = &[
            // diffs [1,1,1 | 1]: delta 0, ecdf(0) = 0 → 1
            ("steady steps", &[0.0, 1.0, 2.0, 3.0, 4.0], 4, 1, Some(1.0)),
            // diffs [1,2,3 | 5]: delta 3, ecdf(3) = 1 → 1
            (
                "big last step",
                &[0.0, 1.0, 3.0, 6.0, 11.0],
                4,
                1,
                Some(1.0),
            ),
            // diffs [2,0,2 | 1]: delta 1-4/3 < 0 → ecdf 0 → 1
            (
                "quiet last step",
                &[0.0, 2.0, 2.0, 4.0, 5.0],
                4,
                1,
                Some(1.0),
            ),
            // diffs [1,0,1 | 1]: delta 1/3, ecdf(1/3) = 1/3 → 1/3
            (
                "middle",
                &[0.0, 1.0, 1.0, 2.0, 3.0],
                4,
                1,
                Some((0.5f64 - 1.0 / 3.0).abs() * 2.0),
            ),
            ("too short", &[0.0, 1.0], 4, 1, None),
            ("single value", &[1.0], 4, 1, None),
        ];
        for (name, x, r, a, want) in cases {
            assert_eq!(cdf(x, *r, *a, &mut Vec::new()), *want, "{name}");
        }
    }
}
