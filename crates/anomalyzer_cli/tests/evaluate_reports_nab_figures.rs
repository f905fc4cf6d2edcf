//! `evaluate` on a hand-made corpus whose NAB figures can be worked out on
//! paper, and on a subset of nab-dev: the table, `--per-file`, `--json`,
//! `--threshold`, and `--write-scores` read back by `--scores-from`.

mod corpus_support;
mod sandbox;

use corpus_support::{
    label_minute, minute, nab_dev_subset, read_json, write_data, write_labels, write_results,
};
use sandbox::Sandbox;

/// Two files of 200 rows; a window at rows 100..=119 in the first, none in
/// the second. Scores: row 105 of a (0.9), row 150 of a (0.7), row 50 of b (0.8).
fn hand_made(sb: &Sandbox) {
    let rows: Vec<(String, f64)> = (0..200).map(|i| (minute(i), 1.0)).collect();
    write_data(&sb.path("corpus"), "x/a.csv", &rows);
    write_data(&sb.path("corpus"), "x/b.csv", &rows);
    write_labels(
        &sb.path("corpus"),
        &format!(
            "{{\"x/a.csv\": [[\"{}\", \"{}\"]], \"x/b.csv\": []}}",
            label_minute(100),
            label_minute(119)
        ),
    );
    let mut a = vec![0.1; 200];
    a[105] = 0.9;
    a[150] = 0.7;
    let mut b = vec![0.1; 200];
    b[50] = 0.8;
    write_results(&sb.path("results"), "other", "x/a.csv", &rows, &a);
    write_results(&sb.path("results"), "other", "x/b.csv", &rows, &b);
}

fn sigma(x: f64) -> f64 {
    2.0 / (1.0 + (5.0 * x).exp()) - 1.0
}

#[test]
fn hand_made_corpus_gets_the_figures_worked_out_by_hand() {
    let sb = Sandbox::new();
    hand_made(&sb);
    let run = sb.run(
        &[
            "evaluate",
            "corpus",
            "--scores-from",
            "results",
            "--json",
            "out.json",
            "--per-file",
        ],
        "",
    );
    let table = run.ok().to_owned();
    let j = read_json(&sb.path("out.json"));
    // Row 105 of a 20-row window ending at 119: position -(119-105+1)/20 = -0.75.
    let tp = sigma(-0.75) / sigma(-1.0);
    // At 0.9 only the detection is flagged. Going down to 0.8 adds b's false
    // positive (no window before it: -fp), to 0.7 also a's row 150 (31 rows
    // after a 20-row window: fp × σ(31/19)); both cost, so 0.9 is optimal.
    let standard = &j["profiles"]["standard"];
    assert_eq!(standard["threshold"], 0.9);
    assert!((standard["raw"].as_f64().unwrap() - tp).abs() < 1e-12);
    assert_eq!(standard["null_raw"], -1.0);
    assert_eq!(standard["perfect_raw"], 1.0);
    let score = 100.0 * (tp + 1.0) / 2.0;
    assert!((standard["score"].as_f64().unwrap() - score).abs() < 1e-9);
    assert_eq!(standard["windows_detected"], 1);
    assert_eq!(standard["windows_missed"], 0);
    assert_eq!(standard["false_positives"], 0);
    assert_eq!(standard["precision"], 1.0);
    assert_eq!(standard["mean_delay_rows"], 5.0);
    // A fixed threshold of 0.7 flags all three.
    let run = sb.run(
        &[
            "evaluate",
            "corpus",
            "--scores-from",
            "results",
            "--json",
            "fixed.json",
            "--threshold",
            "0.7",
        ],
        "",
    );
    run.ok();
    let f = read_json(&sb.path("fixed.json"));
    let p = &f["profiles"]["reward_low_FP_rate"];
    let expected = tp - 0.22 + 0.22 * sigma(31.0 / 19.0);
    assert_eq!(p["threshold"], 0.7);
    assert!(
        (p["raw"].as_f64().unwrap() - expected).abs() < 1e-12,
        "{}",
        p["raw"]
    );
    assert_eq!(p["false_positives"], 2);
    assert_eq!(p["false_alarms"], 2);
    assert_eq!(p["precision"], 1.0 / 3.0);
    // The table has one row per profile and per-file tables name each file.
    for name in [
        "standard",
        "reward_low_FP_rate",
        "reward_low_FN_rate",
        "x/a.csv",
        "x/b.csv",
    ] {
        assert!(table.contains(name), "{table}");
    }
    assert!(
        table.lines().nth(1).unwrap().starts_with("profile"),
        "{table}"
    );
    // JSON carries files, points and seconds.
    assert_eq!(j["points"], 400);
    assert_eq!(j["files"][0]["file"], "x/a.csv");
    assert_eq!(j["files"][0]["windows"], 1);
    assert_eq!(j["files"][0]["rows"], 200);
    assert!(j["seconds"].as_f64().unwrap() >= 0.0);
}

#[test]
fn written_scores_read_back_give_the_same_figures() {
    let sb = Sandbox::new();
    let names = [
        "realAdExchange/exchange-2_cpm_results.csv",
        "realTraffic/occupancy_t4013.csv",
        "artificialNoAnomaly/art_noisy.csv",
    ];
    nab_dev_subset(&sb.path("corpus"), &names);
    let first = sb.run(
        &[
            "evaluate",
            "corpus",
            "--write-scores",
            "ours",
            "--json",
            "a.json",
            "--jobs",
            "2",
        ],
        "",
    );
    first.ok();
    // NAB's results layout, with NAB's label column.
    let written =
        std::fs::read_to_string(sb.path("ours/realTraffic/anomalyzer_occupancy_t4013.csv"))
            .unwrap();
    assert!(
        written.starts_with("timestamp,value,anomaly_score,label\n"),
        "{written:.80}"
    );
    let labelled = written.lines().filter(|l| l.ends_with(",1")).count();
    assert!(labelled > 0);
    let second = sb.run(
        &[
            "evaluate",
            "corpus",
            "--scores-from",
            "ours",
            "--json",
            "b.json",
        ],
        "",
    );
    second.ok();
    let (a, b) = (read_json(&sb.path("a.json")), read_json(&sb.path("b.json")));
    assert_eq!(a["profiles"], b["profiles"]);
    assert_eq!(a["files"], b["files"]);
    // The detector's configuration is reported; scores from a folder are not ours.
    assert_eq!(
        a["detector"]["methods"],
        serde_json::json!(["magnitude", "ks"])
    );
    assert!(b["detector"].is_null());
}

#[test]
fn jobs_do_not_change_the_figures() {
    let sb = Sandbox::new();
    nab_dev_subset(
        &sb.path("corpus"),
        &[
            "realAdExchange/exchange-2_cpm_results.csv",
            "realTraffic/occupancy_t4013.csv",
        ],
    );
    sb.run(
        &["evaluate", "corpus", "--json", "one.json", "--jobs", "1"],
        "",
    )
    .ok();
    sb.run(
        &["evaluate", "corpus", "--json", "two.json", "--jobs", "2"],
        "",
    )
    .ok();
    assert_eq!(
        read_json(&sb.path("one.json"))["profiles"],
        read_json(&sb.path("two.json"))["profiles"]
    );
}

#[test]
fn labels_elsewhere_are_read_and_entries_without_data_are_ignored_with_a_warning() {
    let sb = Sandbox::new();
    hand_made(&sb);
    std::fs::remove_file(sb.path("corpus/labels/combined_windows.json")).unwrap();
    sb.write(
        "mine.json",
        &format!(
            "{{\"x/a.csv\": [[\"{}\", \"{}\"]], \"x/b.csv\": [], \"x/gone.csv\": []}}",
            label_minute(100),
            label_minute(119)
        ),
    );
    let run = sb.run(
        &[
            "evaluate",
            "corpus",
            "--scores-from",
            "results",
            "--labels",
            "mine.json",
            "--json",
            "l.json",
        ],
        "",
    );
    run.ok();
    assert!(
        run.stderr.contains("\"x/gone.csv\" has no data file"),
        "{}",
        run.stderr
    );
    assert_eq!(
        read_json(&sb.path("l.json"))["profiles"]["standard"]["threshold"],
        0.9
    );
}
