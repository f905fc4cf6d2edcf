//! `anomalyzer`: score files and streams for anomalies from the shell.
//!
//! Glue only: parsing, I/O and presentation over the `anomalyzer_ts` library
//! (`anomalyzer_store` for durable state, `anomalyzer_serve` for the HTTP
//! service). Each subcommand lives in its own module; errors map to the
//! exit codes in [`exit`].

mod conf_file;
mod corpus;
mod corpus_scoring;
mod detector_args;
mod diag;
mod echo;
mod evaluate;
mod evaluate_report;
mod exit;
mod float_text;
mod ingest;
mod input;
mod inspect;
mod nab_results;
mod output;
mod output_file;
mod plot;
mod progress;
mod score;
mod serve;
mod serve_flags;
mod stream;
mod summary;
mod timestamp;
mod tune;
mod tune_robust_space;
mod tune_space;
mod worker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Streaming, probabilistic anomaly detection for time series.
#[derive(Debug, Parser)]
#[command(name = "anomalyzer", version, about, after_help = exit::EXIT_CODES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Score a file or stdin (CSV, plain numbers or JSON lines); write CSV.
    #[command(after_help = exit::EXIT_CODES_HELP)]
    Score(score::ScoreArgs),
    /// Score values from stdin one per line, with crash-safe state in a directory.
    #[command(after_help = exit::EXIT_CODES_HELP)]
    Stream(stream::StreamArgs),
    /// Print a state directory's status as JSON (read-only).
    #[command(after_help = exit::EXIT_CODES_HELP)]
    Inspect(inspect::InspectArgs),
    /// Score a labelled corpus (NAB's layout) by NAB's rules: normalised score, threshold,
    /// windows found and missed, false positives, per profile.
    #[command(after_help = exit::EXIT_CODES_HELP)]
    Evaluate(evaluate::EvaluateArgs),
    /// Search detector settings for the best NAB score on a labelled corpus (random search with
    /// successive halving); print them and write them as TOML for --config.
    #[command(after_help = exit::EXIT_CODES_HELP)]
    Tune(tune::TuneArgs),
    /// Serve many series over HTTP (JSON push, Prometheus remote_write, /metrics),
    /// with durable state in a directory; runs until SIGTERM or SIGINT.
    #[command(after_help = exit::SERVE_EXIT_CODES_HELP)]
    Serve(serve::ServeArgs),
    /// Own partitions of a NATS JetStream cluster: score their points, publish the scores.
    #[command(after_help = exit::EXIT_CODES_HELP)]
    Worker(worker::WorkerArgs),
    /// The cluster's HTTP ingest node: validate pushes and remote_writes, publish them by partition.
    #[command(after_help = exit::EXIT_CODES_HELP)]
    Ingest(ingest::IngestArgs),
}

fn main() -> ExitCode {
    diag::reserve_standard_fds();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    let result = match cli.command {
        Command::Score(args) => score::run(args),
        Command::Stream(args) => stream::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Tune(args) => tune::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Worker(args) => worker::run(args),
        Command::Ingest(args) => ingest::run(args),
    };
    result.unwrap_or_else(|err| exit::report(&err))
}

/// Prints clap's help, version or usage error, naming stdout if the help
/// cannot be written (clap's own `exit` would ignore that), never panicking.
fn usage(e: &clap::Error) -> ExitCode {
    let printed = e.print();
    if !e.use_stderr() {
        if let Err(io) = printed {
            if io.kind() != std::io::ErrorKind::BrokenPipe {
                diag::line(&format!("anomalyzer: error: cannot write to stdout: {io}"));
                return ExitCode::from(exit::FAILURE);
            }
        }
    }
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(exit::BAD_INPUT))
}
