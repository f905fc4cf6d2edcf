//! `seasonal`: the latest value against the same phase of earlier periods
//! (docs/spec.md, "Seasonal"). A daily peak is compared with earlier daily
//! peaks, not with the night before it.

use crate::methods::robust_scale::robust_z;
use crate::stats::quantile_of_sorted;
use crate::window::Window;

/// The statistic for the latest value of `history`: the robust z of it
/// against the values `j·period + d` back, for `j` in `1..=seasons` and
/// `d` in `−slack..=slack`; `None` until two full seasons of them exist.
/// `buf` is scratch space.
pub(crate) fn seasonal(
    history: &Window,
    period: usize,
    seasons: usize,
    slack: usize,
    buf: &mut Vec<f64>,
) -> Option<f64> {
    let len = history.len();
    let latest = len.checked_sub(1)?;
    buf.clear();
    for j in 1..=seasons {
        for back in j * period - slack..=j * period + slack {
            if let Some(i) = latest.checked_sub(back) {
                buf.push(history.get(i));
            }
        }
    }
    if buf.len() < 2 * (2 * slack + 1) {
        return None;
    }
    buf.sort_unstable_by(f64::total_cmp);
    Some(robust_z(
        history.get(latest),
        quantile_of_sorted(buf, 0.5)?,
        quantile_of_sorted(buf, 0.25)?,
        quantile_of_sorted(buf, 0.75)?,
        buf[0],
        buf[buf.len() - 1],
        1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(values: &[f64]) -> Window {
        let mut w = Window::with_capacity(values.len().max(1));
        for &x in values {
            w.push(x);
        }
        w
    }

    #[test]
    fn a_repeated_peak_is_not_news_but_a_missing_one_is() {
        // Period 4 with a peak of 10 at phase 0: [10, 0, 0, 0] × 3, then 10.
        let mut values: Vec<f64> = (0..12)
            .map(|i| if i % 4 == 0 { 10.0 } else { 0.0 })
            .collect();
        values.push(10.0);
        let mut buf = Vec::new();
        // slack 0: the reference is the two earlier peaks (12−4, 12−8) and 12−12.
        let same = seasonal(&history(&values), 4, 3, 0, &mut buf).unwrap();
        assert_eq!(same, 0.0);
        *values.last_mut().unwrap() = 0.0;
        let missing = seasonal(&history(&values), 4, 3, 0, &mut buf).unwrap();
        // reference [10, 10, 10]: flat, floor 1e-9·10 + 1e-12.
        assert!((missing - 10.0 / (1e-8 + 1e-12)).abs() < 1.0, "{missing}");
    }

    #[test]
    fn hand_computed_reference_with_slack() {
        // Period 3, slack 1, 2 seasons: for the latest index 7 the values
        // 2, 3, 4 back (indices 5, 4, 3) and 5, 6, 7 back (2, 1, 0).
        let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 9.5];
        let mut buf = Vec::new();
        let got = seasonal(&history(&values), 3, 2, 1, &mut buf).unwrap();
        // reference 1..=6: median 3.5, q1 2.25, q3 4.75 → sigma 2.5/1.349.
        let want = 6.0 / (2.5 / 1.349);
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        assert_eq!(seasonal(&history(&values[..5]), 3, 2, 1, &mut buf), None);
        assert_eq!(seasonal(&history(&[]), 3, 2, 1, &mut buf), None);
    }
}
