//! `anomalyzer stream` (being built; replace this whole file).

use std::process::ExitCode;

/// Arguments of `anomalyzer stream`.
#[derive(Debug, clap::Args)]
pub struct StreamArgs {}

/// Runs `anomalyzer stream`.
pub fn run(_args: StreamArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`anomalyzer stream` is not implemented yet")
}
