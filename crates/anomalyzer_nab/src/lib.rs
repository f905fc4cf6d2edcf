//! Scoring anomaly scores against labelled windows by the rules of the
//! [Numenta Anomaly Benchmark](https://github.com/numenta/NAB) (NAB), so a
//! figure computed here can be compared with NAB's own scorer
//! (`run.py --optimize --score --normalize`) to two decimals.
//!
//! The rules, as NAB's code applies them (the workspace's
//! `docs/evaluation.md` has them with a worked example):
//!
//! - The first `min(floor(0.15 n), 750)` rows of a file of `n` rows are
//!   probationary and never scored ([`probationary_rows`]).
//! - A row is flagged when its score is at least the threshold.
//! - A window (rows `start..=end`, width `w`) is worth the best worth of its
//!   flagged rows: row `i` is worth
//!   `tp × σ(-(end - i + 1)/w) / σ(-1)` with NAB's [`scaled_sigmoid`] σ, so
//!   its first row earns exactly `tp`. A window with no flagged row costs
//!   `fn`.
//! - A flagged row outside the windows, `d` rows after the end of a window
//!   of width `w`, is worth `fp × σ(d/(w - 1))` (negative, −`fp` from 3.0
//!   on), and `-fp` when no window precedes it.
//! - The corpus raw score is the sum over files; the threshold is the one
//!   that maximises it over every distinct score of the corpus.
//! - Normalised: `100 × (raw - null) / (perfect - null)`, with the null
//!   detector's raw score (a constant score) and `perfect = tp × windows`.
//!
//! Beside NAB's score, [`EventMetrics`] gives alert-level precision, recall,
//! F1 and mean detection delay at the same threshold.
//!
//! Pure computation: no I/O, no threads. Reading a corpus from disk, turning
//! timestamps into row windows and running detectors is the command line's
//! job (`anomalyzer evaluate`).
//!
//! ```
//! use anomalyzer_nab::{Corpus, LabelledFile, Profile, ThresholdChoice, Window};
//!
//! // 200 rows, one window at rows 100..=119; the detector fires at row 105
//! // and, less surely, at row 150 (a false positive after the window).
//! let mut scores = vec![0.1; 200];
//! scores[105] = 0.9;
//! scores[150] = 0.7;
//! let corpus = Corpus::new(vec![LabelledFile::new(scores, vec![Window { start: 100, end: 119 }])?]);
//! for profile in Profile::nab() {
//!     let r = corpus.evaluate(&profile, ThresholdChoice::Optimal)?;
//!     assert_eq!(r.threshold, 0.9); // flagging row 150 as well would cost
//!     assert_eq!((r.windows_detected, r.false_positives), (1, 0));
//!     assert!(r.score > 90.0 && r.score < 100.0, "{}", r.score);
//! }
//! # Ok::<(), anomalyzer_nab::Error>(())
//! ```
//!
//! Feature `serde`: serialisation of the results and profiles.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod evaluation;
mod file_metrics;
mod labelled_file;
mod profile;
mod row_weights;
mod sweep;

pub use error::{Error, Result};
pub use evaluation::{Corpus, EventMetrics, ProfileResult, ThresholdChoice};
pub use file_metrics::{FileResult, PointCounts};
pub use labelled_file::{
    probationary_rows, LabelledFile, Window, PROBATIONARY_CAP, PROBATIONARY_FRACTION,
};
pub use profile::Profile;
pub use row_weights::scaled_sigmoid;
pub use sweep::NOTHING_FLAGGED;
