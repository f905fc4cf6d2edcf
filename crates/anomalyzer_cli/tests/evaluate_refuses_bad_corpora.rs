//! A corpus that cannot be scored stops `evaluate` with exit code 2 and a
//! message naming the file and line; NAB's repeated and backward timestamps
//! are taken in file order with a warning naming the line.

mod corpus_support;
mod sandbox;

use corpus_support::{label_minute, minute, write_data, write_labels};
use sandbox::Sandbox;

/// 100 rows of minutes with a jump at 70, in `cat/a.csv`.
fn rows() -> Vec<(String, f64)> {
    (0..100)
        .map(|i| (minute(i), if i == 70 { 50.0 } else { 1.0 + (i % 3) as f64 }))
        .collect()
}

fn window(a: usize, b: usize) -> String {
    format!("[\"{}\", \"{}\"]", label_minute(a), label_minute(b))
}

fn evaluate(sb: &Sandbox) -> sandbox::Run {
    sb.run(&["evaluate", "corpus", "--jobs", "1"], "")
}

#[test]
fn data_file_without_labels_entry_is_refused() {
    let sb = Sandbox::new();
    write_data(&sb.path("corpus"), "cat/a.csv", &rows());
    write_data(&sb.path("corpus"), "cat/b.csv", &rows());
    write_labels(
        &sb.path("corpus"),
        &format!("{{\"cat/a.csv\": [{}]}}", window(65, 75)),
    );
    let err = evaluate(&sb).bad_input().to_owned();
    assert!(
        err.contains("cat/b.csv") && err.contains("no entry"),
        "{err}"
    );
}

#[test]
fn window_end_that_is_not_a_timestamp_names_the_labels_line() {
    let sb = Sandbox::new();
    write_data(&sb.path("corpus"), "cat/a.csv", &rows());
    let labels = format!(
        "{{\n\"cat/a.csv\": [\n  [\"{}\", \"2031-01-01 00:00:00.000000\"]\n]}}",
        label_minute(65)
    );
    write_labels(&sb.path("corpus"), &labels);
    let err = evaluate(&sb).bad_input().to_owned();
    assert!(err.contains("combined_windows.json:3:"), "{err}");
    assert!(
        err.contains("window end \"2031-01-01 00:00:00.000000\" is not a timestamp of"),
        "{err}"
    );
}

#[test]
fn window_end_on_a_repeated_timestamp_is_refused() {
    let sb = Sandbox::new();
    let mut r = rows();
    r[76].0 = r[75].0.clone();
    write_data(&sb.path("corpus"), "cat/a.csv", &r);
    write_labels(
        &sb.path("corpus"),
        &format!("{{\"cat/a.csv\": [{}]}}", window(65, 75)),
    );
    let err = evaluate(&sb).bad_input().to_owned();
    assert!(
        err.contains("is the timestamp of 2 rows") && err.contains("lines 77, 78"),
        "{err}"
    );
}

#[test]
fn bad_value_names_file_and_line() {
    let sb = Sandbox::new();
    write_data(&sb.path("corpus"), "cat/a.csv", &rows());
    let path = sb.path("corpus/data/cat/a.csv");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        &format!("{},1\n", minute(9)),
        &format!("{},oops\n", minute(9)),
    );
    std::fs::write(&path, text).unwrap();
    write_labels(
        &sb.path("corpus"),
        &format!("{{\"cat/a.csv\": [{}]}}", window(65, 75)),
    );
    let err = evaluate(&sb).bad_input().to_owned();
    assert!(err.contains("a.csv:11:") && err.contains("oops"), "{err}");
}

#[test]
fn bad_timestamp_names_file_and_line() {
    let sb = Sandbox::new();
    let mut r = rows();
    r[4].0 = "yesterday".to_owned();
    write_data(&sb.path("corpus"), "cat/a.csv", &r);
    write_labels(&sb.path("corpus"), "{\"cat/a.csv\": []}");
    let err = evaluate(&sb).bad_input().to_owned();
    assert!(
        err.contains("a.csv:6:") && err.contains("\"yesterday\""),
        "{err}"
    );
}

#[test]
fn overlapping_windows_are_refused() {
    let sb = Sandbox::new();
    write_data(&sb.path("corpus"), "cat/a.csv", &rows());
    write_labels(
        &sb.path("corpus"),
        &format!(
            "{{\"cat/a.csv\": [{}, {}]}}",
            window(60, 70),
            window(70, 80)
        ),
    );
    let err = evaluate(&sb).bad_input().to_owned();
    assert!(err.contains("overlaps or precedes"), "{err}");
}

#[test]
fn not_a_corpus_directory_says_what_layout_is_expected() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("corpus")).unwrap();
    let err = evaluate(&sb).bad_input().to_owned();
    assert!(err.contains("data/<category>/<name>.csv"), "{err}");
}

#[test]
fn repeated_and_backward_timestamps_are_scored_in_file_order_with_a_warning() {
    let sb = Sandbox::new();
    let mut r = rows();
    r[20].0 = r[19].0.clone(); // a repeat at line 22
    r.swap(40, 41); // line 42 steps back
    write_data(&sb.path("corpus"), "cat/a.csv", &r);
    write_labels(
        &sb.path("corpus"),
        &format!("{{\"cat/a.csv\": [{}]}}", window(65, 75)),
    );
    let run = evaluate(&sb);
    run.ok();
    assert!(
        run.stderr
            .contains("a.csv:22: timestamp repeats the previous row's"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("a.csv:43: timestamp is earlier than the previous row's"),
        "{}",
        run.stderr
    );
}

#[test]
fn scores_from_a_directory_without_the_file_is_refused() {
    let sb = Sandbox::new();
    write_data(&sb.path("corpus"), "cat/a.csv", &rows());
    write_labels(&sb.path("corpus"), "{\"cat/a.csv\": []}");
    std::fs::create_dir_all(sb.path("results/cat")).unwrap();
    let err = sb
        .run(&["evaluate", "corpus", "--scores-from", "results"], "")
        .bad_input()
        .to_owned();
    assert!(err.contains("no scores for cat/a.csv"), "{err}");
}

#[test]
fn scores_from_with_detector_options_is_refused() {
    let sb = Sandbox::new();
    let err = sb
        .run(
            &[
                "evaluate",
                "corpus",
                "--scores-from",
                "results",
                "--n-seasons",
                "9",
            ],
            "",
        )
        .bad_input()
        .to_owned();
    assert!(err.contains("--scores-from"), "{err}");
}
