//! `anomalyzer score` (being built; replace this whole file).

use std::process::ExitCode;

/// Arguments of `anomalyzer score`.
#[derive(Debug, clap::Args)]
pub struct ScoreArgs {}

/// Runs `anomalyzer score`.
pub fn run(_args: ScoreArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`anomalyzer score` is not implemented yet")
}
