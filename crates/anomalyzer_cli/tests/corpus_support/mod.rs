//! Labelled corpora in NAB's layout for `evaluate` and `tune` tests: the
//! bundled `examples/nab-dev` (27 of NAB's series), subsets of it, and tiny
//! hand-made ones; score files in NAB's results layout.

#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};

/// The bundled development corpus.
pub fn nab_dev() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/nab-dev")
}

/// Every data file of nab-dev as (relative name, rows of (timestamp text, value)).
pub fn nab_dev_files() -> Vec<(String, Vec<(String, f64)>)> {
    let root = nab_dev().join("data");
    let mut out = Vec::new();
    for cat in sorted_dir(&root) {
        for file in sorted_dir(&cat) {
            let name = format!(
                "{}/{}",
                cat.file_name().unwrap().to_string_lossy(),
                file.file_name().unwrap().to_string_lossy()
            );
            out.push((name, read_rows(&file)));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn sorted_dir(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// The `timestamp,value` rows of a data file.
pub fn read_rows(path: &Path) -> Vec<(String, f64)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (t, v) = l.split_once(',').unwrap();
            (t.to_owned(), v.trim().parse().unwrap())
        })
        .collect()
}

/// Copies the named nab-dev files and their labels into `dir` as a corpus.
pub fn nab_dev_subset(dir: &Path, names: &[&str]) {
    let labels: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(nab_dev().join("labels/combined_windows.json")).unwrap(),
    )
    .unwrap();
    let mut subset = serde_json::Map::new();
    for name in names {
        let to = dir.join("data").join(name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(nab_dev().join("data").join(name), &to).unwrap();
        subset.insert((*name).to_owned(), labels[*name].clone());
    }
    write_labels(dir, &serde_json::Value::Object(subset).to_string());
}

/// Writes a data file `dir/data/<name>` from rows.
pub fn write_data(dir: &Path, name: &str, rows: &[(String, f64)]) {
    let mut s = String::from("timestamp,value\n");
    for (t, v) in rows {
        s.push_str(&format!("{t},{v}\n"));
    }
    let to = dir.join("data").join(name);
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::write(to, s).unwrap();
}

/// Writes `dir/labels/combined_windows.json`.
pub fn write_labels(dir: &Path, json: &str) {
    std::fs::create_dir_all(dir.join("labels")).unwrap();
    std::fs::write(dir.join("labels/combined_windows.json"), json).unwrap();
}

/// Minute timestamps from 2024-01-01 00:00:00, NAB's spelling.
pub fn minute(i: usize) -> String {
    format!(
        "2024-01-{:02} {:02}:{:02}:00",
        1 + i / 1440,
        (i / 60) % 24,
        i % 60
    )
}

/// A label-file spelling of [`minute`] (with NAB's fractional seconds).
pub fn label_minute(i: usize) -> String {
    format!("{}.000000", minute(i))
}

/// Writes scores as NAB results: `dir/<category>/<detector>_<name>.csv`.
pub fn write_results(
    dir: &Path,
    detector: &str,
    name: &str,
    rows: &[(String, f64)],
    scores: &[f64],
) {
    let (cat, file) = name.split_once('/').unwrap();
    let folder = dir.join(cat);
    std::fs::create_dir_all(&folder).unwrap();
    let mut s = String::from("timestamp,value,anomaly_score\n");
    for ((t, v), score) in rows.iter().zip(scores) {
        s.push_str(&format!("{t},{v},{score}\n"));
    }
    std::fs::write(folder.join(format!("{detector}_{file}")), s).unwrap();
}

/// The JSON `evaluate --json` wrote.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
