//! Application profiles: how much a detected window, a false positive and a
//! missed window weigh (NAB's `config/profiles.json`).

use crate::error::{Error, Result};

/// The weights of one application profile.
///
/// A detected window earns up to `tp_weight` (less the later it is
/// detected), a missed one costs `fn_weight`, a false positive costs up to
/// `fp_weight` (less when it falls just after a window).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Profile {
    /// The profile's name, as NAB spells it (`standard`, ...).
    pub name: String,
    /// Weight of a true positive (the earliest flagged row of a window).
    pub tp_weight: f64,
    /// Weight of a false positive (a flagged row outside every window).
    pub fp_weight: f64,
    /// Weight of a false negative (a window with no flagged row).
    pub fn_weight: f64,
}

impl Profile {
    /// A profile with the given weights, each checked to be finite.
    ///
    /// ```
    /// let p = anomalyzer_nab::Profile::new("pager", 1.0, 0.5, 1.0)?;
    /// assert_eq!(p.fp_weight, 0.5);
    /// assert!(anomalyzer_nab::Profile::new("bad", f64::NAN, 0.1, 1.0).is_err());
    /// # Ok::<(), anomalyzer_nab::Error>(())
    /// ```
    pub fn new(
        name: impl Into<String>,
        tp_weight: f64,
        fp_weight: f64,
        fn_weight: f64,
    ) -> Result<Self> {
        let profile = Profile {
            name: name.into(),
            tp_weight,
            fp_weight,
            fn_weight,
        };
        profile.validate()?;
        Ok(profile)
    }

    /// NAB's `standard` profile: tp 1, fp 0.11, fn 1.
    #[must_use]
    pub fn standard() -> Self {
        Self::known("standard", 0.11, 1.0)
    }

    /// NAB's `reward_low_FP_rate` profile: tp 1, fp 0.22, fn 1.
    #[must_use]
    pub fn reward_low_fp_rate() -> Self {
        Self::known("reward_low_FP_rate", 0.22, 1.0)
    }

    /// NAB's `reward_low_FN_rate` profile: tp 1, fp 0.11, fn 2.
    #[must_use]
    pub fn reward_low_fn_rate() -> Self {
        Self::known("reward_low_FN_rate", 0.11, 2.0)
    }

    /// NAB's three profiles, in the order NAB reports them.
    #[must_use]
    pub fn nab() -> [Profile; 3] {
        [
            Self::standard(),
            Self::reward_low_fp_rate(),
            Self::reward_low_fn_rate(),
        ]
    }

    /// One of NAB's profiles by its name, if it is one.
    #[must_use]
    pub fn by_name(name: &str) -> Option<Profile> {
        Self::nab().into_iter().find(|p| p.name == name)
    }

    /// Checks that every weight is finite.
    pub fn validate(&self) -> Result<()> {
        for (weight, value) in [
            ("tp_weight", self.tp_weight),
            ("fp_weight", self.fp_weight),
            ("fn_weight", self.fn_weight),
        ] {
            if !value.is_finite() {
                return Err(Error::InvalidProfile {
                    profile: self.name.clone(),
                    weight,
                    value,
                });
            }
        }
        Ok(())
    }

    fn known(name: &str, fp_weight: f64, fn_weight: f64) -> Self {
        Profile {
            name: name.to_owned(),
            tp_weight: 1.0,
            fp_weight,
            fn_weight,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nab_profiles_have_nabs_weights() {
        let [s, fp, fnr] = Profile::nab();
        assert_eq!(
            (s.name.as_str(), s.tp_weight, s.fp_weight, s.fn_weight),
            ("standard", 1.0, 0.11, 1.0)
        );
        assert_eq!(
            (fp.name.as_str(), fp.fp_weight, fp.fn_weight),
            ("reward_low_FP_rate", 0.22, 1.0)
        );
        assert_eq!(
            (fnr.name.as_str(), fnr.fp_weight, fnr.fn_weight),
            ("reward_low_FN_rate", 0.11, 2.0)
        );
    }

    #[test]
    fn by_name_finds_only_nab_names() {
        assert_eq!(
            Profile::by_name("reward_low_FN_rate"),
            Some(Profile::reward_low_fn_rate())
        );
        assert_eq!(Profile::by_name("Standard"), None);
    }

    #[test]
    fn non_finite_weights_are_refused() {
        let err = Profile::new("x", 1.0, f64::INFINITY, 1.0).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidProfile {
                    weight: "fp_weight",
                    ..
                }
            ),
            "{err}"
        );
    }
}
