//! Arithmetic mean, summed left to right as the reference does.

/// `sum / len`; NaN for an empty slice (callers never pass one).
pub(crate) fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, &[f64], f64)] = &[
            ("single", &[3.0], 3.0),
            ("pair", &[1.0, 2.0], 1.5),
            ("mixed sign", &[-2.0, 2.0, 3.0], 1.0),
        ];
        for (name, v, want) in cases {
            assert_eq!(mean(v), *want, "{name}");
        }
        assert!(mean(&[]).is_nan());
        assert!(
            mean(&[f64::MAX, f64::MAX, -f64::MAX]).is_infinite(),
            "left-to-right overflow"
        );
    }
}
