//! A sorted multiset of `f64` for sliding windows: insert and remove in
//! O(log n + n) (a binary search and one `memmove`), exact quantiles and
//! tail counts in O(log n). For the window sizes of the robust preset (up to
//! a few thousand values) the `memmove` costs well under a microsecond, and
//! the results are exact: no sketch error to account for.

use std::cmp::Ordering;

/// Values in ascending [`f64::total_cmp`] order (so `-0.0 < 0.0`, and the
/// order of equal multisets is always the same: a rebuilt set is identical).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SortedValues {
    sorted: Vec<f64>,
}

impl SortedValues {
    /// An empty set with room for `capacity` values.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        SortedValues {
            sorted: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.sorted.len()
    }

    fn lower_bound(&self, x: f64) -> usize {
        self.sorted
            .partition_point(|v| v.total_cmp(&x) == Ordering::Less)
    }

    pub(crate) fn insert(&mut self, x: f64) {
        let at = self.lower_bound(x);
        self.sorted.insert(at, x);
    }

    /// Removes one copy of `x`; false (and nothing removed) when absent.
    pub(crate) fn remove(&mut self, x: f64) -> bool {
        let at = self.lower_bound(x);
        if self
            .sorted
            .get(at)
            .is_some_and(|v| v.total_cmp(&x) == Ordering::Equal)
        {
            self.sorted.remove(at);
            true
        } else {
            false
        }
    }

    pub(crate) fn clear(&mut self) {
        self.sorted.clear();
    }

    /// How many values are ≥ `x`.
    pub(crate) fn count_at_least(&self, x: f64) -> usize {
        self.sorted.len() - self.sorted.partition_point(|v| *v < x)
    }

    /// The largest value.
    pub(crate) fn max(&self) -> Option<f64> {
        self.sorted.last().copied()
    }

    /// The smallest value.
    pub(crate) fn min(&self) -> Option<f64> {
        self.sorted.first().copied()
    }

    /// The `q` quantile by linear interpolation between closest ranks
    /// (position `q·(n−1)`, numpy's and pandas' default); `None` when empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        quantile_of_sorted(&self.sorted, q)
    }
}

/// [`SortedValues::quantile`] on an already sorted slice.
pub(crate) fn quantile_of_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let (lo, frac) = {
        let pos = q * (n - 1) as f64;
        let lo = pos.floor();
        (lo as usize, pos - lo)
    };
    let hi = (lo + 1).min(n - 1);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_hand_computed_values() {
        let mut s = SortedValues::with_capacity(8);
        for x in [5.0, 1.0, 3.0, 2.0, 4.0] {
            s.insert(x);
        }
        let cases: &[(&str, f64, f64)] = &[
            ("min", 0.0, 1.0),
            ("median of 5", 0.5, 3.0),
            ("q1 of 5: position 1", 0.25, 2.0),
            ("q3 of 5: position 3", 0.75, 4.0),
            ("max", 1.0, 5.0),
            ("between ranks: position 0.4", 0.1, 1.4),
        ];
        for (name, q, want) in cases {
            let got = s.quantile(*q).unwrap();
            assert!((got - want).abs() < 1e-12, "{name}: {got} vs {want}");
        }
        s.insert(6.0);
        assert_eq!(
            s.quantile(0.5),
            Some(3.5),
            "median of 6 averages the middle two"
        );
    }

    #[test]
    fn remove_takes_one_copy_and_counts_are_exact() {
        let mut s = SortedValues::default();
        for x in [2.0, 2.0, 1.0, -0.0, 0.0] {
            s.insert(x);
        }
        assert_eq!(s.count_at_least(2.0), 2);
        assert_eq!(s.count_at_least(1.5), 2);
        assert_eq!(s.count_at_least(0.0), 5, "-0.0 ≥ 0.0 numerically");
        assert!(s.remove(2.0));
        assert_eq!(s.count_at_least(2.0), 1);
        assert!(!s.remove(7.0));
        assert!(s.remove(-0.0));
        assert_eq!(s.min(), Some(0.0));
        assert_eq!(s.min().unwrap().to_bits(), 0.0f64.to_bits());
        assert_eq!(s.max(), Some(2.0));
        assert_eq!(s.len(), 3);
        s.clear();
        assert_eq!(s.quantile(0.5), None);
    }
}
