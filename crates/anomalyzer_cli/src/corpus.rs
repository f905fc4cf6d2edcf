//! Reading a labelled corpus in NAB's layout: `data/**/*.csv` files of
//! `timestamp,value` rows and a JSON file of windows per file
//! (`labels/combined_windows.json`), turned into row windows the way NAB's
//! scorer walks them.
//!
//! NAB's own files repeat timestamps and once step back in time; like NAB,
//! rows are taken in file order and a warning names the first such line of
//! each file. A window's ends must each be the timestamp of exactly one row
//! (NAB's labeller refuses anything else too).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anomalyzer_nab::Window;
use anyhow::{Context, Result};

use crate::exit::BadInput;
use crate::input::{Format, InputOptions, RowError, Rows};
use crate::timestamp::Stamp;

/// Where the labels are unless `--labels` says otherwise.
pub const DEFAULT_LABELS: &str = "labels/combined_windows.json";

/// One data file of the corpus, read and labelled.
#[derive(Debug, Clone)]
pub struct SeriesFile {
    /// Path relative to `data/`, with `/` separators (`realTraffic/x.csv`):
    /// the key of the labels file.
    pub name: String,
    /// The file on disk.
    pub path: PathBuf,
    /// Each row's timestamp as written.
    pub timestamps: Vec<String>,
    /// Each row's timestamp, parsed.
    pub stamps: Vec<Stamp>,
    /// Each row's value.
    pub values: Vec<f64>,
    /// Each row's 1-based line in the file.
    pub lines: Vec<u64>,
    /// The labelled windows as row ranges.
    pub windows: Vec<Window>,
    /// The labelled windows as timestamps (inclusive).
    pub window_stamps: Vec<(Stamp, Stamp)>,
}

impl SeriesFile {
    /// The folder under `data/` (NAB's category), or "" at the top level.
    pub fn category(&self) -> &str {
        self.name.rsplit_once('/').map_or("", |(c, _)| c)
    }

    /// The file name without its folder.
    pub fn file_name(&self) -> &str {
        self.name.rsplit_once('/').map_or(&self.name, |(_, n)| n)
    }

    /// NAB's `label` column: 1 for rows whose timestamp lies in a window.
    pub fn labels(&self) -> Vec<u8> {
        self.stamps
            .iter()
            .map(|s| u8::from(self.window_stamps.iter().any(|(a, b)| a <= s && s <= b)))
            .collect()
    }
}

/// A corpus read from disk.
#[derive(Debug, Clone)]
pub struct CorpusData {
    /// The files, sorted by name.
    pub files: Vec<SeriesFile>,
}

impl CorpusData {
    /// Rows over all files.
    pub fn points(&self) -> usize {
        self.files.iter().map(|f| f.values.len()).sum()
    }
}

/// Reads the corpus at `root` with the labels at `labels` (default:
/// `root/labels/combined_windows.json`). Warnings go to `warn`.
pub fn read_corpus(
    root: &Path,
    labels: Option<&Path>,
    warn: &mut dyn FnMut(String),
) -> Result<CorpusData> {
    let data_dir = root.join("data");
    if !data_dir.is_dir() {
        return Err(BadInput(format!(
            "{}: not a directory (a corpus in NAB's layout has data/<category>/<name>.csv and {DEFAULT_LABELS})",
            data_dir.display()
        ))
        .into());
    }
    let labels_path = labels.map_or_else(|| root.join(DEFAULT_LABELS), Path::to_path_buf);
    let labels_text = std::fs::read_to_string(&labels_path)
        .with_context(|| format!("cannot read labels file {}", labels_path.display()))?;
    let labels: BTreeMap<String, Vec<(String, String)>> = serde_json::from_str(&labels_text)
        .map_err(|e| {
            BadInput(format!(
                "{}: {e} (expected {{\"<category>/<name>.csv\": [[\"start\", \"end\"], ...]}})",
                labels_path.display()
            ))
        })?;
    let mut names = Vec::new();
    collect_csv(&data_dir, &data_dir, &mut names)?;
    names.sort();
    if names.is_empty() {
        return Err(BadInput(format!("{}: no .csv files", data_dir.display())).into());
    }
    let mut files = Vec::with_capacity(names.len());
    for name in &names {
        let path = data_dir.join(name);
        let Some(windows) = labels.get(name) else {
            return Err(BadInput(format!(
                "{}: no entry \"{name}\" in the labels file {} (give every data file one, [] for no windows)",
                path.display(),
                labels_path.display()
            ))
            .into());
        };
        let mut file = read_series(name, &path, warn)?;
        let located = LabelsLocation {
            path: &labels_path,
            text: &labels_text,
            key: name,
        };
        label(&mut file, windows, &located)?;
        files.push(file);
    }
    for name in labels.keys().filter(|k| !names.contains(k)) {
        warn(format!(
            "anomalyzer: warning: {}: \"{name}\" has no data file under {}; ignored",
            labels_path.display(),
            data_dir.display()
        ));
    }
    Ok(CorpusData { files })
}

/// Every `.csv` under `dir`, as paths relative to `base` with `/`.
fn collect_csv(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = entry.path();
        if path.is_dir() {
            collect_csv(base, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "csv") {
            let rel = path.strip_prefix(base).unwrap_or(&path);
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

/// Reads one `timestamp,value` file, warning once about repeated and once
/// about backward timestamps.
pub fn read_series(name: &str, path: &Path, warn: &mut dyn FnMut(String)) -> Result<SeriesFile> {
    let source = path.display().to_string();
    let reader = File::open(path).with_context(|| format!("cannot open {source}"))?;
    let opts = InputOptions {
        format: Format::Csv,
        column: Some(crate::input::DEFAULT_COLUMN.to_owned()),
        max_line_bytes: crate::input::DEFAULT_MAX_LINE_BYTES,
    };
    let mut rows = Rows::new(
        source.clone(),
        Box::new(BufReader::with_capacity(64 * 1024, reader)),
        &opts,
    )?;
    if !rows.has_timestamp() {
        return Err(BadInput(format!(
            "{source}:1: no \"timestamp\" column (expected a header timestamp,value)"
        ))
        .into());
    }
    let mut file = SeriesFile {
        name: name.to_owned(),
        path: path.to_path_buf(),
        timestamps: Vec::new(),
        stamps: Vec::new(),
        values: Vec::new(),
        lines: Vec::new(),
        windows: Vec::new(),
        window_stamps: Vec::new(),
    };
    let (mut repeats, mut backs) = (Vec::new(), Vec::new());
    while let Some(next) = rows.next_point() {
        let point = match next {
            Ok(p) => p,
            Err(RowError::Invalid(bad)) => return Err(BadInput(bad.to_string()).into()),
            Err(RowError::Fatal(e)) => return Err(e),
        };
        let text = point.timestamp.unwrap_or_default();
        let stamp = Stamp::parse(&text)
            .map_err(|e| BadInput(format!("{source}:{}: {e}: {text:?}", point.line)))?;
        if let Some(prev) = file.stamps.last() {
            if stamp == *prev {
                repeats.push(point.line);
            } else if stamp < *prev {
                backs.push((point.line, *prev));
            }
        }
        file.stamps.push(stamp);
        file.timestamps.push(text);
        file.values.push(point.value);
        file.lines.push(point.line);
    }
    if let Some(&line) = repeats.first() {
        warn(format!(
            "anomalyzer: warning: {source}:{line}: timestamp repeats the previous row's ({} in this file); rows are scored in file order, as NAB does",
            such_rows(repeats.len())
        ));
    }
    if let Some(&(line, prev)) = backs.first() {
        warn(format!(
            "anomalyzer: warning: {source}:{line}: timestamp is earlier than the previous row's {prev} ({} in this file); rows are scored in file order, as NAB does",
            such_rows(backs.len())
        ));
    }
    Ok(file)
}

/// "1 such row", "11 such rows".
fn such_rows(n: usize) -> String {
    if n == 1 {
        "1 such row".to_owned()
    } else {
        format!("{n} such rows")
    }
}

/// Where in the labels file a file's entry is, to name lines in errors.
struct LabelsLocation<'a> {
    path: &'a Path,
    text: &'a str,
    key: &'a str,
}

impl LabelsLocation<'_> {
    /// The 1-based line of `needle` (quoted) after the file's key.
    fn line_of(&self, needle: &str) -> usize {
        let key = format!("\"{}\"", self.key);
        let from = self.text.find(&key).unwrap_or(0);
        let at = self.text[from..]
            .find(&format!("\"{needle}\""))
            .map_or(from, |i| from + i);
        self.text[..at].matches('\n').count() + 1
    }
}

/// Turns the timestamp windows into row windows: a window is entered at the
/// one row with its start stamp and left at the one row with its end stamp.
fn label(
    file: &mut SeriesFile,
    windows: &[(String, String)],
    at: &LabelsLocation<'_>,
) -> Result<()> {
    let mut rows_of: HashMap<Stamp, Vec<usize>> = HashMap::new();
    for (i, s) in file.stamps.iter().enumerate() {
        rows_of.entry(*s).or_default().push(i);
    }
    let name = &file.name;
    let lines = &file.lines;
    let where_ = |needle: &str| format!("{}:{}: \"{name}\"", at.path.display(), at.line_of(needle));
    let row_of = |text: &str, end: &str| -> Result<(Stamp, usize)> {
        let stamp = Stamp::parse(text)
            .map_err(|e| BadInput(format!("{}: window {end} {text:?}: {e}", where_(text))))?;
        match rows_of.get(&stamp).map(Vec::as_slice) {
            Some([row]) => Ok((stamp, *row)),
            None | Some([]) => Err(BadInput(format!(
                "{}: window {end} {text:?} is not a timestamp of {}",
                where_(text),
                file.path.display()
            ))
            .into()),
            Some(rows) => Err(BadInput(format!(
                "{}: window {end} {text:?} is the timestamp of {} rows of {} (lines {}); a window end must name one row",
                where_(text),
                rows.len(),
                file.path.display(),
                rows.iter().map(|&r| lines[r].to_string()).collect::<Vec<_>>().join(", ")
            ))
            .into()),
        }
    };
    for (start_text, end_text) in windows {
        let (start_stamp, start) = row_of(start_text, "start")?;
        let (end_stamp, end) = row_of(end_text, "end")?;
        if end < start {
            return Err(BadInput(format!(
                "{}: window [{start_text:?}, {end_text:?}] ends (line {}) before it starts (line {}) in file order",
                where_(start_text),
                lines[end],
                lines[start]
            ))
            .into());
        }
        if let Some(prev) = file.windows.last() {
            if start <= prev.end {
                return Err(BadInput(format!(
                    "{}: window [{start_text:?}, {end_text:?}] overlaps or precedes the window before it; list windows in time order, without overlap",
                    where_(start_text)
                ))
                .into());
            }
        }
        file.windows.push(Window { start, end });
        file.window_stamps.push((start_stamp, end_stamp));
    }
    Ok(())
}
