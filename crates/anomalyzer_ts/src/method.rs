//! The seven statistical tests, by their Go names.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// One of the seven statistical tests of lytics/anomalyzer.
///
/// The names (`Display`, `FromStr`, serde) are the Go library's:
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
}

impl Method {
    /// All methods, in a fixed order (also their index order).
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

    /// The Go name of this method.
    #[must_use]
    pub const fn name(self) -> &'static str {
        Self::NAMES[self as usize]
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
    }
}
