//! What flagging each row would be worth: NAB's scaled sigmoid of the row's
//! position relative to its window, before the profile's weights.

use crate::labelled_file::LabelledFile;
use crate::profile::Profile;

/// NAB's scaled sigmoid `2 / (1 + e^{5x}) - 1`, and exactly −1 past 3.0.
///
/// `x` is a relative position: −1 is a window's first row (worth
/// 0.98661), 0 just past its end (worth 0), positive values after the window
/// (negative worth, tending to −1).
///
/// ```
/// use anomalyzer_nab::scaled_sigmoid;
/// assert!((scaled_sigmoid(-1.0) - 0.986_614_298_151_430_3).abs() < 1e-15);
/// assert_eq!(scaled_sigmoid(0.0), 0.0);
/// assert_eq!(scaled_sigmoid(3.5), -1.0);
/// ```
#[must_use]
pub fn scaled_sigmoid(x: f64) -> f64 {
    if x > 3.0 {
        -1.0
    } else {
        // The same operations as NAB's `2*sigmoid(-5*x) - 1`, so the same bits.
        2.0 * logistic(-5.0 * x) - 1.0
    }
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Where a row stands for scoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// In the probationary period: never scored.
    Probation,
    /// Inside the file's window with this index.
    Window(u32),
    /// Outside every window.
    Outside,
}

/// A row's place and its unweighted worth when flagged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RowWeight {
    pub place: Place,
    /// Scaled sigmoid of the row's relative position (see [`scaled_sigmoid`]).
    pub unweighted: f64,
}

impl RowWeight {
    /// The row's worth under `profile` when flagged, as NAB weighs it: a
    /// window row scaled so that the first row of a window earns exactly
    /// `tp_weight`, an outside row times `fp_weight`.
    pub fn value(&self, profile: &Profile) -> f64 {
        match self.place {
            Place::Window(_) => self.unweighted * profile.tp_weight / scaled_sigmoid(-1.0),
            Place::Outside | Place::Probation => self.unweighted * profile.fp_weight,
        }
    }
}

/// Every row's place and unweighted worth, following NAB's sweep:
///
/// - inside a window of width `w` rows ending at row `e`, row `i` sits at
///   `-(e - i + 1) / w` (so the first row is at exactly −1);
/// - outside, after a window of width `w` ending at `e`, row `i` sits at
///   `(i - e) / (w - 1)`; before any window it is worth −1;
/// - the first [`probationary_rows`](crate::probationary_rows) rows are
///   probationary, whatever their position.
pub(crate) fn row_weights(file: &LabelledFile) -> Vec<RowWeight> {
    let probation = file.probationary_rows();
    let windows = file.windows();
    let mut out = Vec::with_capacity(file.rows());
    let mut next = 0usize; // the first window not yet left behind
    let mut previous: Option<(usize, usize)> = None; // (end, width) of the last window passed
    for i in 0..file.rows() {
        let inside = windows.get(next).filter(|w| w.start <= i);
        let (place, unweighted) = match inside {
            Some(w) => {
                let position = -((w.end - i + 1) as f64) / w.width() as f64;
                (Place::Window(next as u32), scaled_sigmoid(position))
            }
            None => {
                let unweighted = match previous {
                    // A one-row window divides by zero: NAB's Python raises
                    // there; the infinite position counts as far away (−1).
                    Some((end, width)) => scaled_sigmoid((i - end) as f64 / (width - 1) as f64),
                    None => -1.0,
                };
                (Place::Outside, unweighted)
            }
        };
        if let Some(w) = inside {
            if w.end == i {
                previous = Some((w.end, w.width()));
                next += 1;
            }
        }
        let place = if i < probation {
            Place::Probation
        } else {
            place
        };
        out.push(RowWeight { place, unweighted });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labelled_file::Window;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn sigmoid_matches_nabs_documented_points() {
        assert!(close(scaled_sigmoid(-0.5), 0.848_283_639_957_512_8));
        assert!(close(scaled_sigmoid(1.0), -0.986_614_298_151_430_3));
        assert!(
            scaled_sigmoid(3.0) > -1.0,
            "3.0 itself is still on the curve"
        );
        assert_eq!(scaled_sigmoid(f64::INFINITY), -1.0);
    }

    #[test]
    fn first_window_row_is_worth_exactly_tp_weight() {
        let f = LabelledFile::new(vec![0.0; 100], vec![Window { start: 40, end: 49 }]).unwrap();
        let rows = row_weights(&f);
        let p = Profile::standard();
        assert_eq!(rows[40].place, Place::Window(0));
        assert_eq!(rows[40].value(&p), 1.0);
        // Later rows are worth less, the last row still a little.
        assert!(rows[45].value(&p) < rows[44].value(&p));
        let last = rows[49].value(&p);
        assert!(
            close(last, scaled_sigmoid(-0.1) / scaled_sigmoid(-1.0)),
            "{last}"
        );
    }

    #[test]
    fn rows_after_a_window_cost_more_the_further_they_are() {
        let f = LabelledFile::new(vec![0.0; 100], vec![Window { start: 40, end: 49 }]).unwrap();
        let rows = row_weights(&f);
        let p = Profile::standard();
        assert_eq!(rows[50].place, Place::Outside);
        // One row past the end of a 10-row window: position 1/9.
        assert!(close(rows[50].value(&p), 0.11 * scaled_sigmoid(1.0 / 9.0)));
        assert!(rows[60].value(&p) < rows[50].value(&p));
        // 27 rows past: position 3.0, still on the curve; 28: exactly -fp.
        assert!(rows[76].value(&p) > -0.11);
        assert_eq!(rows[77].value(&p), -0.11);
        // Before any window: the full cost.
        assert_eq!(rows[20].value(&p), -0.11);
    }

    #[test]
    fn probationary_rows_are_marked_whatever_their_window() {
        let f = LabelledFile::new(vec![0.0; 20], vec![Window { start: 1, end: 4 }]).unwrap();
        let rows = row_weights(&f);
        assert_eq!(rows[2].place, Place::Probation);
        assert_eq!(rows[3].place, Place::Window(0));
        assert_eq!(rows[5].place, Place::Outside);
        // The distance after the window still counts from its end.
        assert!(close(rows[5].unweighted, scaled_sigmoid(1.0 / 3.0)));
    }

    #[test]
    fn one_row_window_makes_following_rows_full_false_positives() {
        let f = LabelledFile::new(vec![0.0; 20], vec![Window { start: 10, end: 10 }]).unwrap();
        let rows = row_weights(&f);
        assert_eq!(rows[10].unweighted, scaled_sigmoid(-1.0));
        assert_eq!(rows[11].unweighted, -1.0);
    }
}
