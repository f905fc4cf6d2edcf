//! The progress bar on stderr: only for a file input (its size is known)
//! and only when stderr is a terminal, so pipes and logs stay clean.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How many rows pass between two updates of the bar's position (updating
/// on every row would cost more than parsing it).
const ROWS_PER_UPDATE: u64 = 4096;

/// A progress bar over the input's bytes, or nothing.
pub struct Progress {
    bar: Option<ProgressBar>,
    rows: u64,
}

impl Progress {
    /// A bar for an input of `len` bytes, shown only when `len` is known (a
    /// regular file) and stderr is a terminal.
    pub fn new(len: Option<u64>) -> Self {
        Self::with_terminal(len, std::io::stderr().is_terminal())
    }

    fn with_terminal(len: Option<u64>, terminal: bool) -> Self {
        let bar = match len {
            Some(len) if terminal => {
                let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
                bar.set_style(style());
                bar.enable_steady_tick(Duration::from_millis(200));
                Some(bar)
            }
            _ => None,
        };
        Progress { bar, rows: 0 }
    }

    /// True when a bar is drawn.
    #[cfg(test)]
    fn is_shown(&self) -> bool {
        self.bar.is_some()
    }

    /// Called once per row; `position` is read only now and then.
    pub fn row(&mut self, position: impl FnOnce() -> u64) {
        self.rows += 1;
        if let Some(bar) = &self.bar {
            if self.rows.is_multiple_of(ROWS_PER_UPDATE) {
                bar.set_position(position());
            }
        }
    }

    /// Prints a line on stderr without tearing the bar (it is hidden while
    /// the line is written, then drawn again below it).
    pub fn eprintln(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| crate::diag::line(line)),
            None => crate::diag::line(line),
        }
    }

    /// Removes the bar (before the summary is printed).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // Also on an error path: never leave a half-drawn bar under a message.
        self.finish();
    }
}

/// The bar's layout.
const TEMPLATE: &str =
    "{spinner} scoring [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})";

fn style() -> ProgressStyle {
    ProgressStyle::with_template(TEMPLATE).unwrap_or_else(|_| ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_valid() {
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
    }

    #[test]
    fn shown_only_for_a_sized_input_on_a_terminal() {
        assert!(!Progress::with_terminal(None, true).is_shown());
        assert!(!Progress::with_terminal(Some(10), false).is_shown());
        let p = Progress::with_terminal(Some(10), true);
        assert!(p.is_shown());
        p.finish();
    }
}
