//! `anomalyzer inspect`: a state directory's status as JSON. Read-only: it
//! takes no lock and changes nothing, so it can run beside a writer (whose
//! record being written may then show as a torn tail).

use std::path::PathBuf;
use std::process::ExitCode;

use anomalyzer_store::Error as StoreError;
use anyhow::{Context, Result};

use crate::exit::{BadInput, SUCCESS};

/// Arguments of `anomalyzer inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// State directory written by `anomalyzer stream`
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Runs `anomalyzer inspect`.
pub fn run(args: InspectArgs) -> Result<ExitCode> {
    let status = match anomalyzer_store::inspect(&args.dir) {
        Ok(s) => s,
        Err(StoreError::NoState { .. }) => {
            return Err(BadInput(format!(
                "{} holds no detector state (no snapshot or log)",
                args.dir.display()
            ))
            .into())
        }
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", args.dir.display())),
    };
    let r = &status.report;
    let json = serde_json::json!({
        "format_version": status.format_version,
        "last_lsn": r.last_lsn,
        "snapshot_lsn": r.snapshot_lsn,
        "push_count": status.push_count,
        "window_len": status.window_len,
        "wal_bytes": r.wal_bytes,
        "wal_records_after_snapshot": r.replayed,
        "wal_records_in_snapshot": r.already_in_snapshot,
        "torn_tail_bytes": r.torn_tail_bytes,
        "conf": status.conf,
    });
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &json)?;
    use std::io::Write;
    writeln!(out)?;
    out.flush()?;
    Ok(ExitCode::from(SUCCESS))
}
