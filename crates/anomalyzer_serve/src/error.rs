//! The crate's error type.

/// Everything the service layer refuses or fails at. Each variant says what
/// and where; the HTTP status it maps to is [`Error::status`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A series name or label breaks a naming rule or a size limit.
    #[error("{0}")]
    InvalidSeries(String),
    /// A timestamp that is neither RFC 3339 nor Unix seconds in range.
    #[error("{0}")]
    InvalidTimestamp(String),
    /// A point of a `POST /api/v1/push` body is malformed; nothing of the
    /// request was applied.
    #[error("line {line}: {reason}")]
    InvalidPush {
        /// 1-based line of the body where the bad point starts.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A remote_write body that cannot be decoded or holds an invalid series.
    #[error("remote_write: {0}")]
    InvalidRemoteWrite(String),
    /// A configuration file that cannot be read or breaks a rule.
    #[error("config {origin}: {reason}")]
    InvalidConfig {
        /// The file, and the block within it where known.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// A request would create a series past the `--max-series` limit;
    /// nothing of it was applied.
    #[error("series limit reached: {limit} series exist, so the new series {series} is refused")]
    TooManySeries {
        /// The limit in force.
        limit: u64,
        /// The first new series that was refused.
        series: String,
    },
    /// The store cannot make points durable now (disk full, fsync error);
    /// nothing of the request was acknowledged.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A detector refused a value or a configuration.
    #[error(transparent)]
    Detector(#[from] anomalyzer_ts::Error),
}

impl Error {
    /// The HTTP status this error is answered with: 400 for bad input, 429
    /// for the series limit, 503 when the store is unavailable, 500 for a
    /// detector failure after validation (a bug).
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Error::InvalidSeries(_)
            | Error::InvalidTimestamp(_)
            | Error::InvalidPush { .. }
            | Error::InvalidRemoteWrite(_)
            | Error::InvalidConfig { .. } => 400,
            Error::TooManySeries { .. } => 429,
            Error::Unavailable(_) => 503,
            Error::Detector(_) => 500,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_interface() {
        assert_eq!(Error::InvalidSeries("x".into()).status(), 400);
        assert_eq!(
            Error::InvalidPush {
                line: 3,
                reason: "x".into()
            }
            .status(),
            400
        );
        let limit = Error::TooManySeries {
            limit: 2,
            series: "cpu".into(),
        };
        assert_eq!(limit.status(), 429);
        assert!(limit.to_string().contains("2 series exist"));
        assert_eq!(Error::Unavailable("disk full".into()).status(), 503);
    }
}
