//! `anomalyzer inspect`: a state directory's status as JSON. Read-only: it
//! takes no lock and changes nothing, so it can run beside a writer. A
//! record the writer is still writing is not damage: it is reported as
//! `ignored_tail_bytes` with `"writer_active": true`.

use std::path::PathBuf;
use std::process::ExitCode;

use anomalyzer_store::Error as StoreError;
use anyhow::{Context, Result};

use crate::exit::{BadInput, SUCCESS};
use crate::stream::store_error;

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
        Err(e) => {
            return Err(store_error(e))
                .with_context(|| format!("cannot inspect {}", args.dir.display()))
        }
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
        "writer_active": status.writer_active,
        "writer": status.writer,
        "ignored_tail_bytes": r.ignored_tail_bytes,
        "last_compaction_error": status.last_compaction_error,
        "directory_id": r.directory_id,
        "wal_generation": r.wal_generation,
        "conf": status.conf,
    });
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &json)?;
    use std::io::Write;
    writeln!(out)?;
    out.flush()?;
    Ok(ExitCode::from(SUCCESS))
}
