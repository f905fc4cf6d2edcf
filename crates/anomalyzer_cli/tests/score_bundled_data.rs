//! The bundled example data is what its committed generator makes, and the
//! README's main command, run on it, flags the spike and the plateau and
//! draws exactly the plot the README shows.

mod sandbox;

use std::path::{Path, PathBuf};

use sandbox::Sandbox;

#[path = "../examples/gen_data.rs"]
#[allow(dead_code)]
mod gen_data;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn bundled_files_are_the_generator_output() {
    for (name, text) in gen_data::datasets() {
        let path = repo().join("examples/data").join(name);
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            committed == text,
            "{} differs from the generator; run `cargo run -p anomalyzer_cli --example gen_data`",
            path.display()
        );
        assert!(committed.starts_with("timestamp,value\n"));
        assert!(committed.lines().count() > 600, "{name} is a real series");
    }
}

/// The arguments of the README's main command (after `--`).
fn readme_command() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("cargo run --release -p anomalyzer_cli -- score "))
        .expect("README has the main command");
    line.split_once(" -- ")
        .unwrap()
        .1
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn readme_command_flags_the_spike_and_the_plateau_and_draws_the_readme_plot() {
    let args = readme_command();
    let arg_after = |flag: &str| {
        let i = args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("{flag} in {args:?}"));
        args[i + 1].clone()
    };
    let (plot, output) = (arg_after("--plot"), arg_after("--output"));

    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("examples/data")).unwrap();
    std::fs::copy(
        repo().join("examples/data/cpu.csv"),
        sb.path("examples/data/cpu.csv"),
    )
    .unwrap();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = sb.run(&argv, "");
    assert_eq!(run.ok(), "", "the CSV goes to --output");
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        readme.contains(run.stderr.trim_end()),
        "the README quotes the summary exactly as printed:\n{}",
        run.stderr
    );

    let scored = std::fs::read_to_string(sb.path(&output)).unwrap();
    let rows = sandbox::csv_rows(&scored);
    let header = &rows[0];
    assert_eq!(header[..3], ["timestamp", "value", "probability"]);
    assert_eq!(header.last().unwrap(), "anomaly");
    assert!(header.contains(&"magnitude".to_owned()) && header.contains(&"ks".to_owned()));
    let flagged: Vec<usize> = rows[1..]
        .iter()
        .enumerate()
        .filter(|(_, r)| r.last().unwrap() == "true")
        .map(|(i, _)| i)
        .collect();
    // gen_data: spike at 250..=252, plateau at 480..530.
    assert!(flagged.contains(&251), "the spike: {flagged:?}");
    assert!(flagged.contains(&480), "the plateau's start: {flagged:?}");
    assert!(
        flagged
            .iter()
            .all(|&i| (250..=255).contains(&i) || (480..530).contains(&i)),
        "nothing else: {flagged:?}"
    );

    let drawn = std::fs::read_to_string(sb.path(&plot)).unwrap();
    let shown = repo()
        .join("docs")
        .join(Path::new(&plot).file_name().unwrap());
    let committed = std::fs::read_to_string(&shown).unwrap();
    assert!(
        drawn == committed,
        "{} is not what the README command draws; copy the new {plot} there",
        shown.display()
    );
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("(docs/{plot})")),
        "the README embeds the plot"
    );
}
