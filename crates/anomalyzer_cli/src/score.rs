//! `anomalyzer score`: read a series, score every point, write CSV.
//!
//! Streaming from input to output: one row in, one row out, so a file of any
//! length runs in constant memory (except with `--plot`, which keeps the
//! values and probabilities to draw them).

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anomalyzer_ts::Anomalyzer;
use anyhow::{Context, Result};

use crate::detector_args::DetectorArgs;
use crate::diag::eprint_line;
use crate::exit::BadInput;
use crate::input::parse_max_line_bytes;
use crate::input::{Format, InputOptions, RowError, Rows, DEFAULT_MAX_LINE_BYTES};
use crate::output::{Columns, CsvOutput, Row};
use crate::plot::{ImageFormat, PlotData};
use crate::progress::Progress;
use crate::summary::Summary;

/// How many skipped rows are described one by one before only counting.
const REPORTED_SKIPS: u64 = 5;

/// Arguments of `anomalyzer score`.
#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// Input file, or `-` for stdin
    #[arg(value_name = "INPUT", default_value = "-")]
    pub input: PathBuf,

    /// Input layout: auto decides from the first line (a number: plain; `{`: jsonl; else a CSV header)
    #[arg(long, value_enum, default_value_t = Format::Auto, value_name = "FORMAT")]
    pub format: Format,

    /// Value column (CSV) or key (JSON lines) [default: `value`, else the only numeric one]
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,

    /// Write the CSV here instead of stdout (created only when complete)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Add one column per configured method with that test's probability (empty: not applicable)
    #[arg(long)]
    pub explain: bool,

    /// Add an `anomaly` column (probability >= X) and print a summary of flagged ranges on stderr
    #[arg(long, value_name = "X", allow_negative_numbers = true, value_parser = crate::detector_args::parse_float_flag)]
    pub threshold: Option<f64>,

    /// Draw the series and its probability to FILE.svg or FILE.png (flagged ranges shaded)
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,

    /// What to do with a row that is not a finite number: stop with exit code 2, or skip it and
    /// report how many were skipped
    #[arg(long, value_enum, default_value_t = OnInvalid::Fail, value_name = "POLICY")]
    pub on_invalid: OnInvalid,

    /// The longest input line (or CSV row) accepted, in bytes; a longer one stops the run
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_LINE_BYTES, value_parser = parse_max_line_bytes)]
    pub max_line_bytes: usize,

    /// Detector configuration.
    #[command(flatten)]
    pub detector: DetectorArgs,
}

/// `--on-invalid`: the policy for bad rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnInvalid {
    /// Stop at the first bad row (exit code 2).
    Fail,
    /// Skip bad rows, warn about the first few and report the count.
    Skip,
}

/// Runs `anomalyzer score`.
pub fn run(args: ScoreArgs) -> Result<ExitCode> {
    // Refuse bad options before reading anything.
    if let Some(t) = args.threshold {
        if !(0.0..=1.0).contains(&t) {
            return Err(BadInput(format!("--threshold {t}: must be in [0, 1]")).into());
        }
    }
    if let Some(p) = &args.plot {
        ImageFormat::from_path(p)?;
    }
    let conf = args
        .detector
        .conf()
        .map_err(|e| BadInput(format!("{e:#}")))?;
    let explain = args.explain.then(|| conf.methods().to_vec());

    let (source, reader, len) = open(&args.input)?;
    let opts = InputOptions {
        format: args.format,
        column: args.column.clone(),
        max_line_bytes: args.max_line_bytes,
    };
    let mut rows = Rows::new(source.clone(), reader, &opts)?;
    let columns = Columns {
        timestamp: rows.has_timestamp(),
        explain: explain.clone().unwrap_or_default(),
        threshold: args.threshold,
    };
    let mut out = CsvOutput::create(args.output.as_deref(), columns)?;
    let mut detector = Anomalyzer::new(conf, &[])?;
    let mut summary = args.threshold.map(Summary::new);
    let mut plot = args.plot.as_ref().map(|_| PlotData {
        name: source.clone(),
        timestamps: rows.has_timestamp().then(Vec::new),
        ..PlotData::default()
    });
    let mut progress = Progress::new(len);
    let mut skipped = 0u64;

    while let Some(next) = rows.next_point() {
        let point = match next {
            Ok(p) => p,
            Err(RowError::Invalid(bad)) if args.on_invalid == OnInvalid::Skip => {
                skipped += 1;
                if skipped <= REPORTED_SKIPS {
                    progress.eprintln(&format!("anomalyzer: skipping {bad}"));
                }
                continue;
            }
            Err(RowError::Invalid(bad)) => {
                return Err(
                    BadInput(format!("{bad}\n(use --on-invalid skip to skip bad rows)")).into(),
                )
            }
            Err(RowError::Fatal(e)) => return Err(e),
        };
        // The reader only yields finite values, which the detector accepts.
        let (probability, explanation) = if explain.is_some() {
            let e = detector.push_explained(point.value)?;
            (e.probability, Some(e))
        } else {
            (detector.push(point.value)?, None)
        };
        out.write(&Row {
            timestamp: point.timestamp.as_deref(),
            value: point.value,
            probability,
            explanation: explanation.as_ref(),
        })?;
        if let Some(s) = &mut summary {
            s.observe(point.line, point.timestamp.as_deref(), probability);
        }
        if let Some(p) = &mut plot {
            p.values.push(point.value);
            p.probabilities.push(probability);
            if let Some(ts) = &mut p.timestamps {
                ts.push(point.timestamp.unwrap_or_default());
            }
        }
        progress.row(|| rows.position());
    }
    progress.finish();
    out.finish()?;

    if let (Some(path), Some(data)) = (&args.plot, &plot) {
        crate::plot::write(path, data, summary.as_ref())?;
    }
    if skipped > 0 {
        eprint_line!(
            "anomalyzer: skipped {skipped} invalid row{} of {source}",
            if skipped == 1 { "" } else { "s" }
        );
    }
    if let Some(s) = &summary {
        eprint_line!("anomalyzer: {s}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens the input: its display name, a buffered reader and (for a regular
/// file) its length in bytes.
fn open(input: &Path) -> Result<(String, Box<dyn BufRead>, Option<u64>)> {
    if input == Path::new("-") {
        let reader: Box<dyn BufRead> = Box::new(BufReader::with_capacity(64 * 1024, io::stdin()));
        return Ok(("<stdin>".to_owned(), reader, None));
    }
    let name = input.display().to_string();
    let file = File::open(input).with_context(|| format!("cannot open {name}"))?;
    let len = file
        .metadata()
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len());
    Ok((
        name,
        Box::new(BufReader::with_capacity(64 * 1024, file)),
        len,
    ))
}
