//! `anomalyzer inspect` (being built; replace this whole file).

use std::process::ExitCode;

/// Arguments of `anomalyzer inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {}

/// Runs `anomalyzer inspect`.
pub fn run(_args: InspectArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`anomalyzer inspect` is not implemented yet")
}
