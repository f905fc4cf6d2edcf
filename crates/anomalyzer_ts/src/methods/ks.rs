//! ks: bootstrap Kolmogorov–Smirnov test between the active and reference
//! windows.
//!
//! The statistic is evaluated on a grid of `N = n1 + n2` points from the
//! window's minimum to its maximum. A shuffle of the window changes which
//! values are active, never the window's minimum, maximum or grid, so we
//! place every value on the grid once (its first grid point at or above it)
//! and count once how many values sit at or below each grid point. Then the
//! active ECDF is a step function with at most `A` steps, the reference
//! ECDF is (total − active) / n1, and between two active steps the largest
//! gap is at one end of the interval (both counts only grow). A permutation
//! costs O(A log A) instead of O(N·n), with bit-identical results: every
//! candidate gap is computed with the reference's own arithmetic.
//!
//! Per permutation we do not even need `D'`, only whether `D' < D`, and that
//! reduces to bounds on sorted positions, computed once per evaluation:
//!
//! - With `c` active values at or below grid point `j` (and `T_j` values in
//!   all), the gap is `|c/n2 − (T_j − c)/n1|`. The signed difference only
//!   grows with `c` (also as rounded: both shares come from the same
//!   correctly rounded divisions, kept in tables), so the counts `c` whose
//!   gap is below `D` form an interval `[lo_j, hi_j]`, found by binary
//!   search.
//! - `C_j ≥ lo_j` for every `j` says that the `k`-th smallest active grid
//!   position is at most `min{j : lo_j ≥ k}`; `C_j ≤ hi_j` says it is above
//!   `max{j : hi_j < k}`. So `D' < D` exactly when each sorted active
//!   position lies within its own precomputed `[min_k, max_k]`.
//!
//! A permutation then costs its `A` draws, a sort of `A` small integers and
//! `A` pairs of comparisons. With `A = 1` nothing moves and nothing is
//! sorted: one draw and one comparison.

use crate::permutation::PermutationRng;
use crate::scratch::Scratch;
use crate::split::split_windows;

/// Share of `perm_count` shuffles whose KS distance is below the observed one.
pub(crate) fn ks(
    x: &[f64],
    ref_size: usize,
    active_size: usize,
    perm_count: usize,
    rng: &mut PermutationRng,
    scratch: &mut Scratch,
) -> Option<f64> {
    let grid = KsGrid::build(x, ref_size, active_size, scratch)?;
    let n = x.len();
    let a = grid.n2;
    fill_shares(&mut scratch.ks_active_share, a);
    fill_shares(&mut scratch.ks_reference_share, grid.n1);
    let shares = Shares {
        active: &scratch.ks_active_share,
        reference: &scratch.ks_reference_share,
        total: &scratch.grid_total,
    };
    let grid_index = &mut scratch.grid_index[..];
    let sorted = &mut scratch.active_index;
    sorted.clear();
    sorted.extend_from_slice(&grid_index[n - a..]);
    sorted.sort_unstable();
    let observed = shares.distance(sorted);
    let bounds = &mut scratch.ks_bounds;
    if !shares.position_bounds(observed, a, bounds) {
        // Some grid point has a gap of at least D whatever the draw.
        return Some(0.0);
    }
    let mut significant = 0usize;
    if a == 1 {
        let (lo, hi) = bounds[0];
        let inside = |g: u32| usize::from(lo <= g && g <= hi);
        // Two permutations share one 64-bit output.
        for _ in 0..perm_count / 2 {
            let (i, j) = rng.below_pair(n, n);
            significant += inside(grid_index[i]) + inside(grid_index[j]);
        }
        if perm_count % 2 == 1 {
            significant += inside(grid_index[rng.below(n)]);
        }
    } else if n <= 64 {
        // Number the values by rank (`scratch.order`): grid positions only
        // grow with rank, so each position bound becomes a rank range, a
        // draw is a 64-bit set of ranks, and its k-th smallest member is
        // its k-th lowest set bit. No sort.
        let rank_bounds = &mut scratch.ks_rank_bounds;
        to_rank_bounds(bounds, grid_index, &scratch.order, rank_bounds);
        let pool = sorted;
        pool.clear();
        pool.extend(0..n as u32);
        for _ in 0..perm_count {
            rng.sample_prefix(pool, a);
            let set = pool[..a].iter().fold(0u64, |set, &s| set | 1 << s);
            significant += usize::from(ranks_inside(set, rank_bounds));
        }
    } else {
        for _ in 0..perm_count {
            rng.sample_prefix(grid_index, a);
            sorted.clear();
            sorted.extend_from_slice(&grid_index[..a]);
            insertion_sort(sorted);
            significant += usize::from(positions_inside(sorted, bounds));
        }
    }
    Some(significant as f64 / perm_count as f64)
}

/// Whether each sorted active grid position lies within its bounds.
#[inline]
fn positions_inside(sorted: &[u32], bounds: &[(u32, u32)]) -> bool {
    // No short circuit: for few positions, branch-free is faster.
    sorted
        .iter()
        .zip(bounds)
        .fold(true, |inside, (&g, &(lo, hi))| {
            inside & (lo <= g) & (g <= hi)
        })
}

/// Position bounds as value-rank ranges `[first, end)`: grid positions only
/// grow with a value's rank (`order` lists window positions by value).
fn to_rank_bounds(
    bounds: &[(u32, u32)],
    grid_index: &[u32],
    order: &[u32],
    out: &mut Vec<(u32, u32)>,
) {
    let n = order.len();
    let by_rank = |s: usize| grid_index[order[s] as usize];
    out.clear();
    out.extend(bounds.iter().map(|&(lo, hi)| {
        let first = partition_point(n, |s| by_rank(s) < lo) as u32;
        let end = partition_point(n, |s| by_rank(s) <= hi) as u32;
        (first, end)
    }));
}

/// Whether the k-th lowest set bit of `set` (the k-th smallest drawn rank)
/// lies within `rank_bounds[k]`, for every k.
#[inline]
fn ranks_inside(mut set: u64, rank_bounds: &[(u32, u32)]) -> bool {
    // No early return: a mispredicted exit costs more than the few checks
    // it would skip.
    let mut inside = true;
    for &(first, end) in rank_bounds {
        let s = set.trailing_zeros();
        inside &= (first <= s) & (s < end);
        set &= set.wrapping_sub(1);
    }
    inside
}

/// The first `i` in `0..len` for which `pred` is false (`pred` must be true
/// on a prefix and false after it), or `len`.
#[inline]
fn partition_point(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0usize, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// `out[c] = c / m` for `c` in `0..=m`: the ECDF values of a sample of `m`.
fn fill_shares(out: &mut Vec<f64>, m: usize) {
    out.clear();
    out.extend((0..=m).map(|c| c as f64 / m as f64));
}

/// Sorts a short slice (the active grid positions); falls back to the
/// library sort for long ones.
fn insertion_sort(v: &mut [u32]) {
    if let [x, y] = v {
        // The common A = 2, without a branch.
        (*x, *y) = ((*x).min(*y), (*x).max(*y));
        return;
    }
    if v.len() > 32 {
        v.sort_unstable();
        return;
    }
    for i in 1..v.len() {
        let x = v[i];
        let mut j = i;
        while j > 0 && v[j - 1] > x {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
    }
}

/// The KS statistic `D` of the window split (the bootstrap's deterministic part).
#[cfg(test)]
pub(crate) fn ks_statistic(x: &[f64], ref_size: usize, active_size: usize) -> Option<f64> {
    let mut scratch = Scratch::default();
    let grid = KsGrid::build(x, ref_size, active_size, &mut scratch)?;
    let mut idx = scratch.grid_index[x.len() - grid.n2..].to_vec();
    idx.sort_unstable();
    fill_shares(&mut scratch.ks_active_share, grid.n2);
    fill_shares(&mut scratch.ks_reference_share, grid.n1);
    let shares = Shares {
        active: &scratch.ks_active_share,
        reference: &scratch.ks_reference_share,
        total: &scratch.grid_total,
    };
    Some(shares.distance(&idx))
}

/// Sizes of the two samples; the grid itself lives in the scratch buffers.
struct KsGrid {
    n1: usize,
    n2: usize,
}

impl KsGrid {
    /// Splits `x`, then fills `scratch.grid_index` (each value's grid point)
    /// and `scratch.grid_total` (values at or below each grid point).
    fn build(
        x: &[f64],
        ref_size: usize,
        active_size: usize,
        scratch: &mut Scratch,
    ) -> Option<Self> {
        let s = split_windows(x.len(), ref_size, active_size, active_size)?;
        let (n1, n2) = (s.reference.len(), s.active.len());
        if n1 % n2 != 0 {
            return None;
        }
        // The window is the whole input (x.len() ≤ A + R), so a shuffle keeps
        // the pooled values and with them the grid.
        debug_assert_eq!(s.reference.start, 0);
        let n = n1 + n2;
        let (lo, hi) = x
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let step = (hi - lo) / (n - 1) as f64;

        let order = &mut scratch.order;
        order.clear();
        order.extend(0..n as u32);
        order.sort_unstable_by(|&a, &b| x[a as usize].total_cmp(&x[b as usize]));
        scratch.grid_index.clear();
        scratch.grid_index.resize(n, n as u32);
        scratch.grid_total.clear();
        scratch.grid_total.resize(n, 0);
        // Accumulate the grid exactly as the reference does: g_j = g_{j−1} + step.
        let mut g = lo;
        let mut placed = 0usize;
        for j in 0..n {
            while placed < n && x[order[placed] as usize] <= g {
                scratch.grid_index[order[placed] as usize] = j as u32;
                placed += 1;
            }
            scratch.grid_total[j] = placed as u32;
            g += step;
        }
        // Values above the last (accumulated) grid point keep index n: never counted.
        Some(KsGrid { n1, n2 })
    }
}

/// The ECDF tables of one window: `active[c] = c / n2`, `reference[k] = k / n1`,
/// and `total[j]` = values at or below grid point `j`.
struct Shares<'a> {
    active: &'a [f64],
    reference: &'a [f64],
    total: &'a [u32],
}

impl Shares<'_> {
    /// `|ecdf_active(g_j) − ecdf_reference(g_j)|` when `c` active values are
    /// at or below `g_j` (the reference's arithmetic: `c/n2 − (t − c)/n1`).
    #[inline(always)]
    fn gap(&self, j: usize, c: usize) -> f64 {
        (self.active[c] - self.reference[self.total[j] as usize - c]).abs()
    }

    /// Calls `f` with the gap at both ends of every interval of grid points
    /// over which the number of active values at or below is constant (the
    /// gap is monotone inside one); stops when `f` returns true and says so.
    #[inline(always)]
    fn any_end_gap(&self, active: &[u32], mut f: impl FnMut(f64) -> bool) -> bool {
        let n = self.total.len();
        // On [start, end) exactly `c` active values are at or below the grid point.
        let mut start = 0usize;
        for c in 0..=active.len() {
            let end = active.get(c).map_or(n, |&i| (i as usize).min(n));
            if start < end {
                if f(self.gap(start, c)) || f(self.gap(end - 1, c)) {
                    return true;
                }
                start = end;
            }
        }
        false
    }

    /// `max_j |ecdf_active(g_j) − ecdf_reference(g_j)|` for the active values
    /// whose grid points are `active` (sorted).
    fn distance(&self, active: &[u32]) -> f64 {
        let mut d = 0.0f64;
        self.any_end_gap(active, |g| {
            if g > d {
                d = g;
            }
            false
        });
        d
    }

    /// Whether the distance for `active` (sorted) is at least `observed`
    /// (the direct evaluation that [`position_bounds`](Self::position_bounds)
    /// replaces).
    #[cfg(test)]
    fn reaches(&self, active: &[u32], observed: f64) -> bool {
        self.any_end_gap(active, |g| g >= observed)
    }

    /// Fills `bounds[k]` (for `k` in `0..a`) with the range the `k`-th
    /// smallest active grid position must lie in for every gap to stay below
    /// `observed`; positions run `0..=N` (`N` = above every grid point).
    /// Returns false when no placement can keep every gap below it.
    fn position_bounds(&self, observed: f64, a: usize, bounds: &mut Vec<(u32, u32)>) -> bool {
        let n = self.total.len();
        let n1 = self.reference.len() - 1;
        bounds.clear();
        bounds.resize(a, (0, n as u32));
        // Ascending j: position k (1-based) must be ≤ the first j with lo_j ≥ k.
        let mut upper_set = 0usize;
        for j in 0..n {
            let Some((lo, _)) = self.count_interval(j, a, n1, observed) else {
                return false;
            };
            while upper_set < lo {
                bounds[upper_set].1 = j as u32;
                upper_set += 1;
            }
        }
        // Descending j: position k must be > the last j with hi_j < k.
        let mut lower_set = a; // bounds[lower_set..] already have their lower bound
        for j in (0..n).rev() {
            let Some((_, hi)) = self.count_interval(j, a, n1, observed) else {
                return false;
            };
            while lower_set > hi {
                lower_set -= 1;
                bounds[lower_set].0 = j as u32 + 1;
            }
        }
        true
    }

    /// The counts `c` of active values at or below grid point `j` whose gap
    /// stays below `observed`: an interval `[lo, hi]` within the counts that
    /// can occur; `None` if empty.
    #[inline]
    fn count_interval(
        &self,
        j: usize,
        a: usize,
        n1: usize,
        observed: f64,
    ) -> Option<(usize, usize)> {
        let t = self.total[j] as usize;
        let (c_min, c_max) = (t.saturating_sub(n1), a.min(t));
        // Non-decreasing in c (see the module doc).
        let signed = |c: usize| self.active[c] - self.reference[t - c];
        let len = c_max + 1 - c_min;
        let (lo, hi_end) = if len <= 16 {
            // Both predicates hold on a prefix, so counting where they hold
            // finds its end, without a branch to mispredict.
            (c_min..=c_max).fold((c_min, c_min), |(lo, hi_end), c| {
                let g = signed(c);
                (
                    lo + usize::from(g <= -observed),
                    hi_end + usize::from(g < observed),
                )
            })
        } else {
            (
                c_min + partition_point(len, |i| signed(c_min + i) <= -observed),
                c_min + partition_point(len, |i| signed(c_min + i) < observed),
            )
        };
        (lo < hi_end).then(|| (lo, hi_end - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::ecdf_at;

    /// The reference's direct evaluation, O(N·n).
    fn brute_force(x: &[f64], a: usize) -> f64 {
        let (reference, active) = x.split_at(x.len() - a);
        let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let n = x.len();
        let step = (hi - lo) / (n - 1) as f64;
        let (mut g, mut d) = (lo, 0.0f64);
        for _ in 0..n {
            let gap = (ecdf_at(reference, g) - ecdf_at(active, g)).abs();
            if gap > d {
                d = gap;
            }
            g += step;
        }
        d
    }

    #[test]
    fn statistic_equals_brute_force_bit_for_bit() {
        let series: &[(&str, &[f64], usize)] = &[
            ("rising", &[1.0, 2.0, 3.0, 4.0, 5.0], 1),
            (
                "ties",
                &[2.0, 2.0, 1.0, 2.0, 1.0, 1.0, 2.0, 2.0, 1.0, 3.0],
                2,
            ),
            ("constant", &[7.0; 5], 1),
            (
                "thirds",
                &[0.1, 0.7, 0.3, 0.9, 0.2, 0.6, 0.4, 0.5, 0.8, 0.35],
                5,
            ),
            ("huge range", &[-1e308, 1e308, 0.0, 5.0, -3.0], 1),
        ];
        for (name, x, a) in series {
            let r = x.len() - a;
            let got = ks_statistic(x, r, *a).unwrap();
            assert_eq!(got.to_bits(), brute_force(x, *a).to_bits(), "{name}: {got}");
        }
    }

    /// Our bounds against the direct scan of every gap, for many windows
    /// (with ties, and values beyond the accumulated last grid point) and
    /// many draws of active positions.
    #[test]
    fn position_bounds_agree_with_direct_scan() {
        let mut seen = [0u32; 2];
        let mut rng = PermutationRng::new(11, 3, crate::Method::Ks);
        for case in 0..300 {
            let a = 1 + case % 6;
            let n = a * (2 + case % 5);
            let levels = 2 + case % 9;
            let x: Vec<f64> = (0..n)
                .map(|_| rng.below(levels) as f64 * 0.1 + (case % 3) as f64)
                .collect();
            let mut scratch = Scratch::default();
            let Some(grid) = KsGrid::build(&x, n - a, a, &mut scratch) else {
                continue;
            };
            fill_shares(&mut scratch.ks_active_share, grid.n2);
            fill_shares(&mut scratch.ks_reference_share, grid.n1);
            let shares = Shares {
                active: &scratch.ks_active_share,
                reference: &scratch.ks_reference_share,
                total: &scratch.grid_total,
            };
            let mut idx = scratch.grid_index[n - a..].to_vec();
            idx.sort_unstable();
            let observed = shares.distance(&idx);
            let mut bounds = Vec::new();
            let feasible = shares.position_bounds(observed, a, &mut bounds);
            let mut rank_bounds = Vec::new();
            to_rank_bounds(
                &bounds,
                &scratch.grid_index,
                &scratch.order,
                &mut rank_bounds,
            );
            let mut rank_of = vec![0u32; n];
            for (s, &p) in scratch.order.iter().enumerate() {
                rank_of[p as usize] = s as u32;
            }
            let mut pool: Vec<u32> = (0..n as u32).collect();
            for _ in 0..200 {
                rng.sample_prefix(&mut pool, a);
                let drawn = &pool[..a];
                let mut active: Vec<u32> = drawn
                    .iter()
                    .map(|&p| scratch.grid_index[p as usize])
                    .collect();
                active.sort_unstable();
                let direct = !shares.reaches(&active, observed);
                if feasible && n <= 64 {
                    // The same draw as a set of value ranks.
                    let set = drawn
                        .iter()
                        .fold(0u64, |set, &p| set | 1 << rank_of[p as usize]);
                    assert_eq!(ranks_inside(set, &rank_bounds), direct, "case {case}");
                }
                let ours = feasible
                    && active
                        .iter()
                        .zip(&bounds)
                        .all(|(&g, &(lo, hi))| lo <= g && g <= hi);
                assert_eq!(ours, direct, "case {case}: x {x:?}, active {active:?}");
                seen[usize::from(ours)] += 1;
            }
        }
        // Both answers occur often, so the comparison means something.
        assert!(seen.iter().all(|&k| k > 5_000), "{seen:?}");
    }

    #[test]
    fn not_applicable_when_sizes_do_not_divide() {
        assert_eq!(ks_statistic(&[1.0, 2.0, 3.0, 4.0, 5.0], 3, 2), None);
        assert_eq!(ks_statistic(&[1.0], 4, 1), None);
    }

    #[test]
    fn outlier_at_the_end_is_significant() {
        let x = [1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.0, 1.02, 50.0];
        let mut rng = PermutationRng::new(5, 5, crate::Method::Ks);
        let p = ks(&x, 8, 1, 2000, &mut rng, &mut Scratch::default()).unwrap();
        // D = 1 with the maximum active. A draw is smaller unless it makes the
        // maximum or the minimum active (both give D' = 1): p = 7/9.
        assert!((p - 7.0 / 9.0).abs() < 0.03, "{p}");
    }
}
