//! Named starting points for a configuration.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A named configuration: which tests run, and through which stages.
///
/// ```
/// use anomalyzer_ts::{AnomalyzerConf, Method, Preset};
///
/// let robust = AnomalyzerConf::preset(Preset::Robust);
/// assert_eq!(robust.methods(), &Method::ROBUST);
/// let go = AnomalyzerConf::preset(Preset::Anomalyzer);
/// assert_eq!(go.methods(), &[Method::Magnitude, Method::Ks]);
/// assert_eq!("robust".parse::<Preset>().unwrap(), Preset::Robust);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum Preset {
    /// The Go library's defaults: magnitude and ks, combined by the Go
    /// weighted mean. Today's behaviour, bit for bit.
    #[default]
    Anomalyzer,
    /// The four robust tests ([`Method::ROBUST`](crate::Method::ROBUST)),
    /// each through the likelihood stage, then alert shaping, with the
    /// [`RobustParams`](crate::RobustParams) defaults: tuned on NAB's
    /// development half (docs/quality.md), for values alone (no timestamps).
    Robust,
}

impl Preset {
    /// Every preset, by name.
    pub const ALL: [Preset; 2] = [Preset::Anomalyzer, Preset::Robust];

    /// The name used by the CLI and configuration files.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Preset::Anomalyzer => "anomalyzer",
            Preset::Robust => "robust",
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::ALL
            .iter()
            .copied()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                Error::conf(
                    "preset",
                    format!("{s:?} is not a preset; valid presets are anomalyzer, robust"),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_refused() {
        for p in Preset::ALL {
            assert_eq!(p.name().parse::<Preset>().unwrap(), p);
            assert_eq!(p.to_string(), p.name());
        }
        let err = "Robust".parse::<Preset>().unwrap_err().to_string();
        assert!(
            err.contains("\"Robust\"") && err.contains("anomalyzer, robust"),
            "{err}"
        );
    }
}
