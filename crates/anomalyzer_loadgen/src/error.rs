//! Everything that stops the load generator before or instead of a report.
//! Failed requests are not errors here: they are counted in the report.

use std::io;
use std::path::PathBuf;

/// Why the generator could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `--url` is not an `http://host:port` address.
    #[error("--url {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--token-file` could not be read.
    #[error("--token-file {}: {source}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// `--token-file` holds no usable token.
    #[error("--token-file {}: {reason}", path.display())]
    BadToken {
        /// The file.
        path: PathBuf,
        /// What is wrong with its content.
        reason: String,
    },
    /// The flags contradict each other or are out of range.
    #[error("{0}")]
    InvalidArguments(String),
    /// A process' figures could not be read from `/proc`.
    #[error("process {pid}: {reason}")]
    Proc {
        /// The process id given.
        pid: u32,
        /// What went wrong.
        reason: String,
    },
    /// `wait-ready` gave up.
    #[error("{url}/readyz was not 200 after {seconds} s (last: {last})")]
    NotReady {
        /// The base URL.
        url: String,
        /// How long it waited.
        seconds: f64,
        /// The last answer or connection error.
        last: String,
    },
    /// The tokio runtime could not be built.
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
}

/// The generator's result type.
pub type Result<T> = std::result::Result<T, Error>;
