//! Detector options shared by `score` and `stream`: flags over an optional
//! TOML file, both in the library's serde field names, merged field by
//! field (see [`crate::conf_file`]).

use std::path::PathBuf;

use anomalyzer_ts::{AnomalyzerConf, AnomalyzerConfBuilder, Preset};
use anyhow::Result;

use anomalyzer_ts::ConfPatch;

use crate::conf_file;
use crate::exit::BadInput;

/// The detector's configuration as flags. Every flag is optional so that a
/// caller can tell what was given (`stream` stores the configuration on its
/// first run and refuses conflicting flags later).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Detector options")]
pub struct DetectorArgs {
    /// Starting configuration: `anomalyzer` (the Go library's defaults) or `robust`
    /// (robust tests, likelihood stage and alert shaping: far better on NAB;
    /// works from values alone) [default: anomalyzer]
    #[arg(long, value_name = "NAME", value_parser = parse_preset)]
    pub preset: Option<Preset>,
    /// Tests to run, comma-separated: magnitude, diff, highrank, lowrank, cdf, fence, ks,
    /// or robust ones: robust_z, level_shift, slow_shift, seasonal [default: magnitude,ks]
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    pub methods: Option<Vec<String>>,
    /// Active window size A (points judged together) [default: 1]
    #[arg(long, value_name = "N")]
    pub active_size: Option<usize>,
    /// Seasons in the reference window (R = n_seasons × A) [default: 4]
    #[arg(long, value_name = "N")]
    pub n_seasons: Option<usize>,
    /// Permutations per randomised test [default: 500]
    #[arg(long, value_name = "N")]
    pub perm_count: Option<usize>,
    /// Magnitude below this forces the score to 0; 0 disables [default: 0.1]
    #[arg(long, value_name = "X", value_parser = parse_float_flag)]
    pub sensitivity: Option<f64>,
    /// Fence upper bound (required by fence)
    #[arg(long, value_name = "X", allow_negative_numbers = true, value_parser = parse_float_flag)]
    pub upper_bound: Option<f64>,
    /// Fence lower bound (optional)
    #[arg(long, value_name = "X", allow_negative_numbers = true, value_parser = parse_float_flag)]
    pub lower_bound: Option<f64>,
    /// Score 0 until the window (A + R values) is full
    #[arg(long)]
    pub delay: bool,
    /// Seed of the permutations (same seed and input, same scores)
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Compute highrank/lowrank exactly instead of by permutations (small windows)
    #[arg(long)]
    pub exact_ranks: bool,
    /// TOML file with the same fields (methods, active_size, ...); the fields it sets replace the
    /// defaults (or, for an existing state directory, the stored ones), and flags override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl DetectorArgs {
    /// True when no detector option at all was given.
    pub fn is_empty(&self) -> bool {
        self.flags().is_empty() && self.config.is_none()
    }

    /// The flags that were given, as a patch.
    fn flags(&self) -> ConfPatch {
        ConfPatch {
            preset: self.preset,
            methods: self.methods.clone(),
            active_size: self.active_size,
            n_seasons: self.n_seasons,
            perm_count: self.perm_count,
            sensitivity: self.sensitivity,
            upper_bound: self.upper_bound,
            lower_bound: self.lower_bound,
            delay: self.delay.then_some(true),
            seed: self.seed,
            exact_ranks: self.exact_ranks.then_some(true),
            robust: None,
        }
    }

    /// The fields given: `--config`'s, with the flags over them.
    pub fn patch(&self) -> Result<ConfPatch> {
        let file = match &self.config {
            Some(path) => conf_file::read(path)?,
            None => ConfPatch::default(),
        };
        Ok(file.under(self.flags()))
    }

    /// The validated configuration of a new detector: the defaults (and
    /// `active_size` 1), the file's fields over them, the flags over those.
    pub fn conf(&self) -> Result<AnomalyzerConf> {
        let base = AnomalyzerConfBuilder {
            active_size: Some(1),
            ..AnomalyzerConfBuilder::default()
        };
        self.conf_over(base)
    }

    /// The validated configuration with the given fields over `base` (for
    /// an existing state directory, its stored configuration).
    pub fn conf_over(&self, base: AnomalyzerConfBuilder) -> Result<AnomalyzerConf> {
        let b = self.patch()?.apply(base);
        b.build()
            .map_err(|e| BadInput(format!("invalid detector options: {e}")).into())
    }
}

fn parse_preset(s: &str) -> Result<Preset, String> {
    s.parse().map_err(|e: anomalyzer_ts::Error| e.to_string())
}

/// Parses a float flag by the same rules as input values: finite, and a
/// non-zero literal never silently 0 or subnormal.
pub fn parse_float_flag(text: &str) -> Result<f64, String> {
    crate::input::parse_value(text.as_bytes()).map_err(|e| e.to_string())
}
