//! highrank / lowrank: permutation tests on the rank sum of the active window.

use crate::permutation::PermutationRng;
use crate::scratch::Scratch;
use crate::split::split_windows;
use crate::stats::min_rank;

/// Which tail the test looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RankSide {
    /// highrank: counts permutations whose active rank sum is lower.
    High,
    /// lowrank: counts permutations whose active rank sum is higher.
    Low,
}

/// Share of `perm_count` permutations whose active rank sum is below
/// (`High`) or above (`Low`) the observed one.
///
/// Ranking a shuffled vector permutes the same multiset of ranks, and the
/// active window of a shuffle is a uniform sample of `A` positions, so each
/// permutation is a partial Fisher–Yates draw of `A` ranks: O(A), not
/// O(n log n).
pub(crate) fn rank(
    x: &[f64],
    ref_size: usize,
    active_size: usize,
    perm_count: usize,
    side: RankSide,
    rng: &mut PermutationRng,
    scratch: &mut Scratch,
) -> Option<f64> {
    let s = split_windows(x.len(), ref_size, active_size, active_size)?;
    let a = s.active.len();
    min_rank(x, &mut scratch.order, &mut scratch.ranks);
    // The window is the whole input (x.len() ≤ A + R): a shuffle of x is a
    // shuffle of the split.
    debug_assert_eq!(s.reference.start, 0);
    let ranks = &mut scratch.ranks[..];
    let n = ranks.len();
    let observed: u64 = ranks[n - a..].iter().map(|&r| u64::from(r)).sum();
    let hit = |permuted: u64| match side {
        RankSide::High => permuted < observed,
        RankSide::Low => permuted > observed,
    };
    let mut significant = 0usize;
    if a == 1 {
        // One uniform position per permutation; nothing needs to move. Two
        // permutations share one 64-bit output.
        for _ in 0..perm_count / 2 {
            let (i, j) = rng.below_pair(n, n);
            significant += usize::from(hit(u64::from(ranks[i])));
            significant += usize::from(hit(u64::from(ranks[j])));
        }
        if perm_count % 2 == 1 {
            significant += usize::from(hit(u64::from(ranks[rng.below(n)])));
        }
    } else {
        for _ in 0..perm_count {
            rng.sample_prefix(ranks, a);
            let permuted: u64 = ranks[..a].iter().map(|&r| u64::from(r)).sum();
            significant += usize::from(hit(permuted));
        }
    }
    Some(significant as f64 / perm_count as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Method;

    fn run(x: &[f64], side: RankSide, p: usize) -> Option<f64> {
        let mut rng = PermutationRng::new(1, 1, Method::HighRank);
        rank(x, 4, 1, p, side, &mut rng, &mut Scratch::default())
    }

    #[test]
    fn table() {
        let rising = [1.0, 2.0, 3.0, 4.0, 5.0];
        let falling = [5.0, 4.0, 3.0, 2.0, 1.0];
        let flat = [3.0; 5];
        // The maximum beats every other position: highrank = P(another is drawn) = 4/5.
        let high = run(&rising, RankSide::High, 20_000).unwrap();
        assert!((high - 0.8).abs() < 0.02, "{high}");
        assert_eq!(run(&rising, RankSide::Low, 500), Some(0.0));
        let low = run(&falling, RankSide::Low, 20_000).unwrap();
        assert!((low - 0.8).abs() < 0.02, "{low}");
        assert_eq!(
            run(&flat, RankSide::High, 500),
            Some(0.0),
            "ties never count"
        );
        assert_eq!(
            run(&flat, RankSide::Low, 500),
            Some(0.0),
            "ties never count"
        );
        assert_eq!(run(&[1.0], RankSide::High, 500), None, "too short");
    }
}
