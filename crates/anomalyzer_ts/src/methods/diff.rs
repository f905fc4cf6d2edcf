//! diff: permutation test on the ranks of relative differences.
//!
//! A permutation's statistic is the rank sum of its last `A` relative
//! differences among all `n − 1`. Two things make it cheap without changing
//! its distribution or, given the draws, its outcome:
//!
//! - **Drawn backwards, lazily.** A partial Fisher–Yates draw puts a uniform
//!   random ordered sample at the front of the buffer, so we read the buffer
//!   as the permutation *reversed*: `v[0]` is its latest value, `v[t + 1]`
//!   precedes `v[t]`. The first `A + 1` draws give the `A` active
//!   differences; each further draw gives one more reference difference.
//! - **Stopped as soon as the answer is known.** Every reference difference
//!   adds to the rank sum the number of active differences above it, so the
//!   running sum only grows and each remaining difference adds at most the
//!   number of positive active differences. Once the sum reaches the
//!   observed one the permutation cannot count; once even the maximum
//!   possible remainder cannot reach it, it must. The rest of the
//!   permutation is never drawn (the next permutation restarts from whatever
//!   order the buffer is in, which partial Fisher–Yates allows).

use crate::permutation::PermutationRng;
use crate::scratch::Scratch;
use crate::split::split_windows;
use crate::stats::{rel_diff, rel_diff_at};

/// Above this many active differences, counting uses a sorted copy and a
/// binary search instead of a linear scan.
const LINEAR_ACTIVE: usize = 16;

/// Share of `perm_count` shuffles of the values whose active rank sum of
/// relative differences is below the observed one.
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
    let v = &mut scratch.shuffled;
    v.clear();
    v.extend_from_slice(x);
    let active = &mut scratch.diffs;
    let mut significant = 0usize;
    for _ in 0..perm_count {
        significant += usize::from(permutation_below(v, a, observed, rng, active));
    }
    Some(significant as f64 / perm_count as f64)
}

/// Draws one permutation of `v` (lazily, backwards) and tells whether its
/// active rank sum is below `observed`. `active` is scratch space.
fn permutation_below(
    v: &mut [f64],
    a: usize,
    observed: u64,
    rng: &mut PermutationRng,
    active: &mut Vec<f64>,
) -> bool {
    let n = v.len();
    rng.sample_prefix(v, a + 1);
    active.clear();
    active.extend((0..a).map(|t| rel_diff_at(v[t + 1], v[t])));
    // Start from the ranks among the active differences themselves.
    let sorted = a > LINEAR_ACTIVE;
    let mut sum = if sorted {
        active.sort_unstable_by(f64::total_cmp);
        sorted_rank_sum(active)
    } else {
        active.iter().map(|&d| count_above(active, d)).sum()
    };
    // Differences are ≥ 0, so a reference difference adds at most this.
    let max_step = active.iter().filter(|&&d| d > 0.0).count() as u64;
    let mut remaining = (n - 1 - a) as u64;
    for t in a + 1..n {
        if sum >= observed {
            return false;
        }
        if sum + max_step * remaining < observed {
            return true;
        }
        if t + 1 < n {
            let j = t + rng.below(n - t);
            v.swap(t, j);
        }
        let d = rel_diff_at(v[t], v[t - 1]);
        sum += if sorted {
            (a - active.partition_point(|&k| k <= d)) as u64
        } else {
            count_above(active, d)
        };
        remaining -= 1;
    }
    sum < observed
}

/// Sum of minimum ranks of an ascending slice (ties share the lowest rank).
fn sorted_rank_sum(sorted: &[f64]) -> u64 {
    let mut group = 0usize;
    let mut sum = 0u64;
    for i in 0..sorted.len() {
        // Differences are never NaN; -0.0 cannot occur (they are absolute).
        if i > 0 && sorted[i - 1] < sorted[i] {
            group = i;
        }
        sum += group as u64;
    }
    sum
}

/// Number of elements of `active` strictly greater than `d`.
#[inline]
fn count_above(active: &[f64], d: f64) -> u64 {
    active.iter().map(|&k| u64::from(k > d)).sum()
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
