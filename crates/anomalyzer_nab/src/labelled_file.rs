//! One scored file: its rows' anomaly scores and its labelled windows as row
//! ranges, checked once so that scoring cannot go wrong later.

use crate::error::{Error, Result};

/// NAB's probationary fraction: the first 15 % of a file's rows (at most
/// 750, see [`probationary_rows`]) are the detector's to learn from.
pub const PROBATIONARY_FRACTION: f64 = 0.15;

/// The cap on the probationary period, in rows: NAB's `0.15 × 5000`.
pub const PROBATIONARY_CAP: f64 = PROBATIONARY_FRACTION * 5000.0;

/// How many leading rows of a file of `rows` rows are probationary (not
/// scored): `min(floor(0.15 × rows), 750)`, computed as NAB's
/// `getProbationPeriod` does, in floating point.
///
/// ```
/// use anomalyzer_nab::probationary_rows;
/// assert_eq!(probationary_rows(100), 15);
/// assert_eq!(probationary_rows(4032), 604);
/// assert_eq!(probationary_rows(22_695), 750);
/// ```
#[must_use]
pub fn probationary_rows(rows: usize) -> usize {
    let limit = (PROBATIONARY_FRACTION * rows as f64)
        .floor()
        .min(PROBATIONARY_CAP);
    // A non-negative integer-valued float at most 750: the cast is exact.
    limit as usize
}

/// A labelled anomaly window: rows `start..=end` of its file (both ends
/// included, as in NAB's label files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Window {
    /// First row of the window (0-based).
    pub start: usize,
    /// Last row of the window (inclusive).
    pub end: usize,
}

impl Window {
    /// Rows in the window.
    #[must_use]
    pub fn width(&self) -> usize {
        self.end - self.start + 1
    }
}

/// A file's anomaly scores, one per row in file order, and its windows.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledFile {
    scores: Vec<f64>,
    windows: Vec<Window>,
}

impl LabelledFile {
    /// Checks and keeps a file's scores and windows: every score finite,
    /// every window inside the file with `start <= end`, windows in row
    /// order without overlap.
    ///
    /// ```
    /// use anomalyzer_nab::{LabelledFile, Window};
    /// let f = LabelledFile::new(vec![0.0; 10], vec![Window { start: 6, end: 8 }])?;
    /// assert_eq!(f.rows(), 10);
    /// assert!(LabelledFile::new(vec![0.0; 10], vec![Window { start: 6, end: 10 }]).is_err());
    /// # Ok::<(), anomalyzer_nab::Error>(())
    /// ```
    pub fn new(scores: Vec<f64>, windows: Vec<Window>) -> Result<Self> {
        if let Some((row, &value)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
            return Err(Error::ScoreNotFinite { row, value });
        }
        let rows = scores.len();
        for (i, w) in windows.iter().enumerate() {
            if w.start > w.end || w.end >= rows {
                return Err(Error::WindowOutOfRange {
                    window: i,
                    start: w.start,
                    end: w.end,
                    rows,
                });
            }
            if i > 0 && w.start <= windows[i - 1].end {
                return Err(Error::WindowsOverlap {
                    window: i,
                    start: w.start,
                    end: w.end,
                    previous_end: windows[i - 1].end,
                });
            }
        }
        Ok(LabelledFile { scores, windows })
    }

    /// Rows in the file.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.scores.len()
    }

    /// The rows' anomaly scores.
    #[must_use]
    pub fn scores(&self) -> &[f64] {
        &self.scores
    }

    /// The labelled windows, in row order.
    #[must_use]
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// Leading rows that are not scored (see [`probationary_rows`]).
    #[must_use]
    pub fn probationary_rows(&self) -> usize {
        probationary_rows(self.rows())
    }

    /// True when window `w` has at least one scored row: a window wholly
    /// inside the probationary period counts neither as found nor as missed.
    #[must_use]
    pub fn window_is_scored(&self, w: &Window) -> bool {
        w.end >= self.probationary_rows()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probation_follows_nab_at_small_and_capped_sizes() {
        for (rows, expected) in [
            (0, 0),
            (1, 0),
            (6, 0),
            (7, 1),
            (20, 3),
            (1624, 243),
            (4730, 709),
            (5000, 750),
            (5007, 750),
            (100_000, 750),
        ] {
            assert_eq!(probationary_rows(rows), expected, "rows {rows}");
        }
    }

    #[test]
    fn scores_must_be_finite() {
        let err = LabelledFile::new(vec![0.0, f64::NAN], vec![]).unwrap_err();
        assert!(matches!(err, Error::ScoreNotFinite { row: 1, .. }), "{err}");
    }

    #[test]
    fn windows_must_fit_and_be_ordered() {
        let w = |start, end| Window { start, end };
        assert!(LabelledFile::new(vec![0.0; 5], vec![w(3, 2)]).is_err());
        assert!(LabelledFile::new(vec![0.0; 5], vec![w(3, 5)]).is_err());
        let err = LabelledFile::new(vec![0.0; 9], vec![w(4, 6), w(6, 8)]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::WindowsOverlap {
                    window: 1,
                    previous_end: 6,
                    ..
                }
            ),
            "{err}"
        );
        assert!(LabelledFile::new(vec![0.0; 9], vec![w(6, 8), w(1, 2)]).is_err());
        assert!(LabelledFile::new(vec![0.0; 9], vec![w(1, 2), w(3, 8)]).is_ok());
    }

    #[test]
    fn a_window_inside_probation_is_not_scored() {
        let f = LabelledFile::new(
            vec![0.0; 20],
            vec![
                Window { start: 0, end: 2 },
                Window {
                    start: 2 + 1,
                    end: 3,
                },
            ],
        )
        .unwrap();
        assert_eq!(f.probationary_rows(), 3);
        assert!(!f.window_is_scored(&f.windows()[0]));
        assert!(f.window_is_scored(&f.windows()[1]));
    }
}
