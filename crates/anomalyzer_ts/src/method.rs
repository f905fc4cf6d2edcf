//! The statistical tests: the seven of the Go library, by their Go names,
//! and the four robust tests of [`Preset::Robust`](crate::Preset::Robust).

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// One statistical test: one of the seven of lytics/anomalyzer, or one of
/// the four robust tests ([`Method::ROBUST`]) that the robust preset runs
/// through its likelihood and alert-shaping stages (docs/spec.md).
///
/// The names (`Display`, `FromStr`, serde) of the seven are the Go library's:
///
/// ```
/// use anomalyzer_ts::Method;
/// assert_eq!("highrank".parse::<Method>().unwrap(), Method::HighRank);
/// assert_eq!(Method::Ks.to_string(), "ks");
/// assert!("bogus".parse::<Method>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Method {
    /// Relative change of the active mean against the reference mean.
    Magnitude,
    /// Permutation test on the ranks of relative differences (the active
    /// window's changes are unusually large).
    Diff,
    /// Permutation test: the active window's ranks are unusually high.
    #[cfg_attr(feature = "serde", serde(rename = "highrank"))]
    HighRank,
    /// Permutation test: the active window's ranks are unusually low.
    #[cfg_attr(feature = "serde", serde(rename = "lowrank"))]
    LowRank,
    /// Empirical CDF of reference differences at the change of means.
    Cdf,
    /// Distance of the active mean from fixed bounds.
    Fence,
    /// Bootstrap Kolmogorov–Smirnov test between active and reference.
    Ks,
    /// Robust z of the latest value against the median and IQR of the
    /// `reference` values before it (a spike).
    #[cfg_attr(feature = "serde", serde(rename = "robust_z"))]
    RobustZ,
    /// Robust z of the mean of the last `shift_span` values against the
    /// `reference` values before them (a level shift).
    #[cfg_attr(feature = "serde", serde(rename = "level_shift"))]
    LevelShift,
    /// As [`LevelShift`](Self::LevelShift) over the longer `slow_span` and
    /// `slow_reference` (a slow drift or a change of rate).
    #[cfg_attr(feature = "serde", serde(rename = "slow_shift"))]
    SlowShift,
    /// Robust z of the latest value against the same phase (± `period_slack`)
    /// of the previous `period_seasons` periods (a break in a daily cycle).
    Seasonal,
}

impl Method {
    /// The seven Go methods, in a fixed order (also their index order).
    pub const ALL: [Method; 7] = [
        Method::Magnitude,
        Method::Diff,
        Method::HighRank,
        Method::LowRank,
        Method::Cdf,
        Method::Fence,
        Method::Ks,
    ];

    /// The Go names of [`Method::ALL`], in the same order.
    pub const NAMES: [&'static str; 7] = [
        "magnitude",
        "diff",
        "highrank",
        "lowrank",
        "cdf",
        "fence",
        "ks",
    ];

    /// The robust tests, in index order (indices 7 to 10).
    pub const ROBUST: [Method; 4] = [
        Method::RobustZ,
        Method::LevelShift,
        Method::SlowShift,
        Method::Seasonal,
    ];

    /// The names of [`Method::ROBUST`], in the same order.
    pub const ROBUST_NAMES: [&'static str; 4] =
        ["robust_z", "level_shift", "slow_shift", "seasonal"];

    /// The name of this method (the Go name for the seven).
    #[must_use]
    pub const fn name(self) -> &'static str {
        let i = self as usize;
        if i < 7 {
            Self::NAMES[i]
        } else {
            Self::ROBUST_NAMES[i - 7]
        }
    }

    /// Whether this is one of the robust tests (scored through the
    /// likelihood and alert-shaping stages, not the Go weighted mean).
    #[must_use]
    pub const fn is_robust(self) -> bool {
        self as usize >= 7
    }

    /// Position in [`Method::ALL`]; stable, used to index per-method arrays.
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Whether the test draws permutations (and so depends on the seed).
    #[must_use]
    pub const fn is_randomised(self) -> bool {
        matches!(
            self,
            Method::Diff | Method::HighRank | Method::LowRank | Method::Ks
        )
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .iter()
            .chain(Method::ROBUST.iter())
            .copied()
            .find(|m| m.name() == s)
            .ok_or_else(|| Error::UnknownMethod { name: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_index_matches_all() {
        for (i, m) in Method::ALL.iter().enumerate() {
            assert_eq!(m.index(), i);
            assert_eq!(m.name().parse::<Method>().unwrap(), *m);
        }
    }

    #[test]
    fn unknown_name_error_lists_valid_names() {
        let msg = "Magnitude".parse::<Method>().unwrap_err().to_string();
        assert!(msg.contains("\"Magnitude\""), "{msg}");
        assert!(
            msg.contains("magnitude, diff, highrank, lowrank, cdf, fence, ks"),
            "{msg}"
        );
        assert!(
            msg.contains("robust_z, level_shift, slow_shift, seasonal"),
            "{msg}"
        );
    }

    #[test]
    fn robust_names_round_trip_after_the_seven() {
        for (i, m) in Method::ROBUST.iter().enumerate() {
            assert_eq!(m.index(), 7 + i);
            assert!(m.is_robust() && !m.is_randomised());
            assert_eq!(m.name().parse::<Method>().unwrap(), *m);
        }
        assert!(Method::ALL.iter().all(|m| !m.is_robust()));
    }
}
