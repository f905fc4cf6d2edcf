//! NAB's results layout: one CSV per data file,
//! `<dir>/<category>/<detector>_<name>.csv`, with `timestamp`, ... and
//! `anomaly_score` columns. `evaluate --scores-from` reads it (any
//! detector's output), `--write-scores` writes ours so NAB can check us.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::corpus::{CorpusData, SeriesFile};
use crate::exit::BadInput;
use crate::input::{Format, InputOptions, RowError, Rows};
use crate::timestamp::Stamp;

/// The detector name in the files `--write-scores` writes.
pub const DETECTOR_NAME: &str = "anomalyzer";

/// The score column of NAB's results files.
pub const SCORE_COLUMN: &str = "anomaly_score";

/// Finds `file`'s results in `dir`: `<category>/<name>.csv`, or the one
/// `<category>/<anything>_<name>.csv` (a results file that also ends in a
/// longer data file's name belongs to that file).
fn results_path(dir: &Path, file: &SeriesFile, corpus: &CorpusData) -> Result<PathBuf> {
    let folder = dir.join(file.category());
    let name = file.file_name();
    let exact = folder.join(name);
    if exact.is_file() {
        return Ok(exact);
    }
    let entries = std::fs::read_dir(&folder)
        .with_context(|| format!("--scores-from: cannot list {}", folder.display()))?;
    let siblings: Vec<&str> = corpus
        .files
        .iter()
        .filter(|f| f.category() == file.category() && f.file_name().len() > name.len())
        .map(SeriesFile::file_name)
        .collect();
    let suffix = format!("_{name}");
    let mut found = Vec::new();
    for entry in entries {
        let entry =
            entry.with_context(|| format!("--scores-from: cannot list {}", folder.display()))?;
        let candidate = entry.file_name().to_string_lossy().into_owned();
        let longer_match = siblings
            .iter()
            .any(|s| candidate.ends_with(&format!("_{s}")) || candidate == *s);
        if candidate.ends_with(&suffix) && !longer_match {
            found.push(entry.path());
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(BadInput(format!(
            "--scores-from: no scores for {}: expected {} or {}/<detector>_{name}",
            file.name,
            exact.display(),
            folder.display()
        ))
        .into()),
        _ => Err(BadInput(format!(
            "--scores-from: several score files for {}: {}",
            file.name,
            found
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into()),
    }
}

/// Reads `file`'s anomaly scores from the results under `dir`: one row per
/// data row, with the same timestamps.
pub fn read_scores(dir: &Path, file: &SeriesFile, corpus: &CorpusData) -> Result<Vec<f64>> {
    let path = results_path(dir, file, corpus)?;
    let source = path.display().to_string();
    let reader = File::open(&path).with_context(|| format!("cannot open {source}"))?;
    let opts = InputOptions {
        format: Format::Csv,
        column: Some(SCORE_COLUMN.to_owned()),
        max_line_bytes: crate::input::DEFAULT_MAX_LINE_BYTES,
    };
    let mut rows = Rows::new(
        source.clone(),
        Box::new(BufReader::with_capacity(64 * 1024, reader)),
        &opts,
    )?;
    let mut scores = Vec::with_capacity(file.values.len());
    while let Some(next) = rows.next_point() {
        let point = match next {
            Ok(p) => p,
            Err(RowError::Invalid(bad)) => return Err(BadInput(bad.to_string()).into()),
            Err(RowError::Fatal(e)) => return Err(e),
        };
        let i = scores.len();
        let Some(expected) = file.stamps.get(i) else {
            return Err(BadInput(format!(
                "{source}:{}: more rows than the {} of {}",
                point.line,
                file.stamps.len(),
                file.path.display()
            ))
            .into());
        };
        if let Some(text) = &point.timestamp {
            let same = Stamp::parse(text).is_ok_and(|s| s == *expected);
            if !same {
                return Err(BadInput(format!(
                    "{source}:{}: timestamp {text:?} is not row {}'s {:?} of {} (line {})",
                    point.line,
                    i + 1,
                    file.timestamps[i],
                    file.path.display(),
                    file.lines[i]
                ))
                .into());
            }
        }
        scores.push(point.value);
    }
    if scores.len() != file.values.len() {
        return Err(BadInput(format!(
            "{source}: {} rows of scores for the {} rows of {}",
            scores.len(),
            file.values.len(),
            file.path.display()
        ))
        .into());
    }
    Ok(scores)
}

/// Writes `file`'s scores to `dir/<category>/anomalyzer_<name>.csv` as
/// `timestamp,value,anomaly_score,label`.
pub fn write_scores(dir: &Path, file: &SeriesFile, scores: &[f64]) -> Result<PathBuf> {
    let folder = dir.join(file.category());
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let path = folder.join(format!("{DETECTOR_NAME}_{}", file.file_name()));
    let labels = file.labels();
    let out = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::new(out);
    let write = |out: &mut BufWriter<File>| -> std::io::Result<()> {
        writeln!(out, "timestamp,value,{SCORE_COLUMN},label")?;
        for i in 0..scores.len() {
            writeln!(
                out,
                "{},{},{},{}",
                file.timestamps[i], file.values[i], scores[i], labels[i]
            )?;
        }
        out.flush()
    };
    write(&mut out).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
