//! Successive differences: absolute, and relative to the later value.

/// `|x[i+1] − x[i]|` for each neighbouring pair, into `out` (length `n − 1`;
/// empty for fewer than two values, where the reference returns one `NA`).
pub(crate) fn abs_diff(x: &[f64], out: &mut Vec<f64>) {
    out.clear();
    out.extend(x.windows(2).map(|w| (w[1] - w[0]).abs()));
}

/// `|(later − earlier) / later|`, with the deviation of SPEC.md: `0/0` is 0
/// (the reference gives NaN) and `c/0` is `+∞`.
#[inline]
pub(crate) fn rel_diff_at(earlier: f64, later: f64) -> f64 {
    let d = later - earlier;
    let q = (d / later).abs();
    // d = 0 covers 0/0 (NaN from the division) and keeps c/c at exactly 0.
    // A select rather than a branch, so loops over pairs vectorise.
    if d == 0.0 {
        0.0
    } else {
        q
    }
}

/// [`rel_diff_at`] over each neighbouring pair of `x`, into `out`.
pub(crate) fn rel_diff(x: &[f64], out: &mut Vec<f64>) {
    out.clear();
    out.extend(x.windows(2).map(|w| rel_diff_at(w[0], w[1])));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abs_diff_table() {
        let cases: &[(&str, &[f64], &[f64])] = &[
            ("empty", &[], &[]),
            ("single", &[1.0], &[]),
            ("mixed", &[1.0, 4.0, 2.0], &[3.0, 2.0]),
        ];
        for (name, x, want) in cases {
            let mut out = Vec::new();
            abs_diff(x, &mut out);
            assert_eq!(&out, want, "{name}");
        }
    }

    #[test]
    fn rel_diff_table() {
        let cases: &[(&str, &[f64], &[f64])] = &[
            ("relative to the later value", &[1.0, 2.0], &[0.5]),
            ("falling", &[4.0, 2.0], &[1.0]),
            ("two zeros is 0 (deviation)", &[0.0, 0.0], &[0.0]),
            ("into zero is +inf", &[3.0, 0.0], &[f64::INFINITY]),
            ("from zero", &[0.0, 5.0], &[1.0]),
            ("negative later value", &[-1.0, -2.0], &[0.5]),
        ];
        for (name, x, want) in cases {
            let mut out = Vec::new();
            rel_diff(x, &mut out);
            assert_eq!(&out, want, "{name}");
        }
    }
}
