//! The command line: one subcommand per mode, checked into a run plan.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};

use crate::body::Format;
use crate::error::{Error, Result};
use crate::pacing::Stop;
use crate::target::Target;
use crate::workload::Shape;

/// Load generator for `anomalyzer serve`.
#[derive(Debug, Parser)]
#[command(name = "anomalyzer-loadgen", version, about)]
pub struct Cli {
    /// What to send.
    #[command(subcommand)]
    pub mode: Mode,
}

/// The modes.
#[derive(Debug, Subcommand)]
pub enum Mode {
    /// JSON lines batches to POST /api/v1/push.
    Json(LoadArgs),
    /// Prometheus remote_write (snappy protobuf) to POST /api/v1/write.
    RemoteWrite(LoadArgs),
    /// Creates --series series with exactly one point each, then stops.
    Prefill(PrefillArgs),
    /// Polls GET /readyz until it is 200 and prints how long that took.
    WaitReady(WaitArgs),
}

/// Where to send and how to report.
#[derive(Debug, Args)]
pub struct Common {
    /// The server's base address.
    #[arg(long, default_value = "http://127.0.0.1:9464")]
    pub url: String,
    /// File holding the bearer token (as given to the server's
    /// --auth-token-file).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Shared by the sending modes.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Points per request.
    #[arg(long, default_value_t = 1000)]
    pub batch: u64,
    /// Connections, each sending one request at a time over its own series.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u64,
    /// Seed of the values.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Timestamp of the first point of every series, in Unix milliseconds
    /// (later points step 1 ms). Default: now, so a new run follows the
    /// last one's points instead of being rejected as out of order.
    #[arg(long, value_name = "MS")]
    pub start_ms: Option<i64>,
    /// Client threads (the server shares the machine: keep this small).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Seconds before a request without an answer counts as a timeout.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Also report this process's resident set size after the run (the
    /// server's pid; Linux /proc).
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
}

/// `json` and `remote-write`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub send: SendArgs,
    /// Series the points spread over.
    #[arg(long, default_value_t = 100_000)]
    pub series: u64,
    /// Seconds to send for (default 10 unless --requests is given).
    #[arg(long, value_name = "SECONDS", conflicts_with = "requests")]
    pub duration: Option<f64>,
    /// Requests to send in all, instead of --duration.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Points per second, paced open-loop: latency then counts from when
    /// each request was due. Default: as fast as answers come back.
    #[arg(long, value_name = "POINTS_PER_SECOND")]
    pub rate: Option<f64>,
}

/// `prefill`.
#[derive(Debug, Args)]
pub struct PrefillArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub send: SendArgs,
    /// Series to create.
    #[arg(long)]
    pub series: u64,
    /// How the points are sent.
    #[arg(long, value_enum, default_value_t = Format::RemoteWrite)]
    pub format: Format,
}

/// `wait-ready`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
    /// Seconds to wait before giving up.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub within: f64,
}

/// A checked sending run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `json`, `remote-write` or `prefill`.
    pub mode: &'static str,
    /// Where.
    pub target: Target,
    /// How.
    pub format: Format,
    /// Series, batch, connections, timestamps, seed.
    pub shape: Shape,
    /// `--rate`.
    pub rate: Option<f64>,
    /// When to stop.
    pub stop: Stop,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Client threads.
    pub threads: usize,
    /// `--server-pid`.
    pub server_pid: Option<u32>,
    /// `--json`.
    pub json: bool,
}

impl LoadArgs {
    /// The plan of a `json` or `remote-write` run.
    pub fn plan(&self, mode: &'static str, format: Format) -> Result<Plan> {
        let stop = match (self.duration, self.requests) {
            (_, Some(0)) => return invalid("--requests must be at least 1".into()),
            (_, Some(n)) => Stop::Requests(n),
            (Some(d), None) => Stop::After(seconds("--duration", d)?),
            (None, None) => Stop::After(Duration::from_secs(10)),
        };
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return invalid(format!(
                    "--rate {rate} must be a positive number of points/s"
                ));
            }
        }
        plan(
            mode,
            &self.common,
            &self.send,
            self.series,
            format,
            self.rate,
            stop,
        )
    }
}

impl PrefillArgs {
    /// The plan of a `prefill` run.
    pub fn plan(&self) -> Result<Plan> {
        plan(
            "prefill",
            &self.common,
            &self.send,
            self.series,
            self.format,
            None,
            Stop::OneRound,
        )
    }
}

fn plan(
    mode: &'static str,
    common: &Common,
    send: &SendArgs,
    series: u64,
    format: Format,
    rate: Option<f64>,
    stop: Stop,
) -> Result<Plan> {
    if send.threads == 0 {
        return invalid("--threads must be at least 1".into());
    }
    let start_ms = match send.start_ms {
        Some(ms) => ms,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .map_err(|e| Error::InvalidArguments(format!("the clock is before 1970: {e}")))?,
    };
    let mut connections = send.concurrency;
    if stop == Stop::OneRound {
        // One round has nothing to keep in order: extra connections would
        // only idle, so there are at most as many as requests.
        connections = connections.min(series.div_ceil(send.batch.max(1)));
    }
    let shape = Shape {
        series,
        batch: send.batch,
        connections,
        start_ms,
        seed: send.seed,
    };
    shape.check()?;
    Ok(Plan {
        mode,
        target: Target::new(&common.url, common.token_file.as_deref())?,
        format,
        shape,
        rate,
        stop,
        timeout: seconds("--timeout", send.timeout)?,
        threads: send.threads,
        server_pid: send.server_pid,
        json: common.json,
    })
}

/// A positive, finite number of seconds.
pub fn seconds(flag: &str, value: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Error::InvalidArguments(format!(
                "{flag} {value} must be a positive number of seconds"
            ))
        })
}

fn invalid<T>(message: String) -> Result<T> {
    Err(Error::InvalidArguments(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> std::result::Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("anomalyzer-loadgen").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_are_the_issues_shape() {
        let Mode::Json(load) = parse(&["json"]).unwrap().mode else {
            panic!("json mode");
        };
        let plan = load.plan("json", Format::Json).unwrap();
        assert_eq!(plan.shape.batch, 1000);
        assert_eq!(plan.shape.series, 100_000);
        assert_eq!(plan.stop, Stop::After(Duration::from_secs(10)));
        assert_eq!(plan.target.base, "http://127.0.0.1:9464");
        assert!(plan.rate.is_none());
    }

    #[test]
    fn bad_flags_are_refused_with_the_flag_named() {
        for (args, says) in [
            (&["json", "--rate", "0"][..], "--rate 0"),
            (&["json", "--duration=-1"][..], "--duration -1"),
            (&["json", "--requests", "0"][..], "--requests"),
            (&["json", "--timeout", "0"][..], "--timeout 0"),
            (&["remote-write", "--threads", "0"][..], "--threads"),
            (
                &["json", "--series", "10", "--batch", "5"][..],
                "--concurrency 8",
            ),
        ] {
            let cli = parse(args).unwrap();
            let err = match cli.mode {
                Mode::Json(l) => l.plan("json", Format::Json).unwrap_err(),
                Mode::RemoteWrite(l) => l.plan("remote-write", Format::RemoteWrite).unwrap_err(),
                _ => unreachable!(),
            };
            assert!(err.to_string().contains(says), "{args:?}: {err}");
        }
        assert!(parse(&["json", "--duration", "1", "--requests", "2"]).is_err());
        assert!(parse(&["prefill"]).is_err(), "prefill needs --series");
    }

    #[test]
    fn prefill_sends_one_round() {
        let Mode::Prefill(p) = parse(&["prefill", "--series", "5000", "--start-ms", "7"])
            .unwrap()
            .mode
        else {
            panic!("prefill mode");
        };
        let plan = p.plan().unwrap();
        assert_eq!(plan.stop, Stop::OneRound);
        assert_eq!(plan.format, Format::RemoteWrite);
        assert_eq!(plan.shape.start_ms, 7);
        assert_eq!(plan.shape.connections, 5, "at most one per request");
    }
}
