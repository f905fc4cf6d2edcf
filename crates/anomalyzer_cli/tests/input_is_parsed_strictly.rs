//! Input is read as written, never silently reinterpreted: a column name or
//! JSON key given twice is an error naming both places; a byte-order mark is
//! accepted at the very start of the input and nowhere else; a JSON string
//! is not a number; a non-zero literal too small for a normal `f64` is out
//! of range rather than 0. Output floats are the shortest round-trip text.

mod sandbox;

use sandbox::Sandbox;

#[test]
fn a_repeated_csv_column_name_names_both_columns() {
    let sb = Sandbox::new();
    for (text, name, cols) in [
        (
            "value,timestamp,value\n1,t0,2\n",
            "value",
            "columns 1 and 3",
        ),
        ("a, b ,x,b\n1,2,3,4\n", "b", "columns 2 and 4"),
    ] {
        let err = sb
            .run(&["score", "--column", "x"], text)
            .bad_input()
            .to_owned();
        assert!(
            err.contains(&format!(
                "<stdin>:1: column name \"{name}\" appears twice ({cols})"
            )),
            "{err}"
        );
    }
}

#[test]
fn a_repeated_json_key_names_both_entries() {
    let sb = Sandbox::new();
    let text = "{\"value\":1}\n{\"value\":1,\"timestamp\":\"t\",\"value\":9}\n";
    let err = sb.run(&["score"], text).bad_input().to_owned();
    assert!(err.contains("<stdin>:2: invalid JSON"), "{err}");
    assert!(
        err.contains("duplicate key \"value\" in one object (entries 1 and 3)"),
        "{err}"
    );
    // In a nested object too.
    let text = "{\"value\":1,\"tags\":{\"a\":1,\"a\":2}}\n";
    let err = sb.run(&["score"], text).bad_input().to_owned();
    assert!(
        err.contains("duplicate key \"a\" in one object (entries 1 and 2)"),
        "{err}"
    );
    // Skippable like any bad row.
    let run = sb.run(
        &["score", "--on-invalid", "skip"],
        "{\"value\":1}\n{\"value\":1,\"value\":2}\n{\"value\":3}\n",
    );
    assert_eq!(run.ok().lines().count(), 3);
}

#[test]
fn a_bom_is_accepted_at_the_start_in_every_format() {
    let sb = Sandbox::new();
    let bom = "\u{feff}";
    for (format, text, header) in [
        ("auto", "1\n2\n", "value,probability"),
        ("plain", "1\n2\n", "value,probability"),
        (
            "auto",
            "timestamp,value\nt0,1\nt1,2\n",
            "timestamp,value,probability",
        ),
        (
            "csv",
            "timestamp,value\nt0,1\nt1,2\n",
            "timestamp,value,probability",
        ),
        (
            "auto",
            "{\"timestamp\":\"t0\",\"value\":1}\n{\"value\":2}\n",
            "timestamp,value,probability",
        ),
        (
            "jsonl",
            "{\"value\":1}\n{\"value\":2}\n",
            "value,probability",
        ),
        ("auto", "\n\n1\n2\n", "value,probability"),
    ] {
        let run = sb.run(&["score", "--format", format], &format!("{bom}{text}"));
        let out = run.ok();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{format} {text:?}: {out}");
        assert_eq!(lines[0], header, "{format} {text:?}");
        assert!(
            lines[1].contains("1,"),
            "{format}: the first value is read: {out}"
        );
    }
    // stream too.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s");
    let run = sb.run(
        &["stream", "--state", state.to_str().unwrap()],
        &format!("{bom}5\n6\n"),
    );
    assert!(run.ok().starts_with("1,5,"), "{}", run.stdout);
}

#[test]
fn a_bom_anywhere_else_is_an_error() {
    let sb = Sandbox::new();
    let bom = "\u{feff}";
    for (format, text, line) in [
        ("plain", format!("1\n{bom}2\n"), 2),
        ("csv", format!("timestamp,value\nt0,1\nt1,{bom}2\n"), 3),
        ("plain", format!("{bom}{bom}1\n"), 1),
        ("csv", format!("\n{bom}timestamp,value\nt0,1\n"), 2),
    ] {
        let err = sb
            .run(&["score", "--format", format], &text)
            .bad_input()
            .to_owned();
        assert!(err.contains(&format!("<stdin>:{line}:")), "{format}: {err}");
        assert!(err.contains("byte-order mark"), "{format}: {err}");
    }
    let err = sb
        .run(
            &["score", "--format", "jsonl"],
            &format!("{{\"value\":1}}\n{bom}{{\"value\":2}}\n"),
        )
        .bad_input()
        .to_owned();
    assert!(err.contains("<stdin>:2: invalid JSON"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s");
    let err = sb
        .run(
            &["stream", "--state", state.to_str().unwrap()],
            &format!("1\n{bom}2\n"),
        )
        .bad_input()
        .to_owned();
    assert!(
        err.contains("line 2:") && err.contains("byte-order mark"),
        "{err}"
    );
}

#[test]
fn a_json_string_is_not_taken_for_a_number() {
    let sb = Sandbox::new();
    for (text, want) in [
        (
            "{\"value\":\"1.5\"}",
            "\"value\" is a string where a number was expected",
        ),
        (
            "{\"value\":true}",
            "\"value\" is a boolean where a number was expected",
        ),
        (
            "{\"value\":[1]}",
            "\"value\" is an array where a number was expected",
        ),
        (
            "\"1.5\"",
            "the line is a string where a number was expected",
        ),
    ] {
        let err = sb
            .run(
                &["score", "--format", "jsonl"],
                &format!("{{\"value\":1}}\n{text}\n"),
            )
            .bad_input()
            .to_owned();
        assert!(err.contains(&format!("<stdin>:2: {want}")), "{text}: {err}");
    }
}

#[test]
fn literals_that_underflow_are_out_of_range() {
    let sb = Sandbox::new();
    for tiny in ["1e-400", "-1e-400", "4e-320", "0.5e-310"] {
        for (format, text, line) in [
            ("plain", format!("1\n{tiny}\n"), 2),
            ("csv", format!("value\n1\n{tiny}\n"), 3),
            (
                "jsonl",
                format!("{{\"value\":1}}\n{{\"value\":{tiny}}}\n"),
                2,
            ),
            ("jsonl", format!("1\n{tiny}\n"), 2),
        ] {
            let err = sb
                .run(&["score", "--format", format], &text)
                .bad_input()
                .to_owned();
            assert!(
                err.contains(&format!("<stdin>:{line}:")),
                "{format} {tiny}: {err}"
            );
            assert!(err.contains("out of range"), "{format} {tiny}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s");
        let err = sb
            .run(
                &["stream", "--state", state.to_str().unwrap()],
                &format!("1\n{tiny}\n"),
            )
            .bad_input()
            .to_owned();
        assert!(
            err.contains("line 2:") && err.contains("out of range"),
            "{err}"
        );
    }
    // Overflow, too, says so; zero written as zero stays zero.
    let err = sb.run(&["score"], "1\n1e400\n").bad_input().to_owned();
    assert!(err.contains("<stdin>:2: out of range"), "{err}");
    let out = sb.run(&["score"], "0e-400\n0.000\n-0\n2.2250738585072014e-308\n");
    let values: Vec<String> = out.rows()[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(values, ["0", "0", "-0", "2.2250738585072014e-308"]);
}

#[test]
fn floats_are_printed_in_their_shortest_form() {
    let sb = Sandbox::new();
    let input = "1e300\n-1.5e-7\n123.25\n1000\n100\n0.1\n";
    let rows = sb.run(&["score", "--methods", "magnitude"], input).rows();
    let values: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(values, ["1e300", "-1.5e-7", "123.25", "1e3", "100", "0.1"]);
    for row in &rows[1..] {
        for field in row {
            assert!(field.len() <= 24, "no long expansions: {field}");
            assert!(field.parse::<f64>().is_ok(), "{field}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s");
    let run = sb.run(&["stream", "--state", state.to_str().unwrap()], "1e300\n");
    assert_eq!(run.ok(), "1,1e300,0\n");
}

#[test]
fn float_flags_follow_the_same_rules() {
    let sb = Sandbox::new();
    for args in [
        &["--threshold", "1e-400"][..],
        &["--sensitivity", "4e-320"],
        &["--methods", "fence", "--upper-bound", "1e400"],
        &[
            "--methods",
            "fence",
            "--upper-bound",
            "5",
            "--lower-bound=-1e-400",
        ],
    ] {
        let mut full = vec!["score"];
        full.extend_from_slice(args);
        let err = sb.run(&full, "1\n").bad_input().to_owned();
        assert!(err.contains("out of range"), "{args:?}: {err}");
    }
}
