//! One file scored at a fixed threshold: NAB's raw score, its point counts,
//! and the event view users reason in (windows found, false alarms, delay).

use crate::labelled_file::LabelledFile;
use crate::profile::Profile;
use crate::row_weights::{Place, RowWeight};

/// NAB's point counts over a file's scored (non-probationary) rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PointCounts {
    /// Flagged rows inside a window.
    pub tp: usize,
    /// Flagged rows outside every window (NAB's false positives).
    pub fp: usize,
    /// Rows inside a window that are not flagged.
    #[cfg_attr(feature = "serde", serde(rename = "fn"))]
    pub fn_: usize,
    /// Rows outside every window that are not flagged.
    pub tn: usize,
}

impl PointCounts {
    pub(crate) fn add(&mut self, other: &PointCounts) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
        self.tn += other.tn;
    }
}

/// One file's result at one threshold under one profile.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FileResult {
    /// NAB's raw score of the file.
    pub raw: f64,
    /// Windows with at least one scored row (the others lie wholly in the
    /// probationary period and count neither way).
    pub windows: usize,
    /// Windows with at least one flagged row.
    pub windows_detected: usize,
    /// Scored windows with no flagged row.
    pub windows_missed: usize,
    /// Flagged rows outside every window.
    pub false_positives: usize,
    /// Maximal runs of consecutive flagged rows outside windows: each is one
    /// alert a person would have been woken by.
    pub false_alarms: usize,
    /// For each detected window, rows from its first row to its first
    /// flagged row.
    pub detection_delays: Vec<usize>,
    /// NAB's point counts.
    pub counts: PointCounts,
}

/// Scores `file` at `threshold` (a row is flagged when its score is at
/// least the threshold) the way NAB's scoring step does: each scored window
/// is worth the best worth of its flagged rows, or `-fn_weight` with none;
/// each flagged row outside the windows adds its (negative) worth.
pub(crate) fn score_file(
    file: &LabelledFile,
    weights: &[RowWeight],
    profile: &Profile,
    threshold: f64,
) -> FileResult {
    let windows = file.windows();
    let mut parts: Vec<Option<f64>> = windows
        .iter()
        .map(|w| file.window_is_scored(w).then_some(-profile.fn_weight))
        .collect();
    let mut first_flag: Vec<Option<usize>> = vec![None; windows.len()];
    let mut fp_total = 0.0;
    let mut counts = PointCounts::default();
    let mut false_alarms = 0;
    let mut in_alarm = false;
    for (i, (&score, weight)) in file.scores().iter().zip(weights).enumerate() {
        let flagged = score >= threshold;
        match weight.place {
            Place::Probation => continue,
            Place::Window(w) => {
                in_alarm = false;
                let w = w as usize;
                if flagged {
                    counts.tp += 1;
                    let value = weight.value(profile);
                    if let Some(part) = &mut parts[w] {
                        *part = part.max(value);
                    }
                    first_flag[w].get_or_insert(i);
                } else {
                    counts.fn_ += 1;
                }
            }
            Place::Outside => {
                if flagged {
                    counts.fp += 1;
                    fp_total += weight.value(profile);
                    if !in_alarm {
                        false_alarms += 1;
                    }
                } else {
                    counts.tn += 1;
                }
                in_alarm = flagged;
            }
        }
    }
    let scored = parts.iter().filter(|p| p.is_some()).count();
    let detection_delays: Vec<usize> = windows
        .iter()
        .zip(&first_flag)
        .filter_map(|(w, f)| f.map(|row| row - w.start))
        .collect();
    let raw = fp_total + parts.iter().flatten().sum::<f64>();
    FileResult {
        raw,
        windows: scored,
        windows_detected: detection_delays.len(),
        windows_missed: scored - detection_delays.len(),
        false_positives: counts.fp,
        false_alarms,
        detection_delays,
        counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labelled_file::Window;
    use crate::row_weights::{row_weights, scaled_sigmoid};

    fn score(scores: Vec<f64>, windows: Vec<Window>, threshold: f64) -> FileResult {
        let f = LabelledFile::new(scores, windows).unwrap();
        score_file(&f, &row_weights(&f), &Profile::standard(), threshold)
    }

    #[test]
    fn missed_window_costs_fn_weight() {
        let r = score(vec![0.0; 40], vec![Window { start: 30, end: 33 }], 0.5);
        assert_eq!(r.raw, -1.0);
        assert_eq!((r.windows, r.windows_detected, r.windows_missed), (1, 0, 1));
        assert_eq!(
            r.counts,
            PointCounts {
                tp: 0,
                fp: 0,
                fn_: 4,
                tn: 30
            }
        );
    }

    #[test]
    fn only_the_best_flagged_row_of_a_window_counts() {
        let mut s = vec![0.0; 40];
        s[31] = 1.0;
        s[32] = 1.0;
        s[33] = 1.0;
        let r = score(s, vec![Window { start: 30, end: 33 }], 0.5);
        // Row 31 of a 4-row window ending at 33: position -3/4.
        let expected = scaled_sigmoid(-0.75) / scaled_sigmoid(-1.0);
        assert!((r.raw - expected).abs() < 1e-15, "{}", r.raw);
        assert_eq!(r.detection_delays, vec![1]);
        assert_eq!(r.counts.tp, 3);
    }

    #[test]
    fn probationary_flags_are_ignored() {
        let mut s = vec![0.0; 40];
        s[0] = 1.0; // probation: 6 rows
        s[5] = 1.0;
        let r = score(s, vec![], 0.5);
        assert_eq!((r.raw, r.false_positives, r.false_alarms), (0.0, 0, 0));
    }

    #[test]
    fn consecutive_false_positives_are_one_false_alarm() {
        let mut s = vec![0.0; 40];
        for i in [10, 11, 12, 20, 25, 26] {
            s[i] = 1.0;
        }
        let r = score(s, vec![], 0.5);
        assert_eq!((r.false_positives, r.false_alarms), (6, 3));
        assert!((r.raw + 6.0 * 0.11).abs() < 1e-15, "{}", r.raw);
    }

    #[test]
    fn a_run_that_enters_a_window_ends_there() {
        let mut s = vec![0.0; 40];
        s[28..=35].fill(1.0);
        // 28, 29 before the window: one alarm; 34, 35 after it: another.
        let r = score(s, vec![Window { start: 30, end: 33 }], 0.5);
        assert_eq!(
            (r.false_positives, r.false_alarms, r.windows_detected),
            (4, 2, 1)
        );
        assert_eq!(r.detection_delays, vec![0]);
    }

    #[test]
    fn threshold_is_inclusive() {
        let mut s = vec![0.0; 40];
        s[30] = 0.5;
        assert_eq!(
            score(s.clone(), vec![Window { start: 30, end: 33 }], 0.5).raw,
            1.0
        );
        assert_eq!(
            score(s, vec![Window { start: 30, end: 33 }], 0.500_001).raw,
            -1.0
        );
    }
}
