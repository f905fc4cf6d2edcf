//! Empirical cumulative distribution function.

/// `ecdf(v)(q)`: the share of `v` that is `≤ q`. The reference returns 1 on
/// an empty vector; callers never pass one, but we keep that edge.
pub(crate) fn ecdf_at(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 1.0;
    }
    let count = v.iter().filter(|&&x| x <= q).count();
    count as f64 / v.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let v = [3.0, 1.0, 2.0, 2.0];
        let cases: &[(&str, f64, f64)] = &[
            ("below all", 0.5, 0.0),
            ("at the minimum", 1.0, 0.25),
            ("ties counted", 2.0, 0.75),
            ("above all", 9.0, 1.0),
        ];
        for (name, q, want) in cases {
            assert_eq!(ecdf_at(&v, *q), *want, "{name}");
        }
        assert_eq!(ecdf_at(&[], 0.0), 1.0, "empty vector (reference edge)");
    }
}
