//! A corpus scored under a profile: the threshold (NAB's optimum or a fixed
//! one), the raw score summed over files, its normalisation between the
//! null and the perfect detector, and the event-level view.

use crate::error::{Error, Result};
use crate::file_metrics::{score_file, FileResult, PointCounts};
use crate::labelled_file::LabelledFile;
use crate::profile::Profile;
use crate::row_weights::{row_weights, RowWeight};
use crate::sweep::{entries, optimal_threshold, Entry};

/// How the threshold is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdChoice {
    /// The one that maximises the corpus raw score (NAB's `--optimize`).
    Optimal,
    /// This threshold: a row is flagged when its score is at least it.
    Fixed(f64),
}

/// Alert-level metrics at the chosen threshold: a window counts once when
/// any of its rows is flagged, each run of consecutive flagged rows outside
/// windows is one false alarm.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct EventMetrics {
    /// Detected windows / (detected windows + false alarms); `None` with no alert.
    pub precision: Option<f64>,
    /// Detected windows / scored windows; `None` with no scored window.
    pub recall: Option<f64>,
    /// Harmonic mean of precision and recall; `None` when either is.
    pub f1: Option<f64>,
    /// False alarms (runs of flagged rows outside windows).
    pub false_alarms: usize,
    /// Mean rows from a detected window's first row to its first flagged
    /// row; `None` when no window is detected.
    pub mean_delay_rows: Option<f64>,
}

impl EventMetrics {
    /// The metrics of a set of file results.
    #[must_use]
    pub fn from_files(files: &[FileResult]) -> Self {
        let detected: usize = files.iter().map(|f| f.windows_detected).sum();
        let windows: usize = files.iter().map(|f| f.windows).sum();
        let false_alarms: usize = files.iter().map(|f| f.false_alarms).sum();
        let delays: usize = files.iter().flat_map(|f| &f.detection_delays).sum();
        let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
        let precision = ratio(detected, detected + false_alarms);
        let recall = ratio(detected, windows);
        let f1 = match (precision, recall) {
            (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
            (Some(_), Some(_)) => Some(0.0),
            _ => None,
        };
        EventMetrics {
            precision,
            recall,
            f1,
            false_alarms,
            mean_delay_rows: ratio(delays, detected),
        }
    }
}

/// A corpus scored under one profile.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ProfileResult {
    /// The profile.
    pub profile: Profile,
    /// The threshold used ([`NOTHING_FLAGGED`](crate::NOTHING_FLAGGED) when flagging nothing is best).
    pub threshold: f64,
    /// NAB's normalised score: `100 × (raw - null_raw) / (perfect_raw - null_raw)`.
    pub score: f64,
    /// Sum of the files' raw scores.
    pub raw: f64,
    /// Raw score of NAB's null detector (a constant score, at its own best threshold).
    pub null_raw: f64,
    /// Raw score of a detector that flags exactly the first row of every window.
    pub perfect_raw: f64,
    /// Windows with a flagged row.
    pub windows_detected: usize,
    /// Scored windows without one.
    pub windows_missed: usize,
    /// Flagged rows outside every window.
    pub false_positives: usize,
    /// NAB's point counts over the corpus.
    pub counts: PointCounts,
    /// Alert-level metrics.
    pub events: EventMetrics,
    /// Each file's result, in the corpus's file order.
    pub files: Vec<FileResult>,
}

/// Labelled files prepared for scoring: each row's worth and the rows sorted
/// by score are computed once, then any profile and threshold are cheap.
///
/// ```
/// use anomalyzer_nab::{Corpus, LabelledFile, Profile, ThresholdChoice, Window};
///
/// let mut scores = vec![0.0; 100];
/// scores[60] = 0.9; // the first row of the window: a perfect detection
/// let file = LabelledFile::new(scores, vec![Window { start: 60, end: 69 }])?;
/// let corpus = Corpus::new(vec![file]);
/// let r = corpus.evaluate(&Profile::standard(), ThresholdChoice::Optimal)?;
/// assert_eq!((r.threshold, r.raw, r.null_raw, r.perfect_raw), (0.9, 1.0, -1.0, 1.0));
/// assert_eq!(r.score, 100.0);
/// # Ok::<(), anomalyzer_nab::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Corpus {
    files: Vec<LabelledFile>,
    weights: Vec<Vec<RowWeight>>,
    sorted: Vec<Entry>,
    scored_windows: Vec<bool>,
}

impl Corpus {
    /// Prepares `files` (in the order results will be reported).
    #[must_use]
    pub fn new(files: Vec<LabelledFile>) -> Self {
        let weights: Vec<Vec<RowWeight>> = files.iter().map(row_weights).collect();
        let mut offsets = Vec::with_capacity(files.len());
        let mut scored_windows = Vec::new();
        for f in &files {
            offsets.push(scored_windows.len());
            scored_windows.extend(f.windows().iter().map(|w| f.window_is_scored(w)));
        }
        let sorted = entries(
            files
                .iter()
                .zip(&weights)
                .zip(&offsets)
                .map(|((f, w), &o)| (f.scores(), w.as_slice(), o)),
        );
        Corpus {
            files,
            weights,
            sorted,
            scored_windows,
        }
    }

    /// The files, in order.
    #[must_use]
    pub fn files(&self) -> &[LabelledFile] {
        &self.files
    }

    /// Windows over all files, including those inside probationary periods.
    #[must_use]
    pub fn windows(&self) -> usize {
        self.scored_windows.len()
    }

    /// Scores the corpus under `profile`.
    ///
    /// With [`ThresholdChoice::Optimal`] the threshold is the corpus-wide
    /// optimum over every distinct score (ties: the highest threshold); the
    /// raw score is then the sum of the files' scores at that threshold, as
    /// NAB's scoring step computes it.
    pub fn evaluate(&self, profile: &Profile, choice: ThresholdChoice) -> Result<ProfileResult> {
        profile.validate()?;
        let threshold = match choice {
            ThresholdChoice::Optimal => self.optimal_threshold(profile).0,
            ThresholdChoice::Fixed(t) if t.is_nan() => return Err(Error::InvalidThreshold(t)),
            ThresholdChoice::Fixed(t) => t,
        };
        let files: Vec<FileResult> = self
            .files
            .iter()
            .zip(&self.weights)
            .map(|(f, w)| score_file(f, w, profile, threshold))
            .collect();
        let raw: f64 = files.iter().map(|f| f.raw).sum();
        let null_raw = self.null_raw(profile);
        let perfect_raw = self.perfect_raw(profile);
        if perfect_raw == null_raw {
            return Err(Error::NoWindows);
        }
        let mut counts = PointCounts::default();
        for f in &files {
            counts.add(&f.counts);
        }
        Ok(ProfileResult {
            profile: profile.clone(),
            threshold,
            score: 100.0 * (raw - null_raw) / (perfect_raw - null_raw),
            raw,
            null_raw,
            perfect_raw,
            windows_detected: files.iter().map(|f| f.windows_detected).sum(),
            windows_missed: files.iter().map(|f| f.windows_missed).sum(),
            false_positives: counts.fp,
            counts,
            events: EventMetrics::from_files(&files),
            files,
        })
    }

    /// The best threshold under `profile` and the corpus raw score the sweep
    /// found there.
    #[must_use]
    pub fn optimal_threshold(&self, profile: &Profile) -> (f64, f64) {
        optimal_threshold(&self.sorted, &self.scored_windows, profile)
    }

    /// NAB's baseline: the null detector gives every row the same score, so
    /// its optimiser can only flag nothing (every scored window missed) or
    /// everything; it keeps the better, and nothing on a tie.
    #[must_use]
    pub fn null_raw(&self, profile: &Profile) -> f64 {
        let nothing: f64 =
            self.scored_windows.iter().filter(|&&s| s).count() as f64 * -profile.fn_weight;
        let everything: f64 = self
            .files
            .iter()
            .zip(&self.weights)
            .map(|(f, w)| score_file(f, w, profile, f64::NEG_INFINITY).raw)
            .sum();
        if everything > nothing {
            everything
        } else {
            nothing
        }
    }

    /// NAB's perfect score: `tp_weight` for every window of the labels, also
    /// those inside a probationary period (NAB counts every window of its
    /// label file).
    #[must_use]
    pub fn perfect_raw(&self, profile: &Profile) -> f64 {
        self.windows() as f64 * profile.tp_weight
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labelled_file::Window;

    fn corpus(files: Vec<(Vec<f64>, Vec<Window>)>) -> Corpus {
        Corpus::new(
            files
                .into_iter()
                .map(|(s, w)| LabelledFile::new(s, w).unwrap())
                .collect(),
        )
    }

    #[test]
    fn raw_is_summed_over_files_and_normalised() {
        let mut a = vec![0.0; 100];
        a[60] = 0.9;
        let mut b = vec![0.0; 100];
        b[50] = 0.9; // a false positive before b's window, which is missed
        let c = corpus(vec![
            (a, vec![Window { start: 60, end: 69 }]),
            (b, vec![Window { start: 80, end: 89 }]),
        ]);
        let r = c
            .evaluate(&Profile::standard(), ThresholdChoice::Optimal)
            .unwrap();
        assert_eq!(r.threshold, 0.9);
        assert!((r.raw - (1.0 - 0.11 - 1.0)).abs() < 1e-15, "{}", r.raw);
        assert_eq!((r.null_raw, r.perfect_raw), (-2.0, 2.0));
        assert!((r.score - 100.0 * (r.raw + 2.0) / 4.0).abs() < 1e-12);
        assert_eq!(
            (r.windows_detected, r.windows_missed, r.false_positives),
            (1, 1, 1)
        );
        assert_eq!(r.events.precision, Some(0.5));
        assert_eq!(r.events.recall, Some(0.5));
        assert_eq!(r.events.f1, Some(0.5));
        assert_eq!(r.events.mean_delay_rows, Some(0.0));
    }

    #[test]
    fn fixed_threshold_is_used_as_given() {
        let mut a = vec![0.0; 100];
        a[60] = 0.4;
        let c = corpus(vec![(a, vec![Window { start: 60, end: 69 }])]);
        let r = c
            .evaluate(&Profile::standard(), ThresholdChoice::Fixed(0.5))
            .unwrap();
        assert_eq!((r.threshold, r.raw, r.score), (0.5, -1.0, 0.0));
        assert!(c
            .evaluate(&Profile::standard(), ThresholdChoice::Fixed(f64::NAN))
            .is_err());
    }

    /// The worked example of docs/evaluation.md, figure for figure.
    #[test]
    fn worked_example_of_the_docs() {
        let mut scores = vec![0.1; 100];
        scores[63] = 0.9;
        scores[75] = 0.8;
        let c = corpus(vec![(scores, vec![Window { start: 60, end: 69 }])]);
        let close = |a: f64, b: f64| (a - b).abs() < 5e-7;
        let fixed = |p: &Profile| c.evaluate(p, ThresholdChoice::Fixed(0.8)).unwrap();
        let s = fixed(&Profile::standard());
        assert!(
            close(s.raw, 0.851_725_4) && close(s.score, 92.586_271),
            "{} {}",
            s.raw,
            s.score
        );
        let f = fixed(&Profile::reward_low_fp_rate());
        assert!(
            close(f.raw, 0.749_303_4) && close(f.score, 87.465_168),
            "{} {}",
            f.raw,
            f.score
        );
        let n = fixed(&Profile::reward_low_fn_rate());
        assert!(close(n.score, 95.057_514), "{}", n.score);
        let best = c
            .evaluate(&Profile::standard(), ThresholdChoice::Optimal)
            .unwrap();
        assert_eq!(best.threshold, 0.9);
        assert!(
            close(best.raw, 0.954_147_5) && close(best.score, 97.707_374),
            "{} {}",
            best.raw,
            best.score
        );
    }

    #[test]
    fn no_windows_cannot_be_normalised() {
        let c = corpus(vec![(vec![0.0; 50], vec![])]);
        assert_eq!(
            c.evaluate(&Profile::standard(), ThresholdChoice::Optimal)
                .unwrap_err(),
            Error::NoWindows
        );
    }

    #[test]
    fn perfect_counts_windows_inside_probation_too() {
        let mut a = vec![0.0; 100];
        a[60] = 1.0;
        let c = corpus(vec![(
            a,
            vec![Window { start: 2, end: 5 }, Window { start: 60, end: 69 }],
        )]);
        let r = c
            .evaluate(&Profile::standard(), ThresholdChoice::Optimal)
            .unwrap();
        assert_eq!((r.perfect_raw, r.null_raw, r.raw), (2.0, -1.0, 1.0));
        assert_eq!((r.windows_detected, r.windows_missed), (1, 0));
    }

    #[test]
    fn null_flags_everything_when_that_is_better() {
        // One window covering most of the scored rows: flagging all is worth it.
        let c = corpus(vec![(vec![0.0; 100], vec![Window { start: 15, end: 99 }])]);
        let p = Profile::standard();
        assert_eq!(c.null_raw(&p), 1.0);
    }
}
