//! Bad rows of every kind stop the run with exit code 2 and a message
//! naming file, line and the offending text; `--on-invalid skip` goes on and
//! says how many rows it skipped. Plus: missing files, and a closed stdout.

mod sandbox;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use sandbox::Sandbox;

/// (name, --format or none, input, expected message pieces)
const BAD_ROWS: &[(&str, &str, &str, &[&str])] = &[
    (
        "csv: not a number",
        "csv",
        "timestamp,value\nt0,1\nt1,abc\nt2,3\n",
        &["in.txt:3:", "\"abc\" in column \"value\"", "t1,abc"],
    ),
    (
        "csv: missing value",
        "csv",
        "timestamp,value\nt0,1\nt1,\nt2,3\n",
        &["in.txt:3:", "missing value in column \"value\"", "t1,"],
    ),
    (
        "csv: wrong number of fields",
        "csv",
        "timestamp,value\nt0,1\nt1,2,oops\nt2,3\n",
        &["in.txt:3:", "expected 2 fields, found 3", "t1,2,oops"],
    ),
    (
        "csv: not finite",
        "csv",
        "timestamp,value\nt0,1\nt1,inf\nt2,3\n",
        &["in.txt:3:", "not a finite number", "t1,inf"],
    ),
    (
        "plain: not a number",
        "plain",
        "1\n2,5\n3\n",
        &["in.txt:2:", "not a number", "2,5"],
    ),
    (
        "plain: NaN",
        "plain",
        "1\nNaN\n3\n",
        &["in.txt:2:", "not a finite number", "NaN"],
    ),
    (
        "jsonl: broken JSON",
        "jsonl",
        "{\"value\":1}\n{\"value\":\n{\"value\":3}\n",
        &["in.txt:2:", "invalid JSON", "{\"value\":"],
    ),
    (
        "jsonl: missing key",
        "jsonl",
        "{\"value\":1}\n{\"other\":2}\n{\"value\":3}\n",
        &["in.txt:2:", "missing value for \"value\"", "{\"other\":2}"],
    ),
    (
        "jsonl: a string where a number belongs",
        "jsonl",
        "{\"value\":1}\n{\"value\":\"2\"}\n{\"value\":3}\n",
        &[
            "in.txt:2:",
            "\"value\" is a string where a number was expected",
            "{\"value\":\"2\"}",
        ],
    ),
];

#[test]
fn each_kind_of_bad_row_is_exit_2_with_file_line_and_text() {
    let sb = Sandbox::new();
    for (name, format, input, pieces) in BAD_ROWS {
        sb.write("in.txt", input);
        let run = sb.run(&["score", "--format", format, "in.txt"], "");
        let err = run.bad_input();
        for piece in *pieces {
            assert!(err.contains(piece), "{name}: {piece:?} not in {err}");
        }
        assert!(
            err.contains("--on-invalid skip"),
            "{name}: hints at skipping: {err}"
        );
        assert_eq!(
            err.lines().filter(|l| l.contains("error")).count(),
            1,
            "{name}: {err}"
        );
    }
}

#[test]
fn skip_goes_on_and_reports_the_count() {
    let sb = Sandbox::new();
    for (name, format, input, pieces) in BAD_ROWS {
        sb.write("in.txt", input);
        let run = sb.run(
            &[
                "score",
                "--format",
                format,
                "--on-invalid",
                "skip",
                "in.txt",
            ],
            "",
        );
        let out = run.ok();
        assert_eq!(
            out.lines().count(),
            3,
            "{name}: header and two good rows: {out}"
        );
        assert!(
            run.stderr.contains(pieces[0]),
            "{name}: the skipped row is named: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("skipped 1 invalid row of in.txt"),
            "{name}: {}",
            run.stderr
        );
    }
    // Many bad rows: the first few are described, all are counted.
    let mut text = String::new();
    for i in 0..30 {
        text.push_str(if i % 3 == 0 { "x\n" } else { "1\n" });
    }
    let run = sb.run(
        &["score", "--format", "plain", "--on-invalid", "skip"],
        &text,
    );
    assert_eq!(run.ok().lines().count(), 21);
    assert_eq!(
        run.stderr.matches("skipping <stdin>:").count(),
        5,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("skipped 10 invalid rows of <stdin>"),
        "{}",
        run.stderr
    );
}

#[test]
fn stdin_errors_name_stdin() {
    let sb = Sandbox::new();
    let err = sb.run(&["score"], "1\n2\nthree\n").bad_input().to_owned();
    assert!(err.contains("<stdin>:3: not a number: three"), "{err}");
}

#[test]
fn missing_input_is_a_runtime_failure() {
    let sb = Sandbox::new();
    let run = sb.run(&["score", "nope.csv"], "");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot open nope.csv"),
        "{}",
        run.stderr
    );
}

#[test]
fn unknown_options_and_values_are_usage_errors() {
    let sb = Sandbox::new();
    for args in [
        &["score", "--frobnicate"][..],
        &["score", "--format", "xml"],
        &["score", "--on-invalid", "ignore"],
        &["score", "--plot", "out.jpg"],
    ] {
        let run = sb.run(args, "1\n");
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "");
    }
}

#[test]
fn closed_stdout_exits_quietly_with_0() {
    let sb = Sandbox::new();
    // Far more output than a pipe buffers, so the writer hits the closed pipe.
    let text: String = (0..200_000).map(|i| format!("{}\n", i % 17)).collect();
    sb.write("big.txt", &text);
    let mut child = sb
        .command(&["score", "--methods", "magnitude", "big.txt"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert_eq!(first, "value,probability\n");
    drop(out); // like `| head -1`
    let result = child.wait_with_output().unwrap();
    assert_eq!(result.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&result.stderr), "", "no error text");
}

#[test]
fn csv_errors_name_the_real_line_with_crlf_blank_lines_and_quoted_newlines() {
    let sb = Sandbox::new();
    for (text, line) in [
        ("timestamp,value\r\nt0,1\r\nt1,zz\r\n", 3),
        ("\r\n\r\ntimestamp,value\r\nt0,1\r\n\r\n\r\nt1,zz\r\n", 7),
        ("timestamp,value\nt0,1\n\n\nt1,zz\n", 5),
        ("timestamp,value\n\"t\n0\",1\n\"t\n1\",zz\n", 4),
        ("\n\ntimestamp,value\nt0,zz\n", 4),
    ] {
        let err = sb.run(&["score"], text).bad_input().to_owned();
        assert!(
            err.contains(&format!("<stdin>:{line}: \"zz\" in column \"value\"")),
            "{text:?}: {err}"
        );
    }
}
