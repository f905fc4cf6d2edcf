//! A partial detector configuration: the fields a configuration file (or
//! a set of command-line flags) sets, applied field by field over what
//! lies beneath (the defaults for a new detector, the stored configuration
//! of an existing one). The command line's `--config` and the service's
//! `[default]` / `[[series]]` blocks share it, so both take every field.

use crate::{AnomalyzerConfBuilder, Preset, RobustParams};

/// Detector fields, each either set or left to what lies beneath. Field
/// names and types are those of [`AnomalyzerConfBuilder`]'s serde form.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct ConfPatch {
    /// Test names.
    pub methods: Option<Vec<String>>,
    /// `A`.
    pub active_size: Option<usize>,
    /// Seasons in the reference window.
    pub n_seasons: Option<usize>,
    /// Permutations per randomised test.
    pub perm_count: Option<usize>,
    /// Magnitude gate.
    pub sensitivity: Option<f64>,
    /// Fence upper bound.
    pub upper_bound: Option<f64>,
    /// Fence lower bound.
    pub lower_bound: Option<f64>,
    /// Score 0 until the window is full.
    pub delay: Option<bool>,
    /// Permutation seed.
    pub seed: Option<u64>,
    /// Exact highrank/lowrank.
    pub exact_ranks: Option<bool>,
    /// Named starting point (`anomalyzer`, `robust`).
    pub preset: Option<Preset>,
    /// The `[robust]` table, replaced whole (its unset keys take their
    /// defaults).
    pub robust: Option<RobustParams>,
}

impl ConfPatch {
    /// True when the patch sets nothing.
    pub fn is_empty(&self) -> bool {
        *self == ConfPatch::default()
    }

    /// `top`'s fields where it sets them, else `self`'s.
    #[must_use]
    pub fn under(self, top: ConfPatch) -> ConfPatch {
        ConfPatch {
            methods: top.methods.or(self.methods),
            active_size: top.active_size.or(self.active_size),
            n_seasons: top.n_seasons.or(self.n_seasons),
            perm_count: top.perm_count.or(self.perm_count),
            sensitivity: top.sensitivity.or(self.sensitivity),
            upper_bound: top.upper_bound.or(self.upper_bound),
            lower_bound: top.lower_bound.or(self.lower_bound),
            delay: top.delay.or(self.delay),
            seed: top.seed.or(self.seed),
            exact_ranks: top.exact_ranks.or(self.exact_ranks),
            preset: top.preset.or(self.preset),
            robust: top.robust.or(self.robust),
        }
    }

    /// `base` with the fields this patch sets replaced.
    pub fn apply(&self, mut base: AnomalyzerConfBuilder) -> AnomalyzerConfBuilder {
        if let Some(m) = &self.methods {
            base.methods = Some(m.iter().map(|s| s.trim().to_owned()).collect());
        }
        if let Some(v) = self.active_size {
            base.active_size = Some(v);
        }
        if let Some(v) = self.n_seasons {
            base.n_seasons = v;
        }
        if let Some(v) = self.perm_count {
            base.perm_count = v;
        }
        if let Some(v) = self.sensitivity {
            base.sensitivity = v;
        }
        if let Some(v) = self.upper_bound {
            base.upper_bound = Some(v);
        }
        if let Some(v) = self.lower_bound {
            base.lower_bound = Some(v);
        }
        if let Some(v) = self.delay {
            base.delay = v;
        }
        if let Some(v) = self.seed {
            base.seed = v;
        }
        if let Some(v) = self.exact_ranks {
            base.exact_ranks = v;
        }
        if let Some(v) = self.preset {
            base.preset = Some(v);
        }
        if let Some(v) = self.robust {
            base.robust = v;
        }
        base
    }
}
