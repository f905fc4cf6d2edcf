//! The threshold sweep: NAB's optimiser. Every distinct score of the corpus
//! is a candidate threshold; lowering the threshold past a score flags that
//! score's rows, so one pass over the rows sorted by score (highest first)
//! gives the corpus score at every threshold.

use crate::profile::Profile;
use crate::row_weights::{Place, RowWeight};

/// NAB's threshold for "flag nothing": above every score in `[0, 1]`.
pub const NOTHING_FLAGGED: f64 = 1.1;

/// A scored (non-probationary) row of the corpus, ready for the sweep.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub score: f64,
    /// Corpus-wide window slot, or [`OUTSIDE`].
    pub slot: u32,
    pub weight: RowWeight,
}

/// `Entry::slot` of a row outside every window.
pub(crate) const OUTSIDE: u32 = u32::MAX;

/// Builds the sweep's entries for all files, sorted by score, highest first
/// (ties keep file order, as NAB's stable sort does). `slot_offsets[f]` is
/// the first corpus-wide slot of file `f`'s windows.
pub(crate) fn entries<'a>(
    files: impl Iterator<Item = (&'a [f64], &'a [RowWeight], usize)>,
) -> Vec<Entry> {
    let mut out = Vec::new();
    for (scores, weights, offset) in files {
        for (&score, &weight) in scores.iter().zip(weights) {
            let slot = match weight.place {
                Place::Probation => continue,
                Place::Window(w) => (offset + w as usize) as u32,
                Place::Outside => OUTSIDE,
            };
            out.push(Entry {
                score,
                slot,
                weight,
            });
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

/// The threshold with the best corpus raw score, and that score.
///
/// `scored_windows[slot]` is true for windows with at least one scored row
/// (only those count as missed when nothing in them is flagged). Among
/// thresholds with exactly equal scores the highest wins, as in NAB (a
/// stable sort, by score, of candidates listed from the highest threshold).
pub(crate) fn optimal_threshold(
    entries: &[Entry],
    scored_windows: &[bool],
    profile: &Profile,
) -> (f64, f64) {
    // Each window's part starts at -fn (missed) and becomes the best worth
    // of its flagged rows; false positives add up.
    let mut parts: Vec<f64> = scored_windows
        .iter()
        .map(|&s| if s { -profile.fn_weight } else { 0.0 })
        .collect();
    let mut total: f64 = parts.iter().sum();
    let top = entries.first().map_or(f64::NEG_INFINITY, |e| e.score);
    let nothing = if top < NOTHING_FLAGGED {
        NOTHING_FLAGGED
    } else {
        top.next_up()
    };
    let mut best = (nothing, total);
    let mut i = 0;
    while i < entries.len() {
        let threshold = entries[i].score;
        // Every row with this same score is flagged at once.
        while i < entries.len() && entries[i].score == threshold {
            let e = &entries[i];
            let value = e.weight.value(profile);
            if e.slot == OUTSIDE {
                total += value;
            } else {
                let part = &mut parts[e.slot as usize];
                if value > *part {
                    total += value - *part;
                    *part = value;
                }
            }
            i += 1;
        }
        if total > best.1 {
            best = (threshold, total);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labelled_file::{LabelledFile, Window};
    use crate::row_weights::row_weights;

    fn sweep(files: &[LabelledFile], profile: &Profile) -> (f64, f64) {
        let weights: Vec<_> = files.iter().map(row_weights).collect();
        let mut offsets = Vec::new();
        let mut scored = Vec::new();
        for f in files {
            offsets.push(scored.len());
            scored.extend(f.windows().iter().map(|w| f.window_is_scored(w)));
        }
        let e = entries(
            files
                .iter()
                .zip(&weights)
                .zip(&offsets)
                .map(|((f, w), &o)| (f.scores(), w.as_slice(), o)),
        );
        optimal_threshold(&e, &scored, profile)
    }

    #[test]
    fn nothing_flagged_when_every_flag_costs() {
        let f = LabelledFile::new(vec![0.5; 40], vec![Window { start: 30, end: 33 }]).unwrap();
        let mut scores = vec![0.5; 40];
        scores[10] = 0.9; // before the window: a pure false positive
        let f2 = LabelledFile::new(scores, vec![]).unwrap();
        let (t, raw) = sweep(&[f, f2], &Profile::standard());
        assert_eq!(t, NOTHING_FLAGGED);
        assert_eq!(raw, -1.0);
    }

    #[test]
    fn best_threshold_is_the_detections_score() {
        let mut scores = vec![0.1; 40];
        scores[30] = 0.8; // first row of the window
        scores[10] = 0.7; // a false positive: not worth going down to 0.7 for
        let f = LabelledFile::new(scores, vec![Window { start: 30, end: 33 }]).unwrap();
        let (t, raw) = sweep(&[f], &Profile::standard());
        assert_eq!(t, 0.8);
        assert_eq!(raw, 1.0);
    }

    #[test]
    fn ties_between_thresholds_keep_the_highest() {
        let mut scores = vec![0.1; 40];
        scores[30] = 0.8;
        scores[32] = 0.6; // later in the same window: changes nothing
        let f = LabelledFile::new(scores, vec![Window { start: 30, end: 33 }]).unwrap();
        let (t, raw) = sweep(&[f], &Profile::standard());
        assert_eq!((t, raw), (0.8, 1.0));
    }

    #[test]
    fn an_earlier_row_replaces_a_later_one_in_the_same_window() {
        let mut scores = vec![0.1; 40];
        scores[33] = 0.9; // last row: worth little
        scores[30] = 0.5; // first row: worth 1
        let f = LabelledFile::new(scores, vec![Window { start: 30, end: 33 }]).unwrap();
        let (t, raw) = sweep(&[f], &Profile::standard());
        assert_eq!(t, 0.5);
        assert!((raw - 1.0).abs() < 1e-15, "{raw}");
    }
}
