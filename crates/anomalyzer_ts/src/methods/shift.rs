//! `robust_z`, `level_shift` and `slow_shift`: the mean of the latest
//! `span` values against the median and IQR of the `reference` values just
//! before them (docs/spec.md, "Shift tests"). `robust_z` is span 1.
//!
//! The reference is kept sorted as the window slides (one insert and one
//! remove per push), so the exact median and quartiles cost O(log n) to read.

use crate::methods::robust_scale::robust_z;
use crate::stats::SortedValues;
use crate::window::Window;

/// Fewest reference values a shift test scores with.
pub(crate) const MIN_REFERENCE: usize = 20;

/// One shift test's sliding reference.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShiftTest {
    span: usize,
    reference: usize,
    sorted: SortedValues,
}

impl ShiftTest {
    pub(crate) fn new(span: usize, reference: usize) -> Self {
        ShiftTest {
            span,
            reference,
            sorted: SortedValues::with_capacity(reference + 1),
        }
    }

    /// After `history` got its latest value: the value `span` back enters
    /// the reference, the one `span + reference` back leaves it. `history`
    /// holds at least `span + reference + 1` values when full.
    pub(crate) fn slide(&mut self, history: &Window) {
        let len = history.len();
        if len > self.span {
            self.sorted.insert(history.get(len - 1 - self.span));
        }
        if len > self.span + self.reference {
            let gone = history.get(len - 1 - self.span - self.reference);
            let removed = self.sorted.remove(gone);
            debug_assert!(removed, "the leaving value is in the reference");
        }
    }

    /// Rebuilds the reference from `history` (after loading saved state).
    pub(crate) fn rebuild(&mut self, history: &Window) {
        self.sorted.clear();
        let len = history.len();
        let end = len.saturating_sub(self.span);
        let start = end.saturating_sub(self.reference);
        for i in start..end {
            self.sorted.insert(history.get(i));
        }
    }

    /// The statistic for the latest value; `None` until there are `span`
    /// values and [`MIN_REFERENCE`] (or `reference`, if smaller) before them.
    pub(crate) fn statistic(&self, history: &Window) -> Option<f64> {
        let len = history.len();
        if len < self.span || self.sorted.len() < MIN_REFERENCE.min(self.reference) {
            return None;
        }
        let sum: f64 = (len - self.span..len).map(|i| history.get(i)).sum();
        #[allow(clippy::cast_precision_loss)]
        let mean = sum / self.span as f64;
        let s = &self.sorted;
        Some(robust_z(
            mean,
            s.quantile(0.5)?,
            s.quantile(0.25)?,
            s.quantile(0.75)?,
            s.min()?,
            s.max()?,
            self.span,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(values: &[f64], capacity: usize) -> Window {
        let mut w = Window::with_capacity(capacity);
        for &x in values {
            w.push(x);
        }
        w
    }

    /// Feeds `values` one by one as the detector does.
    fn run(span: usize, reference: usize, values: &[f64]) -> (ShiftTest, Window, Vec<Option<f64>>) {
        let mut t = ShiftTest::new(span, reference);
        let mut h = Window::with_capacity(span + reference + 1);
        let mut out = Vec::new();
        for &x in values {
            h.push(x);
            t.slide(&h);
            out.push(t.statistic(&h));
        }
        (t, h, out)
    }

    #[test]
    fn spike_against_a_hand_computed_reference() {
        // Reference 0..20 (20 values): median 9.5, q1 4.75, q3 14.25,
        // IQR 9.5 → sigma 9.5 / 1.349; 40 is 30.5 above the median.
        let mut values: Vec<f64> = (0..20).map(f64::from).collect();
        values.push(40.0);
        let (_, _, out) = run(1, 20, &values);
        assert_eq!(out[19], None, "19 reference values are too few");
        let want = 30.5 / (9.5 / 1.349);
        let got = out[20].unwrap();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    #[test]
    fn level_shift_averages_the_span() {
        // 30 alternating 0/2 values, then two at 5: span 2 mean 5;
        // reference of the 20 values before them: median 1, q1 0, q3 2.
        let mut values: Vec<f64> = (0..30).map(|i| f64::from(i % 2 * 2)).collect();
        values.extend([5.0, 5.0]);
        let (_, _, out) = run(2, 20, &values);
        let want = 4.0 / (2.0 / 1.349 / 2f64.sqrt());
        let got = out.last().unwrap().unwrap();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    #[test]
    fn rebuild_gives_the_same_reference() {
        let values: Vec<f64> = (0..200).map(|i| f64::from(i * 37 % 101)).collect();
        let (slid, h, _) = run(10, 50, &values);
        let mut rebuilt = ShiftTest::new(10, 50);
        rebuilt.rebuild(&h);
        assert_eq!(slid, rebuilt);
        let short = history(&values[..30], 61);
        let (slid_short, _, _) = run(10, 50, &values[..30]);
        let mut r = ShiftTest::new(10, 50);
        r.rebuild(&short);
        assert_eq!(slid_short, r);
    }
}
