//! `anomalyzer-loadgen`: drives `anomalyzer serve` with JSON push or
//! remote_write batches at a fixed or unbounded rate and reports
//! throughput, answers by status and latency percentiles; `prefill`
//! creates many idle series, `wait-ready` times a restart. The procedure
//! that uses it for issue 12's figures is in BENCHMARKS.md.
//!
//! Exit status: 0 when every request succeeded, 1 when some failed (the
//! report says which), 2 when the run could not start.
#![forbid(unsafe_code)]

mod args;
mod body;
mod connection;
mod error;
mod pacing;
mod proc_stats;
mod ready;
mod report;
mod run;
mod tally;
mod target;
mod workload;

use std::process::ExitCode;

use clap::Parser;
use tokio::time::Instant;

use crate::args::{seconds, Cli, Mode, Plan};
use crate::body::Format;
use crate::error::{Error, Result};
use crate::pacing::Schedule;
use crate::report::{Report, RunInfo};
use crate::run::Load;
use crate::target::Target;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.mode) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("anomalyzer-loadgen: {e}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(mode: Mode) -> Result<ExitCode> {
    match mode {
        Mode::Json(load) => send(load.plan("json", Format::Json)?),
        Mode::RemoteWrite(load) => send(load.plan("remote-write", Format::RemoteWrite)?),
        Mode::Prefill(prefill) => send(prefill.plan()?),
        Mode::WaitReady(wait) => {
            let target = Target::new(&wait.common.url, wait.common.token_file.as_deref())?;
            let within = seconds("--within", wait.within)?;
            let ready = runtime(1)?.block_on(ready::wait_ready(target, within))?;
            if wait.common.json {
                // A struct of two numbers always serializes.
                println!("{}", serde_json::to_string(&ready).expect("serializes"));
            } else {
                println!(
                    "ready after {:.3} s ({} polls)",
                    ready.ready_after_seconds, ready.polls
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs a sending plan and prints its report.
fn send(plan: Plan) -> Result<ExitCode> {
    let info = RunInfo {
        mode: plan.mode,
        format: plan.format,
        url: plan.target.base.clone(),
        series: plan.shape.series,
        batch: plan.shape.batch,
        concurrency: plan.shape.connections,
        rate: plan.rate,
    };
    let me = std::process::id();
    let cpu_before = (
        proc_stats::cpu_seconds(me)?,
        plan.server_pid.map(proc_stats::cpu_seconds).transpose()?,
    );
    let (tally, elapsed) = runtime(plan.threads)?.block_on(async {
        let load = Load {
            target: plan.target.clone(),
            format: plan.format,
            shape: plan.shape,
            schedule: Schedule::new(Instant::now(), plan.rate, plan.shape.batch, plan.stop),
            timeout: plan.timeout,
        };
        run::run(load).await
    });
    let mut report = Report::new(info, &tally, elapsed);
    report.client_cpu_seconds = proc_stats::cpu_seconds(me)? - cpu_before.0;
    if let (Some(pid), Some(before)) = (plan.server_pid, cpu_before.1) {
        report.server_cpu_seconds = Some(proc_stats::cpu_seconds(pid)? - before);
        report.server_rss_bytes = Some(proc_stats::resident_bytes(pid)?);
    }
    if plan.json {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
    }
    Ok(if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}
