//! Statistical parity of the randomised tests with the Go library
//! (`tests/data/stats.json`: 200 Go evaluations per case, each with fresh
//! time-seeded permutations).
//!
//! We evaluate the same window with 200 different seeds and require, per
//! method (and for the `rank` entry and the combined `eval`): the same number
//! of applicable evaluations, a mean within 4·√(se_go² + se_ours²) of Go's
//! (at least 0.002 where either side is random), and a similar spread.
//! Skips follow SPEC.md's deviations by rule and are counted in the output.

use std::collections::BTreeMap;

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Method};
use serde_json::Value;

const SEEDS: u64 = 200;

fn cases() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/stats.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("stats.json is committed"))
        .expect("valid JSON")
}

fn conf_of(c: &Value, seed: u64) -> AnomalyzerConf {
    let methods: Vec<String> = c["Methods"]
        .as_array()
        .expect("methods")
        .iter()
        .map(|m| m.as_str().expect("name").to_owned())
        .collect();
    let mut b = AnomalyzerConf::builder()
        .active_size(c["ActiveSize"].as_u64().expect("ActiveSize") as usize)
        .n_seasons(c["NSeasons"].as_u64().expect("NSeasons") as usize)
        .perm_count(c["PermCount"].as_u64().expect("PermCount") as usize)
        .sensitivity(c["Sensitivity"].as_f64().expect("Sensitivity"))
        .delay(c["Delay"].as_bool().expect("Delay"))
        .seed(seed);
    // Go carries bounds even when fence is off; ours are only for fence.
    if methods.iter().any(|m| m == "fence") {
        b = b.upper_bound(c["UpperBound"].as_f64().expect("UpperBound"));
        if let Some(l) = c["LowerBound"].as_f64() {
            b = b.lower_bound(l);
        }
    }
    b.method_names(methods)
        .build()
        .expect("valid configuration")
}

fn input(case: &Value) -> Vec<f64> {
    case["input"]
        .as_array()
        .expect("input")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect()
}

fn stat(v: &Value, key: &str) -> f64 {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing {key}"))
        .parse()
        .expect("a float")
}

/// Our samples per entry (`magnitude`, ..., `rank`, `eval`): `None` = not applicable.
fn our_samples(case: &Value, history: &[f64]) -> BTreeMap<String, Vec<Option<f64>>> {
    let x = input(case);
    let mut samples: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    for seed in 0..SEEDS {
        let conf = conf_of(&case["conf"], seed);
        let mut all = history.to_vec();
        all.extend_from_slice(&x);
        let d = Anomalyzer::new(conf, &all).expect("finite");
        assert_eq!(
            d.window().collect::<Vec<_>>(),
            x,
            "the window holds the last A + R values"
        );
        let e = d.explain();
        for t in &e.tests {
            samples
                .entry(t.method.to_string())
                .or_default()
                .push(t.probability);
        }
        let high = e.get(Method::HighRank).and_then(|t| t.probability);
        let low = e.get(Method::LowRank).and_then(|t| t.probability);
        if e.get(Method::HighRank).is_some() || e.get(Method::LowRank).is_some() {
            let rank = match (high, low) {
                (Some(h), Some(l)) => Some(h.max(l)),
                (h, l) => h.or(l),
            };
            samples.entry("rank".into()).or_default().push(rank);
        }
        samples
            .entry("eval".into())
            .or_default()
            .push(Some(e.probability));
    }
    samples
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

fn two_zeros_in_a_row(x: &[f64]) -> bool {
    x.windows(2).any(|w| w[0] == 0.0 && w[1] == 0.0)
}

fn check_case(case: &Value, history: &[f64], report: &mut Vec<String>) -> (usize, usize) {
    let name = case["name"].as_str().expect("name");
    let samples = our_samples(case, history);
    let (mut checked, mut skipped) = (0, 0);
    let zero_run = two_zeros_in_a_row(&input(case));
    for (entry, go) in case["stats"].as_object().expect("stats") {
        if zero_run && (entry == "diff" || entry == "eval") {
            skipped += 1;
            println!("  skip {name}/{entry}: two zeros in a row (0/0 deviation)");
            continue;
        }
        let ours = &samples[entry];
        let applicable: Vec<f64> = ours.iter().flatten().copied().collect();
        let go_n = stat(go, "n") as usize;
        checked += 1;
        if applicable.len() != go_n {
            report.push(format!(
                "{name}/{entry}: {} applicable, Go {go_n}",
                applicable.len()
            ));
            continue;
        }
        if go_n == 0 {
            continue;
        }
        let (mean, sd) = mean_sd(&applicable);
        let se = sd / (applicable.len() as f64).sqrt();
        let (go_mean, go_sd, go_se) = (stat(go, "mean"), stat(go, "sd"), stat(go, "se_mean"));
        let random = sd > 0.0 || go_sd > 0.0;
        let mut tol = 4.0 * (go_se.powi(2) + se.powi(2)).sqrt();
        if random {
            tol = tol.max(0.002);
        } else {
            tol = tol.max(1e-12 * go_mean.abs());
        }
        let ok_mean = (mean - go_mean).abs() <= tol;
        // Spread: within a factor of 2 where it is not tiny.
        let ok_sd = sd.max(go_sd) < 0.005 || (0.5..=2.0).contains(&(sd / go_sd));
        println!(
            "  {name}/{entry}: mean {mean:.5} (Go {go_mean:.5}, tol {tol:.5}), sd {sd:.5} (Go {go_sd:.5})"
        );
        if !ok_mean || !ok_sd {
            report.push(format!(
                "{name}/{entry}: mean {mean} sd {sd} vs Go mean {go_mean} sd {go_sd} (tol {tol})"
            ));
        }
    }
    (checked, skipped)
}

#[test]
fn randomised_parity_with_go_means() {
    let mut failures = Vec::new();
    let (mut checked, mut skipped) = (0, 0);
    for case in cases() {
        let (c, s) = check_case(&case, &[], &mut failures);
        checked += c;
        skipped += s;
    }
    println!("randomised parity: {checked} entries checked, {skipped} skipped by rule");
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(checked >= 40, "too few entries checked: {checked}");
}

#[test]
fn randomised_parity_holds_with_older_history_in_front() {
    // A bounded window forgets the history: the statistics must not move.
    let history: Vec<f64> = (0..57).map(|i| 1000.0 + f64::from(i) * 13.7).collect();
    let mut failures = Vec::new();
    let (mut checked, mut partial) = (0, 0);
    for case in cases() {
        // A partial window would be filled by the history: a different input.
        if input(&case).len() < conf_of(&case["conf"], 0).window_capacity() {
            partial += 1;
            continue;
        }
        checked += check_case(&case, &history, &mut failures).0;
    }
    println!(
        "randomised parity with history: {checked} entries checked, {partial} partial-window cases skipped"
    );
    assert!(checked >= 35, "too few entries checked: {checked}");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn exact_ranks_match_go_means() {
    // Go's mean over 200 × 500 permutations estimates the exact share.
    let mut checked = 0;
    for case in cases() {
        let conf = conf_of(&case["conf"], 0)
            .to_builder()
            .exact_ranks(true)
            .build()
            .expect("the parity windows are small");
        let name = case["name"].as_str().expect("name");
        let e = Anomalyzer::new(conf, &input(&case))
            .expect("finite")
            .explain();
        for m in [Method::HighRank, Method::LowRank] {
            let (Some(go), Some(t)) = (case["stats"].get(m.name()), e.get(m)) else {
                continue;
            };
            if stat(go, "n") == 0.0 {
                assert_eq!(t.probability, None, "{name}/{m}");
                continue;
            }
            let p = t.probability.expect("applicable like Go");
            let tol = (4.0 * stat(go, "se_mean")).max(0.002);
            assert!(
                (p - stat(go, "mean")).abs() <= tol,
                "{name}/{m}: exact {p} vs Go {go}"
            );
            checked += 1;
        }
    }
    println!("exact ranks: {checked} Go means checked");
    assert!(checked >= 10, "{checked}");
}
