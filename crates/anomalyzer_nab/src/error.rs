//! The crate's error type.

/// Everything that can be wrong with what is handed to the scorer: a score
/// that is not a number, a window that does not fit its file, a profile
/// whose weights are not finite, a corpus without windows to normalise by.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A row's anomaly score is NaN or infinite.
    #[error("row {row}: anomaly score {value} is not a finite number")]
    ScoreNotFinite {
        /// Row index (0-based) in its file.
        row: usize,
        /// The value.
        value: f64,
    },
    /// A window whose rows are not inside the file, or whose end is before
    /// its start.
    #[error("window {window} (rows {start}..={end}) does not fit a file of {rows} rows with start <= end")]
    WindowOutOfRange {
        /// Window index (0-based) in its file.
        window: usize,
        /// First row.
        start: usize,
        /// Last row (inclusive).
        end: usize,
        /// Rows in the file.
        rows: usize,
    },
    /// Windows must be in row order and must not overlap.
    #[error("window {window} (rows {start}..={end}) starts before the previous window ends at row {previous_end}")]
    WindowsOverlap {
        /// Window index (0-based) in its file.
        window: usize,
        /// Its first row.
        start: usize,
        /// Its last row.
        end: usize,
        /// The last row of the window before it.
        previous_end: usize,
    },
    /// A profile weight that is NaN or infinite.
    #[error("profile {profile:?}: weight `{weight}` = {value} is not a finite number")]
    InvalidProfile {
        /// The profile's name.
        profile: String,
        /// `tp_weight`, `fp_weight` or `fn_weight`.
        weight: &'static str,
        /// The value.
        value: f64,
    },
    /// A fixed threshold that is NaN.
    #[error("threshold {0} is not a number")]
    InvalidThreshold(f64),
    /// The normalised score divides by `perfect_raw - null_raw`, which is 0
    /// when the corpus has no window to find.
    #[error("the corpus has no labelled window, so the normalised score is undefined")]
    NoWindows,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
