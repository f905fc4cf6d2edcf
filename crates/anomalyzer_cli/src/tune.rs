//! `anomalyzer tune`: search detector settings for the best NAB score of one
//! profile on a labelled corpus.
//!
//! Strategy: random search with successive halving (Jamieson & Talwalkar,
//! 2016; the inner loop of Hyperband). `--budget N` draws N configurations
//! from the search space (seeded, so a seed always gives the same run),
//! scores them all on a ninth of the search files, keeps the best third on a
//! third of the files, and the best third of those on all of them. File
//! subsets are stratified by category folder and nested. `--time` runs
//! brackets of 27 configurations until the time is up (how many finish
//! depends on the machine, so only `--budget` is reproducible). The space
//! spans both presets (`tune_space`): a draw is a Go configuration or a
//! robust one, never a mix.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anomalyzer_nab::{Profile, ThresholdChoice};
use anomalyzer_ts::AnomalyzerConf;
use anyhow::{Context, Result};
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::conf_file;
use crate::corpus::{read_corpus, SeriesFile};
use crate::corpus_scoring::{score_series, PointsBar};
use crate::evaluate::{evaluate_profiles, jobs, judge};
use crate::evaluate_report::describe;
use crate::exit::BadInput;
use crate::tune_space::{index, Space};

/// Kept at each rung: the best `1 / ETA`.
const ETA: usize = 3;
/// Fractions of the search files at the rungs.
const RUNG_FRACTIONS: [f64; 3] = [1.0 / 9.0, 1.0 / 3.0, 1.0];
/// Configurations per bracket with `--time`.
const TIME_BRACKET: usize = 27;
/// Configurations with neither `--budget` nor `--time`.
const DEFAULT_BUDGET: usize = 60;
/// Lines of the leaderboard printed after each rung.
const LEADERBOARD: usize = 5;

/// Arguments of `anomalyzer tune`.
#[derive(Debug, clap::Args)]
pub struct TuneArgs {
    /// Corpus directory in NAB's layout (as for `evaluate`)
    #[arg(value_name = "CORPUS")]
    pub corpus: PathBuf,

    /// Labels file [default: CORPUS/labels/combined_windows.json]
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,

    /// Profile whose normalised score is maximised: standard, reward_low_FP_rate, reward_low_FN_rate
    #[arg(long, value_name = "P", default_value = "standard")]
    pub profile: String,

    /// Configurations to try (random search with successive halving) [default: 60]
    #[arg(long, value_name = "N", conflicts_with = "time")]
    pub budget: Option<usize>,

    /// Search until this much time has passed, e.g. 90s, 10m, 1h (not reproducible)
    #[arg(long, value_name = "DURATION")]
    pub time: Option<String>,

    /// Search space (TOML): replaces the default's settings it names. Each draw picks a `preset`
    /// (default both: anomalyzer, robust); anomalyzer draws the Go keys (methods, active_size,
    /// n_seasons, sensitivity, perm_count, upper_bound, lower_bound, delay, exact_ranks), robust
    /// draws the `[robust]` table's keys (methods of robust tests, reference, shift_span,
    /// slow_span, slow_reference, period, period_seasons, period_slack, likelihood_history,
    /// warmup, alert_hold, alert_rise). A key is a list of choices or { min = .., max = .. }.
    /// Defaults: docs/evaluation.md
    #[arg(long, value_name = "FILE")]
    pub space: Option<PathBuf>,

    /// Seed of the search (configurations drawn, file subsets, holdout)
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,

    /// Write the best settings here as TOML (for --config)
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Keep this fraction of the files (per category folder, chosen by seed) out of the search
    /// and report the best settings' score on them
    #[arg(long, value_name = "F")]
    pub holdout: Option<f64>,

    /// Files scored in parallel [default: the number of cores]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Base configuration (TOML, as for --config): settings the space leaves alone keep these
    /// values. (The detector flags are not taken here: `--seed` is the search's seed.)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// One configuration's result at one rung.
#[derive(Debug, Clone)]
struct Trial {
    id: usize,
    conf: AnomalyzerConf,
    score: f64,
}

/// Runs `anomalyzer tune`.
pub fn run(args: TuneArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let profile = Profile::by_name(&args.profile).ok_or_else(|| {
        BadInput(format!(
            "--profile {:?}: must be one of standard, reward_low_FP_rate, reward_low_FN_rate",
            args.profile
        ))
    })?;
    let jobs = jobs(args.jobs)?;
    let deadline = args.time.as_deref().map(parse_duration).transpose()?;
    let budget = match args.budget {
        Some(0) => return Err(BadInput("--budget 0: must be at least 1".to_owned()).into()),
        Some(n) => n,
        None => DEFAULT_BUDGET,
    };
    if let Some(f) = args.holdout {
        if !(0.0..1.0).contains(&f) {
            return Err(BadInput(format!("--holdout {f}: must be in [0, 1)")).into());
        }
    }
    let space = match &args.space {
        Some(path) => Space::from_file(path)?,
        None => Space::default_space(),
    };
    let mut base = match &args.config {
        Some(path) => conf_file::read(path)?.apply(anomalyzer_ts::AnomalyzerConfBuilder::default()),
        None => anomalyzer_ts::AnomalyzerConfBuilder::default(),
    };
    base.active_size.get_or_insert(1);
    let corpus = read_corpus(&args.corpus, args.labels.as_deref(), &mut |w| {
        crate::diag::eprint_line!("{w}")
    })?;

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let files: Vec<&SeriesFile> = corpus.files.iter().collect();
    let (search, holdout) = split_holdout(&files, args.holdout.unwrap_or(0.0), &mut rng);
    if !search.iter().any(|f| !f.windows.is_empty()) {
        return Err(BadInput(
            "no labelled window in the files searched on: nothing to tune for".to_owned(),
        )
        .into());
    }
    let rungs = rung_subsets(&search, &mut rng);
    let ctx = Context_ {
        profile: &profile,
        jobs,
        rungs: &rungs,
    };

    let mut finals: Vec<Trial> = Vec::new();
    let mut unfinished: Vec<Trial> = Vec::new();
    let mut seen: Vec<AnomalyzerConf> = Vec::new();
    let mut next_id = 0;
    loop {
        let n = if deadline.is_some() {
            TIME_BRACKET
        } else {
            budget
        };
        let mut candidates = Vec::with_capacity(n);
        for _ in 0..n {
            let conf = draw_new(&space, &base, &mut rng, &seen)?;
            seen.push(conf.clone());
            candidates.push((next_id, conf));
            next_id += 1;
        }
        let out_of_time = || deadline.is_some_and(|d| started.elapsed() >= d);
        match bracket(&ctx, candidates, &out_of_time)? {
            BracketEnd::Complete(mut trials) => finals.append(&mut trials),
            BracketEnd::OutOfTime(trials) => {
                unfinished = trials;
                break;
            }
        }
        if deadline.is_none() || out_of_time() {
            break;
        }
    }
    if finals.is_empty() && !unfinished.is_empty() {
        // No bracket finished in time: the best of the last complete rung,
        // judged on fewer files, is still better than nothing.
        crate::diag::eprint_line!("anomalyzer: --time ran out before any configuration was scored on all search files; reporting the best of the last complete rung");
        finals = unfinished;
    }
    finals.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    let Some(best) = finals.first() else {
        return Err(BadInput(
            "--time ran out before the first rung was complete; give more time".to_owned(),
        )
        .into());
    };
    report(
        &best.conf, &search, &holdout, &args, &profile, jobs, started,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// What every rung needs.
struct Context_<'a> {
    profile: &'a Profile,
    jobs: usize,
    rungs: &'a [Vec<&'a SeriesFile>],
}

/// How a bracket ended.
enum BracketEnd {
    /// Every rung ran: the last rung's trials, best first.
    Complete(Vec<Trial>),
    /// Time ran out: the last rung that did complete (best first), if any.
    OutOfTime(Vec<Trial>),
}

/// One bracket of successive halving.
fn bracket(
    ctx: &Context_<'_>,
    candidates: Vec<(usize, AnomalyzerConf)>,
    out_of_time: &dyn Fn() -> bool,
) -> Result<BracketEnd> {
    let mut alive = candidates;
    let mut previous: Option<(usize, Vec<Trial>)> = None;
    for (r, files) in ctx.rungs.iter().enumerate() {
        let last = r + 1 == ctx.rungs.len();
        let mut trials = Vec::with_capacity(alive.len());
        let reuse = previous.as_ref().filter(|(n, _)| *n == files.len());
        if let Some((_, prev)) = reuse {
            // Same files as the rung before (a small corpus): same scores.
            trials = prev
                .iter()
                .filter(|t| alive.iter().any(|(id, _)| *id == t.id))
                .cloned()
                .collect();
        } else {
            let points: usize = files.iter().map(|f| f.values.len()).sum();
            let bar = PointsBar::new(
                (points * alive.len()) as u64,
                &format!("tune rung {}/{}", r + 1, ctx.rungs.len()),
            );
            for (id, conf) in &alive {
                if out_of_time() {
                    let done = previous.map(|(_, t)| t).unwrap_or_default();
                    return Ok(BracketEnd::OutOfTime(done));
                }
                let score = score_conf(conf, files, ctx.profile, ctx.jobs, &bar)?;
                trials.push(Trial {
                    id: *id,
                    conf: conf.clone(),
                    score,
                });
                let best = trials
                    .iter()
                    .map(|t| t.score)
                    .fold(f64::NEG_INFINITY, f64::max);
                bar.message(format!("best {best:.2}"));
            }
            bar.finish();
        }
        trials.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        print_leaderboard(r, files.len(), &trials, ctx.profile);
        if last {
            return Ok(BracketEnd::Complete(trials));
        }
        let keep = trials.len().div_ceil(ETA);
        alive = trials
            .iter()
            .take(keep)
            .map(|t| (t.id, t.conf.clone()))
            .collect();
        previous = Some((files.len(), trials));
    }
    Ok(BracketEnd::Complete(Vec::new()))
}

fn print_leaderboard(rung: usize, files: usize, trials: &[Trial], profile: &Profile) {
    crate::diag::eprint_line!(
        "anomalyzer: tune rung {} ({} configurations on {files} files), best {} scores:",
        rung + 1,
        trials.len(),
        profile.name
    );
    for t in trials.iter().take(LEADERBOARD) {
        crate::diag::eprint_line!("  {:>7.2}  #{:<4} {}", t.score, t.id, describe(&t.conf));
    }
}

/// The normalised score of `conf` under `profile` on `files`.
fn score_conf(
    conf: &AnomalyzerConf,
    files: &[&SeriesFile],
    profile: &Profile,
    jobs: usize,
    bar: &PointsBar,
) -> Result<f64> {
    let series: Vec<&[f64]> = files.iter().map(|f| f.values.as_slice()).collect();
    let scores = score_series(&series, conf, jobs, bar)?;
    let corpus = judge(files, scores)?;
    let r = corpus
        .evaluate(profile, ThresholdChoice::Optimal)
        .map_err(|e| BadInput(format!("profile {}: {e}", profile.name)))?;
    Ok(r.score)
}

/// A configuration not drawn before (up to a point: a tiny space repeats).
fn draw_new(
    space: &Space,
    base: &anomalyzer_ts::AnomalyzerConfBuilder,
    rng: &mut Xoshiro256PlusPlus,
    seen: &[AnomalyzerConf],
) -> Result<AnomalyzerConf> {
    let mut conf = space.sample(base, rng)?;
    for _ in 0..100 {
        if !seen.contains(&conf) {
            break;
        }
        conf = space.sample(base, rng)?;
    }
    Ok(conf)
}

/// Splits off `fraction` of each category's files (rounded, but never all
/// of a category's files and never a category's only file) as the holdout.
fn split_holdout<'a>(
    files: &[&'a SeriesFile],
    fraction: f64,
    rng: &mut Xoshiro256PlusPlus,
) -> (Vec<&'a SeriesFile>, Vec<&'a SeriesFile>) {
    let (mut search, mut holdout): (Vec<&SeriesFile>, Vec<&SeriesFile>) = (Vec::new(), Vec::new());
    for group in by_category(files, rng) {
        let k = ((fraction * group.len() as f64).round() as usize).min(group.len() - 1);
        holdout.extend(&group[..k]);
        search.extend(&group[k..]);
    }
    search.sort_by(|a, b| a.name.cmp(&b.name));
    holdout.sort_by(|a, b| a.name.cmp(&b.name));
    (search, holdout)
}

/// Nested, stratified subsets of `files` for the rungs: each category's
/// files in a seeded order, the first `ceil(fraction × count)` of them.
fn rung_subsets<'a>(
    files: &[&'a SeriesFile],
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<Vec<&'a SeriesFile>> {
    let groups = by_category(files, rng);
    RUNG_FRACTIONS
        .iter()
        .map(|&frac| {
            let mut subset: Vec<&SeriesFile> = Vec::new();
            for g in &groups {
                let k = ((frac * g.len() as f64).ceil() as usize).clamp(1, g.len());
                subset.extend(&g[..k]);
            }
            if !subset.iter().any(|f| !f.windows.is_empty()) {
                // A subset without windows cannot be normalised: add the
                // first file that has some.
                if let Some(f) = files.iter().find(|f| !f.windows.is_empty()) {
                    subset.push(f);
                }
            }
            subset.sort_by(|a, b| a.name.cmp(&b.name));
            subset
        })
        .collect()
}

/// Files grouped by category folder (groups in name order), each group
/// shuffled by `rng` (Fisher–Yates).
fn by_category<'a>(
    files: &[&'a SeriesFile],
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<Vec<&'a SeriesFile>> {
    let mut groups: Vec<(String, Vec<&SeriesFile>)> = Vec::new();
    for f in files {
        match groups.iter_mut().find(|(c, _)| c == f.category()) {
            Some((_, g)) => g.push(f),
            None => groups.push((f.category().to_owned(), vec![f])),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    groups
        .into_iter()
        .map(|(_, mut g)| {
            for i in (1..g.len()).rev() {
                let j = index(rng, i + 1);
                g.swap(i, j);
            }
            g
        })
        .collect()
}

/// Prints the best settings and their scores, writes `--output`.
fn report(
    best: &AnomalyzerConf,
    search: &[&SeriesFile],
    holdout: &[&SeriesFile],
    args: &TuneArgs,
    profile: &Profile,
    jobs: usize,
    started: Instant,
) -> Result<()> {
    let on = |files: &[&SeriesFile]| -> Result<Vec<anomalyzer_nab::ProfileResult>> {
        let series: Vec<&[f64]> = files.iter().map(|f| f.values.as_slice()).collect();
        let points: usize = files.iter().map(|f| f.values.len()).sum();
        let bar = PointsBar::new(points as u64, "final scoring");
        let scores = score_series(&series, best, jobs, &bar)?;
        bar.finish();
        evaluate_profiles(&judge(files, scores)?, ThresholdChoice::Optimal)
    };
    let searched = on(search)?;
    let held = if holdout.iter().any(|f| !f.windows.is_empty()) {
        Some(on(holdout)?)
    } else {
        None
    };
    let toml = toml::to_string(&best.to_builder()).context("cannot write the settings as TOML")?;
    println!(
        "best settings for {} ({} search files{}):",
        profile.name,
        search.len(),
        match &held {
            Some(_) => format!(", {} holdout files", holdout.len()),
            None => String::new(),
        }
    );
    println!("  {}", describe(best));
    println!(
        "{:<20}  {:>8}  {:>10}{}",
        "profile",
        "score",
        "threshold",
        if held.is_some() {
            "  holdout_score  holdout_threshold"
        } else {
            ""
        }
    );
    for (i, p) in searched.iter().enumerate() {
        let mut line = format!(
            "{:<20}  {:>8.2}  {:>10}",
            p.profile.name, p.score, p.threshold
        );
        if let Some(h) = &held {
            line += &format!("  {:>13.2}  {:>17}", h[i].score, h[i].threshold);
        }
        println!("{line}");
    }
    println!(
        "\n# {} settings (anomalyzer evaluate --config FILE)\n{toml}",
        profile.name
    );
    if let Some(path) = &args.output {
        std::fs::write(path, &toml).with_context(|| format!("cannot write {}", path.display()))?;
        crate::diag::eprint_line!("anomalyzer: wrote the best settings to {}", path.display());
    }
    crate::diag::eprint_line!(
        "anomalyzer: tune took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Parses `90s`, `10m`, `1h`, `1.5h` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let scale = match unit {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(BadInput(format!(
                "--time {text:?}: unit must be s, m or h (e.g. 90s, 10m)"
            ))
            .into())
        }
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| BadInput(format!("--time {text:?}: not a duration (e.g. 90s, 10m)")))?;
    if !(n.is_finite() && n > 0.0) {
        return Err(BadInput(format!("--time {text:?}: must be positive")).into());
    }
    Ok(Duration::from_secs_f64(n * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_seconds_minutes_and_hours() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("12").unwrap(), Duration::from_secs(12));
        for bad in ["", "soon", "5d", "-3s", "0"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
