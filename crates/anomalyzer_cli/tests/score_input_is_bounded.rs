//! Input that is too big for its kind is refused early and quoted briefly:
//! a line over `--max-line-bytes` (default 1 MiB) is an error naming its
//! line, found without reading the rest of it; a CSV row (quoted fields may
//! span lines) likewise, and a row with more than 1024 fields; an error
//! quotes at most 80 characters of the offending text, then its length.

mod sandbox;

use sandbox::Sandbox;

const MIB: usize = 1 << 20;

#[test]
fn an_endless_line_stops_the_run_after_about_the_limit() {
    let sb = Sandbox::new();
    // 32 MiB without a newline, after two good lines.
    for (format, head) in [
        ("auto", "1\n2\n"),
        ("plain", "1\n2\n"),
        ("jsonl", "{\"value\":1}\n2\n"),
        ("csv", "value\n1\n"),
    ] {
        let mut input = head.as_bytes().to_vec();
        input.resize(32 * MIB, b'7');
        let (run, fed) = sb.run_bytes(&["score", "--format", format], input);
        let err = run.bad_input();
        assert!(
            err.contains("<stdin>: line 3 is longer than 1048576 bytes"),
            "{format}: {err}"
        );
        assert!(err.contains("--max-line-bytes"), "{format}: {err}");
        assert!(
            err.len() < 400,
            "{format}: a short message: {} bytes",
            err.len()
        );
        assert!(
            fed < 8 * MIB,
            "{format}: read {fed} bytes of an endless line"
        );
    }
}

#[test]
fn max_line_bytes_sets_the_limit_for_every_format() {
    let sb = Sandbox::new();
    // Lines of exactly 10 bytes pass; 11 fail, in every layout.
    let cases: &[(&str, &str, &str, u64)] = &[
        ("plain", "1234567890\n1\n", "12345678901\n", 3),
        ("csv", "value,bbbb\n1,12345678\n2,1\n", "1,123456789\n", 4),
        ("jsonl", "{\"v\":1234}\n{\"v\":1}\n", "{\"v\":12345}\n", 3),
    ];
    for &(format, good, bad, line) in cases {
        let args = ["score", "--format", format, "--max-line-bytes", "10"];
        let run = sb.run(&args, good);
        assert_eq!(run.ok().lines().count(), 3, "{format}: {}", run.stderr);
        let run = sb.run(&args, &format!("{good}{bad}"));
        let err = run.bad_input();
        assert!(
            err.contains(&format!("line {line} is longer than 10 bytes")),
            "{format}: {err}"
        );
    }
    for bad in ["0", "-1", "lots"] {
        let run = sb.run(&["score", "--max-line-bytes", bad], "1\n");
        assert_eq!(run.code, 2, "--max-line-bytes {bad}: {}", run.stderr);
    }
}

#[test]
fn a_csv_row_of_short_lines_is_still_bounded() {
    let sb = Sandbox::new();
    // A quoted field that never closes: many short lines, one huge row.
    let mut input = b"timestamp,value\nt0,1\n\"".to_vec();
    while input.len() < 4 * MIB {
        input.extend_from_slice(b"short line\n");
    }
    let (run, fed) = sb.run_bytes(&["score"], input);
    let err = run.bad_input();
    assert!(err.contains("line 3 is longer than 1048576 bytes"), "{err}");
    assert!(err.contains("quoted fields span lines"), "{err}");
    assert!(err.len() < 400, "{err}");
    assert!(fed < 4 * MIB, "read {fed} bytes");
}

#[test]
fn a_csv_row_may_have_at_most_1024_fields() {
    let sb = Sandbox::new();
    let names: Vec<String> = (0..1024).map(|i| format!("c{i}")).collect();
    let header = format!("value,{}", names[1..].join(","));
    let row = format!("1{}", ",0".repeat(1023));
    let ok = sb.run(&["score"], &format!("{header}\n{row}\n{row}\n"));
    assert_eq!(ok.ok().lines().count(), 3, "1024 fields are fine");

    let wide_row = format!("{row},0");
    let run = sb.run(&["score"], &format!("{header}\n{row}\n{wide_row}\n"));
    let err = run.bad_input();
    assert!(
        err.contains("<stdin>:3: 1025 fields, more than the limit of 1024"),
        "{err}"
    );
    assert!(err.len() < 400, "{err}");

    let run = sb.run(&["score"], &format!("{header},more\n{row},0\n"));
    let err = run.bad_input();
    assert!(err.contains("<stdin>:1: 1025 fields"), "{err}");
}

#[test]
fn errors_quote_80_characters_then_the_length() {
    let sb = Sandbox::new();
    let long = "x".repeat(5000);
    let quoted = format!("{}… (5000 bytes)", "x".repeat(80));
    // Plain: the line.
    let err = sb
        .run(&["score"], &format!("1\n{long}\n"))
        .bad_input()
        .to_owned();
    assert!(
        err.contains(&format!("<stdin>:2: not a number: {quoted}")),
        "{err}"
    );
    assert!(!err.contains(&"x".repeat(81)), "{err}");
    // CSV: the field and the row are both cut.
    let err = sb
        .run(&["score"], &format!("timestamp,value\nt0,{long}\n"))
        .bad_input()
        .to_owned();
    assert!(
        err.contains(&format!("\"{quoted}\" in column \"value\"")),
        "{err}"
    );
    assert!(err.contains("(5003 bytes)"), "the row's own length: {err}");
    assert!(err.len() < 600, "{err}");
    // A header of long names: the column list is cut too.
    let header: Vec<String> = (0..50).map(|i| format!("{i:_>100}")).collect();
    let err = sb
        .run(&["score"], &format!("{}\n", header.join(",")))
        .bad_input()
        .to_owned();
    assert!(err.contains("not exactly one numeric column"), "{err}");
    assert!(err.len() < 600, "{err}");
    // Stream: the line.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let err = sb
        .run(&["stream", "--state", state], &format!("1\n{long}\n"))
        .bad_input()
        .to_owned();
    assert!(
        err.contains(&format!("line 2: \"{quoted}\" is not a number")),
        "{err}"
    );
}

#[test]
fn stream_lines_are_bounded_too() {
    let sb = Sandbox::new();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let mut input = b"1\n2\n".to_vec();
    input.resize(16 * MIB, b'5');
    let (run, fed) = sb.run_bytes(&["stream", "--state", state], input);
    let err = run.bad_input().to_owned();
    assert!(
        err.contains("standard input: line 3 is longer than 1048576 bytes"),
        "{err}"
    );
    let acks: Vec<&str> = run.stdout.lines().map(|l| &l[..4]).collect();
    assert_eq!(acks, ["1,1,", "2,2,"], "what was accepted is acknowledged");
    assert!(fed < 8 * MIB, "read {fed} bytes");
    let run = sb.run(
        &["stream", "--state", state, "--max-line-bytes", "3"],
        "333\n4444\n",
    );
    let err = run.bad_input();
    assert!(err.contains("line 2 is longer than 3 bytes"), "{err}");
}
