//! diff: permutation test on the ranks of relative differences.

use crate::permutation::PermutationRng;
use crate::scratch::Scratch;
use crate::split::split_windows;
use crate::stats::rel_diff;

/// Share of `perm_count` shuffles of the values whose active rank sum of
/// relative differences is below the observed one.
///
/// A rank is "how many differences are strictly smaller", so the active rank
/// sum is counted directly over the `A` active differences: O(A·n) per
/// permutation, with no sort.
pub(crate) fn diff(
    x: &[f64],
    ref_size: usize,
    active_size: usize,
    perm_count: usize,
    rng: &mut PermutationRng,
    scratch: &mut Scratch,
) -> Option<f64> {
    let m = x.len().checked_sub(1)?;
    let s = split_windows(m, ref_size.saturating_sub(1), active_size, active_size)?;
    // The window is the whole input (x.len() ≤ A + R), so the split covers
    // every difference and ranks within it are ranks within all of them.
    debug_assert_eq!(s.reference.start, 0);
    let a = s.active.len();
    rel_diff(x, &mut scratch.diffs);
    let observed = active_rank_sum(&scratch.diffs, a);
    scratch.shuffled.clear();
    scratch.shuffled.extend_from_slice(x);
    let mut significant = 0usize;
    for _ in 0..perm_count {
        rng.shuffle(&mut scratch.shuffled);
        rel_diff(&scratch.shuffled, &mut scratch.diffs);
        significant += usize::from(active_rank_sum(&scratch.diffs, a) < observed);
    }
    Some(significant as f64 / perm_count as f64)
}

/// Sum over the last `a` elements of their minimum rank within `d`.
fn active_rank_sum(d: &[f64], a: usize) -> u64 {
    d[d.len() - a..]
        .iter()
        .map(|&v| d.iter().filter(|&&w| w < v).count() as u64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Method;

    fn run(x: &[f64], p: usize) -> Option<f64> {
        let mut rng = PermutationRng::new(1, 1, Method::Diff);
        diff(x, 4, 1, p, &mut rng, &mut Scratch::default())
    }

    #[test]
    fn active_rank_sum_table() {
        let cases: &[(&str, &[f64], usize, u64)] = &[
            ("largest last", &[1.0, 2.0, 3.0], 1, 2),
            ("smallest last", &[3.0, 2.0, 1.0], 1, 0),
            ("ties share the low rank", &[1.0, 2.0, 2.0], 2, 2),
            ("two active", &[5.0, 1.0, 4.0, 2.0], 2, 2 + 1),
        ];
        for (name, d, a, want) in cases {
            assert_eq!(active_rank_sum(d, *a), *want, "{name}");
        }
    }

    #[test]
    fn table() {
        assert_eq!(run(&[1.0, 2.0], 100), None, "too short");
        assert_eq!(
            run(&[4.0; 5], 500),
            Some(0.0),
            "constant: every shuffle ties"
        );
        let jump = run(&[10.0, 10.5, 10.0, 10.5, 100.0], 5_000).unwrap();
        let calm = run(&[10.0, 100.0, 10.0, 100.0, 100.0], 5_000).unwrap();
        assert!(
            jump > calm,
            "a jump at the end ranks high: {jump} vs {calm}"
        );
        assert!((0.0..=1.0).contains(&jump) && (0.0..=1.0).contains(&calm));
    }
}
