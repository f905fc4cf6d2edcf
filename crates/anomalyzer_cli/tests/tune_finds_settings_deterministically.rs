//! `tune` on a small part of nab-dev with a narrow space: the same seed
//! gives the same best settings; the TOML it writes is taken by
//! `evaluate --config` and scores what tune reported; `--holdout` reports
//! the held-out files; bad arguments are refused with exit code 2.

mod corpus_support;
mod sandbox;

use corpus_support::{nab_dev_subset, read_json};
use sandbox::Sandbox;

const FILES: [&str; 4] = [
    "realAdExchange/exchange-2_cpm_results.csv",
    "realTraffic/occupancy_t4013.csv",
    "realTraffic/TravelTime_451.csv",
    "artificialWithAnomaly/art_daily_jumpsdown.csv",
];

const SPACE: &str = "preset = [\"anomalyzer\"]\nmethods = [[\"magnitude\", \"ks\"], [\"magnitude\", \"diff\"]]\nactive_size = [1]\nn_seasons = { min = 4, max = 12 }\nperm_count = [50]\n";

fn setup() -> Sandbox {
    let sb = Sandbox::new();
    nab_dev_subset(&sb.path("corpus"), &FILES);
    sb.write("space.toml", SPACE);
    sb
}

fn tune(sb: &Sandbox, seed: &str, output: &str, extra: &[&str]) -> sandbox::Run {
    let mut args = vec![
        "tune",
        "corpus",
        "--budget",
        "6",
        "--space",
        "space.toml",
        "--seed",
        seed,
        "--output",
        output,
        "--jobs",
        "2",
    ];
    args.extend_from_slice(extra);
    sb.run(&args, "")
}

/// The standard score tune printed for its best settings.
fn printed_standard(stdout: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("standard "))
        .expect("a standard row");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn same_seed_same_settings_and_evaluate_agrees() {
    let sb = setup();
    let first = tune(&sb, "5", "a.toml", &[]);
    let out = first.ok().to_owned();
    assert!(
        first.stderr.contains("tune rung 1 (6 configurations"),
        "{}",
        first.stderr
    );
    let second = tune(&sb, "5", "b.toml", &[]);
    second.ok();
    let a = std::fs::read_to_string(sb.path("a.toml")).unwrap();
    assert_eq!(a, std::fs::read_to_string(sb.path("b.toml")).unwrap());
    assert_eq!(out, second.stdout);
    assert!(
        a.contains("perm_count = 50") && a.contains("active_size = 1"),
        "{a}"
    );
    // The written settings, given to evaluate, score what tune printed.
    sb.run(
        &[
            "evaluate", "corpus", "--config", "a.toml", "--json", "e.json",
        ],
        "",
    )
    .ok();
    let e = read_json(&sb.path("e.json"));
    let score = e["profiles"]["standard"]["score"].as_f64().unwrap();
    assert!(
        (score - printed_standard(&out)).abs() < 0.006,
        "{score} vs\n{out}"
    );
}

#[test]
fn holdout_is_reported() {
    let sb = setup();
    let run = tune(&sb, "5", "h.toml", &["--holdout", "0.5"]);
    let out = run.ok();
    assert!(
        out.contains("holdout_score") && out.contains("holdout files"),
        "{out}"
    );
}

#[test]
fn bad_arguments_are_refused() {
    let sb = setup();
    for (args, needle) in [
        (&["--profile", "lenient"][..], "--profile"),
        (&["--holdout", "1.5"][..], "--holdout"),
        (&["--time", "soon"][..], "--time"),
    ] {
        let mut all = vec!["tune", "corpus", "--space", "space.toml"];
        all.extend_from_slice(args);
        let err = sb.run(&all, "").bad_input().to_owned();
        assert!(err.contains(needle), "{err}");
    }
    sb.write("bad.toml", "n_seasons = []\n");
    let err = sb
        .run(&["tune", "corpus", "--space", "bad.toml"], "")
        .bad_input()
        .to_owned();
    assert!(err.contains("invalid space file"), "{err}");
}
