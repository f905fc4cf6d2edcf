//! Minimum ranks: ties share the lowest rank, gaps follow.

/// Writes `min_rank(v)` into `ranks`: for each `v[i]`, the number of
/// elements strictly smaller. O(n log n): one sort of positions, then one
/// pass. `order` is scratch space. Values must not be NaN (the detector
/// rejects them on input, and the diffs it ranks cannot produce one).
pub(crate) fn min_rank(v: &[f64], order: &mut Vec<u32>, ranks: &mut Vec<u32>) {
    let n = v.len();
    order.clear();
    order.extend(0..n as u32);
    order.sort_unstable_by(|&a, &b| v[a as usize].total_cmp(&v[b as usize]));
    ranks.clear();
    ranks.resize(n, 0);
    let mut group_rank = 0u32;
    for (pos, &i) in order.iter().enumerate() {
        // `total_cmp` orders -0.0 before 0.0 but they are equal values.
        if pos > 0 && v[order[pos - 1] as usize] != v[i as usize] {
            group_rank = pos as u32;
        }
        ranks[i as usize] = group_rank;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranks_of(v: &[f64]) -> Vec<u32> {
        let (mut order, mut ranks) = (Vec::new(), Vec::new());
        min_rank(v, &mut order, &mut ranks);
        ranks
    }

    #[test]
    fn table() {
        let cases: &[(&str, &[f64], &[u32])] = &[
            ("spec example", &[5.0, 3.0, 5.0, 1.0], &[2, 1, 2, 0]),
            ("empty", &[], &[]),
            ("all equal", &[7.0, 7.0, 7.0], &[0, 0, 0]),
            ("descending", &[3.0, 2.0, 1.0], &[2, 1, 0]),
            ("signed zeros are ties", &[0.0, -0.0, 1.0], &[0, 0, 2]),
            (
                "infinity ranks last",
                &[f64::INFINITY, 1.0, 0.0],
                &[2, 1, 0],
            ),
        ];
        for (name, v, want) in cases {
            assert_eq!(ranks_of(v), *want, "{name}");
        }
    }

    #[test]
    fn equals_counting_definition() {
        let v = [4.0, 1.0, 4.0, 2.0, 9.0, 1.0, 4.0];
        let brute: Vec<u32> = v
            .iter()
            .map(|x| v.iter().filter(|y| *y < x).count() as u32)
            .collect();
        assert_eq!(ranks_of(&v), brute);
    }
}
