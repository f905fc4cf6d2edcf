//! Messages on stderr that never panic.
//!
//! `eprintln!` panics when stderr cannot be written (`2>/dev/full`, a closed
//! descriptor), which would turn a documented exit code 1 or 2 into a panic
//! and exit code 101. Diagnostics are best effort: if stderr is gone there is
//! nobody to tell, so a failed write is dropped and the exit code stands.

use std::io::{self, Write};

/// Writes `line` and a newline to stderr, ignoring any failure.
pub fn line(line: &str) {
    let mut err = io::stderr().lock();
    // One write for the whole line, so concurrent writers do not interleave.
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// Like `eprintln!`, through [`line()`]: never panics.
macro_rules! eprint_line {
    ($($arg:tt)*) => {
        $crate::diag::line(&format!($($arg)*))
    };
}
pub(crate) use eprint_line;

/// Makes sure descriptors 0, 1 and 2 are open, on `/dev/null` if they were
/// closed (`2>&-`). Otherwise the next file opened would get descriptor 2,
/// and a diagnostic meant for stderr would be written into the output file
/// or the state directory's log.
pub fn reserve_standard_fds() {
    use std::os::fd::AsRawFd;
    for _ in 0..3 {
        let Ok(null) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
        else {
            return;
        };
        if null.as_raw_fd() > 2 {
            return; // 0, 1 and 2 are all taken; this one closes on drop.
        }
        // It filled a closed standard descriptor: keep it open for good.
        std::mem::forget(null);
    }
}
