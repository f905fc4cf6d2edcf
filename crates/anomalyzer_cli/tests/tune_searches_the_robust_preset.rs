//! `tune` over the robust preset's settings on a small committed corpus (a
//! part of examples/nab-dev): robust draws carry robust tests and `[robust]`
//! parameters only; the same seed gives the same run; the TOML it writes,
//! given to `evaluate --config`, reports exactly the score and threshold
//! tune printed; both presets are searched by the default `preset` key.

mod corpus_support;
mod sandbox;

use corpus_support::{nab_dev_subset, read_json};
use sandbox::Sandbox;

const FILES: [&str; 3] = [
    "realAdExchange/exchange-2_cpm_results.csv",
    "realTraffic/occupancy_t4013.csv",
    "artificialWithAnomaly/art_daily_jumpsdown.csv",
];

/// Robust only, with a few choices per key (kept small: the debug binary
/// runs every draw).
const ROBUST_SPACE: &str = "preset = [\"robust\"]\n\
[robust]\n\
reference = [300, 500]\n\
alert_hold = [0, 50, 150]\n\
alert_rise = [0.6, 1.0]\n\
likelihood_history = [1000]\n\
period = [288]\n";

fn setup(space: &str) -> Sandbox {
    let sb = Sandbox::new();
    nab_dev_subset(&sb.path("corpus"), &FILES);
    sb.write("space.toml", space);
    sb
}

fn tune(sb: &Sandbox, seed: &str, budget: &str, output: &str) -> String {
    sb.run(
        &[
            "tune",
            "corpus",
            "--budget",
            budget,
            "--space",
            "space.toml",
            "--seed",
            seed,
            "--output",
            output,
            "--jobs",
            "2",
        ],
        "",
    )
    .ok()
    .to_owned()
}

/// The `standard` row's score and threshold cells, as printed.
fn standard_cells(stdout: &str) -> (String, String) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("standard "))
        .unwrap_or_else(|| panic!("no standard row in\n{stdout}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    (cells[1].to_owned(), cells[2].to_owned())
}

#[test]
fn robust_settings_are_reproducible_and_evaluate_reports_the_same_score() {
    let sb = setup(ROBUST_SPACE);
    let out = tune(&sb, "3", "6", "a.toml");
    let again = tune(&sb, "3", "6", "b.toml");
    assert_eq!(out, again);
    let a = std::fs::read_to_string(sb.path("a.toml")).unwrap();
    assert_eq!(a, std::fs::read_to_string(sb.path("b.toml")).unwrap());

    // Robust tests and the [robust] table, drawn from the space.
    assert!(a.contains("\"robust_z\"") && a.contains("[robust]"), "{a}");
    assert!(!a.contains("\"magnitude\"") && !a.contains("\"ks\""), "{a}");
    assert!(a.contains("likelihood_history = 1000"), "{a}");
    assert!(
        a.contains("reference = 300") || a.contains("reference = 500"),
        "{a}"
    );
    assert!(
        out.contains("alert_hold="),
        "the robust settings are described\n{out}"
    );

    // Reopened with --config, the settings score exactly what tune printed.
    let eval = sb
        .run(
            &[
                "evaluate", "corpus", "--config", "a.toml", "--json", "e.json",
            ],
            "",
        )
        .ok()
        .to_owned();
    assert_eq!(standard_cells(&eval), standard_cells(&out), "{eval}\n{out}");
    let e = read_json(&sb.path("e.json"));
    let score = e["profiles"]["standard"]["score"].as_f64().unwrap();
    assert_eq!(format!("{score:.2}"), standard_cells(&out).0);
}

#[test]
fn another_seed_draws_other_robust_settings() {
    let sb = setup(ROBUST_SPACE);
    let a = tune(&sb, "3", "2", "a.toml");
    let b = tune(&sb, "4", "2", "b.toml");
    let board = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.contains("reference="))
            .map(str::to_owned)
            .collect()
    };
    assert_ne!(board(&a), board(&b));
}

#[test]
fn the_default_preset_key_searches_both_presets() {
    // Only the Go part is narrowed: the draws still alternate between the
    // presets, and the leaderboard shows both kinds.
    let sb = setup(
        "methods = [[\"magnitude\", \"ks\"]]\nactive_size = [1]\nn_seasons = [4]\nperm_count = [20]\n\
         [robust]\nreference = [300]\nlikelihood_history = [1000]\n",
    );
    let run = sb.run(
        &[
            "tune",
            "corpus",
            // At most five draws: the leaderboard shows them all.
            "--budget",
            "4",
            "--space",
            "space.toml",
            "--seed",
            "1",
            "--jobs",
            "2",
        ],
        "",
    );
    run.ok();
    let first_rung: Vec<&str> = run
        .stderr
        .lines()
        .skip_while(|l| !l.contains("tune rung 1"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert!(
        first_rung
            .iter()
            .any(|l| l.contains("methods=magnitude,ks")),
        "{}",
        run.stderr
    );
    assert!(
        first_rung.iter().any(|l| l.contains("methods=robust_z")),
        "{}",
        run.stderr
    );
}
