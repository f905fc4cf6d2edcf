//! `anomalyzer evaluate`: score a labelled corpus (NAB's layout) with the
//! detector, or judge another detector's scores (`--scores-from`), by NAB's
//! rules under NAB's three profiles.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anomalyzer_nab::{Corpus, LabelledFile, Profile, ProfileResult, ThresholdChoice};
use anyhow::{Context, Result};

use crate::corpus::{read_corpus, SeriesFile};
use crate::corpus_scoring::{default_jobs, score_series, PointsBar};
use crate::detector_args::DetectorArgs;
use crate::evaluate_report::{print_report, write_json, Report};
use crate::exit::BadInput;
use crate::nab_results::{read_scores, write_scores};

/// Arguments of `anomalyzer evaluate`.
#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// Corpus directory in NAB's layout: data/**/*.csv (timestamp,value) and labels/combined_windows.json
    #[arg(value_name = "CORPUS")]
    pub corpus: PathBuf,

    /// Labels file (NAB's combined_windows.json format) [default: CORPUS/labels/combined_windows.json]
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,

    /// Judge another detector's scores instead: DIR/CATEGORY/NAME.csv or DIR/CATEGORY/DETECTOR_NAME.csv
    /// with columns timestamp,...,anomaly_score (NAB's results layout)
    #[arg(long, value_name = "DIR")]
    pub scores_from: Option<PathBuf>,

    /// Write every file's scores in NAB's results layout: DIR/CATEGORY/anomalyzer_NAME.csv
    /// (timestamp,value,anomaly_score,label)
    #[arg(long, value_name = "DIR")]
    pub write_scores: Option<PathBuf>,

    /// Add a table per profile with one row per file
    #[arg(long)]
    pub per_file: bool,

    /// Also write the results as JSON to FILE
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Score at this fixed threshold (a row is flagged when its score >= X) instead of each
    /// profile's optimal one
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub threshold: Option<f64>,

    /// Files scored in parallel [default: the number of cores]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Detector configuration (ignored with --scores-from, which refuses it).
    #[command(flatten)]
    pub detector: DetectorArgs,
}

/// Where the scores come from.
enum Source {
    /// `--scores-from DIR`: another detector's output.
    ScoresFrom(PathBuf),
    /// Our detector with this configuration.
    Detector(anomalyzer_ts::AnomalyzerConf),
}

/// Runs `anomalyzer evaluate`.
pub fn run(args: EvaluateArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let choice = threshold_choice(args.threshold)?;
    let jobs = jobs(args.jobs)?;
    let source =
        match &args.scores_from {
            Some(_) if !args.detector.is_empty() => return Err(BadInput(
                "--scores-from judges scores already computed: give no detector options with it"
                    .to_owned(),
            )
            .into()),
            Some(dir) => Source::ScoresFrom(dir.clone()),
            None => Source::Detector(
                args.detector
                    .conf()
                    .map_err(|e| BadInput(format!("{e:#}")))?,
            ),
        };
    let corpus = read_corpus(&args.corpus, args.labels.as_deref(), &mut |w| {
        crate::diag::eprint_line!("{w}")
    })?;
    let scores = match &source {
        Source::ScoresFrom(dir) => corpus
            .files
            .iter()
            .map(|f| read_scores(dir, f, &corpus))
            .collect::<Result<Vec<_>>>()?,
        Source::Detector(conf) => {
            let bar = PointsBar::new(corpus.points() as u64, "evaluating");
            let series: Vec<&[f64]> = corpus.files.iter().map(|f| f.values.as_slice()).collect();
            let scores = score_series(&series, conf, jobs, &bar)?;
            bar.finish();
            scores
        }
    };
    if let Some(dir) = &args.write_scores {
        for (file, s) in corpus.files.iter().zip(&scores) {
            write_scores(dir, file, s)?;
        }
    }
    let files: Vec<&SeriesFile> = corpus.files.iter().collect();
    let judged = judge(&files, scores)?;
    let profiles = evaluate_profiles(&judged, choice)?;
    let report = Report {
        corpus: &corpus,
        profiles: &profiles,
        detector: match &source {
            Source::Detector(conf) => Some(conf),
            Source::ScoresFrom(_) => None,
        },
        scores_from: args.scores_from.as_deref(),
        seconds: started.elapsed().as_secs_f64(),
    };
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    print_report(&report, args.per_file)?;
    Ok(ExitCode::SUCCESS)
}

/// `--threshold` checked: a finite number, or the optimum.
pub fn threshold_choice(threshold: Option<f64>) -> Result<ThresholdChoice> {
    match threshold {
        Some(t) if !t.is_finite() => {
            Err(BadInput(format!("--threshold {t}: must be a finite number")).into())
        }
        Some(t) => Ok(ThresholdChoice::Fixed(t)),
        None => Ok(ThresholdChoice::Optimal),
    }
}

/// `--jobs` checked: at least 1, default the cores.
pub fn jobs(jobs: Option<usize>) -> Result<usize> {
    match jobs {
        Some(0) => Err(BadInput("--jobs 0: must be at least 1".to_owned()).into()),
        Some(n) => Ok(n),
        None => Ok(default_jobs()),
    }
}

/// The scorer's corpus for these files and their scores.
pub fn judge(files: &[&SeriesFile], scores: Vec<Vec<f64>>) -> Result<Corpus> {
    let labelled = files
        .iter()
        .zip(scores)
        .map(|(f, s)| {
            LabelledFile::new(s, f.windows.clone())
                .with_context(|| format!("{}: cannot be scored", f.path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Corpus::new(labelled))
}

/// NAB's three profiles scored on `corpus`.
pub fn evaluate_profiles(corpus: &Corpus, choice: ThresholdChoice) -> Result<Vec<ProfileResult>> {
    Profile::nab()
        .iter()
        .map(|p| {
            corpus
                .evaluate(p, choice)
                .map_err(|e| BadInput(format!("profile {}: {e}", p.name)).into())
        })
        .collect()
}
