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
    let observed = {
        let idx = &scratch.grid_index[x.len() - grid.n2..];
        scratch.active_index.clear();
        scratch.active_index.extend_from_slice(idx);
        scratch.active_index.sort_unstable();
        grid.distance(&scratch.active_index, &scratch.grid_total)
    };
    let mut significant = 0usize;
    for _ in 0..perm_count {
        rng.sample_prefix(&mut scratch.grid_index, grid.n2);
        scratch.active_index.clear();
        scratch
            .active_index
            .extend_from_slice(&scratch.grid_index[..grid.n2]);
        scratch.active_index.sort_unstable();
        let d = grid.distance(&scratch.active_index, &scratch.grid_total);
        significant += usize::from(d < observed);
    }
    Some(significant as f64 / perm_count as f64)
}

/// The KS statistic `D` of the window split (the bootstrap's deterministic part).
#[cfg(test)]
pub(crate) fn ks_statistic(x: &[f64], ref_size: usize, active_size: usize) -> Option<f64> {
    let mut scratch = Scratch::default();
    let grid = KsGrid::build(x, ref_size, active_size, &mut scratch)?;
    let mut idx = scratch.grid_index[x.len() - grid.n2..].to_vec();
    idx.sort_unstable();
    Some(grid.distance(&idx, &scratch.grid_total))
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

    /// `max_j |ecdf_active(g_j) − ecdf_reference(g_j)|` for the active values
    /// whose grid points are `active` (sorted).
    fn distance(&self, active: &[u32], total: &[u32]) -> f64 {
        let (n1, n2) = (self.n1 as f64, self.n2 as f64);
        let n = total.len();
        let gap = |j: usize, c: usize| {
            let f_active = c as f64 / n2;
            let f_reference = (total[j] as usize - c) as f64 / n1;
            (f_active - f_reference).abs()
        };
        let mut d = 0.0f64;
        // On [start, end) exactly `c` active values are at or below the grid point.
        let mut start = 0usize;
        for c in 0..=active.len() {
            let end = active.get(c).map_or(n, |&i| (i as usize).min(n));
            if start < end {
                for g in [gap(start, c), gap(end - 1, c)] {
                    if g > d {
                        d = g;
                    }
                }
                start = end;
            }
        }
        d
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
