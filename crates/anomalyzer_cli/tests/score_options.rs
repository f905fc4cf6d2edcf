//! Every option of `anomalyzer score`: `--explain` equals the library for
//! the same seed, `--threshold`, `--output`, and each detector option
//! reaches the detector (as flags, from `--config`, flags over the file).

mod sandbox;

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, AnomalyzerConfBuilder, Method};
use sandbox::{csv_of, series, shortest, Sandbox};

/// The library's explanations for `values` pushed one by one.
fn library(b: AnomalyzerConfBuilder, values: &[f64]) -> Vec<anomalyzer_ts::Explanation> {
    let mut d = Anomalyzer::new(b.build().unwrap(), &[]).unwrap();
    values
        .iter()
        .map(|&v| d.push_explained(v).unwrap())
        .collect()
}

/// Detector flags for all seven tests, seed 7 (used with and without --explain).
const ALL_SEVEN_SEED_7: [&str; 12] = [
    "--methods",
    "ks,magnitude,diff,highrank,lowrank,cdf,fence",
    "--active-size",
    "2",
    "--n-seasons",
    "3",
    "--perm-count",
    "64",
    "--upper-bound",
    "40",
    "--seed",
    "7",
];

fn field(p: Option<f64>) -> String {
    p.map(shortest).unwrap_or_default()
}

#[test]
fn explain_columns_equal_the_library_for_the_same_seed() {
    let sb = Sandbox::new();
    let values = series();
    let methods = [
        Method::Ks,
        Method::Magnitude,
        Method::Diff,
        Method::HighRank,
        Method::LowRank,
        Method::Cdf,
        Method::Fence,
    ];
    let run = sb.run(
        &[&["score", "--explain"][..], &ALL_SEVEN_SEED_7[..]].concat(),
        &csv_of(&values),
    );
    let rows = run.rows();
    assert_eq!(
        rows[0],
        [
            "timestamp",
            "value",
            "probability",
            "ks",
            "magnitude",
            "diff",
            "highrank",
            "lowrank",
            "cdf",
            "fence"
        ]
    );
    let expected = library(
        AnomalyzerConf::builder()
            .methods(methods)
            .active_size(2)
            .n_seasons(3)
            .perm_count(64)
            .upper_bound(40.0)
            .seed(7),
        &values,
    );
    let mut empty_cells = 0;
    for (row, e) in rows[1..].iter().zip(&expected) {
        assert_eq!(row[2], shortest(e.probability), "row {row:?}");
        for (k, m) in methods.iter().enumerate() {
            let want = field(e.get(*m).and_then(|t| t.probability));
            empty_cells += usize::from(want.is_empty());
            assert_eq!(row[3 + k], want, "{m} in row {row:?}");
        }
    }
    assert_eq!(rows.len(), values.len() + 1);
    assert!(
        empty_cells > 0,
        "early rows have tests that are not applicable"
    );

    // Without --explain (the detector's plain `push`), the same scores.
    let plain = sb
        .run(
            &[&["score"][..], &ALL_SEVEN_SEED_7[..]].concat(),
            &csv_of(&values),
        )
        .rows();
    let first3 = |rows: &[Vec<String>]| -> Vec<Vec<String>> {
        rows[1..].iter().map(|r| r[..3].to_vec()).collect()
    };
    assert_eq!(first3(&plain), first3(&rows));

    // Another seed draws other permutations: the randomised columns change.
    let other = sb
        .run(
            &[
                "score",
                "--explain",
                "--methods",
                "ks,magnitude,diff,highrank,lowrank,cdf,fence",
                "--active-size",
                "2",
                "--n-seasons",
                "3",
                "--perm-count",
                "64",
                "--upper-bound",
                "40",
                "--seed",
                "8",
            ],
            &csv_of(&values),
        )
        .rows();
    assert_ne!(other, rows);
}

#[test]
fn threshold_adds_an_anomaly_column_and_a_summary() {
    let sb = Sandbox::new();
    let values = series();
    let run = sb.run(
        &["score", "--perm-count", "50", "--threshold", "0.6"],
        &csv_of(&values),
    );
    let rows = run.rows();
    assert_eq!(rows[0], ["timestamp", "value", "probability", "anomaly"]);
    let mut flagged = Vec::new();
    for row in &rows[1..] {
        let p: f64 = row[2].parse().unwrap();
        assert_eq!(row[3], (p >= 0.6).to_string(), "{row:?}");
        if p >= 0.6 {
            flagged.push(row[0].clone());
        }
    }
    assert!(
        flagged.contains(&"t30".to_owned()),
        "the jump is flagged: {flagged:?}"
    );
    let summary = &run.stderr;
    assert!(
        summary.contains(&format!("scored 40 points, flagged {}", flagged.len())),
        "{summary}"
    );
    assert!(summary.contains("(probability >= 0.6)"), "{summary}");
    assert!(
        summary.contains("t30"),
        "ranges are named by timestamp: {summary}"
    );
    assert!(
        summary.contains("(line 32)") || summary.contains("(lines 32-"),
        "and by input line: {summary}"
    );

    // Without --threshold, nothing on stderr at all.
    let quiet = sb.run(&["score", "--perm-count", "50"], &csv_of(&values));
    assert_eq!(quiet.ok().lines().count(), 41);
    assert_eq!(quiet.stderr, "");

    // Out of range thresholds are usage errors.
    for t in ["1.5", "-0.1", "NaN"] {
        let err = sb
            .run(&["score", "--threshold", t], "1\n")
            .bad_input()
            .to_owned();
        assert!(err.contains("--threshold"), "{err}");
    }
}

#[test]
fn output_file_holds_what_stdout_would() {
    let sb = Sandbox::new();
    let csv = csv_of(&series());
    let to_stdout = sb.run(&["score", "--perm-count", "50"], &csv);
    let to_file = sb.run(
        &["score", "--perm-count", "50", "--output", "out.csv"],
        &csv,
    );
    assert_eq!(to_file.ok(), "", "nothing on stdout");
    let written = std::fs::read_to_string(sb.path("out.csv")).unwrap();
    assert_eq!(written, to_stdout.ok());
    // `-o -` is stdout.
    assert_eq!(
        sb.run(&["score", "--perm-count", "50", "-o", "-"], &csv)
            .ok(),
        to_stdout.ok()
    );
    // No leftover temporary files.
    let names: Vec<_> = std::fs::read_dir(sb.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["out.csv"]);
}

#[test]
fn a_failed_run_leaves_no_output_file() {
    let sb = Sandbox::new();
    sb.run(&["score", "--output", "out.csv"], "1\n2\nbad\n3\n")
        .bad_input();
    assert!(!sb.path("out.csv").exists());
}

/// Runs `score --explain` with `args` and compares it with the library.
fn check_against_library(sb: &Sandbox, args: &[&str], b: AnomalyzerConfBuilder) {
    let values = series();
    let mut full = vec!["score", "--explain"];
    full.extend_from_slice(args);
    let rows = sb.run(&full, &csv_of(&values)).rows();
    let conf = b.clone().build().unwrap();
    let header: Vec<String> = ["timestamp", "value", "probability"]
        .into_iter()
        .map(str::to_owned)
        .chain(conf.methods().iter().map(|m| m.to_string()))
        .collect();
    assert_eq!(rows[0], header, "args {args:?}");
    for (row, e) in rows[1..].iter().zip(library(b, &values)) {
        let mut want = vec![row[0].clone(), row[1].clone(), shortest(e.probability)];
        want.extend(
            conf.methods()
                .iter()
                .map(|m| field(e.get(*m).and_then(|t| t.probability))),
        );
        assert_eq!(*row, want, "args {args:?}");
    }
}

#[test]
fn each_detector_flag_reaches_the_detector() {
    let sb = Sandbox::new();
    let base = || AnomalyzerConf::builder().active_size(1).perm_count(40);
    let cases: Vec<(Vec<&str>, AnomalyzerConfBuilder)> = vec![
        (vec!["--perm-count", "40"], base()),
        (
            vec!["--perm-count", "40", "--active-size", "3"],
            base().active_size(3),
        ),
        (
            vec!["--perm-count", "40", "--n-seasons", "6"],
            base().n_seasons(6),
        ),
        (
            vec!["--perm-count", "40", "--sensitivity", "0"],
            base().sensitivity(0.0),
        ),
        (vec!["--perm-count", "40", "--delay"], base().delay(true)),
        (vec!["--perm-count", "40", "--seed", "99"], base().seed(99)),
        (
            vec![
                "--perm-count",
                "40",
                "--methods",
                "fence,cdf",
                "--upper-bound",
                "30",
                "--lower-bound",
                "-5",
            ],
            base()
                .methods([Method::Fence, Method::Cdf])
                .upper_bound(30.0)
                .lower_bound(-5.0),
        ),
    ];
    for (args, b) in cases {
        check_against_library(&sb, &args, b);
    }
}

#[test]
fn delay_scores_zero_until_the_window_is_full() {
    let sb = Sandbox::new();
    let rows = sb
        .run(
            &[
                "score",
                "--delay",
                "--explain",
                "--n-seasons",
                "4",
                "--perm-count",
                "20",
            ],
            "9\n1\n50\n2\n3\n70\n",
        )
        .rows();
    // A + R = 5: the first four points are delayed, with no test columns.
    for row in &rows[1..5] {
        assert_eq!(row[1..], ["0", "", ""], "{row:?}");
    }
    assert_ne!(
        rows[6][1], "0",
        "the spike after the window filled scores: {:?}",
        rows[6]
    );
}

#[test]
fn config_file_is_read_and_flags_override_it() {
    let sb = Sandbox::new();
    sb.write(
        "conf.toml",
        "methods = [\"magnitude\", \"highrank\"]\nactive_size = 2\nn_seasons = 5\nperm_count = 30\nseed = 3\n",
    );
    let from_file = AnomalyzerConf::builder()
        .methods([Method::Magnitude, Method::HighRank])
        .active_size(2)
        .n_seasons(5)
        .perm_count(30)
        .seed(3);
    check_against_library(&sb, &["--config", "conf.toml"], from_file.clone());
    check_against_library(
        &sb,
        &["--config", "conf.toml", "--seed", "4", "--active-size", "1"],
        from_file.seed(4).active_size(1),
    );
    check_against_library(
        &sb,
        &["--config", "conf.toml", "--methods", "ks"],
        AnomalyzerConf::builder()
            .methods([Method::Ks])
            .active_size(2)
            .n_seasons(5)
            .perm_count(30)
            .seed(3),
    );
}

#[test]
fn invalid_detector_options_are_usage_errors() {
    let sb = Sandbox::new();
    let cases: [(&[&str], &str); 5] = [
        (&["--methods", "magnitude,bogus"], "bogus"),
        (&["--active-size", "0"], "active_size"),
        (&["--sensitivity", "2"], "sensitivity"),
        (&["--methods", "fence"], "upper_bound"),
        (&["--config", "missing.toml"], "missing.toml"),
    ];
    for (args, needle) in cases {
        let mut full = vec!["score"];
        full.extend_from_slice(args);
        let run = sb.run(&full, "1\n");
        let err = run.bad_input();
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(
            run.stdout, "",
            "nothing is written before the options are checked"
        );
    }
    sb.write("bad.toml", "active_size = \"three\"\n");
    let err = sb
        .run(&["score", "--config", "bad.toml"], "1\n")
        .bad_input()
        .to_owned();
    assert!(err.contains("bad.toml"), "{err}");
}

#[test]
fn floats_round_trip() {
    let sb = Sandbox::new();
    let text = "0.1\n1e-300\n123456789.123456789\n-2.5E3\n";
    let rows = sb.run(&["score", "--perm-count", "10"], text).rows();
    let values: Vec<f64> = rows[1..].iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(values, [0.1, 1e-300, 123_456_789.123_456_79, -2500.0]);
    assert_eq!(rows[3][0], "123456789.12345679");
}

#[test]
fn exact_ranks_flag_reaches_the_detector_and_ignores_the_seed() {
    let sb = Sandbox::new();
    let values = series();
    let args = |seed: &'static str| {
        [
            "score",
            "--explain",
            "--methods",
            "highrank,lowrank",
            "--exact-ranks",
            "--seed",
            seed,
        ]
    };
    let rows = sb.run(&args("1"), &csv_of(&values)).rows();
    let want = library(
        AnomalyzerConf::builder()
            .methods([Method::HighRank, Method::LowRank])
            .active_size(1)
            .exact_ranks(true),
        &values,
    );
    assert_eq!(rows[0][rows[0].len() - 2..], ["highrank", "lowrank"]);
    for (row, e) in rows[1..].iter().zip(&want) {
        let n = row.len();
        assert_eq!(row[n - 2], field(e.tests[0].probability), "{row:?}");
        assert_eq!(row[n - 1], field(e.tests[1].probability), "{row:?}");
    }
    assert_eq!(
        sb.run(&args("99"), &csv_of(&values)).rows(),
        rows,
        "exact probabilities do not depend on the seed"
    );
}
