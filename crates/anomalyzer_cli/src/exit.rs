//! Exit codes and how errors map to them.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success (also when stdout is closed early, e.g. `| head`) |
//! | 1 | runtime failure: I/O, storage, corrupt state |
//! | 2 | bad input or usage: a bad row or value, invalid options or config |
//! | 130, 143 | SIGINT, SIGTERM while writing `--output` (temporary file removed); for `serve`, a second signal during shutdown |
//!
//! `serve` exits 0 after SIGTERM or SIGINT once it has drained and written its snapshot.

use std::io;
use std::process::ExitCode;

/// Success.
pub const SUCCESS: u8 = 0;
/// Runtime failure (I/O, storage, corrupt state).
pub const FAILURE: u8 = 1;
/// Bad input or usage.
pub const BAD_INPUT: u8 = 2;

/// The exit-code table, for `--help`.
pub const EXIT_CODES_HELP: &str = "Exit codes:\n  0  success (also when stdout is closed early, e.g. `| head`)\n  1  runtime failure: I/O, storage, corrupt state\n  2  bad input or usage: a bad row or value, invalid options or config\n  130, 143  interrupted by SIGINT, SIGTERM while writing --output (its temporary file removed)";

/// The exit-code table of `serve`, for its `--help`.
pub const SERVE_EXIT_CODES_HELP: &str = "Exit codes:\n  0  shut down cleanly after SIGTERM or SIGINT (requests in flight finished, state synced and snapshotted)\n  1  runtime failure: cannot listen, state directory unusable or corrupt, shutdown failed\n  2  bad flags, configuration file or token file\n  130, 143  a second SIGINT or SIGTERM during shutdown: exit at once, without the final snapshot (nothing acknowledged is lost)";

/// An error caused by what the user gave us (exit code 2).
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// True when the error is a closed pipe on output (quiet success).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints `err` on stderr and returns its exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(err) {
        return ExitCode::from(SUCCESS);
    }
    crate::diag::line(&format!("anomalyzer: error: {err:#}"));
    let bad_input = err.chain().any(|e| {
        e.downcast_ref::<BadInput>().is_some() || e.downcast_ref::<anomalyzer_ts::Error>().is_some()
    });
    ExitCode::from(if bad_input { BAD_INPUT } else { FAILURE })
}
