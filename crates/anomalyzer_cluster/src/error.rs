//! The crate's error type.

/// What the cluster layer refuses or fails at. Each variant says what and
/// where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// NATS or JetStream refused or did not answer (`what` says which
    /// operation, on which object).
    #[error("nats: {what}: {reason}")]
    Nats {
        /// The operation and its object, e.g. `publish to anomalyzer.points.3`.
        what: String,
        /// The client's error text.
        reason: String,
    },
    /// The cluster's stored settings disagree with what this node was told,
    /// or are unreadable.
    #[error("cluster settings: {0}")]
    Settings(String),
    /// A message or snapshot in JetStream that this version cannot read.
    #[error("{what}: {reason}")]
    Corrupt {
        /// Which message or object.
        what: String,
        /// Why it is refused.
        reason: String,
    },
    /// The worker's lease on a partition was lost (taken over or expired):
    /// its late writes are refused.
    #[error("partition {partition}: lease lost ({reason})")]
    Fenced {
        /// The partition.
        partition: u32,
        /// What showed it.
        reason: String,
    },
    /// Bad input or a limit of the service layer.
    #[error(transparent)]
    Serve(#[from] anomalyzer_serve::Error),
    /// A detector refused a value, state or configuration.
    #[error(transparent)]
    Detector(#[from] anomalyzer_ts::Error),
    /// The worker's state directory.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The failure.
        source: std::io::Error,
    },
}

impl Error {
    /// A NATS failure of `what`.
    pub(crate) fn nats(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Error::Nats {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
