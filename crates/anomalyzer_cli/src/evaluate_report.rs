//! What `evaluate` prints: one row per profile on stdout (and with
//! `--per-file` a table per profile with one row per file), and the same
//! figures as JSON with `--json`.

use std::io::{self, Write};
use std::path::Path;

use anomalyzer_nab::{FileResult, ProfileResult};
use anomalyzer_ts::AnomalyzerConf;
use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

use crate::corpus::CorpusData;

/// Everything a report shows.
pub struct Report<'a> {
    /// The corpus that was scored.
    pub corpus: &'a CorpusData,
    /// One result per profile, in NAB's order.
    pub profiles: &'a [ProfileResult],
    /// The detector's configuration, unless the scores came from elsewhere.
    pub detector: Option<&'a AnomalyzerConf>,
    /// `--scores-from`, if given.
    pub scores_from: Option<&'a Path>,
    /// Wall time of the whole run so far.
    pub seconds: f64,
}

/// Column names of the profile table (also the JSON field names).
pub const PROFILE_COLUMNS: [&str; 12] = [
    "profile",
    "score",
    "threshold",
    "raw",
    "windows_detected",
    "windows_missed",
    "false_positives",
    "false_alarms",
    "precision",
    "recall",
    "f1",
    "mean_delay_rows",
];

/// Column names of a per-file table.
pub const FILE_COLUMNS: [&str; 9] = [
    "file",
    "rows",
    "windows",
    "raw",
    "windows_detected",
    "windows_missed",
    "false_positives",
    "false_alarms",
    "mean_delay_rows",
];

/// Prints the tables on stdout.
pub fn print_report(report: &Report<'_>, per_file: bool) -> Result<()> {
    let mut out = io::stdout().lock();
    let corpus = report.corpus;
    let windows: usize = corpus.files.iter().map(|f| f.windows.len()).sum();
    let source = match (report.scores_from, report.detector) {
        (Some(dir), _) => format!("scores from {}", dir.display()),
        (None, Some(conf)) => format!("detector {}", describe(conf)),
        (None, None) => String::new(),
    };
    writeln!(
        out,
        "{} files, {} points, {windows} windows; {source}",
        corpus.files.len(),
        corpus.points()
    )?;
    let rows: Vec<Vec<String>> = report.profiles.iter().map(profile_row).collect();
    write_table(&mut out, &PROFILE_COLUMNS, &rows)?;
    if per_file {
        for p in report.profiles {
            writeln!(
                out,
                "\n{} (threshold {}), per file:",
                p.profile.name, p.threshold
            )?;
            let rows: Vec<Vec<String>> = corpus
                .files
                .iter()
                .zip(&p.files)
                .map(|(f, r)| {
                    vec![
                        f.name.clone(),
                        f.values.len().to_string(),
                        f.windows.len().to_string(),
                        format!("{:.4}", r.raw),
                        r.windows_detected.to_string(),
                        r.windows_missed.to_string(),
                        r.false_positives.to_string(),
                        r.false_alarms.to_string(),
                        opt(mean_delay(r), 1),
                    ]
                })
                .collect();
            write_table(&mut out, &FILE_COLUMNS, &rows)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The configuration in one line, in the TOML field names.
pub fn describe(conf: &AnomalyzerConf) -> String {
    let methods: Vec<&str> = conf.methods().iter().map(|m| m.name()).collect();
    if !conf.robust_methods().is_empty() {
        // The Go settings do not change a robust detector's scores, except
        // that `delay` holds it at 0 until the Go window is full.
        let r = conf.robust();
        let delay = if conf.delay() {
            format!(
                " delay=true active_size={} n_seasons={}",
                conf.active_size(),
                conf.n_seasons()
            )
        } else {
            String::new()
        };
        return format!(
            "methods={} reference={} shift_span={} slow_span={} slow_reference={} period={} \
             period_seasons={} period_slack={} likelihood_history={} warmup={} alert_hold={} \
             alert_rise={}{delay}",
            methods.join(","),
            r.reference,
            r.shift_span,
            r.slow_span,
            r.slow_reference,
            r.period,
            r.period_seasons,
            r.period_slack,
            r.likelihood_history,
            r.warmup,
            r.alert_hold,
            r.alert_rise
        );
    }
    let mut s = format!(
        "methods={} active_size={} n_seasons={} sensitivity={} perm_count={}",
        methods.join(","),
        conf.active_size(),
        conf.n_seasons(),
        conf.sensitivity(),
        conf.perm_count()
    );
    if let Some(u) = conf.upper_bound() {
        s += &format!(" upper_bound={u}");
    }
    if let Some(l) = conf.lower_bound() {
        s += &format!(" lower_bound={l}");
    }
    if conf.delay() {
        s += " delay=true";
    }
    if conf.exact_ranks() {
        s += " exact_ranks=true";
    }
    s
}

fn profile_row(p: &ProfileResult) -> Vec<String> {
    vec![
        p.profile.name.clone(),
        format!("{:.2}", p.score),
        p.threshold.to_string(),
        format!("{:.4}", p.raw),
        p.windows_detected.to_string(),
        p.windows_missed.to_string(),
        p.false_positives.to_string(),
        p.events.false_alarms.to_string(),
        opt(p.events.precision, 3),
        opt(p.events.recall, 3),
        opt(p.events.f1, 3),
        opt(p.events.mean_delay_rows, 1),
    ]
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

fn mean_delay(r: &FileResult) -> Option<f64> {
    let n = r.detection_delays.len();
    (n > 0).then(|| r.detection_delays.iter().sum::<usize>() as f64 / n as f64)
}

/// Left-aligns the first column, right-aligns the others.
fn write_table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, &w))| {
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for r in rows {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// The report as JSON.
pub fn to_json(report: &Report<'_>) -> Value {
    let mut profiles = Map::new();
    for p in report.profiles {
        profiles.insert(
            p.profile.name.clone(),
            json!({
                "score": p.score,
                "threshold": p.threshold,
                "raw": p.raw,
                "null_raw": p.null_raw,
                "perfect_raw": p.perfect_raw,
                "windows_detected": p.windows_detected,
                "windows_missed": p.windows_missed,
                "false_positives": p.false_positives,
                "false_alarms": p.events.false_alarms,
                "precision": p.events.precision,
                "recall": p.events.recall,
                "f1": p.events.f1,
                "mean_delay_rows": p.events.mean_delay_rows,
                "counts": {"tp": p.counts.tp, "fp": p.counts.fp, "fn": p.counts.fn_, "tn": p.counts.tn},
            }),
        );
    }
    let files: Vec<Value> = report
        .corpus
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut per_profile = Map::new();
            for p in report.profiles {
                let r = &p.files[i];
                per_profile.insert(
                    p.profile.name.clone(),
                    json!({
                        "raw": r.raw,
                        "windows_detected": r.windows_detected,
                        "windows_missed": r.windows_missed,
                        "false_positives": r.false_positives,
                        "false_alarms": r.false_alarms,
                        "mean_delay_rows": mean_delay(r),
                    }),
                );
            }
            json!({
                "file": f.name,
                "rows": f.values.len(),
                "windows": f.windows.len(),
                "probationary_rows": anomalyzer_nab::probationary_rows(f.values.len()),
                "profiles": per_profile,
            })
        })
        .collect();
    json!({
        "profiles": profiles,
        "files": files,
        "points": report.corpus.points(),
        "seconds": report.seconds,
        "detector": report.detector.map(|c| serde_json::to_value(c).unwrap_or(Value::Null)),
        "scores_from": report.scores_from.map(|p| p.display().to_string()),
    })
}

/// Writes the JSON report to `path`.
pub fn write_json(path: &Path, report: &Report<'_>) -> Result<()> {
    let text = serde_json::to_string_pretty(&to_json(report))?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}
