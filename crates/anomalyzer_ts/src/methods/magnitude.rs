//! magnitude: relative change of the active mean against the reference mean.

use crate::split::split_windows;
use crate::stats::mean;

/// `|ma − mr| / |mr|` (SPEC.md deviation: Go divides by `mr`, so a negative
/// reference mean could never score); 0 or 1 when `mr = 0`.
pub(crate) fn magnitude(x: &[f64], ref_size: usize, active_size: usize) -> Option<f64> {
    let s = split_windows(x.len(), ref_size, active_size, 1)?;
    let ma = mean(&x[s.active]);
    let mr = mean(&x[s.reference]);
    if mr == 0.0 {
        return Some(if ma == 0.0 { 0.0 } else { 1.0 });
    }
    Some((ma - mr).abs() / mr.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, &[f64], usize, usize, Option<f64>)] = &[
            ("flat", &[2.0, 2.0, 2.0, 2.0, 2.0], 4, 1, Some(0.0)),
            ("doubling", &[2.0, 2.0, 2.0, 2.0, 4.0], 4, 1, Some(1.0)),
            ("half", &[2.0, 2.0, 2.0, 2.0, 1.0], 4, 1, Some(0.5)),
            (
                "zero reference, zero active",
                &[0.0, 0.0, 0.0],
                4,
                1,
                Some(0.0),
            ),
            (
                "zero reference, non-zero active",
                &[0.0, 0.0, 3.0],
                4,
                1,
                Some(1.0),
            ),
            (
                "negative reference (deviation)",
                &[-2.0, -2.0, -1.0],
                4,
                1,
                Some(0.5),
            ),
            ("too short", &[1.0], 4, 1, None),
            ("active of two", &[1.0, 1.0, 3.0, 3.0], 2, 2, Some(2.0)),
        ];
        for (name, x, r, a, want) in cases {
            assert_eq!(magnitude(x, *r, *a), *want, "{name}");
        }
    }

    #[test]
    fn overflow_is_nan() {
        let got = magnitude(&[f64::MAX, f64::MAX, 1.0], 4, 1).unwrap();
        assert!(got.is_nan() || got.is_infinite() || got <= 1.0, "{got}");
    }
}
