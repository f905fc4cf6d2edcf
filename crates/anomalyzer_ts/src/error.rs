//! The crate's error type.

/// Everything that can go wrong in this crate: a configuration that breaks a
/// rule, or an input value the detector refuses.
///
/// On any error the detector's state is unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration field breaks its rule (see the field's documentation
    /// on [`AnomalyzerConfBuilder`](crate::AnomalyzerConfBuilder)).
    #[error("invalid configuration: `{field}` {reason}")]
    InvalidConf {
        /// The field's name, as in the serde form (`active_size`, `upper_bound`, ...).
        field: &'static str,
        /// Why the value was refused, in words.
        reason: String,
    },
    /// A method name that is not one of the tests.
    #[error("invalid configuration: `methods` has unknown method {name:?}; valid methods are {}, {}", crate::Method::NAMES.join(", "), crate::Method::ROBUST_NAMES.join(", "))]
    UnknownMethod {
        /// The name that was given.
        name: String,
    },
    /// A pushed value that is NaN or infinite.
    #[error("value {value} at position {position} is not a finite number; nothing was added")]
    NonFiniteValue {
        /// The offending value.
        value: f64,
        /// Its position in the batch that was pushed (0 for a single push).
        position: usize,
    },
    /// Saved state handed to [`Anomalyzer::from_parts`](crate::Anomalyzer::from_parts)
    /// does not fit together.
    #[error("inconsistent detector state: {reason}")]
    InconsistentState {
        /// What does not fit.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn conf(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidConf {
            field,
            reason: reason.into(),
        }
    }
}
