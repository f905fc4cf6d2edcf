//! On nab-dev, `evaluate --scores-from` gives the figures of a faithful
//! re-implementation of NAB's scorer (`run.py --optimize --score
//! --normalize` at NAB's HEAD; see docs/evaluation.md), for two detectors
//! whose scores both sides compute bit for bit: a relative-difference
//! detector (almost no ties) and a "ticks" detector with scores on a 0.001
//! grid (many ties, and for one profile flagging nothing is best).

mod corpus_support;
mod sandbox;

use corpus_support::{nab_dev, nab_dev_files, read_json, write_results};
use sandbox::Sandbox;

/// (detector, profile, threshold, raw, normalised score) from the reference.
const REFERENCE: &[(&str, &str, f64, f64, f64)] = &[
    (
        "diff",
        "standard",
        0.999999992051759,
        -55.373877010740884,
        1.4264236747886982,
    ),
    (
        "diff",
        "reward_low_FP_rate",
        0.999999992051759,
        -55.59386057982459,
        1.2334556317328131,
    ),
    (
        "diff",
        "reward_low_FN_rate",
        0.9999999896231331,
        -111.16462567284074,
        1.658113641613601,
    ),
    (
        "ticks",
        "standard",
        0.998,
        -40.290824983280416,
        14.657171067297881,
    ),
    ("ticks", "reward_low_FP_rate", 1.1, -57.0, 0.0),
    (
        "ticks",
        "reward_low_FN_rate",
        0.997,
        -67.41054833341938,
        27.245293372269366,
    ),
];

fn diff_scores(values: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0];
    for w in values.windows(2) {
        let d = (w[1] - w[0]).abs() / (w[0].abs() + 1.0);
        out.push(d / (d + 1.0));
    }
    out.truncate(values.len());
    out
}

fn tick_scores(file_index: usize, rows: usize) -> Vec<f64> {
    (0..rows)
        .map(|i| ((i * 7919 + 13 * file_index) % 1000) as f64 / 1000.0)
        .collect()
}

#[test]
fn evaluate_matches_nab_reference_on_nab_dev() {
    let sb = Sandbox::new();
    let files = nab_dev_files();
    assert_eq!(files.len(), 27);
    for detector in ["diff", "ticks"] {
        let dir = sb.path(detector);
        for (k, (name, rows)) in files.iter().enumerate() {
            let values: Vec<f64> = rows.iter().map(|r| r.1).collect();
            let scores = match detector {
                "diff" => diff_scores(&values),
                _ => tick_scores(k, rows.len()),
            };
            write_results(&dir, detector, name, rows, &scores);
        }
        let json = sb.path(&format!("{detector}.json"));
        let corpus = nab_dev();
        let run = sb
            .command(&[
                "evaluate",
                corpus.to_str().unwrap(),
                "--scores-from",
                dir.to_str().unwrap(),
                "--json",
                json.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let got = read_json(&json);
        for &(d, profile, threshold, raw, score) in REFERENCE.iter().filter(|r| r.0 == detector) {
            let p = &got["profiles"][profile];
            assert_eq!(p["threshold"].as_f64().unwrap(), threshold, "{d} {profile}");
            assert!(
                (p["raw"].as_f64().unwrap() - raw).abs() < 1e-9,
                "{d} {profile}: {}",
                p["raw"]
            );
            assert!(
                (p["score"].as_f64().unwrap() - score).abs() < 1e-9,
                "{d} {profile}: {}",
                p["score"]
            );
            assert_eq!(p["perfect_raw"].as_f64().unwrap(), 57.0);
        }
    }
}
