//! `anomalyzer score - --preset robust`, as the acceptance check runs it:
//! values one per line on stdin, the `probability` column of the CSV on
//! stdout. Its numbers equal the library's; `preset = "robust"` in a config
//! file does the same; `--preset anomalyzer` is today's default.

mod sandbox;

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Gate, Preset};
use sandbox::{series, Sandbox};

/// A calm series of 3000 values with a spike at 2500 (no randomness).
fn values() -> Vec<f64> {
    (0..3000u32)
        .map(|i| {
            if i == 2500 {
                90.0
            } else {
                50.0 + f64::from(i * 7919 % 13) / 13.0
            }
        })
        .collect()
}

fn plain(values: &[f64]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

fn probabilities(rows: &[Vec<String>]) -> Vec<f64> {
    let k = rows[0].iter().position(|c| c == "probability").unwrap();
    rows[1..].iter().map(|r| r[k].parse().unwrap()).collect()
}

#[test]
fn robust_preset_from_stdin_equals_the_library_and_flags_the_spike() {
    let sb = Sandbox::new();
    let xs = values();
    let run = sb.run(&["score", "-", "--preset", "robust"], &plain(&xs));
    let rows = run.rows();
    assert_eq!(rows[0], ["value", "probability"]);
    let got = probabilities(&rows);
    let mut d = Anomalyzer::new(AnomalyzerConf::preset(Preset::Robust), &[]).unwrap();
    let want: Vec<f64> = xs.iter().map(|&x| d.push(x).unwrap()).collect();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.to_bits(), w.to_bits(), "row {i}: {g} vs {w}");
    }
    let top = (0..got.len())
        .max_by(|&a, &b| got[a].total_cmp(&got[b]))
        .unwrap();
    assert_eq!(top, 2500);
}

#[test]
fn config_file_preset_and_explain_columns() {
    let sb = Sandbox::new();
    let xs = values();
    sb.write(
        "robust.toml",
        "preset = \"robust\"\n[robust]\nalert_hold = 20\n",
    );
    let from_file = sb.run(
        &["score", "-", "--config", "robust.toml", "--explain"],
        &plain(&xs),
    );
    let rows = from_file.rows();
    assert_eq!(
        rows[0],
        [
            "value",
            "probability",
            "robust_z",
            "level_shift",
            "slow_shift",
            "seasonal",
            "carried_by",
            "gate"
        ]
    );
    let conf = AnomalyzerConf::builder()
        .preset(Preset::Robust)
        .robust(anomalyzer_ts::RobustParams {
            alert_hold: 20,
            ..Default::default()
        })
        .build()
        .unwrap();
    let mut d = Anomalyzer::new(conf, &[]).unwrap();
    for (i, &x) in xs.iter().enumerate() {
        let e = d.push_explained(x).unwrap();
        let row = &rows[i + 1];
        // Cells are in the shortest round-trip form: compare the numbers.
        let bits = |cell: &str| (!cell.is_empty()).then(|| cell.parse::<f64>().unwrap().to_bits());
        assert_eq!(bits(&row[1]), Some(e.probability.to_bits()), "row {i}");
        for (t, cell) in e.tests.iter().zip(&row[2..6]) {
            assert_eq!(bits(cell), t.probability.map(f64::to_bits), "row {i}");
        }
        let carrier = e.tests.iter().find(|t| t.weight == 1.0);
        assert_eq!(row[6], carrier.map_or("", |t| t.method.name()), "row {i}");
        let gate = match e.gate {
            Some(Gate::Warmup) => "warmup",
            Some(Gate::Hold) => "hold",
            None => "",
            Some(other) => panic!("row {i}: {other:?}"),
        };
        assert_eq!(row[7], gate, "row {i}");
        if i < 70 {
            assert_eq!(row[7], "warmup", "row {i}");
        }
    }
    assert!(rows.iter().any(|r| r[7] == "hold"), "the hold shows");
}

#[test]
fn preset_anomalyzer_is_the_default_and_bad_names_are_refused() {
    let sb = Sandbox::new();
    let input = plain(&series());
    let default = sb.run(&["score", "-"], &input);
    let named = sb.run(&["score", "-", "--preset", "anomalyzer"], &input);
    assert_eq!(default.ok(), named.ok());
    let bad = sb.run(&["score", "-", "--preset", "fast"], &input);
    let err = bad.bad_input();
    assert!(err.contains("fast") && err.contains("robust"), "{err}");
    let mixed = sb.run(&["score", "-", "--methods", "ks,seasonal"], &input);
    assert!(
        mixed.bad_input().contains("mixes robust tests"),
        "{}",
        mixed.stderr
    );
}

fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The README's robust quick start, run on the bundled data: one alert at
/// the spike (gen_data: 250..=252), one as the plateau starts (480..530),
/// nothing else, the summary and the plot exactly as the README shows them.
#[test]
fn readme_robust_quick_start_alerts_once_per_incident() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("cargo run ") && l.contains("--preset robust"))
        .expect("README has the robust quick start");
    let args: Vec<&str> = line
        .split_once(" -- ")
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let after = |flag: &str| args[args.iter().position(|a| *a == flag).unwrap() + 1];
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("examples/data")).unwrap();
    std::fs::copy(
        repo().join("examples/data/cpu.csv"),
        sb.path("examples/data/cpu.csv"),
    )
    .unwrap();
    let run = sb.run(&args, "");
    assert_eq!(run.ok(), "");
    assert!(
        readme.contains(run.stderr.trim_end()),
        "the README quotes the summary as printed:\n{}",
        run.stderr
    );
    let scored = std::fs::read_to_string(sb.path(after("--output"))).unwrap();
    let rows = sandbox::csv_rows(&scored);
    let flagged: Vec<usize> = rows[1..]
        .iter()
        .enumerate()
        .filter(|(_, r)| r.last().unwrap() == "true")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    assert!((250..=252).contains(&flagged[0]), "{flagged:?}");
    assert!((480..490).contains(&flagged[1]), "{flagged:?}");
    let plot = after("--plot");
    let drawn = std::fs::read_to_string(sb.path(plot)).unwrap();
    let committed = std::fs::read_to_string(repo().join("docs").join(plot)).unwrap();
    assert!(
        drawn == committed,
        "docs/{plot} is not what the command draws"
    );
    assert!(readme.contains(&format!("(docs/{plot})")));
}

/// `stream --preset robust` keeps the preset's histories in its state
/// directory: a run that stops and one that continues without flags print
/// the library's probabilities bit for bit, and flag the spike.
#[test]
fn stream_continues_the_robust_preset_across_runs() {
    let sb = Sandbox::new();
    let xs = values();
    let mut d = Anomalyzer::new(AnomalyzerConf::preset(Preset::Robust), &[]).unwrap();
    let want: Vec<f64> = xs.iter().map(|&x| d.push(x).unwrap()).collect();
    let first = sb.run(
        &["stream", "--state", "st", "--preset", "robust"],
        &plain(&xs[..2400]),
    );
    let second = sb.run(&["stream", "--state", "st"], &plain(&xs[2400..]));
    let got: Vec<f64> = [first.ok(), second.ok()]
        .iter()
        .flat_map(|out| out.lines())
        .map(|line| line.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(got.len(), xs.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.to_bits(), w.to_bits(), "push {i}: {g} vs {w}");
    }
    assert!(got[2500] > 0.999, "{}", got[2500]);
}

/// A configuration whose robust state could outgrow a snapshot is refused
/// as bad input before anything is created.
#[test]
fn stream_refuses_a_robust_state_too_large_to_snapshot() {
    let sb = Sandbox::new();
    sb.write(
        "huge.toml",
        "preset = \"robust\"\n[robust]\nperiod = 262144\nperiod_seasons = 64\n",
    );
    let run = sb.run(&["stream", "--state", "st", "--config", "huge.toml"], "1\n");
    assert!(
        run.bad_input()
            .contains("cannot hold this configuration durably"),
        "{}",
        run.stderr
    );
    assert!(!sb.path("st").exists());
}
