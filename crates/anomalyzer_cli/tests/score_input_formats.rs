//! Every input layout gives the same scores for the same values; timestamps
//! are carried through; `--column` and the column rules pick the value.

mod sandbox;

use sandbox::{csv_of, series, Sandbox};

/// The `value,probability` part of the output (last two columns of the
/// basic layout), for comparing runs across layouts.
fn values_and_probabilities(rows: &[Vec<String>]) -> Vec<(String, String)> {
    rows.iter()
        .skip(1)
        .map(|r| (r[r.len() - 2].clone(), r[r.len() - 1].clone()))
        .collect()
}

const FAST: [&str; 2] = ["--perm-count", "50"];

fn score(sb: &Sandbox, extra: &[&str], stdin: &str) -> Vec<Vec<String>> {
    let mut args = vec!["score"];
    args.extend_from_slice(&FAST);
    args.extend_from_slice(extra);
    sb.run(&args, stdin).rows()
}

#[test]
fn plain_csv_and_jsonl_agree_and_timestamps_are_carried() {
    let sb = Sandbox::new();
    let values = series();
    let plain: String = values.iter().map(|v| format!("{v}\n")).collect();
    let csv = csv_of(&values);
    let jsonl: String = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{{\"timestamp\":\"t{i}\",\"value\":{v}}}\n"))
        .collect();

    let from_plain = score(&sb, &[], &plain);
    assert_eq!(from_plain[0], ["value", "probability"]);
    assert_eq!(from_plain.len(), values.len() + 1);
    assert_eq!(from_plain[31][0], "60", "values are echoed");

    let from_csv = score(&sb, &[], &csv);
    assert_eq!(from_csv[0], ["timestamp", "value", "probability"]);
    assert_eq!(from_csv[1][0], "t0");
    assert_eq!(from_csv[40][0], "t39");

    let from_jsonl = score(&sb, &["--format", "jsonl"], &jsonl);
    assert_eq!(from_jsonl[0], ["timestamp", "value", "probability"]);
    assert_eq!(from_jsonl[31][0], "t30");

    let expected = values_and_probabilities(&from_plain);
    assert_eq!(values_and_probabilities(&from_csv), expected);
    assert_eq!(values_and_probabilities(&from_jsonl), expected);
    // The spike scores higher than anything before it: the scores are real.
    let p = |i: usize| expected[i].1.parse::<f64>().unwrap();
    assert!((0..30).all(|i| p(i) < p(30)), "{expected:?}");

    // Auto-detection picks the same layouts; explicit formats agree.
    assert_eq!(score(&sb, &["--format", "plain"], &plain), from_plain);
    assert_eq!(score(&sb, &["--format", "csv"], &csv), from_csv);
    assert_eq!(score(&sb, &[], &jsonl), from_jsonl);
}

#[test]
fn file_input_and_stdin_dash_agree() {
    let sb = Sandbox::new();
    let csv = csv_of(&series());
    sb.write("in.csv", &csv);
    let from_file = score(&sb, &["in.csv"], "");
    let from_dash = score(&sb, &["-"], &csv);
    assert_eq!(from_file, from_dash);
    assert_eq!(from_file.len(), 41);
}

#[test]
fn column_rules_pick_the_value() {
    let sb = Sandbox::new();
    let values = series();
    let reference = values_and_probabilities(&score(&sb, &[], &csv_of(&values)));

    // `--column` picks among several numeric columns.
    let mut wide = String::from("host,timestamp,cpu,mem\n");
    for (i, v) in values.iter().enumerate() {
        wide.push_str(&format!("a,t{i},{v},{}\n", 100.0 - v));
    }
    let rows = score(&sb, &["--column", "cpu"], &wide);
    assert_eq!(rows[0], ["timestamp", "value", "probability"]);
    assert_eq!(values_and_probabilities(&rows), reference);

    // Without `--column` and without a `value` column, the only numeric
    // column (the timestamp does not count) is used.
    let mut one = String::from("timestamp,host,cpu\n");
    for (i, v) in values.iter().enumerate() {
        one.push_str(&format!("{i},a,{v}\n"));
    }
    let rows = score(&sb, &[], &one);
    assert_eq!(rows[5][0], "4", "numeric timestamps are carried verbatim");
    assert_eq!(values_and_probabilities(&rows), reference);

    // Several numeric columns and no `value`: refused with the choices.
    let run = sb.run(&["score"], &wide);
    let err = run.bad_input();
    assert!(err.contains("<stdin>:1:"), "{err}");
    assert!(err.contains("--column"), "{err}");
    assert!(err.contains("host, timestamp, cpu, mem"), "{err}");

    // A column that does not exist.
    let err = sb
        .run(&["score", "--column", "disk"], &wide)
        .bad_input()
        .to_owned();
    assert!(err.contains("no column named \"disk\""), "{err}");

    // CSV without a header row is refused, not read with its first row as names.
    let err = sb
        .run(&["score"], "2024-01-01,5\n2024-01-02,6\n")
        .bad_input()
        .to_owned();
    assert!(
        err.contains("<stdin>:1: \"5\" is a number, not a column name"),
        "{err}"
    );

    // Plain numbers have no columns to name.
    let err = sb
        .run(&["score", "--column", "cpu"], "1\n2\n")
        .bad_input()
        .to_owned();
    assert!(
        err.contains("--column needs an input with named columns"),
        "{err}"
    );

    // JSON lines: `--column` names the key.
    let jsonl: String = values
        .iter()
        .map(|v| format!("{{\"cpu\":{v},\"mem\":1}}\n"))
        .collect();
    let rows = score(&sb, &["--column", "cpu"], &jsonl);
    assert_eq!(rows[0], ["value", "probability"]);
    assert_eq!(values_and_probabilities(&rows), reference);
}

#[test]
fn csv_details_quoting_blank_lines_and_crlf() {
    let sb = Sandbox::new();
    let text = "timestamp,value\r\n\"2024-01-01 00:00, UTC\",1.5\r\n\"x\"\"y\",2\r\n";
    let out = sb.run(&["score"], text);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines[1], "\"2024-01-01 00:00, UTC\",1.5,0");
    assert!(lines[2].starts_with("\"x\"\"y\",2,"), "{}", lines[2]);

    let plain = "\n1\n\n2\n  3  \n";
    let rows = sb.run(&["score"], plain).rows();
    assert_eq!(rows.len(), 4, "blank lines are not points");
    assert_eq!(rows[3][0], "3");
}

#[test]
fn empty_inputs_give_just_a_header() {
    let sb = Sandbox::new();
    assert_eq!(sb.run(&["score"], "").ok(), "value,probability\n");
    assert_eq!(
        sb.run(&["score"], "timestamp,value\n").ok(),
        "timestamp,value,probability\n"
    );
}
