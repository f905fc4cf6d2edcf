//! Detector options shared by `score` and `stream`: flags over an optional
//! TOML file, both in the library's serde field names.

use std::path::{Path, PathBuf};

use anomalyzer_ts::{AnomalyzerConf, AnomalyzerConfBuilder, Preset};
use anyhow::{Context, Result};

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
    #[arg(long, value_name = "X")]
    pub sensitivity: Option<f64>,
    /// Fence upper bound (required by fence)
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub upper_bound: Option<f64>,
    /// Fence lower bound (optional)
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
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
    /// TOML file with the same fields (methods, active_size, ...); flags override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl DetectorArgs {
    /// True when no detector option at all was given.
    pub fn is_empty(&self) -> bool {
        self.overlay(AnomalyzerConfBuilder::default()) == AnomalyzerConfBuilder::default()
            && self.config.is_none()
    }

    /// Applies the flags that were given on top of `base`.
    pub fn overlay(&self, mut b: AnomalyzerConfBuilder) -> AnomalyzerConfBuilder {
        if let Some(p) = self.preset {
            b.preset = Some(p);
        }
        if let Some(m) = &self.methods {
            b.methods = Some(m.iter().map(|s| s.trim().to_owned()).collect());
        }
        if let Some(v) = self.active_size {
            b.active_size = Some(v);
        }
        if let Some(v) = self.n_seasons {
            b.n_seasons = v;
        }
        if let Some(v) = self.perm_count {
            b.perm_count = v;
        }
        if let Some(v) = self.sensitivity {
            b.sensitivity = v;
        }
        if let Some(v) = self.upper_bound {
            b.upper_bound = Some(v);
        }
        if let Some(v) = self.lower_bound {
            b.lower_bound = Some(v);
        }
        if self.delay {
            b.delay = true;
        }
        if let Some(v) = self.seed {
            b.seed = v;
        }
        if self.exact_ranks {
            b.exact_ranks = true;
        }
        b
    }

    /// The builder from `--config` (if any) with the flags on top; an
    /// absent `active_size` defaults to 1 on the command line.
    pub fn builder(&self) -> Result<AnomalyzerConfBuilder> {
        let mut base = match &self.config {
            Some(path) => read_config(path)?,
            None => AnomalyzerConfBuilder::default(),
        };
        if base.active_size.is_none() && self.active_size.is_none() {
            base.active_size = Some(1);
        }
        Ok(self.overlay(base))
    }

    /// The validated configuration.
    pub fn conf(&self) -> Result<AnomalyzerConf> {
        let b = self.builder()?;
        b.build().context("invalid detector options")
    }
}

fn parse_preset(s: &str) -> Result<Preset, String> {
    s.parse().map_err(|e: anomalyzer_ts::Error| e.to_string())
}

/// Reads a TOML configuration file in the library's serde form.
pub fn read_config(path: &Path) -> Result<AnomalyzerConfBuilder> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}
