//! The robust z-score shared by the robust tests (docs/spec.md, "Robust z").

/// Reference spread below which a difference is measured against a floor
/// instead: `1e-3 × (max − min)` of the reference, and never less than
/// `1e-9 × |median| + 1e-12`, so a flat reference gives a large but finite z.
pub(crate) fn robust_z(
    value: f64,
    median: f64,
    q1: f64,
    q3: f64,
    min: f64,
    max: f64,
    span: usize,
) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let iqr_sigma = (q3 - q1) / 1.349 / (span as f64).sqrt();
    let floor = (1e-3 * (max - min)).max(1e-9 * median.abs() + 1e-12);
    let z = (value - median).abs() / iqr_sigma.max(floor);
    // Values near f64::MAX can overflow the difference; the score saturates.
    if z.is_finite() {
        z
    } else {
        f64::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, [f64; 6], usize, f64)] = &[
            // IQR 1.349 is one sigma: 3 above the median is z = 3.
            ("iqr is sigma", [13.0, 10.0, 9.0, 10.349, 0.0, 20.0], 1, 3.0),
            (
                "below counts the same",
                [7.0, 10.0, 9.0, 10.349, 0.0, 20.0],
                1,
                3.0,
            ),
            // A mean of 4 values has half the spread: z doubles.
            (
                "span 4 halves sigma",
                [13.0, 10.0, 9.0, 10.349, 0.0, 20.0],
                4,
                6.0,
            ),
            // Flat quartiles: the floor is 1e-3 of the range 10.
            ("range floor", [11.0, 10.0, 10.0, 10.0, 5.0, 15.0], 1, 100.0),
            // All equal: floor 1e-9·10 + 1e-12.
            ("flat floor", [10.0, 10.0, 10.0, 10.0, 10.0, 10.0], 1, 0.0),
        ];
        for (name, [v, med, q1, q3, lo, hi], span, want) in cases {
            let got = robust_z(*v, *med, *q1, *q3, *lo, *hi, *span);
            assert!((got - want).abs() < 1e-9, "{name}: {got} vs {want}");
        }
        let flat = robust_z(10.5, 10.0, 10.0, 10.0, 10.0, 10.0, 1);
        assert!((flat - 0.5 / (1e-8 + 1e-12)).abs() < 1e-3, "{flat}");
        assert_eq!(
            robust_z(f64::MAX, -f64::MAX, 0.0, 0.0, 0.0, 0.0, 1),
            f64::MAX
        );
    }
}
