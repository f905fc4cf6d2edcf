//! Exact highrank / lowrank (opt-in, `exact_ranks`): the null distribution
//! of the active rank sum counted, not sampled, so the result carries no
//! Monte-Carlo noise and does not depend on the seed.
//!
//! A permutation's active window is a uniform `A`-subset of the window's
//! positions, so highrank is exactly "the share of `A`-subsets of the rank
//! multiset whose sum is below the observed sum" (lowrank: above). A
//! subset-sum count gives every share at once: `ways[k][s]`, the number of
//! `k`-subsets of the ranks seen so far with sum `s`, grows by one rank at a
//! time. Cost: `n · A · (A·(n−1)+1)` additions of `u128` per test and push,
//! which is why the configuration bounds `A · n` by
//! [`EXACT_RANKS_MAX_WORK`](crate::EXACT_RANKS_MAX_WORK); the counts then
//! stay below `C(n, A) < 2¹²⁸`.

use super::RankSide;
use crate::scratch::Scratch;
use crate::split::split_windows;
use crate::stats::min_rank;

/// The exact probability of [`rank`](super::rank) with infinitely many
/// permutations.
pub(crate) fn rank_exact(
    x: &[f64],
    ref_size: usize,
    active_size: usize,
    side: RankSide,
    scratch: &mut Scratch,
) -> Option<f64> {
    let s = split_windows(x.len(), ref_size, active_size, active_size)?;
    let a = s.active.len();
    min_rank(x, &mut scratch.order, &mut scratch.ranks);
    let n = x.len();
    let observed: usize = scratch.ranks[n - a..].iter().map(|&r| r as usize).sum();
    // Counts never exceed C(n, A): 64-bit words when that fits (the usual
    // case, and twice as fast), 128-bit otherwise.
    let (hits, total) = if binomial_fits_u64(n, a) {
        subset_sum_tails(
            &scratch.ranks,
            &scratch.order,
            a,
            observed,
            side,
            &mut scratch.rank_ways_64,
        )
    } else {
        subset_sum_tails(
            &scratch.ranks,
            &scratch.order,
            a,
            observed,
            side,
            &mut scratch.rank_ways_128,
        )
    };
    Some(hits as f64 / total as f64)
}

/// Whether `C(n, a)` < 2⁶⁴.
fn binomial_fits_u64(n: usize, a: usize) -> bool {
    let mut c: u128 = 1;
    for i in 0..a {
        // C(n, i+1) = C(n, i) · (n − i) / (i + 1), exact at every step.
        c = c * (n - i) as u128 / (i + 1) as u128;
        if c > u128::from(u64::MAX) {
            return false;
        }
    }
    true
}

/// Counts the `a`-subsets of `ranks` whose sum is below (`High`) or above
/// (`Low`) `observed`, and all `a`-subsets: `(hits, total)`.
fn subset_sum_tails<T>(
    ranks: &[u32],
    ascending: &[u32],
    a: usize,
    observed: usize,
    side: RankSide,
    ways: &mut Vec<T>,
) -> (u128, u128)
where
    T: Copy + Default + std::ops::AddAssign + From<u8> + Into<u128>,
{
    let n = ranks.len();
    // Ranks are below n, so a sum of `a` of them is at most a·(n−1).
    let width = a * (n - 1) + 1;
    ways.clear();
    ways.resize((a + 1) * width, T::default());
    ways[0] = T::from(1);
    // In ascending order, every rank seen so far is ≤ r, so a k-subset of
    // them sums to at most k·r: the rows need no work above that.
    for (i, &position) in ascending.iter().enumerate() {
        let r = ranks[position as usize] as usize;
        // Row k − 1 must still hold the counts without this rank: go down.
        for k in (1..=a.min(i + 1)).rev() {
            let (lower, upper) = ways.split_at_mut(k * width);
            let previous = &lower[(k - 1) * width..];
            let row = &mut upper[..width];
            let top = (k * r).min(width - 1);
            for sum in r..=top {
                let add = previous[sum - r];
                row[sum] += add;
            }
        }
    }
    let row = &ways[a * width..];
    let total = row.iter().map(|&c| c.into()).sum();
    let tail = match side {
        RankSide::High => &row[..observed],
        RankSide::Low => &row[observed + 1..],
    };
    (tail.iter().map(|&c| c.into()).sum(), total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::rank;
    use crate::permutation::PermutationRng;
    use crate::Method;

    /// Share of all `a`-subsets of positions whose rank sum is below/above.
    fn brute_force(x: &[f64], a: usize, side: RankSide) -> f64 {
        let (mut order, mut ranks) = (Vec::new(), Vec::new());
        min_rank(x, &mut order, &mut ranks);
        let n = x.len();
        let observed: u32 = ranks[n - a..].iter().sum();
        let (mut hits, mut total) = (0u64, 0u64);
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize != a {
                continue;
            }
            let sum: u32 = (0..n)
                .filter(|i| mask >> i & 1 == 1)
                .map(|i| ranks[i])
                .sum();
            total += 1;
            hits += u64::from(match side {
                RankSide::High => sum < observed,
                RankSide::Low => sum > observed,
            });
        }
        hits as f64 / total as f64
    }

    #[test]
    fn equals_enumeration_of_every_subset() {
        let cases: &[(&str, &[f64], usize)] = &[
            ("rising, A=1", &[1.0, 2.0, 3.0, 4.0, 5.0], 1),
            ("falling, A=1", &[5.0, 4.0, 3.0, 2.0, 1.0], 1),
            (
                "ties, A=2",
                &[2.0, 2.0, 1.0, 3.0, 1.0, 2.0, 3.0, 3.0, 2.0, 1.0],
                2,
            ),
            ("constant, A=2", &[4.0; 8], 2),
            (
                "spike, A=3",
                &[1.0, 1.5, 0.5, 2.0, 1.0, 1.2, 0.8, 1.1, 9.0, 8.0, 7.5, 1.0],
                3,
            ),
            (
                "A=5 of 14",
                &[
                    3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 8.0, 9.0, 7.0,
                ],
                5,
            ),
        ];
        for (name, x, a) in cases {
            let r = x.len() - a;
            for side in [RankSide::High, RankSide::Low] {
                let got = rank_exact(x, r, *a, side, &mut Scratch::default()).unwrap();
                let want = brute_force(x, *a, side);
                assert!(
                    (got - want).abs() < 1e-15,
                    "{name} {side:?}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn monte_carlo_converges_to_it() {
        let x = [10.0, 11.0, 9.5, 10.2, 10.8, 9.9, 10.1, 13.0, 12.5, 12.9];
        for side in [RankSide::High, RankSide::Low] {
            let exact = rank_exact(&x, 8, 2, side, &mut Scratch::default()).unwrap();
            let mut rng = PermutationRng::new(3, 3, Method::HighRank);
            let sampled = rank(&x, 8, 2, 200_000, side, &mut rng, &mut Scratch::default()).unwrap();
            assert!(
                (exact - sampled).abs() < 0.005,
                "{side:?}: {exact} vs {sampled}"
            );
        }
    }

    #[test]
    fn wide_counts_agree_with_narrow_ones() {
        let x: Vec<f64> = (0..40).map(|i| f64::from((i * 37) % 23)).collect();
        let (mut order, mut ranks) = (Vec::new(), Vec::new());
        min_rank(&x, &mut order, &mut ranks);
        let observed = ranks[30..].iter().map(|&r| r as usize).sum();
        for side in [RankSide::High, RankSide::Low] {
            let narrow =
                subset_sum_tails(&ranks, &order, 10, observed, side, &mut Vec::<u64>::new());
            let wide =
                subset_sum_tails(&ranks, &order, 10, observed, side, &mut Vec::<u128>::new());
            assert_eq!(narrow, wide, "{side:?}");
            assert_eq!(narrow.1, 847_660_528, "C(40, 10)");
        }
        assert!(binomial_fits_u64(60, 30));
        assert!(!binomial_fits_u64(80, 40));
    }

    #[test]
    fn not_applicable_like_the_sampled_test() {
        assert_eq!(
            rank_exact(&[1.0], 4, 1, RankSide::High, &mut Scratch::default()),
            None
        );
    }
}
